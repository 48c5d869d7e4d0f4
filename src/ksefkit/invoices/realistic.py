"""Realistic FA(3) invoices built with :class:`ksefkit.fa3.InvoiceBuilder`: for the demo, the
emulator's test data and benchmarks.

* :func:`sales_invoice` — a domestic PLN invoice: 2–6 lines from a small catalogue (services
  by the hour, licences, books at 5 %, catering and hotel nights at 8 %, an exempt training),
  units, a discount now and then, and payment terms (transfer to an NRB account with a due
  date, or paid by card);
* :func:`foreign_currency_invoice` — the same in EUR/USD/GBP with an exchange rate on every
  line (``KursWaluty``) and the VAT in PLN (``P_14_xW``);
* :func:`correction_of` — a correction (KOR) of an earlier invoice: a price cut or a return
  on one line, shown as the line before (``StanPrzed``) and after;
* :func:`invoice_mix` — a reproducible stream mixing the three.

Every invoice validates against the FA(3) XSD and passes :func:`ksefkit.fa3.check` with no
finding.

>>> import datetime, random
>>> seller = company("5265877635", random.Random(1))
>>> buyer = company("7740001454", random.Random(2))
>>> invoice = sales_invoice(seller, buyer, "FV/1/03/2026", datetime.date(2026, 3, 2),
...                         rng=random.Random(3))
>>> invoice.fa.invoice_type.value, len(invoice.fa.lines) >= 2
('VAT', True)
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from ..fa3 import (
    CorrectionType,
    Invoice,
    InvoiceBuilder,
    InvoiceLine,
    Party,
    PaymentMethod,
    VatRate,
)

__all__ = [
    "CATALOGUE",
    "Product",
    "company",
    "correction_of",
    "foreign_currency_invoice",
    "invoice_mix",
    "nrb",
    "sales_invoice",
]


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue item: name, unit, price range (net, PLN) and VAT rate."""

    name: str
    unit: str
    low: Decimal
    high: Decimal
    vat_rate: VatRate
    quantities: tuple[str, ...] = ("1",)


D = Decimal
#: What the generated invoices sell.
CATALOGUE: tuple[Product, ...] = (
    Product("Usługa programistyczna", "h", D(120), D(260), VatRate.R23, ("8", "12.5", "40", "160")),
    Product("Konsultacje wdrożeniowe", "h", D(150), D(300), VatRate.R23, ("2", "4", "6.5")),
    Product("Licencja oprogramowania - 12 miesięcy", "szt.", D(499), D(4999), VatRate.R23),
    Product("Hosting serwera VPS", "mies.", D(89), D(450), VatRate.R23, ("1", "3", "12")),
    Product("Papier A4 80 g", "ryza", D("13.90"), D("21.50"), VatRate.R23, ("5", "10", "25")),
    Product("Toner do drukarki", "szt.", D(180), D(420), VatRate.R23, ("1", "2")),
    Product("Transport towaru", "km", D("2.10"), D("4.80"), VatRate.R23, ("120", "348", "515")),
    Product("Książka techniczna", "szt.", D("49.90"), D("129"), VatRate.R5, ("1", "2", "3")),
    Product("Kawa ziarnista", "kg", D(59), D(119), VatRate.R5, ("1", "2.5", "5")),
    Product("Catering na spotkanie", "os.", D(35), D(95), VatRate.R8, ("8", "15", "30")),
    Product("Nocleg hotelowy", "doba", D(240), D(560), VatRate.R8, ("1", "2", "4")),
    Product("Szkolenie zawodowe", "os.", D(600), D(1900), VatRate.EXEMPT, ("1", "2", "5")),
)
#: The legal basis printed with exempt lines (P_19A).
EXEMPTION_BASIS = "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"

_NAMES = (
    "Kowalski i Wspólnicy sp. j.",
    "Biuro Rachunkowe Bilans sp. z o.o.",
    "Nowak Software S.A.",
    "Piekarnia Złoty Kłos Anna Wiśniewska",
    "Transpol Logistyka sp. z o.o.",
    "Zielona Dolina sp. z o.o.",
    "Pracownia Projektowa Linia s.c.",
    "Hurtownia Elektryczna Watt sp. z o.o.",
)
_STREETS = (
    "ul. Prosta 51",
    "ul. Długa 5",
    "al. Jerozolimskie 98",
    "ul. Polna 12 lok. 4",
    "ul. Mickiewicza 3",
    "os. Tysiąclecia 21/7",
    "ul. Kwiatowa 1 m. 2",
)
_CITIES = (
    "00-838 Warszawa",
    "31-147 Kraków",
    "50-075 Wrocław",
    "61-701 Poznań",
    "80-831 Gdańsk",
    "90-001 Łódź",
    "20-002 Lublin",
)
_BANKS = ("10901014", "11402004", "10201026", "12401037", "10501012")
#: Plausible mid rates (PLN per unit) around which foreign invoices draw their rate.
_RATES = {"EUR": D("4.27"), "USD": D("3.94"), "GBP": D("5.02")}


def company(nip: str, rng: random.Random | None = None, name: str | None = None) -> Party:
    """A Polish company with NIP ``nip``: a name, an address and an e-mail from the pools.

    >>> company("5265877635", random.Random(1)).nip
    '5265877635'
    """
    r = rng or random.Random(nip)
    chosen = name or r.choice(_NAMES)
    domain = "".join(c for c in chosen.split()[0].lower() if c.isascii() and c.isalpha())
    return Party.company(
        nip, chosen, r.choice(_STREETS), r.choice(_CITIES), email=f"biuro@{domain or 'firma'}.pl"
    )


def nrb(rng: random.Random) -> str:
    """A 26-digit Polish account number (NRB) with correct IBAN check digits.

    >>> account = nrb(random.Random(5))
    >>> len(account), int(account[2:] + "2521" + account[:2]) % 97  # PL = 25 21
    (26, 1)
    """
    bank = rng.choice(_BANKS)
    account = "".join(rng.choice("0123456789") for _ in range(16))
    check = 98 - int(bank + account + "252100") % 97
    return f"{check:02d}{bank}{account}"


def _price(product: Product, rng: random.Random) -> Decimal:
    cents = rng.randint(int(product.low * 100), int(product.high * 100))
    if cents >= 10_000:  # round prices over 100 PLN end in .00 or .90, like real price lists
        cents = cents // 100 * 100 + rng.choice((0, 0, 90))
    return Decimal(cents) / 100


def _add_lines(
    builder: InvoiceBuilder, rng: random.Random, count: int, *, exempt_allowed: bool
) -> bool:
    """Add ``count`` distinct catalogue lines; True if one of them is exempt."""
    pool = [p for p in CATALOGUE if exempt_allowed or p.vat_rate is not VatRate.EXEMPT]
    exempt = False
    for product in rng.sample(pool, count):
        quantity = Decimal(rng.choice(product.quantities))
        price = _price(product, rng)
        discount = None
        if quantity * price > 1000 and rng.random() < 0.2:
            discount = (quantity * price * Decimal("0.05")).quantize(Decimal("0.01"))
        builder.line(
            product.name, quantity, price, product.vat_rate, product.unit, discount=discount
        )
        exempt = exempt or product.vat_rate is VatRate.EXEMPT
    return exempt


def _payment_terms(builder: InvoiceBuilder, issue_date: datetime.date, rng: random.Random) -> None:
    if rng.random() < 0.2:
        builder.paid(issue_date, PaymentMethod.CARD)
        return
    days = rng.choice((7, 14, 14, 21, 30))
    builder.payment(
        due=issue_date + datetime.timedelta(days=days),
        method=PaymentMethod.TRANSFER,
        account=nrb(rng),
    )


def _city(party: Party) -> str | None:
    # "00-838 Warszawa" -> "Warszawa": the place of issue is the seller's town.
    line2 = party.address.line2 if party.address is not None else None
    return line2.split(" ", 1)[-1] if line2 else None


def _start(
    seller: Party,
    buyer: Party,
    number: str,
    issue_date: datetime.date,
    rng: random.Random,
    created_at: datetime.datetime | None,
) -> InvoiceBuilder:
    builder = (
        InvoiceBuilder(seller=seller, buyer=buyer)
        .number(number)
        .issued(issue_date, place=_city(seller))
        .sold(issue_date - datetime.timedelta(days=rng.choice((0, 0, 1, 2, 5))))
    )
    if created_at is not None:
        builder.created(created_at)
    return builder


def sales_invoice(
    seller: Party,
    buyer: Party,
    number: str,
    issue_date: datetime.date,
    *,
    rng: random.Random | None = None,
    created_at: datetime.datetime | None = None,
    lines: int | None = None,
) -> Invoice:
    """A domestic PLN invoice with ``lines`` (default 2–6) catalogue lines at several VAT
    rates and payment terms; ``created_at`` (``DataWytworzeniaFa``) defaults to now.

    >>> invoice = sales_invoice(company("5265877635"), company("7740001454"), "FV/1",
    ...                         datetime.date(2026, 3, 2), rng=random.Random(1), lines=4)
    >>> len(invoice.fa.lines), invoice.fa.currency
    (4, 'PLN')
    """
    r = rng or random.Random()
    builder = _start(seller, buyer, number, issue_date, r, created_at)
    if _add_lines(builder, r, lines or r.randint(2, 6), exempt_allowed=True):
        builder.exempt(basis_act=EXEMPTION_BASIS)
    _payment_terms(builder, issue_date, r)
    if r.random() < 0.3:
        builder.order_ref(f"ZAM/{issue_date:%Y}/{r.randint(100, 9999)}")
    return builder.build()


def foreign_currency_invoice(
    seller: Party,
    buyer: Party,
    number: str,
    issue_date: datetime.date,
    *,
    currency: str | None = None,
    exchange_rate: Decimal | None = None,
    rng: random.Random | None = None,
    created_at: datetime.datetime | None = None,
) -> Invoice:
    """An invoice in EUR, USD or GBP: every line carries ``KursWaluty`` (default: a rate
    near the currency's usual one, 4 decimals as the NBP publishes) and the VAT is also
    given in PLN (``P_14_xW``).

    >>> invoice = foreign_currency_invoice(company("5265877635"), company("7740001454"),
    ...     "FV/2", datetime.date(2026, 3, 2), currency="EUR", exchange_rate=Decimal("4.2718"),
    ...     rng=random.Random(1))
    >>> invoice.fa.currency, {line.exchange_rate for line in invoice.fa.lines}
    ('EUR', {Decimal('4.2718')})
    """
    r = rng or random.Random()
    code = currency or r.choice(tuple(_RATES))
    base = _RATES.get(code, D(4))
    rate = exchange_rate or (base + Decimal(r.randint(-600, 600)) / 10_000)
    builder = _start(seller, buyer, number, issue_date, r, created_at).currency(code, rate)
    _add_lines(builder, r, r.randint(1, 4), exempt_allowed=False)
    _payment_terms(builder, issue_date, r)
    builder.note("Kurs waluty", f"średni kurs NBP {code} z dnia poprzedzającego dostawę: {rate}")
    return builder.build()


def correction_of(
    original: Invoice,
    number: str,
    issue_date: datetime.date,
    *,
    ksef_number: str | None = None,
    rng: random.Random | None = None,
    created_at: datetime.datetime | None = None,
) -> Invoice:
    """A correction (KOR) of ``original``: one line gets a price cut (a rebate) or part of
    its quantity returned, shown as the line before (``StanPrzed``) and after it.
    ``ksef_number`` is the original's KSeF number (None: it was issued outside KSeF).

    Raises ValueError for an original without a correctable net-priced line.

    >>> original = sales_invoice(company("5265877635"), company("7740001454"), "FV/3",
    ...                          datetime.date(2026, 3, 2), rng=random.Random(1))
    >>> kor = correction_of(original, "FK/1", datetime.date(2026, 3, 9), rng=random.Random(2))
    >>> kor.fa.invoice_type.value, kor.fa.corrected_invoices[0].number, kor.fa.total < 0
    ('KOR', 'FV/3', True)
    """
    r = rng or random.Random()
    candidates = [
        x
        for x in original.fa.lines
        if x.net_amount is not None
        and x.quantity is not None
        and x.unit_net_price is not None
        and x.vat_rate is not None
        and not x.before_correction
    ]
    if not candidates:
        raise ValueError("the original has no net-priced line to correct")
    line: InvoiceLine = r.choice(candidates)
    assert line.quantity is not None
    assert line.unit_net_price is not None
    assert line.vat_rate is not None
    assert line.name is not None
    fa = original.fa
    whole = line.quantity == line.quantity.to_integral_value()
    if whole and line.quantity >= 2 and r.random() < 0.5:
        reason = "Zwrot części towaru"
        quantity = line.quantity - Decimal(int(line.quantity) // 2)
        price = line.unit_net_price
    else:
        reason = "Rabat posprzedażowy 10%"
        quantity = line.quantity
        price = (line.unit_net_price * Decimal("0.9")).quantize(Decimal("0.01"))
    builder = (
        InvoiceBuilder(seller=original.seller, buyer=original.buyer, currency=fa.currency)
        .number(number)
        .issued(issue_date, place=fa.issue_place)
        .correction(reason=reason, kind=CorrectionType.CORRECTION_DATE)
        .corrects(fa.number, fa.issue_date, ksef_number)
    )
    if fa.sale_date is not None:
        builder.sold(fa.sale_date)
    if created_at is not None:
        builder.created(created_at)
    exemption = fa.annotations.exemption
    if line.vat_rate is VatRate.EXEMPT and exemption.exempt:
        builder.exempt(
            basis_act=exemption.basis_act,
            basis_directive=exemption.basis_directive,
            basis_other=exemption.basis_other,
        )
    rate = line.exchange_rate
    if fa.currency != "PLN" and rate is not None:
        builder.currency(fa.currency, rate)
    builder.line(
        line.name,
        line.quantity,
        line.unit_net_price,
        line.vat_rate,
        line.unit,
        discount=line.discount,
        net_amount=line.net_amount,
        before_correction=True,
        number=line.number,
    )
    builder.line(
        line.name,
        quantity,
        price,
        line.vat_rate,
        line.unit,
        discount=line.discount,
        number=line.number,
    )
    return builder.build()


def invoice_mix(
    seller: Party,
    buyer: Party,
    count: int,
    *,
    issue_date: Callable[[int], datetime.date],
    number: Callable[[int], str],
    ksef_number: Callable[[int], str | None] = lambda _: None,
    rng: random.Random | None = None,
    created_at: datetime.datetime | None = None,
) -> Iterator[Invoice]:
    """``count`` invoices: mostly domestic sales, every 5th in a foreign currency, every 7th
    a correction of an invoice earlier in the stream (``ksef_number(i)`` gives invoice
    ``i``'s KSeF number for the reference). ``issue_date(i)`` and ``number(i)`` give each
    invoice's date and number (non-decreasing dates keep corrections after originals).

    >>> mix = list(invoice_mix(company("5265877635"), company("7740001454"), 8,
    ...     issue_date=lambda i: datetime.date(2026, 3, 2), number=lambda i: f"FV/{i}",
    ...     rng=random.Random(7)))
    >>> [x.fa.invoice_type.value for x in mix]
    ['VAT', 'VAT', 'VAT', 'VAT', 'VAT', 'VAT', 'KOR', 'VAT']
    >>> sorted({x.fa.currency for x in mix}) != ['PLN']
    True
    """
    r = rng or random.Random()
    originals: list[tuple[int, Invoice]] = []
    for i in range(count):
        day = issue_date(i)
        if i % 7 == 6 and originals:
            index, original = r.choice(originals)
            yield correction_of(
                original,
                number(i),
                day,
                ksef_number=ksef_number(index),
                rng=r,
                created_at=created_at,
            )
            continue
        if i % 5 == 4:
            invoice = foreign_currency_invoice(
                seller, buyer, number(i), day, rng=r, created_at=created_at
            )
        else:
            invoice = sales_invoice(seller, buyer, number(i), day, rng=r, created_at=created_at)
        originals.append((i, invoice))
        yield invoice
