"""FA(3) invoice generator: realistic, XSD-valid invoices for tests, demos and benchmarks.

Owns :func:`generate_fa3` (one invoice) and :func:`generate_batch_of` (many with unique
numbers). Documents are built with lxml (never by string formatting), amounts with
:class:`~decimal.Decimal`: line net = quantity × unit price rounded to grosze, VAT computed
once per rate on the summed net (rounded half-up to 2 places), gross = net + VAT.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from lxml import etree

from ..formcodes import FormCode

__all__ = ["SUPPORTED_VAT_RATES", "InvoiceLine", "generate_batch_of", "generate_fa3"]

_NS = FormCode.FA3.value.namespace
_T = f"{{{_NS}}}"
_NSMAP = cast("dict[str, str]", {None: _NS})
_CENT = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# VAT rate -> (P_13_x, P_14_x or None, P_12 text). 23/22 share P_13_1 and 8/7 share P_13_2,
# as the FA(3) schema's field descriptions prescribe; 0 % is the domestic case (0 KR).
_RATE_FIELDS: dict[int, tuple[str, str | None, str]] = {
    23: ("P_13_1", "P_14_1", "23"),
    22: ("P_13_1", "P_14_1", "22"),
    8: ("P_13_2", "P_14_2", "8"),
    7: ("P_13_2", "P_14_2", "7"),
    5: ("P_13_3", "P_14_3", "5"),
    0: ("P_13_6_1", None, "0 KR"),
}
#: VAT rates :func:`generate_fa3` can put on a line.
SUPPORTED_VAT_RATES = frozenset(_RATE_FIELDS)
# Schema order of the summary fields.
_SUMMARY_ORDER = ("P_13_1", "P_13_2", "P_13_3", "P_13_6_1")


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


def _money(value: Decimal) -> str:
    # "+ 0" turns a negative zero into a plain zero.
    return format(value.quantize(_CENT, rounding=ROUND_HALF_UP) + 0, "f")


def _plain(value: Decimal, max_places: int, what: str) -> str:
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > max_places:
        raise ValueError(f"{what} {value} has more than {max_places} decimal places")
    return format(value.normalize() + 0, "f")


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _T + name)
    if text is not None:
        element.text = text
    return element


def _party(root: etree._Element, tag: str, nip: str, name: str, l1: str, l2: str) -> None:
    party = _sub(root, tag)
    ident = _sub(party, "DaneIdentyfikacyjne")
    _sub(ident, "NIP", nip)
    _sub(ident, "Nazwa", name)
    address = _sub(party, "Adres")
    _sub(address, "KodKraju", "PL")
    _sub(address, "AdresL1", l1)
    _sub(address, "AdresL2", l2)
    if tag == "Podmiot2":
        # 2 = the buyer is not a local-government unit / VAT-group member (both mandatory).
        _sub(party, "JST", "2")
        _sub(party, "GV", "2")


def _adnotacje(fa: etree._Element) -> None:
    notes = _sub(fa, "Adnotacje")
    for flag in ("P_16", "P_17", "P_18", "P_18A"):
        _sub(notes, flag, "2")
    _sub(_sub(notes, "Zwolnienie"), "P_19N", "1")
    _sub(_sub(notes, "NoweSrodkiTransportu"), "P_22N", "1")
    _sub(notes, "P_23", "2")
    _sub(_sub(notes, "PMarzy"), "P_PMarzyN", "1")


def _utc_stamp(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return value.astimezone(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency must be an ISO 4217 code, not {currency!r}")
    if not invoice_number.strip():
        raise ValueError("invoice_number must not be empty")
    for item in items:
        if item.vat_rate not in _RATE_FIELDS:
            raise ValueError(
                f"VAT rate {item.vat_rate} not supported; use one of {sorted(_RATE_FIELDS)}"
            )
    created = created_at or datetime.datetime.now(datetime.UTC)

    line_nets = [
        (item.quantity * item.unit_net_price).quantize(_CENT, rounding=ROUND_HALF_UP)
        for item in items
    ]
    net_by_field: dict[str, Decimal] = {}
    for item, net in zip(items, line_nets, strict=True):
        net_field = _RATE_FIELDS[item.vat_rate][0]
        net_by_field[net_field] = net_by_field.get(net_field, Decimal(0)) + net
    vat_by_field = _per_rate_vat(items, line_nets)
    gross = sum(net_by_field.values(), Decimal(0)) + sum(vat_by_field.values(), Decimal(0))

    root = etree.Element(_T + "Faktura", nsmap=_NSMAP)
    header = _sub(root, "Naglowek")
    code = _sub(header, "KodFormularza", FormCode.FA3.value_code)
    code.set("kodSystemowy", FormCode.FA3.system_code)
    code.set("wersjaSchemy", FormCode.FA3.schema_version)
    _sub(header, "WariantFormularza", "3")
    _sub(header, "DataWytworzeniaFa", _utc_stamp(created))
    _sub(header, "SystemInfo", "ksefkit")
    _party(root, "Podmiot1", seller_nip, seller_name, "ul. Prosta 51", "00-838 Warszawa")
    _party(root, "Podmiot2", buyer_nip, buyer_name, "ul. Długa 5", "31-147 Kraków")

    fa = _sub(root, "Fa")
    _sub(fa, "KodWaluty", currency)
    _sub(fa, "P_1", issue_date.isoformat())
    _sub(fa, "P_1M", "Warszawa")
    _sub(fa, "P_2", invoice_number)
    _sub(fa, "P_6", issue_date.isoformat())
    for net_field in _SUMMARY_ORDER:
        if net_field in net_by_field:
            _sub(fa, net_field, _money(net_by_field[net_field]))
            vat_field = "P_14_" + net_field[len("P_13_") :]
            if vat_field in vat_by_field:
                _sub(fa, vat_field, _money(vat_by_field[vat_field]))
    _sub(fa, "P_15", _money(gross))
    _adnotacje(fa)
    _sub(fa, "RodzajFaktury", "VAT")
    for number, (item, net) in enumerate(zip(items, line_nets, strict=True), start=1):
        row = _sub(fa, "FaWiersz")
        _sub(row, "NrWierszaFa", str(number))
        _sub(row, "P_7", item.name)
        _sub(row, "P_8A", item.unit)
        _sub(row, "P_8B", _plain(item.quantity, 6, "quantity"))
        _sub(row, "P_9A", _plain(item.unit_net_price, 8, "unit_net_price"))
        _sub(row, "P_11", _money(net))
        _sub(row, "P_12", _RATE_FIELDS[item.vat_rate][2])
    platnosc = _sub(fa, "Platnosc")
    due = issue_date + datetime.timedelta(days=14)
    _sub(_sub(platnosc, "TerminPlatnosci"), "Termin", due.isoformat())
    _sub(platnosc, "FormaPlatnosci", "6")
    etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def _per_rate_vat(items: Sequence[InvoiceLine], nets: Sequence[Decimal]) -> dict[str, Decimal]:
    """VAT per P_14_x field: summed net per *rate*, times the rate, rounded once per rate."""
    net_by_rate: dict[int, Decimal] = {}
    for item, net in zip(items, nets, strict=True):
        net_by_rate[item.vat_rate] = net_by_rate.get(item.vat_rate, Decimal(0)) + net
    vat_by_field: dict[str, Decimal] = {}
    for rate, net in net_by_rate.items():
        vat_field = _RATE_FIELDS[rate][1]
        if vat_field is not None:
            vat = (net * rate / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
            vat_by_field[vat_field] = vat_by_field.get(vat_field, Decimal(0)) + vat
    return vat_by_field


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
