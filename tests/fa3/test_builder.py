"""The builder: official samples rebuilt exactly, totals rules, XSD-valid output, misuse."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ksefkit.errors import ConfigurationError
from ksefkit.fa3 import (
    Address,
    AttachmentMeta,
    CargoType,
    ColumnType,
    CorrectionType,
    DataBlock,
    Gtu,
    Invoice,
    InvoiceBuilder,
    InvoiceLine,
    InvoiceType,
    OwnBankAccount,
    Party,
    PaymentMethod,
    Table,
    TableColumn,
    TableHeader,
    TableRow,
    ThirdPartyRole,
    Transport,
    TransportType,
    VatRate,
    compute_totals,
    parse,
    vat_rate,
    xsd_errors,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "samples" / "FA3"
D = Decimal
ACCOUNT = "73111111111111111111111111"
BANK = "Bank Bankowości Bankowej S. A."
KSEF_NUMBER = "9999999999-20230908-8BEF280C8D35-4D"


def sample(number: int) -> Invoice:
    return parse((SAMPLES / f"FA_3_Przyklad_{number}.xml").read_bytes())


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Field paths where two model objects differ (for readable failures)."""
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return [
            d
            for f in dataclasses.fields(a)
            for d in differences(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        ]
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def assert_same(built: Invoice, expected: Invoice) -> None:
    assert differences(built, expected) == []
    assert built == expected
    assert xsd_errors(built) == []


def seller(name: str = "ABC AGD sp. z o. o.", line1: str = "ul. Kwiatowa 1 m. 2") -> Party:
    city = "00-001 Warszawa" if "Kwiatowa" in line1 else "00-002 Kraków"
    return Party.company("9999999999", name, line1, city, email="abc@abc.pl", phone="667444555")


KOWALSKI = Party.company(
    "1111111111",
    "F.H.U. Jan Kowalski",
    "ul. Polna 1",
    "00-001 Warszawa",
    email="jan@kowalski.pl",
    phone="555777999",
)
KOWALSKA = Party.company(
    "3333333333",
    "F.H.U. Grażyna Kowalska",
    "ul. Polna 1",
    "00-001 Warszawa",
    email="jan@kowalski.pl",
    phone="555777999",
)


def with_sample_header(builder: InvoiceBuilder, created: str, system: str) -> InvoiceBuilder:
    return (
        builder.created(datetime.datetime.fromisoformat(created))
        .system_info(system)
        .footer("Kapiał zakładowy 5 000 000", krs="0000099999", regon="999999999", bdo="000099999")
    )


# ------------------------------------------------------------------ samples rebuilt exactly


def test_correction_sample_2() -> None:
    builder = InvoiceBuilder(seller=seller(), buyer=KOWALSKI.buyer(customer_number="fdfd778343"))
    built = (
        with_sample_header(builder, "2026-02-01T00:00:00Z", "SamploFaktur")
        .number("FK2026/03/200")
        .issued(datetime.date(2026, 3, 15), place="Warszawa")
        .sold(datetime.date(2026, 1, 27))
        .correction(
            reason="obniżka ceny o 200 zł z uwagi na uszkodzenia estetyczne",
            kind=CorrectionType.OTHER_DATE,
        )
        .corrects("FV2026/02/150", datetime.date(2026, 2, 15), ksef_number=KSEF_NUMBER)
        .line(
            "lodówka Zimnotech mk1",
            D(1),
            D("1626.01"),
            23,
            uuid="aaaa111133339990",
            before_correction=True,
        )
        .line("lodówka Zimnotech mk1", D(1), D("1463.41"), 23, uuid="aaaa111133339990")
        .build()
    )
    assert built.fa.invoice_type is InvoiceType.KOR
    assert (built.fa.net_standard, built.fa.vat_standard, built.fa.total) == (
        D("-162.60"),
        D("-37.40"),
        D("-200.00"),
    )
    assert_same(built, sample(2))


def test_margin_sample_8_with_partial_payment() -> None:
    builder = InvoiceBuilder(
        seller=seller("Komis ABC AGD sp. z o. o."),
        buyer=KOWALSKI.buyer(customer_number="fdfd778343"),
    )
    built = (
        with_sample_header(builder, "2026-02-15T09:30:47Z", "Samplofaktur")
        .number("FM2026/02/150")
        .issued(datetime.date(2026, 2, 27), place="Warszawa")
        .sold(datetime.date(2026, 1, 27))
        .margin("used_goods")
        .for_receipt()
        .gross_line(
            "samochód używany marki Autex rocznik 2010", D(1), D(15000), None, gtu=Gtu.GTU_07
        )
        .partial_payment(D(10000), datetime.date(2026, 1, 27), PaymentMethod.CASH)
        .due_after(30, "Dzień", "Otrzymanie faktury")
        .payment(method=PaymentMethod.TRANSFER)
        .bank_account(ACCOUNT, bank_name=BANK, description="PLN")
        .build()
    )
    assert built.fa.net_margin == D(15000) and built.fa.total == D(15000)
    assert_same(built, sample(8))


def test_advance_sample_10_with_order_and_additional_buyer() -> None:
    builder = InvoiceBuilder(
        seller=seller("ABC Developex sp. z o. o.", "ul. Sadowa 1 m. 3"), buyer=KOWALSKI
    )
    built = (
        with_sample_header(builder, "2026-02-15T09:30:47Z", "Samplofaktur")
        .third_party(KOWALSKA, ThirdPartyRole.ADDITIONAL_BUYER, share=D(50))
        .number("FZ2026/02/150")
        .issued(datetime.date(2026, 2, 15), place="Warszawa")
        .sold(datetime.date(2026, 2, 15))
        .advance_payment(D(20000), VatRate.R23)
        .note("wysokosć wpłaconego zadatku", "20000 zł")
        .paid(datetime.date(2026, 2, 15), PaymentMethod.TRANSFER)
        .order_line("mieszkanie 50m^2", D(1), D(300000), 23, "szt.", uuid="aaaa111133339990")
        .order_line("usługi dodatkowe", D(1), D(5000), 23, "szt.", uuid="aaaa111133339991")
        .build()
    )
    assert built.fa.invoice_type is InvoiceType.ZAL
    assert (built.fa.net_standard, built.fa.vat_standard) == (D("16260.16"), D("3739.84"))
    assert built.fa.order is not None and built.fa.order.value == D(375150)
    assert_same(built, sample(10))


def test_settlement_sample_14_takes_the_advances_off() -> None:
    builder = InvoiceBuilder(
        seller=seller("ABC Developex S.A.", "ul. Sadowa 1 m. 3"), buyer=KOWALSKI
    )
    original = Party.company(
        "9999999999",
        "ABC Developex sp. z o.o.",
        "ul. Sadowa 1 lok. 3",
        "00-002 Kraków",
        email="abc@abc.pl",
        phone="667444555",
    )
    built = (
        with_sample_header(builder, "2026-08-17T00:00:00Z", "Samplofaktur")
        .third_party(KOWALSKA, ThirdPartyRole.ADDITIONAL_BUYER, share=D(50))
        .third_party(original, ThirdPartyRole.ORIGINAL_ENTITY)
        .number("FV2026/08/12")
        .issued(datetime.date(2026, 8, 17), place="Warszawa")
        .sold(datetime.date(2026, 9, 17))
        .settles_advance(KSEF_NUMBER, paid={8: D("29508.20"), 23: D("491.80")})
        .note("wysokość pozostałej do zapłaty kwoty", "307635 zł")
        .note("W terminie 2026-09-15", "co najmniej 50% pozostałej kwoty")
        .note("W terminie 2026-10-15", "pozostała część")
        .line("mieszkanie 50m^2", D(1), D(307500), 8, uuid="aaaa111133339997", gtu=Gtu.GTU_10)
        .line("usługi dodatkowe", D(1), D(4500), 23, uuid="aaaa111133339998")
        .payment(due=datetime.date(2026, 9, 15))
        .payment(due=datetime.date(2026, 10, 15), method=PaymentMethod.TRANSFER)
        .bank_account(ACCOUNT, bank_name=BANK, description="PLN")
        .build()
    )
    assert built.fa.invoice_type is InvoiceType.ROZ
    assert (built.fa.net_reduced, built.fa.vat_reduced) == (D("280177.59"), D("22414.21"))
    assert (built.fa.net_standard, built.fa.vat_standard) == (D("4100.16"), D("943.04"))
    assert built.fa.total == D(307635)
    assert_same(built, sample(14))


def test_foreign_currency_sample_20_with_transport() -> None:
    buyer = Party.company(
        "1111111111",
        "CDE sp. j.",
        Address(country_code="PL", line1="ul. Sadowa 1 lok. 3", line2="00-002 Kraków", gln="a"),
        email="cde@cde.pl",
        phone="555777999",
    )
    carrier = Party.company("6666666666", "Jan Nowak Transport", "ul. Bukowa 5", "00-004 Poznań")
    transport = Transport(
        transport_type=TransportType.ROAD,
        carrier=carrier.carrier(),
        cargo=CargoType.PALLET,
        packaging_unit="a",
        ship_from=Address(country_code="PL", line1="Sadowa 1 lok. 2", line2="00-001 Warszawa"),
        ship_to=Address(country_code="PL", line1="ul. Sadowa 1 lok. 3", line2="00-002 Kraków"),
    )
    builder = InvoiceBuilder(seller=seller(), buyer=buyer.buyer(customer_number="fdfd778343"))
    built = (
        with_sample_header(builder, "2026-02-01T00:00:00Z", "Samplofaktur")
        .currency("EUR", exchange_rate=D("4.5005"))
        .number("FV2026/02/150")
        .issued(datetime.date(2026, 2, 15), place="Warszawa")
        .line(
            "lodówka Zimnotech mk1",
            D(10),
            D(406),
            23,
            uuid="aaaa111133339990",
            sale_date=datetime.date(2026, 2, 20),
            cn="8418 21 91",
        )
        .line(
            "zamrażarka Zimnotech mk2",
            D(20),
            D(250),
            23,
            uuid="aaaa111133339991",
            sale_date=datetime.date(2026, 2, 25),
            cn="8418 40 20",
        )
        .line(
            "zmywarka Bryza 100",
            D(15),
            D(300),
            23,
            uuid="aaaa111133339992",
            sale_date=datetime.date(2026, 2, 26),
            cn="8422 11 00",
        )
        .payment(due=datetime.date(2026, 3, 15), method=PaymentMethod.TRANSFER)
        .bank_account(
            ACCOUNT,
            bank_name=BANK,
            description="PLN",
            own_bank_account=OwnBankAccount.COLLECTION,
            factor=True,
        )
        .order_ref("4354343", datetime.date(2026, 1, 26))
        .delivery(terms="CIP", batch_numbers=["2312323/2026"])
        .transport(transport)
        .build()
    )
    assert built.fa.vat_standard_pln == D("14036.16")  # 3118.80 EUR × 4.5005
    assert_same(built, sample(20))


# -------------------------------------------------------------------------------- totals


def net(amount: str, rate: VatRate, *, before: bool = False) -> InvoiceLine:
    return InvoiceLine(number=1, net_amount=D(amount), vat_rate=rate, before_correction=before)


def test_vat_is_rounded_half_up_once_per_rate_on_the_summed_net() -> None:
    # Per line 0.02 × 23 % = 0.0046 rounds to 0.00; on the sum 0.06 × 23 % = 0.0138 -> 0.01.
    totals = compute_totals([net("0.02", VatRate.R23)] * 3)
    assert totals == {"net_standard": D("0.06"), "vat_standard": D("0.01"), "total": D("0.07")}
    # 0.50 × 5 % = 0.025 -> 0.03 (half up, not to even)
    assert compute_totals([net("0.50", VatRate.R5)])["vat_reduced_2"] == D("0.03")


def test_rates_sharing_a_field_are_rounded_separately() -> None:
    totals = compute_totals([net("0.10", VatRate.R23), net("0.10", VatRate.R22)])
    # 0.023 -> 0.02 and 0.022 -> 0.02, not 0.045 -> 0.05
    assert totals["net_standard"] == D("0.20") and totals["vat_standard"] == D("0.04")


def test_untaxed_rates_fill_their_own_fields() -> None:
    totals = compute_totals(
        [
            net("1", VatRate.ZERO_DOMESTIC),
            net("2", VatRate.ZERO_WDT),
            net("3", VatRate.ZERO_EXPORT),
            net("4", VatRate.EXEMPT),
            net("5", VatRate.NOT_TAXABLE),
            net("6", VatRate.NOT_TAXABLE_EU_SERVICES),
            net("7", VatRate.REVERSE_CHARGE),
            net("8", VatRate.R4),
        ]
    )
    assert totals == {
        "net_zero_domestic": D(1),
        "net_zero_wdt": D(2),
        "net_zero_export": D(3),
        "net_exempt": D(4),
        "net_outside_country": D(5),
        "net_eu_services": D(6),
        "net_reverse_charge": D(7),
        "net_taxi": D(8),
        "vat_taxi": D("0.32"),
        "total": D("36.32"),
    }


def test_gross_lines_split_vat_out_of_the_gross() -> None:
    line = InvoiceLine(number=1, gross_amount=D("123.00"), vat_rate=VatRate.R23)
    margin = InvoiceLine(number=2, gross_amount=D("50.00"))
    assert compute_totals([line, margin]) == {
        "net_standard": D("100.00"),
        "vat_standard": D("23.00"),
        "net_margin": D("50.00"),
        "total": D("173.00"),
    }


def test_correction_sides_are_rounded_separately() -> None:
    # before: 0.04 -> VAT 0.01; after: 0.02 -> VAT 0.00: the correction is -0.02 / -0.01
    # (rounding the difference, -0.02 × 23 % = -0.0046, would give 0.00).
    totals = compute_totals([net("0.04", VatRate.R23, before=True), net("0.02", VatRate.R23)])
    assert (totals["net_standard"], totals["vat_standard"]) == (D("-0.02"), D("-0.01"))


def test_exchange_rate_gives_vat_in_pln() -> None:
    totals = compute_totals([net("100.00", VatRate.R8)], exchange_rate=D("4.3333"))
    assert totals["vat_reduced_pln"] == D("34.67")  # 8.00 × 4.3333 = 34.6664


def test_builder_line_net_is_quantity_times_price_less_discount() -> None:
    invoice = (
        minimal()
        .line("a", D("3"), D("0.333"), 23)  # 0.999 -> 1.00
        .line("b", D("2"), D("10.00"), 8, discount=D("1.50"))  # 20.00 - 1.50
        .build()
    )
    assert [line.net_amount for line in invoice.fa.lines] == [D("1.00"), D("18.50")]
    assert [line.number for line in invoice.fa.lines] == [1, 2]
    assert (invoice.fa.vat_standard, invoice.fa.vat_reduced) == (D("0.23"), D("1.48"))
    assert invoice.fa.total == D("21.21")


def test_explicit_totals_win() -> None:
    invoice = minimal().line("a", D(1), D(10), 23).totals(total=D("12.31")).build()
    assert invoice.fa.total == D("12.31") and invoice.fa.vat_standard == D("2.30")


# ------------------------------------------------------------------- valid output, misuse


SELLER = Party.company("5265877635", "Sprzedawca sp. z o.o.", "ul. Prosta 51")


def minimal() -> InvoiceBuilder:
    return (
        InvoiceBuilder(
            seller=SELLER, buyer=Party.company("7740001454", "Nabywca S.A.", "ul. Długa 5")
        )
        .number("FV/1/2026")
        .issued(datetime.date(2026, 2, 1))
        .created(datetime.datetime(2026, 2, 1, 12, tzinfo=datetime.UTC))
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda b: b.line("usługa", D(1), D(100), 23),
        lambda b: b.line("eksport", D(1), D(100), VatRate.ZERO_EXPORT).currency(
            "USD", exchange_rate=D("3.9")
        ),
        lambda b: b.line("zw", D(1), D(100), "zw").exempt(basis_act="art. 43 ust. 1 pkt 37"),
        lambda b: b.line("oo", D(1), D(100), "oo").annotate(reverse_charge=True),
        lambda b: b.gross_line("wycieczka", D(1), D(2000), None).margin("travel"),
        lambda b: (
            b.period(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31))
            .line("abonament", D(1), D(50), 23)
            .settlement(charges=[(D(5), "kaucja")], deductions=[(D(100), "nadpłata")])
        ),
        lambda b: b.advance_payment(D(1000), 8).order_line("dom", D(1), D(10000), 8),
        lambda b: (
            b.correction(reason="rabat")
            .corrects("FV/0/2026", datetime.date(2026, 1, 15))
            .line("usługa", D(1), D(-10), 23)
        ),
        lambda b: (
            b.third_party(Party.person("Jan Nowak"), ThirdPartyRole.PAYER)
            .line("usługa", D(1), D(100), 23)
            .attachment(
                DataBlock(
                    metadata=(AttachmentMeta(key="Okres", value="2026-01"),),
                    tables=(
                        Table(
                            header=TableHeader(
                                columns=(TableColumn(type=ColumnType.TXT, heading="Poz."),)
                            ),
                            rows=(TableRow(cells=("1",)),),
                        ),
                    ),
                )
            )
        ),
    ],
    ids=[
        "vat",
        "export-usd",
        "exempt",
        "reverse-charge",
        "margin",
        "period-settlement",
        "advance",
        "correction-outside-ksef",
        "third-party-attachment",
    ],
)
def test_built_invoices_validate(build: Any) -> None:
    invoice = build(minimal()).build()
    assert xsd_errors(invoice) == []
    assert parse(invoice.to_xml()) == invoice


def test_foreign_currency_advance_carries_its_rate_as_kurs_waluty_z() -> None:
    invoice = minimal().currency("EUR", exchange_rate=D("4.25")).advance_payment(D(123)).build()
    assert invoice.fa.advance_exchange_rate == D("4.25") and invoice.fa.lines == ()
    assert invoice.fa.vat_standard_pln == D("97.75")  # 23.00 EUR × 4.25
    assert xsd_errors(invoice) == []


def test_buyer_kinds() -> None:
    eu = Party.eu_company("DE", "123456789", "GmbH", "Hauptstr. 1", "10115 Berlin").buyer()
    assert (eu.identity.eu_code, eu.identity.eu_vat_number, eu.address) == (
        "DE",
        "123456789",
        Address(country_code="DE", line1="Hauptstr. 1", line2="10115 Berlin"),
    )
    greek = Party.eu_company("EL", "123", "AE", "Odos 1").buyer()
    assert greek.address is not None and greek.address.country_code == "GR"
    foreign = Party.foreign("US", "12-3456789", "Inc.", "1 Main St").buyer()
    assert (foreign.identity.country_code, foreign.identity.tax_id) == ("US", "12-3456789")
    consumer = Party.person("Jan Kowalski").buyer()
    assert consumer.identity.no_id and consumer.address is None
    for buyer in (eu, foreign, consumer):
        builder = InvoiceBuilder(seller=SELLER, buyer=buyer).number("1")
        built = builder.issued(datetime.date(2026, 2, 1)).line("x", D(1), D(1)).build()
        assert xsd_errors(built) == []


def test_vat_rate_accepts_percents_and_codes() -> None:
    assert vat_rate(23) is VatRate.R23 and vat_rate("0 WDT") is VatRate.ZERO_WDT
    with pytest.raises(ConfigurationError, match="not a VAT rate"):
        vat_rate(24)


@pytest.mark.parametrize(
    ("misuse", "message"),
    [
        (lambda b: b.currency("zł"), "ISO 4217"),
        (lambda b: b.number("  "), "must not be empty"),
        (lambda b: b.created(datetime.datetime(2026, 1, 1)), "timezone-aware"),
        (lambda b: b.exempt(), "exactly one legal basis"),
        (lambda b: b.margin("cars"), "margin kind"),
        (lambda b: b.totals(net_foo=D(1)), "not total fields"),
        (lambda b: b.advance_payment(D(1), "zw"), "taxed VAT rate"),
        (lambda b: b.settles_advance(), "ksef_number or by number"),
        (lambda b: b.period(datetime.date(2026, 2, 1), datetime.date(2026, 1, 1)), "before"),
        (lambda b: b.correction().build(), "corrected invoice"),
        (lambda b: b.third_party(Party.person("X")), "role"),
    ],
)
def test_misuse_is_refused(misuse: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        misuse(minimal())


def test_build_needs_number_and_issue_date() -> None:
    builder = InvoiceBuilder(
        seller=Party.company("5265877635", "S", "ul. A 1"), buyer=Party.person("B")
    )
    with pytest.raises(ConfigurationError, match="P_2"):
        builder.build()
    with pytest.raises(ConfigurationError, match="P_1"):
        builder.number("1").build()
    with pytest.raises(ConfigurationError, match="seller needs a NIP"):
        InvoiceBuilder(seller=Party.person("S"), buyer=Party.person("B"))
