"""Tests of ksefkit.invoices.generate: XSD validity (FA(3) XSD loaded here with lxml) and sums."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ksefkit.formcodes import FormCode
from ksefkit.invoices.facts import extract_facts
from ksefkit.invoices.generate import (
    SUPPORTED_VAT_RATES,
    InvoiceLine,
    generate_batch_of,
    generate_fa3,
)

NS = FormCode.FA3.value.namespace
F = f"{{{NS}}}"
BASE_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
SELLER, BUYER = "5265877635", "7740001454"
DAY = datetime.date(2026, 2, 1)


class _BaseTypes(etree.Resolver):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url.startswith(BASE_URL):
            name = system_url[len(BASE_URL) :]
            return self.resolve_filename(str(self.folder / name), context)  # type: ignore[attr-defined]
        return None


@cache
def fa3_schema(spec_dir: Path) -> etree.XMLSchema:
    folder = spec_dir / "faktury" / "schemy" / "FA"
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_BaseTypes(folder / "bazowe"))
    return etree.XMLSchema(etree.parse(str(folder / "schemat_FA(3)_v1-0E.xsd"), parser))


def assert_valid(xml: bytes, spec_dir: Path) -> etree._Element:
    schema = fa3_schema(spec_dir)
    root = etree.fromstring(xml)
    assert schema.validate(root), str(schema.error_log)
    return root


def fa(root: etree._Element, name: str) -> str | None:
    return root.findtext(f"{F}Fa/{F}{name}")


def sum_of(elements: Iterable[etree._Element]) -> Decimal:
    return sum((Decimal(e.text or "0") for e in elements), Decimal(0))


def test_default_invoice_is_valid_and_complete(spec_dir: Path) -> None:
    xml = generate_fa3(
        seller_nip=SELLER, buyer_nip=BUYER, invoice_number="FV/1/02/2026", issue_date=DAY
    )
    assert not xml.startswith(b"\xef\xbb\xbf")
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    xml.decode("utf-8")
    root = assert_valid(xml, spec_dir)
    code = root.find(f"{F}Naglowek/{F}KodFormularza")
    assert code is not None
    assert code.text == "FA"
    assert dict(code.items()) == {"kodSystemowy": "FA (3)", "wersjaSchemy": "1-0E"}
    assert root.findtext(f"{F}Naglowek/{F}WariantFormularza") == "3"
    assert root.findtext(f"{F}Naglowek/{F}SystemInfo") == "ksefkit"
    assert root.findtext(f"{F}Podmiot1/{F}DaneIdentyfikacyjne/{F}NIP") == SELLER
    assert root.findtext(f"{F}Podmiot2/{F}DaneIdentyfikacyjne/{F}NIP") == BUYER
    assert root.findtext(f"{F}Podmiot2/{F}JST") == "2"
    assert fa(root, "P_1") == "2026-02-01"
    assert fa(root, "P_2") == "FV/1/02/2026"
    assert fa(root, "RodzajFaktury") == "VAT"
    assert fa(root, "KodWaluty") == "PLN"
    assert len(root.findall(f"{F}Fa/{F}FaWiersz")) == 3
    # Sums are consistent: P_15 = sum of P_13_x + P_14_x, each P_13_x = sum of its lines.
    body = root.find(f"{F}Fa")
    assert body is not None
    nets = sum_of(e for e in body if e.tag.startswith(F + "P_13_"))
    vats = sum_of(e for e in body if e.tag.startswith(F + "P_14_"))
    lines = sum_of(root.iterfind(f"{F}Fa/{F}FaWiersz/{F}P_11"))
    assert nets == lines
    assert Decimal(fa(root, "P_15") or "") == nets + vats


def test_amounts_are_computed_with_decimal_rounding(spec_dir: Path) -> None:
    lines = [
        InvoiceLine("A", Decimal("3"), Decimal("0.335")),  # 1.005 -> 1.01 (half-up)
        InvoiceLine("B", Decimal("1"), Decimal("10.10")),
        InvoiceLine("C", Decimal("2.5"), Decimal("4"), vat_rate=8),
        InvoiceLine("D", Decimal("1"), Decimal("19.99"), vat_rate=5),
        InvoiceLine("E", Decimal("1"), Decimal("7"), vat_rate=0),
    ]
    xml = generate_fa3(
        seller_nip=SELLER, buyer_nip=BUYER, invoice_number="R/1", issue_date=DAY, lines=lines
    )
    root = assert_valid(xml, spec_dir)
    # 23 %: net 1.01 + 10.10 = 11.11, VAT 2.5553 -> 2.56
    assert (fa(root, "P_13_1"), fa(root, "P_14_1")) == ("11.11", "2.56")
    # 8 %: net 10.00, VAT 0.80
    assert (fa(root, "P_13_2"), fa(root, "P_14_2")) == ("10.00", "0.80")
    # 5 %: net 19.99, VAT 0.9995 -> 1.00
    assert (fa(root, "P_13_3"), fa(root, "P_14_3")) == ("19.99", "1.00")
    # 0 % (domestic): net only
    assert fa(root, "P_13_6_1") == "7.00"
    assert fa(root, "P_14_6_1") is None
    assert fa(root, "P_15") == "52.46"  # 11.11+2.56+10+0.8+19.99+1+7
    rates = [e.text for e in root.iterfind(f"{F}Fa/{F}FaWiersz/{F}P_12")]
    assert rates == ["23", "23", "8", "5", "0 KR"]
    assert [e.text for e in root.iterfind(f"{F}Fa/{F}FaWiersz/{F}P_8B")] == [
        "3",
        "1",
        "2.5",
        "1",
        "1",
    ]
    assert extract_facts(xml).gross_amount == Decimal("52.46")


def test_vat_is_rounded_per_rate_not_per_line(spec_dir: Path) -> None:
    lines = [InvoiceLine(f"L{i}", Decimal("1"), Decimal("0.02")) for i in range(3)]
    xml = generate_fa3(
        seller_nip=SELLER, buyer_nip=BUYER, invoice_number="R/2", issue_date=DAY, lines=lines
    )
    root = assert_valid(xml, spec_dir)
    # per line 0.0046 -> 0.00 each; per rate 0.06 * 23 % = 0.0138 -> 0.01
    assert fa(root, "P_14_1") == "0.01"
    assert fa(root, "P_15") == "0.07"


def test_foreign_currency_and_names(spec_dir: Path) -> None:
    xml = generate_fa3(
        seller_nip=SELLER,
        buyer_nip=BUYER,
        invoice_number="EUR/1 & <co>",
        issue_date=DAY,
        seller_name="Żółć & Syn",
        buyer_name='Firma "Q"',
        currency="EUR",
    )
    root = assert_valid(xml, spec_dir)
    assert fa(root, "KodWaluty") == "EUR"
    assert fa(root, "P_2") == "EUR/1 & <co>"
    assert root.findtext(f"{F}Podmiot1/{F}DaneIdentyfikacyjne/{F}Nazwa") == "Żółć & Syn"


def test_created_at_makes_output_reproducible() -> None:
    stamp = datetime.datetime(2026, 2, 1, 8, 30, 15, 999, tzinfo=datetime.UTC)
    kwargs: dict[str, Any] = {
        "seller_nip": SELLER,
        "buyer_nip": BUYER,
        "invoice_number": "X/1",
        "issue_date": DAY,
        "created_at": stamp,
    }
    first, second = generate_fa3(**kwargs), generate_fa3(**kwargs)
    assert first == second
    assert b"<DataWytworzeniaFa>2026-02-01T08:30:15Z</DataWytworzeniaFa>" in first


def test_bad_arguments() -> None:
    base: dict[str, Any] = {"seller_nip": SELLER, "buyer_nip": BUYER, "issue_date": DAY}
    with pytest.raises(ValueError, match="VAT rate"):
        generate_fa3(
            **base,
            invoice_number="1",
            lines=[InvoiceLine("x", Decimal(1), Decimal(1), vat_rate=19)],
        )
    with pytest.raises(ValueError, match="at least one line"):
        generate_fa3(**base, invoice_number="1", lines=[])
    with pytest.raises(ValueError, match="currency"):
        generate_fa3(**base, invoice_number="1", currency="zl")
    with pytest.raises(ValueError, match="empty"):
        generate_fa3(**base, invoice_number="  ")
    with pytest.raises(ValueError, match="decimal places"):
        generate_fa3(
            **base, invoice_number="1", lines=[InvoiceLine("x", Decimal("0.1234567"), Decimal(1))]
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_fa3(**base, invoice_number="1", created_at=datetime.datetime(2026, 1, 1))
    assert {0, 5, 8, 23} <= SUPPORTED_VAT_RATES


def test_batch_has_unique_numbers_and_valid_documents(spec_dir: Path) -> None:
    batch = list(
        generate_batch_of(5, seller_nip=SELLER, buyer_nip=BUYER, issue_date=DAY, run_id="AB12")
    )
    names = [name for name, _ in batch]
    assert names == [f"KK_AB12_{i:06d}.xml" for i in range(1, 6)]
    numbers = [extract_facts(xml).invoice_number for _, xml in batch]
    assert numbers == [f"KK/AB12/{i:06d}" for i in range(1, 6)]
    for _, xml in batch:
        assert_valid(xml, spec_dir)
    other_run = [
        extract_facts(x).invoice_number
        for _, x in generate_batch_of(2, seller_nip=SELLER, buyer_nip=BUYER, issue_date=DAY)
    ]
    assert not set(other_run) & set(numbers)
    assert list(generate_batch_of(0, seller_nip=SELLER, buyer_nip=BUYER, issue_date=DAY)) == []
