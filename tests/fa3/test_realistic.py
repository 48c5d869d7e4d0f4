"""Realistic invoices for the demo and the emulator's test data: built with the FA(3)
builder, XSD-valid, passing every business check, varied, reproducible."""

from __future__ import annotations

import collections
import datetime
import random
from decimal import Decimal

import pytest

from ksefkit.fa3 import InvoiceType, VatRate, check, parse, xsd_errors
from ksefkit.identifiers import is_valid_ksef_number, make_ksef_number
from ksefkit.invoices.realistic import (
    company,
    correction_of,
    foreign_currency_invoice,
    invoice_mix,
    nrb,
    sales_invoice,
)

SELLER = company("5265877635", random.Random(1))
BUYER = company("7740001454", random.Random(2))
START = datetime.date(2026, 3, 2)
LATER = datetime.date(2026, 12, 31)


def day(i: int) -> datetime.date:
    return START + datetime.timedelta(days=i // 4)


def ksef(i: int) -> str:
    return make_ksef_number("5265877635", day(i), f"{i:012X}")


def mix(count: int, seed: int = 5) -> list:  # type: ignore[type-arg]
    return list(
        invoice_mix(
            SELLER,
            BUYER,
            count,
            issue_date=day,
            number=lambda i: f"FV/{i + 1}/2026",
            ksef_number=ksef,
            rng=random.Random(seed),
            created_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
        )
    )


def test_the_mix_is_valid_and_passes_every_check() -> None:
    invoices = mix(70)
    for invoice in invoices:
        assert xsd_errors(invoice) == [], invoice.fa.number
        assert check(invoice, today=LATER) == [], invoice.fa.number
        assert parse(invoice.to_xml()) == invoice


def test_the_mix_is_varied() -> None:
    invoices = mix(70)
    kinds = collections.Counter(x.fa.invoice_type for x in invoices)
    assert kinds[InvoiceType.KOR] == 10 and kinds[InvoiceType.VAT] == 60
    currencies = {x.fa.currency for x in invoices}
    assert "PLN" in currencies and len(currencies) >= 3
    rates = {line.vat_rate for x in invoices for line in x.fa.lines}
    assert {VatRate.R23, VatRate.R8, VatRate.R5, VatRate.EXEMPT} <= rates
    units = {line.unit for x in invoices for line in x.fa.lines}
    assert len(units) >= 6
    totals = {x.fa.total for x in invoices}
    assert len(totals) > 60  # hardly two invoices alike
    terms = {
        "due" if x.fa.payment and x.fa.payment.due_dates else "paid"
        for x in invoices
        if x.fa.invoice_type is InvoiceType.VAT
    }
    assert terms == {"due", "paid"}


def test_the_mix_is_reproducible() -> None:
    first, second = mix(15, seed=9), mix(15, seed=9)
    assert first == second
    assert mix(15, seed=10) != first


def test_corrections_name_an_earlier_invoice_of_the_stream() -> None:
    invoices = mix(70)
    by_number = {x.fa.number: (i, x) for i, x in enumerate(invoices)}
    for position, invoice in enumerate(invoices):
        if invoice.fa.invoice_type is not InvoiceType.KOR:
            continue
        (corrected,) = invoice.fa.corrected_invoices
        index, original = by_number[corrected.number]
        assert index < position
        assert original.fa.invoice_type is InvoiceType.VAT
        assert corrected.issue_date == original.fa.issue_date
        assert corrected.ksef_number == ksef(index) and is_valid_ksef_number(ksef(index))
        before, after = invoice.fa.lines
        assert before.before_correction and not after.before_correction
        assert before.number == after.number
        assert invoice.fa.currency == original.fa.currency
        assert invoice.fa.total < 0  # a rebate or a return lowers the amount due


def test_a_correction_outside_ksef() -> None:
    created = datetime.datetime(2026, 3, 2, 8, tzinfo=datetime.UTC)
    original = sales_invoice(SELLER, BUYER, "FV/1", START, rng=random.Random(3), created_at=created)
    correction = correction_of(original, "FK/1", START, rng=random.Random(4), created_at=created)
    (corrected,) = correction.fa.corrected_invoices
    assert corrected.outside_ksef and corrected.ksef_number is None
    assert check(correction, today=LATER) == []


def test_foreign_currency_invoice_carries_rates_and_pln_vat() -> None:
    created = datetime.datetime(2026, 3, 2, 8, tzinfo=datetime.UTC)
    invoice = foreign_currency_invoice(
        SELLER, BUYER, "FV/2", START, currency="EUR", rng=random.Random(6), created_at=created
    )
    assert invoice.fa.currency == "EUR"
    rates = {line.exchange_rate for line in invoice.fa.lines}
    assert len(rates) == 1 and None not in rates
    (rate,) = rates
    assert rate is not None and abs(rate - Decimal("4.27")) < Decimal("0.1")
    assert invoice.fa.vat_standard_pln is not None or invoice.fa.vat_reduced_pln is not None
    assert check(invoice, today=LATER) == []


def test_sales_invoice_lines_and_terms() -> None:
    invoice = sales_invoice(SELLER, BUYER, "FV/3", START, rng=random.Random(8), lines=5)
    assert len(invoice.fa.lines) == 5
    assert len({line.name for line in invoice.fa.lines}) == 5
    assert invoice.fa.issue_place == SELLER.address.line2.split(" ", 1)[1]  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", range(5))
def test_nrb_has_valid_check_digits(seed: int) -> None:
    account = nrb(random.Random(seed))
    assert len(account) == 26 and account.isdigit()
    assert int(account[2:] + "2521" + account[:2]) % 97 == 1  # IBAN mod 97 with "PL"
