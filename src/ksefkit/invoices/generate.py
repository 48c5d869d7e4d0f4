"""FA(3) invoice generator: realistic, XSD-valid invoices for tests, demos and benchmarks.

Owns :func:`generate_fa3` (one invoice) and :func:`generate_batch_of` (many with unique
numbers). Invoices are built with :class:`ksefkit.fa3.InvoiceBuilder` and written by the
typed model; amounts follow :mod:`ksefkit.fa3.totals`: line net = quantity × unit price
rounded to grosze, VAT computed once per rate on the summed net (rounded half-up to 2
places), gross = net + VAT.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..fa3 import InvoiceBuilder, Party, PaymentMethod, VatRate

__all__ = ["SUPPORTED_VAT_RATES", "InvoiceLine", "generate_batch_of", "generate_fa3"]

# VAT rate (percent) -> P_12 code; 0 % is the domestic case (0 KR).
_RATES: dict[int, VatRate] = {
    23: VatRate.R23,
    22: VatRate.R22,
    8: VatRate.R8,
    7: VatRate.R7,
    5: VatRate.R5,
    0: VatRate.ZERO_DOMESTIC,
}
#: VAT rates :func:`generate_fa3` can put on a line.
SUPPORTED_VAT_RATES = frozenset(_RATES)


@dataclass(frozen=True)
class InvoiceLine:
    """One ``FaWiersz``: ``quantity`` × ``unit_net_price`` at ``vat_rate`` percent.

    >>> InvoiceLine("Konsultacje", Decimal("2"), Decimal("150.00")).vat_rate
    23
    """

    name: str
    quantity: Decimal
    unit_net_price: Decimal
    vat_rate: int = 23
    unit: str = "szt."


_DEFAULT_LINES = (
    InvoiceLine("Usługa programistyczna (godziny)", Decimal("10"), Decimal("150.00")),
    InvoiceLine("Licencja oprogramowania - 12 miesięcy", Decimal("1"), Decimal("499.99")),
    InvoiceLine("Podręcznik użytkownika (druk)", Decimal("2"), Decimal("35.50"), vat_rate=5),
)


def _plain(value: Decimal, max_places: int, what: str) -> Decimal:
    # Quantities and prices are written in their shortest form ("10", not "10.000").
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > max_places:
        raise ValueError(f"{what} {value} has more than {max_places} decimal places")
    return Decimal(format(value.normalize() + 0, "f"))


def generate_fa3(
    *,
    seller_nip: str,
    buyer_nip: str,
    invoice_number: str,
    issue_date: datetime.date,
    seller_name: str = "Przykładowa Firma Sprzedająca sp. z o.o.",
    buyer_name: str = "Nabywca Testowy S.A.",
    lines: Sequence[InvoiceLine] | None = None,
    currency: str = "PLN",
    created_at: datetime.datetime | None = None,
) -> bytes:
    """A complete FA(3) VAT invoice (UTF-8 without BOM, with an XML declaration).

    ``created_at`` (``DataWytworzeniaFa``, default: now) makes the output reproducible when
    fixed. Raises ``ValueError`` for unsupported VAT rates (see ``SUPPORTED_VAT_RATES``),
    an empty line list, a malformed currency code or an empty invoice number.

    >>> xml = generate_fa3(seller_nip="5265877635", buyer_nip="7740001454",
    ...     invoice_number="FV/1/02/2026", issue_date=datetime.date(2026, 2, 1))
    >>> xml.startswith(b"<?xml")
    True
    """
    items = tuple(_DEFAULT_LINES if lines is None else lines)
    if not items:
        raise ValueError("an invoice needs at least one line")
    for item in items:
        if item.vat_rate not in _RATES:
            raise ValueError(f"VAT rate {item.vat_rate} not supported; use one of {sorted(_RATES)}")
    created = created_at or datetime.datetime.now(datetime.UTC)
    if created.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    builder = (
        InvoiceBuilder(
            seller=Party.company(seller_nip, seller_name, "ul. Prosta 51", "00-838 Warszawa"),
            buyer=Party.company(buyer_nip, buyer_name, "ul. Długa 5", "31-147 Kraków"),
        )
        .currency(currency)
        .number(invoice_number)
        .issued(issue_date, place="Warszawa")
        .sold(issue_date)
        .created(created.astimezone(datetime.UTC).replace(microsecond=0))
        .payment(due=issue_date + datetime.timedelta(days=14), method=PaymentMethod.TRANSFER)
    )
    for item in items:
        builder.line(
            item.name,
            _plain(item.quantity, 6, "quantity"),
            _plain(item.unit_net_price, 8, "unit_net_price"),
            _RATES[item.vat_rate],
            item.unit,
        )
    return builder.build().to_xml()


def generate_batch_of(
    count: int,
    *,
    seller_nip: str,
    buyer_nip: str,
    issue_date: datetime.date,
    prefix: str = "KK",
    run_id: str | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``count`` ``(file_name, xml)`` pairs of FA(3) invoices with unique numbers.

    Numbers look like ``KK/3FA9C2/000001``; ``run_id`` (default: 6 random hex digits) keeps
    them unique across runs too, so repeated test runs never hit KSeF's duplicate check.

    >>> names = [n for n, _ in generate_batch_of(2, seller_nip="5265877635",
    ...     buyer_nip="7740001454", issue_date=datetime.date(2026, 2, 1), run_id="T1")]
    >>> names
    ['KK_T1_000001.xml', 'KK_T1_000002.xml']
    """
    if count < 0:
        raise ValueError("count must not be negative")
    token = run_id if run_id is not None else secrets.token_hex(3).upper()
    created = datetime.datetime.now(datetime.UTC)
    for index in range(1, count + 1):
        number = f"{prefix}/{token}/{index:06d}"
        xml = generate_fa3(
            seller_nip=seller_nip,
            buyer_nip=buyer_nip,
            invoice_number=number,
            issue_date=issue_date,
            created_at=created,
        )
        yield f"{prefix}_{token}_{index:06d}.xml", xml
