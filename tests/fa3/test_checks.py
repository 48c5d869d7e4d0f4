"""Business checks beyond the XSD: every MF sample passes with no error, and each mutation of
a sample trips exactly the check it targets (the findings the sample already had are taken
away, so what is left is what the mutation caused)."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from ksefkit.fa3 import (
    AdvanceInvoiceRef,
    AdvanceOrder,
    Exemption,
    ExtraInfo,
    Finding,
    Invoice,
    InvoiceBuilder,
    InvoiceType,
    MarginScheme,
    OrderLine,
    PartialAdvance,
    Party,
    PartyId,
    Severity,
    ThirdPartyRole,
    VatRate,
    check,
    parse,
    validate,
)
from ksefkit.identifiers import make_ksef_number

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "samples" / "FA3"
SAMPLE_NUMBERS = range(1, 27)
#: After every sample's issue date: "in the future" does not trip on the samples.
TODAY = datetime.date(2026, 12, 31)
ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

#: The warnings the official samples carry, and why (see the checks module docstring).
SAMPLE_WARNINGS: dict[int, frozenset[str]] = {
    1: frozenset({"P15_SUM_ROUNDING"}),  # P_15 2051, its fields add up to 2050.99
    19: frozenset(
        {"LINES_TOTALS_ROUNDING"}
    ),  # 1000 gross at 23 % written as 813/187, not 813.01/186.99
    # placeholder KSeF numbers of corrected / advance invoices with wrong checksums
    **dict.fromkeys((2, 3, 5, 6, 7, 11, 12, 13, 14, 17, 18), frozenset({"KSEF_NUMBER_CHECKSUM"})),
}


def sample_bytes(number: int) -> bytes:
    return (SAMPLES / f"FA_3_Przyklad_{number}.xml").read_bytes()


def sample(number: int) -> Invoice:
    return parse(sample_bytes(number))


def fa(invoice: Invoice, **changes: Any) -> Invoice:
    return dataclasses.replace(invoice, fa=dataclasses.replace(invoice.fa, **changes))


def line(invoice: Invoice, index: int, **changes: Any) -> Invoice:
    lines = list(invoice.fa.lines)
    lines[index] = dataclasses.replace(lines[index], **changes)
    return fa(invoice, lines=tuple(lines))


def new_findings(base: Invoice, mutated: Invoice, today: datetime.date = TODAY) -> list[Finding]:
    before = set(check(base, today=today))
    return [f for f in check(mutated, today=today) if f not in before]


def trips(
    base: Invoice,
    mutated: Invoice,
    code: str,
    severity: Severity = ERROR,
    today: datetime.date = TODAY,
) -> list[Finding]:
    """The mutation causes findings of ``code`` (at ``severity``) and of nothing else."""
    found = new_findings(base, mutated, today)
    assert found, f"{code} did not trip"
    assert {f.code for f in found} == {code}, [str(f) for f in found]
    assert {f.severity for f in found} == {severity}, [str(f) for f in found]
    return found


# ----------------------------------------------------------------------------- samples


@pytest.mark.parametrize("number", SAMPLE_NUMBERS)
def test_every_sample_passes_with_no_error(number: int) -> None:
    report = validate(sample_bytes(number), today=TODAY)
    assert report.xsd_errors == ()
    assert report.errors == [], [str(f) for f in report.errors]
    assert report.ok
    assert {f.code for f in report.warnings} == SAMPLE_WARNINGS.get(number, frozenset())
    assert all(f.severity is not INFO for f in report.findings)


def test_the_rounding_tolerance_the_samples_need() -> None:
    (p15,) = check(sample(1), today=TODAY)
    assert p15.path == "Faktura/Fa/P_15"
    assert p15.message == (
        "Fa/P_15 2051: expected 2050.99 (the sum P_13_1 + P_13_3 + P_14_1 + P_14_3), "
        "a rounding difference"
    )
    paths = {f.path for f in check(sample(19), today=TODAY)}
    assert paths == {"Faktura/Fa/P_13_1", "Faktura/Fa/P_14_1"}
    # One grosz more than the tolerance of one line is an error.
    wrong = fa(sample(19), net_standard=D("812.99"), vat_standard=D("187.01"))
    assert {f.code for f in check(wrong, today=TODAY)} == {"LINES_TOTALS"}


# ------------------------------------------------------------------------- identifiers


def test_seller_nip_checksum_quotes_the_field() -> None:
    base = sample(4)
    seller = base.seller
    bad = dataclasses.replace(
        base,
        seller=dataclasses.replace(
            seller, identity=dataclasses.replace(seller.identity, nip="1234567890")
        ),
    )
    (finding,) = trips(base, bad, "NIP_CHECKSUM")
    assert finding.path == "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP"
    assert finding.message == "Podmiot1/DaneIdentyfikacyjne/NIP 1234567890: invalid NIP checksum"


def test_buyer_and_third_party_nip_checksums() -> None:
    base = sample(4)
    buyer = dataclasses.replace(
        base.buyer, identity=dataclasses.replace(base.buyer.identity, nip="1111111112")
    )
    (finding,) = trips(base, dataclasses.replace(base, buyer=buyer), "NIP_CHECKSUM")
    assert finding.path == "Faktura/Podmiot2/DaneIdentyfikacyjne/NIP"
    third = base.third_parties[0]
    third = dataclasses.replace(
        third, identity=dataclasses.replace(third.identity, nip="3333333334")
    )
    (finding,) = trips(base, dataclasses.replace(base, third_parties=(third,)), "NIP_CHECKSUM")
    assert finding.path == "Faktura/Podmiot3[1]/DaneIdentyfikacyjne/NIP"


def test_internal_id_check_digit() -> None:
    base = sample(4)
    third = base.third_parties[0]

    def with_internal_id(value: str) -> Invoice:
        identity = dataclasses.replace(third.identity, nip=None, internal_id=value)
        return dataclasses.replace(
            base, third_parties=(dataclasses.replace(third, identity=identity),)
        )

    assert new_findings(base, with_internal_id("6824515772-12343")) == []
    (finding,) = trips(base, with_internal_id("6824515772-12344"), "INTERNAL_ID_CHECKSUM")
    assert finding.path == "Faktura/Podmiot3[1]/DaneIdentyfikacyjne/IDWew"


def test_ksef_number_of_the_corrected_invoice() -> None:
    base = sample(2)
    corrected = base.fa.corrected_invoices[0]
    valid = make_ksef_number("9999999999", datetime.date(2026, 2, 15))
    fixed = fa(base, corrected_invoices=(dataclasses.replace(corrected, ksef_number=valid),))
    assert check(fixed, today=TODAY) == []
    (finding,) = trips(fixed, base, "KSEF_NUMBER_CHECKSUM", WARNING)
    assert finding.path == "Faktura/Fa/DaneFaKorygowanej[1]/NrKSeFFaKorygowanej"


# ----------------------------------------------------------------------------- amounts


def test_totals_against_the_lines() -> None:
    base = sample(1)
    changed = line(base, 0, net_amount=D("1726.01"), unit_net_price=D("1726.01"))
    found = trips(base, changed, "LINES_TOTALS")
    assert [f.path for f in found] == ["Faktura/Fa/P_13_1", "Faktura/Fa/P_14_1"]
    assert found[0].message == "Fa/P_13_1 1666.66: expected 1766.66 (from the lines FaWiersz)"


def test_a_total_the_lines_need_is_missing() -> None:
    base = sample(9)
    changed = fa(base, net_exempt=None, total=D("2460"))
    (finding,) = trips(base, changed, "LINES_TOTALS")
    assert finding.message == "Fa/P_13_7 is missing: the lines add up to 300.00"


def test_a_vat_rounding_difference_is_a_warning() -> None:
    base = sample(9)
    changed = fa(base, vat_standard=D("460.01"), total=D("2760.01"))
    (finding,) = trips(base, changed, "LINES_TOTALS_ROUNDING", WARNING)
    assert finding.path == "Faktura/Fa/P_14_1"


def test_p15_against_its_fields() -> None:
    base = sample(9)
    (finding,) = trips(base, fa(base, total=D("2770")), "P15_SUM")
    assert finding.message == ("Fa/P_15 2770: expected 2760.00 (the sum P_13_1 + P_13_7 + P_14_1)")
    trips(base, fa(base, total=D("2760.01")), "P15_SUM_ROUNDING", WARNING)


def test_vat_against_the_rate_without_line_amounts() -> None:
    base = sample(10)  # an advance invoice: totals, no lines
    changed = fa(base, vat_standard=D("3000"), total=D("19260.16"))
    (finding,) = trips(base, changed, "VAT_RATE")
    assert "P_13_1 16260.16 × 23 % or 22 %" in finding.message


def test_totals_missing() -> None:
    base = sample(10)
    changed = fa(base, net_standard=None, vat_standard=None)
    trips(base, changed, "TOTALS_MISSING")


def test_lines_missing() -> None:
    base = sample(1)
    (finding,) = trips(base, fa(base, lines=()), "LINES_MISSING")
    assert finding.message == "Fa/FaWiersz: a VAT invoice needs its lines"


def test_line_value_against_quantity_and_price() -> None:
    base = sample(1)
    (finding,) = trips(base, line(base, 0, unit_net_price=D("1600")), "LINE_VALUE", WARNING)
    assert finding.message == "Fa/FaWiersz[1]/P_11 1626.01: P_8B 1 × P_9A 1600 gives 1600.00"
    # Sample 4 gives P_10 per unit, the builder per line: both readings pass.
    assert [f for f in check(sample(4), today=TODAY) if f.code == "LINE_VALUE"] == []


def test_duplicate_line_numbers() -> None:
    base = sample(1)
    (finding,) = trips(base, line(base, 1, number=1), "LINE_NUMBERS")
    assert finding.message == "Fa/FaWiersz[2]/NrWierszaFa 1: the same number as FaWiersz[1]"


def test_a_note_names_a_missing_line() -> None:
    base = sample(1)
    note = ExtraInfo(line_number=9, key="kolor", value="biały")
    (finding,) = trips(base, fa(base, extra_info=(note,)), "NOTE_LINE")
    assert finding.path == "Faktura/Fa/DodatkowyOpis[1]/NrWiersza"


def test_settlement_sums() -> None:
    base = sample(4)
    settlement = base.fa.settlement
    assert settlement is not None
    wrong_due = dataclasses.replace(settlement, amount_due=D("64279.92"))
    (finding,) = trips(base, fa(base, settlement=wrong_due), "SETTLEMENT")
    assert finding.path == "Faktura/Fa/Rozliczenie/DoZaplaty"
    wrong_sum = dataclasses.replace(settlement, deductions_total=D("999"), amount_due=D("63280.92"))
    (finding,) = trips(base, fa(base, settlement=wrong_sum), "SETTLEMENT")
    assert finding.path == "Faktura/Fa/Rozliczenie/SumaOdliczen"


def test_partial_payments_in_full() -> None:
    base = sample(8)
    payment = base.fa.payment
    assert payment is not None
    in_full = dataclasses.replace(payment, partially_paid=False)
    (finding,) = trips(base, fa(base, payment=in_full), "PARTIAL_PAYMENTS", WARNING)
    assert finding.path == "Faktura/Fa/Platnosc/ZnacznikZaplatyCzesciowej"


def test_shares_of_additional_buyers() -> None:
    base = sample(4)
    third = dataclasses.replace(
        base.third_parties[0], role=ThirdPartyRole.ADDITIONAL_BUYER, share=D("101")
    )
    trips(base, dataclasses.replace(base, third_parties=(third,)), "SHARES")


# ------------------------------------------------------------------------------- dates


def test_issue_date_in_the_future() -> None:
    base = sample(1)  # P_1 2026-02-15
    assert check(base, today=datetime.date(2026, 2, 15)) == check(base, today=TODAY)
    found = [f for f in check(base, today=datetime.date(2026, 2, 14)) if f not in check(base)]
    assert [(f.code, f.path) for f in found] == [("ISSUE_DATE_FUTURE", "Faktura/Fa/P_1")]
    assert found[0].message.startswith("Fa/P_1 2026-02-15: in the future (today is 2026-02-14)")


def created(invoice: Invoice, at: datetime.datetime) -> Invoice:
    return dataclasses.replace(invoice, header=dataclasses.replace(invoice.header, created_at=at))


def test_created_in_the_future() -> None:
    base = sample(1)
    later = created(base, datetime.datetime(2027, 1, 2, tzinfo=datetime.UTC))
    (finding,) = trips(base, later, "CREATED_FUTURE")
    assert finding.path == "Faktura/Naglowek/DataWytworzeniaFa"


def test_produced_after_the_issue_date_is_offline() -> None:
    base = sample(1)
    after = created(base, datetime.datetime(2026, 2, 20, 8, tzinfo=datetime.UTC))
    trips(base, after, "ISSUED_OFFLINE", INFO)
    # The day is the Warsaw day: 23:30 UTC on P_1 is already the next day in Poland.
    late_evening = created(base, datetime.datetime(2026, 2, 15, 23, 30, tzinfo=datetime.UTC))
    trips(base, late_evening, "ISSUED_OFFLINE", INFO)
    same_day = created(base, datetime.datetime(2026, 2, 15, 22, 30, tzinfo=datetime.UTC))
    assert new_findings(base, same_day) == []


def test_period_order() -> None:
    base = sample(9)
    assert base.fa.period is not None
    reversed_period = dataclasses.replace(
        base.fa.period, start=datetime.date(2026, 1, 2), end=datetime.date(2026, 1, 1)
    )
    trips(base, fa(base, period=reversed_period), "PERIOD_ORDER")


def test_sale_date_more_than_60_days_after_issue() -> None:
    base = sample(1)
    trips(base, fa(base, sale_date=datetime.date(2026, 4, 17)), "SALE_DATE_LATE", WARNING)
    assert new_findings(base, fa(base, sale_date=datetime.date(2026, 4, 16))) == []


def test_line_date_differs_from_the_common_date() -> None:
    base = sample(1)
    (finding,) = trips(base, line(base, 0, sale_date=datetime.date(2026, 1, 28)), "LINE_DATE")
    assert finding.path == "Faktura/Fa/FaWiersz[1]/P_6A"


def test_due_date_before_issue() -> None:
    base = sample(4)
    payment = base.fa.payment
    assert payment is not None
    due = dataclasses.replace(payment.due_dates[0], date=datetime.date(2026, 2, 1))
    early = dataclasses.replace(payment, due_dates=(due,))
    (finding,) = trips(base, fa(base, payment=early), "DUE_BEFORE_ISSUE", WARNING)
    assert finding.path == "Faktura/Fa/Platnosc/TerminPlatnosci[1]/Termin"


def test_paid_after_issue() -> None:
    base = sample(1)
    payment = base.fa.payment
    assert payment is not None
    later = dataclasses.replace(payment, payment_date=datetime.date(2026, 2, 16))
    trips(base, fa(base, payment=later), "PAID_AFTER_ISSUE", WARNING)


def test_corrected_invoice_issued_after_the_correction() -> None:
    base = sample(2)
    corrected = dataclasses.replace(
        base.fa.corrected_invoices[0], issue_date=datetime.date(2026, 3, 16)
    )
    trips(base, fa(base, corrected_invoices=(corrected,)), "CORRECTED_DATE")


# ---------------------------------------------------------------------------- currency


def test_exchange_rate_on_a_pln_invoice() -> None:
    base = sample(1)
    (finding,) = trips(base, line(base, 0, exchange_rate=D("4.3")), "CURRENCY_PLN")
    assert finding.path == "Faktura/Fa/FaWiersz[1]/KursWaluty"
    trips(base, fa(base, vat_standard_pln=D("383.33")), "CURRENCY_PLN")


def test_vat_in_pln_missing() -> None:
    base = sample(20)
    (finding,) = trips(base, fa(base, vat_standard_pln=None), "VAT_PLN_MISSING")
    assert finding.message.startswith("Fa/P_14_1W is missing: Fa/P_14_1 3118.80 EUR")


def test_vat_in_pln_against_the_exchange_rate() -> None:
    base = sample(20)  # 3118.80 EUR × 4.5005 = 14036.16
    (finding,) = trips(base, fa(base, vat_standard_pln=D("14000")), "VAT_PLN")
    assert finding.message == "Fa/P_14_1W 14000: expected 14036.16 (P_14_1 × the exchange rate)"
    trips(base, fa(base, vat_standard_pln=D("14036.17")), "VAT_PLN_ROUNDING", WARNING)


def test_vat_in_pln_with_a_rate_per_line() -> None:
    # Sample 21: three lines at three rates; the unrounded sum is 13768.1404.
    base = sample(21)
    trips(base, fa(base, vat_standard_pln=D("13760")), "VAT_PLN")


def test_vat_in_pln_of_an_advance_uses_kurs_waluty_z() -> None:
    base = fa(sample(10), currency="EUR", advance_exchange_rate=D("4.25"))
    with_pln = fa(base, vat_standard_pln=D("15894.32"))  # 3739.84 × 4.25
    assert [f.code for f in check(with_pln, today=TODAY)] == []
    trips(with_pln, fa(with_pln, vat_standard_pln=D("15000")), "VAT_PLN")


def test_exchange_rate_must_be_positive() -> None:
    base = sample(22)  # EUR, 0 % intra-EU supply: no VAT to convert
    (finding,) = trips(base, line(base, 0, exchange_rate=D("-4.5")), "EXCHANGE_RATE")
    assert finding.path == "Faktura/Fa/FaWiersz[1]/KursWaluty"


# ------------------------------------------------------------------------- corrections


def test_a_correction_names_the_corrected_invoice() -> None:
    base = sample(2)
    (finding,) = trips(base, fa(base, corrected_invoices=()), "CORRECTION_REFERENCE")
    assert finding.path == "Faktura/Fa/DaneFaKorygowanej"


def test_correction_fields_on_a_basic_invoice() -> None:
    base = sample(2)
    found = trips(base, fa(base, invoice_type=InvoiceType.VAT), "NOT_A_CORRECTION")
    assert [f.path for f in found] == [
        "Faktura/Fa/PrzyczynaKorekty",
        "Faktura/Fa/TypKorekty",
        "Faktura/Fa/DaneFaKorygowanej",
        "Faktura/Fa/FaWiersz[1]/StanPrzed",
    ]
    assert "only corrections (KOR, KOR_ZAL, KOR_ROZ) carry it" in found[0].message


def test_an_invoice_does_not_correct_itself() -> None:
    base = sample(2)
    same = dataclasses.replace(base.fa.corrected_invoices[0], number=base.fa.number)
    trips(base, fa(base, corrected_invoices=(same,)), "CORRECTS_ITSELF")


def test_p15zk_belongs_to_advance_and_settlement_corrections() -> None:
    base = sample(2)  # KOR
    trips(base, fa(base, paid_before_correction=D("100")), "P15ZK_KIND")
    advance = sample(11)  # KOR_ZAL
    trips(advance, fa(advance, paid_before_correction=None), "P15ZK_MISSING", WARNING)


def test_corrected_buyer_is_a_buyer_of_the_correction() -> None:
    base = sample(5)
    corrected = base.fa.corrected_buyers[0]
    other = dataclasses.replace(
        corrected, identity=PartyId(nip="5265877635", name=corrected.identity.name)
    )
    (finding,) = trips(base, fa(base, corrected_buyers=(other,)), "CORRECTED_BUYER")
    assert finding.path == "Faktura/Fa/Podmiot2K[1]/DaneIdentyfikacyjne"


# ---------------------------------------------------------------- advances and settlement


def test_order_only_on_advance_invoices() -> None:
    base = sample(1)
    order = sample(10).fa.order
    trips(base, fa(base, order=order), "ORDER_KIND")


def test_advance_invoice_describes_the_order() -> None:
    base = sample(10)
    trips(base, fa(base, order=None), "ORDER_MISSING")


def test_order_value_adds_up() -> None:
    base = sample(10)
    order = base.fa.order
    assert order is not None
    (finding,) = trips(
        base, fa(base, order=dataclasses.replace(order, value=D("400000"))), "ORDER_VALUE"
    )
    assert finding.path == "Faktura/Fa/Zamowienie/WartoscZamowienia"


def test_order_line_vat() -> None:
    base = sample(10)
    order = base.fa.order
    assert order is not None
    first = dataclasses.replace(order.lines[0], vat_amount=D("60000"))
    changed = AdvanceOrder(value=D("366150"), lines=(first, *order.lines[1:]))
    trips(base, fa(base, order=changed), "ORDER_LINE_VAT", WARNING)


def test_advance_exceeds_the_order() -> None:
    base = sample(10)
    bare = AdvanceOrder(value=D("15000"), lines=(OrderLine(number=1, name="dom"),))
    trips(base, fa(base, order=bare), "ADVANCE_EXCEEDS_ORDER")


def test_settlement_invoice_names_its_advances() -> None:
    base = sample(14)
    trips(base, fa(base, advance_invoices=()), "ADVANCE_REFERENCE")
    basic = sample(1)
    advance = AdvanceInvoiceRef(ksef_number=make_ksef_number("9999999999", datetime.date.today()))
    trips(basic, fa(basic, advance_invoices=(advance,)), "ADVANCE_REFERENCE")


def test_partial_advances_add_up_to_the_advance() -> None:
    base = sample(10)  # P_15 20000
    parts = (
        PartialAdvance(payment_date=datetime.date(2026, 2, 10), amount=D("10000")),
        PartialAdvance(payment_date=datetime.date(2026, 2, 15), amount=D("10000")),
    )
    assert new_findings(base, fa(base, partial_advances=parts)) == []
    short = (parts[0],)
    trips(base, fa(base, partial_advances=short), "PARTIAL_ADVANCES")
    basic = sample(1)
    trips(basic, fa(basic, partial_advances=short), "PARTIAL_ADVANCES")


# ---------------------------------------------------------------------------- annotations


def annotations(invoice: Invoice, **changes: Any) -> Invoice:
    return fa(invoice, annotations=dataclasses.replace(invoice.fa.annotations, **changes))


def test_exempt_sales_need_p19() -> None:
    base = sample(9)
    (finding,) = trips(base, annotations(base, exemption=Exemption(none=True)), "EXEMPTION")
    assert finding.path == "Faktura/Fa/Adnotacje/Zwolnienie/P_19"
    basic = sample(1)
    marked = Exemption(exempt=True, basis_act="art. 43 ust. 1 pkt 37")
    trips(basic, annotations(basic, exemption=marked), "EXEMPTION", WARNING)


def test_reverse_charge_needs_p18() -> None:
    base = sample(22)
    oo = fa(
        line(base, 0, vat_rate=VatRate.REVERSE_CHARGE),
        net_zero_wdt=None,
        net_reverse_charge=D("4000"),
    )
    trips(base, oo, "REVERSE_CHARGE")
    assert new_findings(base, annotations(oo, reverse_charge=True)) == []


def test_margin_sales_need_p_pmarzy() -> None:
    base = sample(8)
    trips(base, annotations(base, margin=MarginScheme(none=True)), "MARGIN")


def test_split_payment_over_15000_pln() -> None:
    base = sample(4)  # P_15 64279.92 PLN
    (finding,) = trips(base, line(base, 0, annex_15=True), "SPLIT_PAYMENT")
    assert finding.path == "Faktura/Fa/Adnotacje/P_18A"
    assert new_findings(base, annotations(line(base, 0, annex_15=True), split_payment=True)) == []


# ------------------------------------------------------------------------------ validate


def test_validate_reports_parse_errors_with_the_path() -> None:
    xml = sample_bytes(1).replace(b"<P_7>", b"<Kolor>bialy</Kolor><P_7>", 1)
    report = validate(xml, today=TODAY)
    assert report.xsd_errors  # the XSD does not know Kolor either
    assert report.invoice is None
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("PARSE", ERROR)
    assert finding.path == "Faktura/Fa/FaWiersz[1]/Kolor"
    assert not report.ok


def test_validate_not_well_formed() -> None:
    report = validate(b"<Faktura>", today=TODAY)
    assert report.invoice is None and report.findings == ()
    assert "not well-formed" in report.xsd_errors[0]
    assert report.to_json()["valid"] is False


def test_validate_a_model_and_its_xml_alike() -> None:
    invoice = fa(sample(9), total=D("2770"))
    from_model = validate(invoice, today=TODAY)
    from_xml = validate(invoice.to_xml(), today=TODAY)
    assert from_model == from_xml
    assert [f.code for f in from_model.errors] == ["P15_SUM"]
    assert from_model.to_json() == {
        "valid": False,
        "xsdErrors": [],
        "findings": [from_model.errors[0].to_json()],
    }


# ------------------------------------------------------------------ built invoices pass

SELLER = Party.company("5265877635", "ABC sp. z o.o.", "ul. Prosta 51", "00-838 Warszawa")
BUYER = Party.company("7740001454", "Nabywca S.A.", "ul. Długa 5", "31-147 Kraków")


def builder() -> InvoiceBuilder:
    return (
        InvoiceBuilder(seller=SELLER, buyer=BUYER)
        .number("FV/7/2026")
        .issued(datetime.date(2026, 3, 2), place="Warszawa")
        .created(datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC))
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda b: (
            b.sold(datetime.date(2026, 2, 27))
            .line("Usługa programistyczna", D("12.5"), D("180"), 23, "h", discount=D("50"))
            .line("Książka", D(3), D("45.90"), 5)
            .line("Catering", D(10), D("33.33"), 8, "os.")
            .line("Eksport usługi", D(1), D(700), "np II")
            .annotate(split_payment=False)
            .payment(due=datetime.date(2026, 3, 16), account="61109010140000071219812874")
        ),
        lambda b: (
            b.currency("EUR", exchange_rate=D("4.2718"))
            .line("Consulting", D(7), D("123.45"), 23, "h")
            .line("Travel", D(1), D("80.10"), 8)
        ),
        lambda b: (
            b.correction(reason="rabat", kind=None)
            .corrects(
                "FV/6/2026",
                datetime.date(2026, 2, 20),
                make_ksef_number("5265877635", datetime.date(2026, 2, 20)),
            )
            .line("Usługa", D(10), D(100), 23, before_correction=True)
            .line("Usługa", D(10), D(90), 23)
        ),
        lambda b: (
            b.gross_line("Bilet", D(2), D("61.50"), 8)
            .gross_line("Wycieczka", D(1), D(999), None)
            .margin("travel")
        ),
        lambda b: b.advance_payment(D(5000), 23).order_line("Dom", D(1), D(100000), 23),
        lambda b: b.settles_advance(
            make_ksef_number("5265877635", datetime.date(2026, 2, 1)), paid={23: D(5000)}
        ).line("Dom", D(1), D(100000), 23),
    ],
    ids=["multi-rate", "eur", "correction", "gross-and-margin", "advance", "settlement"],
)
def test_builder_invoices_have_no_errors(build: Any) -> None:
    invoice = build(builder()).build()
    report = validate(invoice, today=datetime.date(2026, 3, 2))
    assert report.xsd_errors == ()
    assert report.findings == (), [str(f) for f in report.findings]
