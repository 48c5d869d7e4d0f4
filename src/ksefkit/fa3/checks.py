"""Business checks of an FA(3) invoice beyond the XSD, and :func:`validate` (XSD + checks).

The XSD says what each element may look like; these checks say whether the invoice adds up
and hangs together. Each problem is a :class:`Finding` with a stable ``code``, the element
``path`` (``Faktura/Fa/P_15``, repeated elements 1-based: ``Faktura/Fa/FaWiersz[2]/P_11``),
an English message quoting the Polish field names, and a severity:

* ``error`` — the invoice is wrong (KSeF rejects it, or the law requires otherwise);
* ``warning`` — suspicious, or a difference the rules tolerate (rounding);
* ``info`` — a consequence worth knowing (an invoice that can only be sent as offline).

The checks (codes in brackets):

* identifiers: NIP checksums of every party, also ``Podmiot1K``/``Podmiot2K`` and carriers
  [NIP_CHECKSUM]; ``IDWew`` check digit [INTERNAL_ID_CHECKSUM]; KSeF numbers of corrected and
  advance invoices [KSEF_NUMBER_CHECKSUM, a warning: the MF samples use placeholder numbers
  whose checksums are wrong];
* amounts: ``P_13_x``/``P_14_x`` against the lines (VAT, KOR and UPR invoices whose lines
  carry ``P_11`` or ``P_11A``) [LINES_TOTALS, LINES_TOTALS_ROUNDING]; ``P_15`` against the sum
  of ``P_13_x`` and ``P_14_x`` [P15_SUM, P15_SUM_ROUNDING]; without line amounts, ``P_14_x``
  against ``P_13_x`` × the rates of its field [VAT_RATE]; totals present at all
  [TOTALS_MISSING]; lines present on VAT/ROZ/UPR invoices [LINES_MISSING]; a line's value
  against quantity × price [LINE_VALUE]; unique line numbers [LINE_NUMBERS]; notes naming an
  existing line [NOTE_LINE]; ``Rozliczenie`` sums [SETTLEMENT]; partial payments
  [PARTIAL_PAYMENTS]; additional buyers' shares [SHARES];
* dates (against ``today``, default: the current Europe/Warsaw day): ``P_1`` not in the
  future [ISSUE_DATE_FUTURE]; ``DataWytworzeniaFa`` not in the future [CREATED_FUTURE] and,
  when later than ``P_1``, the offline consequence [ISSUED_OFFLINE, info]; ``OkresFa`` order
  [PERIOD_ORDER]; ``P_6`` at most 60 days after ``P_1`` (art. 106i ust. 7) [SALE_DATE_LATE];
  ``P_6`` vs the lines' ``P_6A`` [LINE_DATE]; due dates not before ``P_1`` [DUE_BEFORE_ISSUE];
  payment dates not after ``P_1`` [PAID_AFTER_ISSUE]; the corrected invoice not issued after
  the correction [CORRECTED_DATE];
* currency: no exchange rates or ``P_14_xW`` on PLN invoices [CURRENCY_PLN]; ``P_14_xW``
  present on foreign-currency invoices with VAT [VAT_PLN_MISSING] and equal to ``P_14_x`` ×
  the exchange rate (``KursWaluty`` of the lines, else ``KursWalutyZ``) [VAT_PLN,
  VAT_PLN_ROUNDING]; exchange rates positive [EXCHANGE_RATE];
* corrections: KOR/KOR_ZAL/KOR_ROZ name the corrected invoice [CORRECTION_REFERENCE], other
  kinds carry no correction fields [NOT_A_CORRECTION]; an invoice does not correct itself
  [CORRECTS_ITSELF]; ``P_15ZK`` only on KOR_ZAL/KOR_ROZ [P15ZK_KIND] and present there
  [P15ZK_MISSING, warning]; ``Podmiot2K`` names a buyer of the invoice [CORRECTED_BUYER];
* advances and settlements: ZAL describes the order [ORDER_MISSING], ``WartoscZamowienia``
  adds up [ORDER_VALUE, ORDER_VALUE_ROUNDING], the advance does not exceed it
  [ADVANCE_EXCEEDS_ORDER], ``Zamowienie`` only on ZAL/KOR_ZAL [ORDER_KIND]; ROZ/KOR_ROZ name
  the advance invoices and only they do [ADVANCE_REFERENCE]; ``ZaliczkaCzesciowa`` adds up to
  ``P_15`` on ZAL and at most to it on ROZ [PARTIAL_ADVANCES];
* annotations: exempt sales need ``P_19`` [EXEMPTION], reverse charge (``oo``) needs ``P_18``
  [REVERSE_CHARGE], margin sales need ``P_PMarzy`` [MARGIN], annex-15 goods over 15 000 PLN need
  ``P_18A`` [SPLIT_PAYMENT].

Rounding tolerance: VAT may be computed per line and rounded (art. 106e ust. 10, ``P_11Vat``)
or once per rate on the summed net (ust. 11); gross-priced lines are split into net and VAT.
Each rounding moves a total by at most half a grosz, so a total may differ from the
recomputed one by up to 0.01 per line that feeds it (at least 0.01): within that it is a
``*_ROUNDING`` warning, beyond it an error. ``P_15`` may differ from the sum of its fields by
0.01 per rate group. Two official MF samples need this: sample 1 has ``P_15`` 2051 where its
fields add up to 2050.99, sample 19 splits a 1000 gross line at 23 % as 813/187 (813.01/186.99
by the rule).

Not checked: the order of ``DataWytworzeniaFa`` before ``P_1`` (the MF samples produce the file
up to six weeks before their issue date; only a file produced *after* ``P_1`` has a
consequence), and late issue (art. 106i ust. 1 has too many exceptions to judge from the
invoice alone).

>>> from ksefkit import fa3
>>> report = fa3.validate(xml_bytes, today=datetime.date(2026, 3, 1))  # doctest: +SKIP
>>> report.ok, [str(f) for f in report.findings]  # doctest: +SKIP
(True, [])
"""

from __future__ import annotations

import datetime
import enum
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from ..errors import InvoiceParseError
from ..formcodes import FormCode
from ..identifiers import is_valid_internal_id, is_valid_ksef_number, nip_checksum_ok
from ..schemas import SchemaStore, default_store, safe_parser
from ._xml import ROOT_TAG, _class_spec, xml_name
from .model import (
    AdvanceInvoiceRef,
    AdvanceOrder,
    Annotations,
    CorrectedBuyer,
    CorrectedInvoice,
    DueDate,
    Exemption,
    ExtraInfo,
    Header,
    Invoice,
    InvoiceData,
    InvoiceLine,
    InvoiceType,
    MarginScheme,
    OrderLine,
    PartialAdvance,
    PartialPayment,
    PartyId,
    Payment,
    Period,
    SellerId,
    Settlement,
    ThirdParty,
    ThirdPartyId,
    VatRate,
)
from .totals import RATE_FIELDS, compute_totals, round_grosze

__all__ = ["Finding", "Report", "Severity", "check", "validate"]

_WARSAW = ZoneInfo("Europe/Warsaw")
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
#: Art. 106e ust. 1 pkt 18a: split payment above this gross amount (PLN).
SPLIT_PAYMENT_THRESHOLD = Decimal(15000)
#: Art. 106i ust. 7: an invoice no earlier than 60 days before the supply.
EARLY_ISSUE_DAYS = 60


class Severity(enum.StrEnum):
    """How serious a :class:`Finding` is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in an invoice.

    >>> str(Finding("NIP_CHECKSUM", "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP",
    ...             "Podmiot1/DaneIdentyfikacyjne/NIP 1234567890: invalid NIP checksum"))
    'error NIP_CHECKSUM: Podmiot1/DaneIdentyfikacyjne/NIP 1234567890: invalid NIP checksum'
    """

    code: str
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.severity.value} {self.code}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """``{"code", "path", "message", "severity"}``."""
        return {
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "severity": self.severity.value,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The result of :func:`validate`: XSD errors, business findings and the parsed invoice
    (None when the XML could not be parsed into the model).

    >>> report = Report(findings=(Finding("LINE_VALUE", "Faktura/Fa/FaWiersz[1]/P_11", "...",
    ...                                   Severity.WARNING),))
    >>> report.ok, len(report.warnings), report.to_json()["valid"]
    (True, 1, True)
    """

    xsd_errors: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    invoice: Invoice | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the XSD accepts the invoice and no finding is an error."""
        return not self.xsd_errors and not self.errors

    @property
    def errors(self) -> list[Finding]:
        """The error findings."""
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """The warning findings."""
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "xsdErrors", "findings"}`` for machine output."""
        return {
            "valid": self.ok,
            "xsdErrors": list(self.xsd_errors),
            "findings": [f.to_json() for f in self.findings],
        }


# ------------------------------------------------------------------------------- paths

_FA = xml_name(Invoice, "fa")


_CREATED_AT = f"{xml_name(Invoice, 'header')}/{xml_name(Header, 'created_at')}"
_ANNOTATIONS = f"{_FA}/{xml_name(InvoiceData, 'annotations')}"
_EXEMPT = f"{_ANNOTATIONS}/{xml_name(Annotations, 'exemption')}/{xml_name(Exemption, 'exempt')}"
_MARGIN = f"{_ANNOTATIONS}/{xml_name(Annotations, 'margin')}/{xml_name(MarginScheme, 'applies')}"


@functools.cache
def _fa(attribute: str) -> str:
    return f"{_FA}/{xml_name(InvoiceData, attribute)}"


@functools.cache
def _line_path(index: int, attribute: str | None = None) -> str:
    base = f"{_FA}/{xml_name(InvoiceData, 'lines')}[{index}]"
    return f"{base}/{xml_name(InvoiceLine, attribute)}" if attribute else base


_TOTAL_NET_FIELDS = (
    "net_standard",
    "net_reduced",
    "net_reduced_2",
    "net_taxi",
    "net_oss",
    "net_zero_domestic",
    "net_zero_wdt",
    "net_zero_export",
    "net_exempt",
    "net_outside_country",
    "net_eu_services",
    "net_reverse_charge",
    "net_margin",
)
_TOTAL_VAT_FIELDS = ("vat_standard", "vat_reduced", "vat_reduced_2", "vat_taxi", "vat_oss")
#: VAT field -> its net field and its PLN field (None for OSS, which has none).
_VAT_PAIRS = {
    "vat_standard": ("net_standard", "vat_standard_pln"),
    "vat_reduced": ("net_reduced", "vat_reduced_pln"),
    "vat_reduced_2": ("net_reduced_2", "vat_reduced_2_pln"),
    "vat_taxi": ("net_taxi", "vat_taxi_pln"),
    "vat_oss": ("net_oss", None),
}
_PLN_FIELDS = tuple(pln for _, pln in _VAT_PAIRS.values() if pln)
#: The percentages each VAT field may hold (23 % and 22 % share P_14_1, ...).
_FIELD_PERCENTS: dict[str, tuple[Decimal, ...]] = {}
for _rate, _fields in RATE_FIELDS.items():
    if _fields.vat is not None and _rate.percent is not None:
        _FIELD_PERCENTS.setdefault(_fields.vat, ())
        _FIELD_PERCENTS[_fields.vat] += (_rate.percent,)


def _amount(value: Decimal) -> str:
    """A computed amount for a message: to the grosz."""
    return str(round_grosze(value))


def _tolerance(count: int) -> Decimal:
    return _CENT * max(1, count)


# ----------------------------------------------------------------------------- context


class _Checks:
    """Collects the findings of one invoice."""

    def __init__(self, invoice: Invoice, today: datetime.date) -> None:
        self.invoice = invoice
        self.fa = invoice.fa
        self.today = today
        self.findings: list[Finding] = []

    def add(self, code: str, path: str, message: str, severity: Severity) -> None:
        self.findings.append(Finding(code, f"{ROOT_TAG}/{path}", message, severity))

    def error(self, code: str, path: str, message: str) -> None:
        self.add(code, path, message, Severity.ERROR)

    def warning(self, code: str, path: str, message: str) -> None:
        self.add(code, path, message, Severity.WARNING)

    def compare(
        self, code: str, path: str, what: str, found: Decimal, expected: Decimal, count: int
    ) -> None:
        """``found`` vs ``expected``: equal is fine, within the rounding tolerance of
        ``count`` roundings a ``<code>_ROUNDING`` warning, beyond it an error."""
        difference = abs(found - expected)
        if difference == 0:
            return
        text = f"{path} {found}: expected {_amount(expected)} ({what})"
        if difference <= _tolerance(count):
            self.warning(f"{code}_ROUNDING", path, text + ", a rounding difference")
        else:
            self.error(code, path, text)

    # ------------------------------------------------------------------------ shortcuts

    @property
    def kind(self) -> InvoiceType:
        return self.fa.invoice_type

    def total_fields(self) -> dict[str, Decimal]:
        """Every ``P_13_x``/``P_14_x`` attribute the invoice fills."""
        return {
            name: value
            for name in (*_TOTAL_NET_FIELDS, *_TOTAL_VAT_FIELDS)
            if (value := getattr(self.fa, name)) is not None
        }


# -------------------------------------------------------------------------- identifiers


#: The classes the identifier checks look at, and (per class) the child fields that lead to
#: one: the walk skips every subtree that cannot hold an identifier (lines, payment, ...).
_ID_CLASSES: tuple[type, ...] = (
    SellerId,
    PartyId,
    ThirdPartyId,
    CorrectedInvoice,
    AdvanceInvoiceRef,
)
_ROUTES: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _routes(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, XML name, repeated) of the child fields of ``cls`` leading to an id class."""
    known = _ROUTES.get(cls)
    if known is not None:
        return known
    _ROUTES[cls] = ()  # the model has no cycles; this only guards the recursion
    found = tuple(
        (spec.attr, spec.name, spec.repeated)
        for spec in _class_spec(cls).fields
        if spec.child is not None and (spec.child in _ID_CLASSES or _routes(spec.child))
    )
    _ROUTES[cls] = found
    return found


def _walk(obj: object, path: str) -> Iterator[tuple[str, object]]:
    """Every identifier-holding object under ``obj`` with its relative path (repeated
    elements 1-based)."""
    if isinstance(obj, _ID_CLASSES):
        yield path, obj
    for attr, name, repeated in _routes(type(obj)):
        value = getattr(obj, attr)
        prefix = f"{path}/{name}" if path else name
        if repeated:
            for index, item in enumerate(value, start=1):
                yield from _walk(item, f"{prefix}[{index}]")
        elif value is not None:
            yield from _walk(value, prefix)


def _check_identifiers(c: _Checks) -> None:
    for path, obj in _walk(c.invoice, ""):
        nip = obj.nip if isinstance(obj, SellerId | PartyId | ThirdPartyId) else None
        if nip is not None and not nip_checksum_ok(nip):
            where = f"{path}/{xml_name(type(obj), 'nip')}"
            c.error("NIP_CHECKSUM", where, f"{where} {nip}: invalid NIP checksum")
        if isinstance(obj, ThirdPartyId) and obj.internal_id is not None:
            where = f"{path}/{xml_name(ThirdPartyId, 'internal_id')}"
            value = obj.internal_id
            if not (is_valid_internal_id(value) and nip_checksum_ok(value[:10])):
                c.error(
                    "INTERNAL_ID_CHECKSUM",
                    where,
                    f"{where} {value}: invalid internal identifier (NIP checksum or check digit)",
                )
        ksef_number = getattr(obj, "ksef_number", None)
        if isinstance(ksef_number, str) and not is_valid_ksef_number(ksef_number):
            where = f"{path}/{xml_name(type(obj), 'ksef_number')}"
            c.warning(
                "KSEF_NUMBER_CHECKSUM",
                where,
                f"{where} {ksef_number}: not a valid KSeF number (format or checksum)",
            )


# ------------------------------------------------------------------------------ amounts

_LINE_TOTAL_KINDS = frozenset({InvoiceType.VAT, InvoiceType.KOR, InvoiceType.UPR})
_LINES_REQUIRED = frozenset({InvoiceType.VAT, InvoiceType.ROZ, InvoiceType.UPR})


def _amount_lines(lines: Sequence[InvoiceLine]) -> list[InvoiceLine]:
    return [x for x in lines if x.net_amount is not None or x.gross_amount is not None]


def _field_counts(lines: Iterable[InvoiceLine]) -> dict[str, int]:
    """How many lines feed each total attribute (for the rounding tolerance)."""
    counts: dict[str, int] = {}
    for line in lines:
        if line.vat_rate is not None:
            fields = RATE_FIELDS[line.vat_rate]
            names: tuple[str | None, ...] = (fields.net, fields.vat)
        elif line.oss_vat_rate is not None:
            names = ("net_oss", "vat_oss")
        else:
            names = ("net_margin",)
        for name in names:
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
    return counts


def _check_totals(c: _Checks) -> None:
    fa = c.fa
    fields = c.total_fields()
    lines = _amount_lines(fa.lines)
    if not fa.lines and c.kind in _LINES_REQUIRED:
        where = f"{_FA}/{xml_name(InvoiceData, 'lines')}"
        c.error("LINES_MISSING", where, f"{where}: a {c.kind.value} invoice needs its lines")
    if not fields and fa.total != 0 and c.kind is not InvoiceType.UPR:
        c.error(
            "TOTALS_MISSING",
            _fa("total"),
            f"{_fa('total')} {fa.total}: no P_13_x/P_14_x amounts add up to it",
        )
    if lines and c.kind in _LINE_TOTAL_KINDS:
        _check_against_lines(c, lines, fields)
    else:
        _check_vat_rates(c, fields)
    if fields:
        groups = sum(1 for name in fields if name in _TOTAL_NET_FIELDS)
        summed = sum(fields.values(), _ZERO)
        if fa.total != summed:  # the message is built only when it is needed
            parts = " + ".join(xml_name(InvoiceData, name) for name in fields)
            c.compare("P15_SUM", _fa("total"), f"the sum {parts}", fa.total, summed, groups)


def _check_against_lines(c: _Checks, lines: list[InvoiceLine], fields: dict[str, Decimal]) -> None:
    computed = compute_totals(lines)
    computed.pop("total")
    counts = _field_counts(lines)
    for name in sorted(
        set(computed) | set(fields), key=(*_TOTAL_NET_FIELDS, *_TOTAL_VAT_FIELDS).index
    ):
        found = fields.get(name)
        expected = computed.get(name, _ZERO)
        where = _fa(name)
        if found is None:
            if expected != 0:
                c.error(
                    "LINES_TOTALS",
                    where,
                    f"{where} is missing: the lines add up to {_amount(expected)}",
                )
            continue
        c.compare(
            "LINES_TOTALS", where, "from the lines FaWiersz", found, expected, counts.get(name, 0)
        )


def _check_vat_rates(c: _Checks, fields: dict[str, Decimal]) -> None:
    """Without line amounts: ``P_14_x`` must be ``P_13_x`` × one of the field's rates."""
    rounds = max(len(c.fa.lines), len(c.fa.order.lines) if c.fa.order else 0)
    tolerance = _tolerance(rounds)
    for vat_name, percents in _FIELD_PERCENTS.items():
        net_name = _VAT_PAIRS[vat_name][0]
        # The taxi flat rate is a share of revenue, not VAT on a net amount.
        if vat_name == "vat_taxi" or vat_name not in fields or net_name not in fields:
            continue
        net, vat = fields[net_name], fields[vat_name]
        candidates = [net * p / _HUNDRED for p in percents]
        if min(candidates) - tolerance <= vat <= max(candidates) + tolerance:
            continue
        rates = " or ".join(f"{p} %" for p in percents)
        where = _fa(vat_name)
        c.error(
            "VAT_RATE",
            where,
            f"{where} {vat}: is not {xml_name(InvoiceData, net_name)} {net} × {rates} "
            f"(expected {' or '.join(_amount(x) for x in candidates)})",
        )


def _check_lines(c: _Checks) -> None:
    seen: dict[tuple[int, bool], int] = {}
    numbers = {line.number for line in c.fa.lines}
    for index, line in enumerate(c.fa.lines, start=1):
        key = (line.number, line.before_correction)
        if key in seen:
            where = _line_path(index, "number")
            c.error(
                "LINE_NUMBERS",
                where,
                f"{where} {line.number}: the same number as FaWiersz[{seen[key]}]",
            )
        seen.setdefault(key, index)
        _check_line_value(c, index, line)
    for index, note in enumerate(c.fa.extra_info, start=1):
        if note.line_number is not None and note.line_number not in numbers:
            where = f"{_FA}/{xml_name(InvoiceData, 'extra_info')}[{index}]/" + xml_name(
                ExtraInfo, "line_number"
            )
            c.error("NOTE_LINE", where, f"{where} {note.line_number}: no line has that number")


def _candidates(quantity: Decimal, price: Decimal, discount: Decimal | None) -> list[Decimal]:
    # P_10 is "discounts not included in the unit price": the MF samples give it per unit
    # (sample 4: 20 × (1000 - 100) = 18000), the builder per line; both readings are accepted.
    values = [quantity * price]
    if discount is not None:
        values += [quantity * price - discount, quantity * (price - discount)]
    return [round_grosze(v) for v in values]


def _check_line_value(c: _Checks, index: int, line: InvoiceLine) -> None:
    if line.quantity is None:
        return
    for price, value, price_attr, value_attr in (
        (line.unit_net_price, line.net_amount, "unit_net_price", "net_amount"),
        (line.unit_gross_price, line.gross_amount, "unit_gross_price", "gross_amount"),
    ):
        if price is None or value is None:
            continue
        options = _candidates(line.quantity, price, line.discount)
        if any(abs(value - option) <= _CENT for option in options):
            continue
        where = _line_path(index, value_attr)
        discount = f" − P_10 {line.discount}" if line.discount is not None else ""
        c.warning(
            "LINE_VALUE",
            where,
            f"{where} {value}: P_8B {line.quantity} × {xml_name(InvoiceLine, price_attr)} "
            f"{price}{discount} gives {options[-1]}",
        )


def _check_settlement(c: _Checks) -> None:
    settlement = c.fa.settlement
    if settlement is None:
        return
    base = f"{_FA}/{xml_name(InvoiceData, 'settlement')}"

    def name(attr: str) -> str:
        return f"{base}/{xml_name(Settlement, attr)}"

    charged = sum((x.amount for x in settlement.charges), _ZERO)
    deducted = sum((x.amount for x in settlement.deductions), _ZERO)
    for total_attr, items_attr, summed in (
        ("charges_total", "charges", charged),
        ("deductions_total", "deductions", deducted),
    ):
        found = getattr(settlement, total_attr)
        if found is not None and found != summed:
            c.error(
                "SETTLEMENT",
                name(total_attr),
                f"{name(total_attr)} {found}: the {xml_name(Settlement, items_attr)} amounts "
                f"add up to {summed}",
            )
    due = c.fa.total + (settlement.charges_total or _ZERO) - (settlement.deductions_total or _ZERO)
    formula = f"P_15 {c.fa.total} + SumaObciazen − SumaOdliczen = {due}"
    if settlement.amount_due is not None and settlement.amount_due != due:
        c.error(
            "SETTLEMENT",
            name("amount_due"),
            f"{name('amount_due')} {settlement.amount_due}: {formula}",
        )
    if settlement.amount_to_settle is not None and settlement.amount_to_settle != -due:
        c.error(
            "SETTLEMENT",
            name("amount_to_settle"),
            f"{name('amount_to_settle')} {settlement.amount_to_settle}: {formula}, so "
            f"{-due} is to settle",
        )


def _check_payment(c: _Checks) -> None:
    payment = c.fa.payment
    if payment is None:
        return
    base = f"{_FA}/{xml_name(InvoiceData, 'payment')}"
    issued = c.fa.issue_date
    for index, due in enumerate(payment.due_dates, start=1):
        if due.date is not None and due.date < issued:
            where = f"{base}/{xml_name(Payment, 'due_dates')}[{index}]/" + xml_name(DueDate, "date")
            c.warning("DUE_BEFORE_ISSUE", where, f"{where} {due.date}: before P_1 {issued}")
    if payment.payment_date is not None and payment.payment_date > issued:
        where = f"{base}/{xml_name(Payment, 'payment_date')}"
        c.warning(
            "PAID_AFTER_ISSUE",
            where,
            f"{where} {payment.payment_date}: after P_1 {issued} (it is the date paid before "
            "the invoice was issued)",
        )
    paid = _ZERO
    for index, part in enumerate(payment.partial_payments, start=1):
        paid += part.amount
        if part.payment_date > issued:
            where = f"{base}/{xml_name(Payment, 'partial_payments')}[{index}]/" + xml_name(
                PartialPayment, "payment_date"
            )
            c.warning("PAID_AFTER_ISSUE", where, f"{where} {part.payment_date}: after P_1 {issued}")
    if payment.partial_payments and c.fa.total > 0:
        where = f"{base}/{xml_name(Payment, 'partially_paid')}"
        if payment.partially_paid is False and paid != c.fa.total:
            c.warning(
                "PARTIAL_PAYMENTS",
                where,
                f"{where} 2 (paid in full in parts): the parts add up to {paid}, P_15 is "
                f"{c.fa.total}",
            )
        elif paid > c.fa.total:
            c.warning(
                "PARTIAL_PAYMENTS",
                where,
                f"{where}: the partial payments add up to {paid}, more than P_15 {c.fa.total}",
            )


def _check_shares(c: _Checks) -> None:
    shares = [p.share for p in c.invoice.third_parties if p.share is not None]
    total = sum(shares, _ZERO)
    if total > _HUNDRED:
        where = f"{xml_name(Invoice, 'third_parties')}/{xml_name(ThirdParty, 'share')}"
        c.error("SHARES", where, f"{where}: the additional buyers' shares add up to {total} %")


# -------------------------------------------------------------------------------- dates


def _check_dates(c: _Checks) -> None:
    fa = c.fa
    header = c.invoice.header
    if fa.issue_date > c.today:
        c.error(
            "ISSUE_DATE_FUTURE",
            _fa("issue_date"),
            f"{_fa('issue_date')} {fa.issue_date}: in the future (today is {c.today}); KSeF "
            "rejects an issue date after the day it accepts the invoice",
        )
    created_at = header.created_at
    created = created_at.astimezone(_WARSAW).date() if created_at.tzinfo is not None else created_at
    if isinstance(created, datetime.datetime):
        created = created.date()
    where = _CREATED_AT
    if created > c.today + datetime.timedelta(days=1):
        c.error(
            "CREATED_FUTURE", where, f"{where} {created_at}: in the future (today is {c.today})"
        )
    elif created > fa.issue_date:
        c.add(
            "ISSUED_OFFLINE",
            where,
            f"{where} {created_at}: produced after P_1 {fa.issue_date}, so it reaches KSeF "
            "after its issue day and is an offline invoice (offline deadlines apply)",
            Severity.INFO,
        )
    if fa.period is not None and fa.period.start > fa.period.end:
        base = f"{_FA}/{xml_name(InvoiceData, 'period')}"
        c.error(
            "PERIOD_ORDER",
            base,
            f"{base}: {xml_name(Period, 'start')} {fa.period.start} is after "
            f"{xml_name(Period, 'end')} {fa.period.end}",
        )
    if fa.sale_date is not None:
        if fa.sale_date > fa.issue_date + datetime.timedelta(days=EARLY_ISSUE_DAYS):
            c.warning(
                "SALE_DATE_LATE",
                _fa("sale_date"),
                f"{_fa('sale_date')} {fa.sale_date}: more than {EARLY_ISSUE_DAYS} days after P_1 "
                f"{fa.issue_date} (art. 106i ust. 7: no invoice earlier than that)",
            )
        for index, line in enumerate(fa.lines, start=1):
            if line.sale_date is not None and line.sale_date != fa.sale_date:
                where = _line_path(index, "sale_date")
                c.error(
                    "LINE_DATE",
                    where,
                    f"{where} {line.sale_date}: differs from P_6 {fa.sale_date}, which is the "
                    "date common to all lines (leave P_6 out when the lines differ)",
                )
    for index, corrected in enumerate(fa.corrected_invoices, start=1):
        if corrected.issue_date > fa.issue_date:
            where = f"{_fa('corrected_invoices')}[{index}]/" + xml_name(
                CorrectedInvoice, "issue_date"
            )
            c.error(
                "CORRECTED_DATE",
                where,
                f"{where} {corrected.issue_date}: the corrected invoice is issued after this "
                f"correction (P_1 {fa.issue_date})",
            )


# ----------------------------------------------------------------------------- currency


def _rates_in(c: _Checks) -> list[tuple[str, Decimal]]:
    fa = c.fa
    found: list[tuple[str, Decimal]] = []
    for attr in ("advance_exchange_rate", "exchange_rate_before_correction"):
        value = getattr(fa, attr)
        if value is not None:
            found.append((_fa(attr), value))
    for index, line in enumerate(fa.lines, start=1):
        if line.exchange_rate is not None:
            found.append((_line_path(index, "exchange_rate"), line.exchange_rate))
    for index, part in enumerate(fa.partial_advances, start=1):
        if part.exchange_rate is not None:
            where = f"{_fa('partial_advances')}[{index}]/" + xml_name(
                PartialAdvance, "exchange_rate"
            )
            found.append((where, part.exchange_rate))
    return found


def _vat_share(line: InvoiceLine) -> Decimal | None:
    """The line's unrounded VAT (negative for a state before correction), or None."""
    percent = line.vat_rate.percent if line.vat_rate is not None else line.oss_vat_rate
    if percent is None:
        return None
    if line.net_amount is not None:
        vat = line.net_amount * percent / _HUNDRED
    elif line.gross_amount is not None:
        vat = line.gross_amount * percent / (_HUNDRED + percent)
    else:
        return None
    return -vat if line.before_correction else vat


def _expected_vat_pln(c: _Checks, vat_name: str, vat: Decimal) -> tuple[Decimal, int] | None:
    """(P_14_xW expected, roundings) from the lines' ``KursWaluty`` or ``KursWalutyZ``."""
    fa = c.fa
    group = [
        line
        for line in _amount_lines(fa.lines)
        if line.vat_rate is not None and RATE_FIELDS[line.vat_rate].vat == vat_name
    ]
    rates = {line.exchange_rate for line in group}
    if group and None not in rates:
        if len(rates) == 1:
            (rate,) = rates
            assert rate is not None
            return round_grosze(vat * rate), len(group)
        # Several rates (sample 21: each line at the rate of its own delivery day): the
        # unrounded VAT of each line converted, then rounded once.
        total = _ZERO
        for line in group:
            share = _vat_share(line)
            assert share is not None
            assert line.exchange_rate is not None
            total += share * line.exchange_rate
        return round_grosze(total), len(group)
    if fa.advance_exchange_rate is not None and not group:
        return round_grosze(vat * fa.advance_exchange_rate), 1
    return None


def _check_currency(c: _Checks) -> None:
    fa = c.fa
    rates = _rates_in(c)
    if fa.terms is not None and fa.terms.contract_rate is not None:
        rates.append((_fa("terms") + "/KursUmowny", fa.terms.contract_rate))
    for where, rate in rates:
        if rate <= 0:
            c.error("EXCHANGE_RATE", where, f"{where} {rate}: an exchange rate must be positive")
    if fa.currency == "PLN":
        for where, _rate in rates:
            if where.endswith("KursUmowny"):
                continue  # a contract rate is exactly for PLN invoices converted from another
            c.error(
                "CURRENCY_PLN", where, f"{where}: an exchange rate on a PLN invoice (KodWaluty PLN)"
            )
        for pln_field in _PLN_FIELDS:
            if getattr(fa, pln_field) is not None:
                c.error(
                    "CURRENCY_PLN",
                    _fa(pln_field),
                    f"{_fa(pln_field)}: VAT converted to PLN on a PLN invoice (KodWaluty PLN)",
                )
        return
    for vat_name, (_net_name, pln_name) in _VAT_PAIRS.items():
        vat = getattr(fa, vat_name)
        if pln_name is None or vat is None or vat == 0:
            continue
        found = getattr(fa, pln_name)
        if found is None:
            c.error(
                "VAT_PLN_MISSING",
                _fa(pln_name),
                f"{_fa(pln_name)} is missing: {_fa(vat_name)} {vat} {fa.currency} must also be "
                "given in PLN (art. 106e ust. 11)",
            )
            continue
        expected = _expected_vat_pln(c, vat_name, vat)
        if expected is not None:
            value, roundings = expected
            c.compare(
                "VAT_PLN",
                _fa(pln_name),
                f"{xml_name(InvoiceData, vat_name)} × the exchange rate",
                found,
                value,
                roundings,
            )


# -------------------------------------------------------------------------- corrections

_CORRECTION_ONLY = (
    "correction_reason",
    "correction_type",
    "corrected_invoices",
    "corrected_period",
    "corrected_number",
    "corrected_seller",
    "corrected_buyers",
    "paid_before_correction",
    "exchange_rate_before_correction",
)


def _present(value: object) -> bool:
    return value is not None and value != ()


def _check_corrections(c: _Checks) -> None:
    fa = c.fa
    if not c.kind.is_correction:
        for attr in _CORRECTION_ONLY:
            if _present(getattr(fa, attr)):
                c.error(
                    "NOT_A_CORRECTION",
                    _fa(attr),
                    f"{_fa(attr)}: only corrections (KOR, KOR_ZAL, KOR_ROZ) carry it; "
                    f"RodzajFaktury is {c.kind.value}",
                )
        for index, line in enumerate(fa.lines, start=1):
            if line.before_correction:
                where = _line_path(index, "before_correction")
                c.error(
                    "NOT_A_CORRECTION",
                    where,
                    f"{where}: a line before correction on a {c.kind.value} invoice",
                )
        if fa.order is not None:
            for index, order_line in enumerate(fa.order.lines, start=1):
                if order_line.before_correction:
                    where = (
                        f"{_fa('order')}/{xml_name(AdvanceOrder, 'lines')}[{index}]/"
                        + xml_name(OrderLine, "before_correction")
                    )
                    c.error(
                        "NOT_A_CORRECTION",
                        where,
                        f"{where}: an order line before correction on a {c.kind.value} invoice",
                    )
        return
    if not fa.corrected_invoices:
        c.error(
            "CORRECTION_REFERENCE",
            _fa("corrected_invoices"),
            f"{_fa('corrected_invoices')} is missing: a {c.kind.value} invoice names the "
            "invoice it corrects (number, issue date, KSeF number or NrKSeFN)",
        )
    for index, corrected in enumerate(fa.corrected_invoices, start=1):
        if corrected.number == fa.number:
            where = f"{_fa('corrected_invoices')}[{index}]/" + xml_name(CorrectedInvoice, "number")
            c.error(
                "CORRECTS_ITSELF",
                where,
                f"{where} {corrected.number}: the correction's own number P_2",
            )
    if fa.paid_before_correction is not None and c.kind is InvoiceType.KOR:
        c.error(
            "P15ZK_KIND",
            _fa("paid_before_correction"),
            f"{_fa('paid_before_correction')}: only corrections of advance (KOR_ZAL) or "
            "settlement (KOR_ROZ) invoices carry the amount before the correction",
        )
    if fa.paid_before_correction is None and c.kind is not InvoiceType.KOR:
        c.warning(
            "P15ZK_MISSING",
            _fa("paid_before_correction"),
            f"{_fa('paid_before_correction')} is missing: a {c.kind.value} invoice gives the "
            "amount paid (or left to pay) before the correction",
        )
    _check_corrected_buyers(c)


def _party_keys(identity: PartyId | ThirdPartyId) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    if identity.nip:
        keys.add(("NIP", identity.nip))
    if identity.eu_vat_number:
        keys.add(("NrVatUE", f"{identity.eu_code}{identity.eu_vat_number}"))
    if identity.tax_id:
        keys.add(("NrID", f"{identity.country_code}:{identity.tax_id}"))
    return keys


def _check_corrected_buyers(c: _Checks) -> None:
    known = _party_keys(c.invoice.buyer.identity)
    for party in c.invoice.third_parties:
        known |= _party_keys(party.identity)
    for index, corrected in enumerate(c.fa.corrected_buyers, start=1):
        keys = _party_keys(corrected.identity)
        if keys and not keys & known:
            where = f"{_fa('corrected_buyers')}[{index}]/" + xml_name(CorrectedBuyer, "identity")
            shown = ", ".join(f"{k} {v}" for k, v in sorted(keys))
            c.error(
                "CORRECTED_BUYER",
                where,
                f"{where} {shown}: must be the identifier of Podmiot2 or a Podmiot3 of this "
                "correction (a wrong NIP is corrected to zero instead)",
            )


# ------------------------------------------------------------------ advances, settlement

_ADVANCE_KINDS = frozenset({InvoiceType.ZAL, InvoiceType.KOR_ZAL})
_SETTLEMENT_KINDS = frozenset({InvoiceType.ROZ, InvoiceType.KOR_ROZ})


def _check_advances(c: _Checks) -> None:
    fa = c.fa
    order = fa.order
    if order is not None and c.kind not in _ADVANCE_KINDS:
        c.error(
            "ORDER_KIND",
            _fa("order"),
            f"{_fa('order')}: only advance invoices (ZAL, KOR_ZAL) describe the order; "
            f"RodzajFaktury is {c.kind.value}",
        )
    if c.kind is InvoiceType.ZAL and order is None and not fa.lines:
        c.error(
            "ORDER_MISSING",
            _fa("order"),
            f"{_fa('order')} is missing: an advance invoice names the ordered goods or "
            "services (art. 106f ust. 1 pkt 4)",
        )
    if order is not None:
        _check_order(c, order)
    if c.kind in _SETTLEMENT_KINDS and not fa.advance_invoices:
        c.error(
            "ADVANCE_REFERENCE",
            _fa("advance_invoices"),
            f"{_fa('advance_invoices')} is missing: a {c.kind.value} invoice names the advance "
            "invoices it settles",
        )
    if c.kind not in _SETTLEMENT_KINDS and fa.advance_invoices:
        c.error(
            "ADVANCE_REFERENCE",
            _fa("advance_invoices"),
            f"{_fa('advance_invoices')}: only settlement invoices (ROZ, KOR_ROZ) name advance "
            f"invoices; RodzajFaktury is {c.kind.value}",
        )
    _check_partial_advances(c)


def _check_order(c: _Checks, order: AdvanceOrder) -> None:
    base = _fa("order")
    value_path = f"{base}/{xml_name(AdvanceOrder, 'value')}"
    current = [x for x in order.lines if not x.before_correction]
    if current and all(x.net_amount is not None for x in current):
        summed = sum(((x.net_amount or _ZERO) + (x.vat_amount or _ZERO) for x in current), _ZERO)
        c.compare(
            "ORDER_VALUE",
            value_path,
            "P_11NettoZ + P_11VatZ of the order lines",
            order.value,
            summed,
            len(current),
        )
    for index, line in enumerate(order.lines, start=1):
        percent = line.vat_rate.percent if line.vat_rate is not None else line.oss_vat_rate
        if percent is None or line.net_amount is None or line.vat_amount is None:
            continue
        expected = round_grosze(line.net_amount * percent / _HUNDRED)
        if abs(line.vat_amount - expected) > _CENT:
            where = f"{base}/{xml_name(AdvanceOrder, 'lines')}[{index}]/" + xml_name(
                OrderLine, "vat_amount"
            )
            c.warning(
                "ORDER_LINE_VAT",
                where,
                f"{where} {line.vat_amount}: P_11NettoZ {line.net_amount} × {percent} % is "
                f"{expected}",
            )
    if c.kind is InvoiceType.ZAL and c.fa.total > order.value:
        c.error(
            "ADVANCE_EXCEEDS_ORDER",
            _fa("total"),
            f"{_fa('total')} {c.fa.total}: the advance is more than the order's "
            f"WartoscZamowienia {order.value}",
        )


def _check_partial_advances(c: _Checks) -> None:
    fa = c.fa
    if not fa.partial_advances:
        return
    where = _fa("partial_advances")
    summed = sum((x.amount for x in fa.partial_advances), _ZERO)
    if c.kind in (InvoiceType.ZAL, InvoiceType.KOR_ZAL):
        if summed != fa.total:
            c.error(
                "PARTIAL_ADVANCES",
                where,
                f"{where}: the P_15Z amounts add up to {summed}, P_15 is {fa.total}",
            )
    elif c.kind in _SETTLEMENT_KINDS:
        if summed > fa.total:
            c.error(
                "PARTIAL_ADVANCES",
                where,
                f"{where}: the P_15Z amounts add up to {summed}, more than P_15 {fa.total}",
            )
    else:
        c.error(
            "PARTIAL_ADVANCES",
            where,
            f"{where}: only advance (ZAL) and settlement (ROZ) invoices document payments "
            f"received before the supply; RodzajFaktury is {c.kind.value}",
        )


# --------------------------------------------------------------------------- annotations


def _lines_with(c: _Checks, *rates: VatRate) -> bool:
    return any(line.vat_rate in rates for line in c.fa.lines)


def _nonzero(value: Decimal | None) -> bool:
    return value is not None and value != 0


def _check_annotations(c: _Checks) -> None:
    fa = c.fa
    notes: Annotations = fa.annotations
    base = _ANNOTATIONS
    exemption_path = _EXEMPT
    exempt_sales = _lines_with(c, VatRate.EXEMPT) or _nonzero(fa.net_exempt)
    if exempt_sales and not notes.exemption.exempt:
        c.error(
            "EXEMPTION",
            exemption_path,
            f"{exemption_path}: exempt sales (P_12 zw, P_13_7) need P_19 and its legal basis",
        )
    elif notes.exemption.exempt and not exempt_sales:
        c.warning(
            "EXEMPTION",
            exemption_path,
            f"{exemption_path}: marked exempt, but no line or P_13_7 is exempt (zw)",
        )
    reverse = _lines_with(c, VatRate.REVERSE_CHARGE) or _nonzero(fa.net_reverse_charge)
    if reverse and not notes.reverse_charge:
        where = f"{base}/{xml_name(Annotations, 'reverse_charge')}"
        c.error(
            "REVERSE_CHARGE",
            where,
            f"{where} 2: reverse-charge sales (P_12 oo, P_13_10) need P_18 = 1 "
            '("odwrotne obciążenie")',
        )
    margin_path = _MARGIN
    if _nonzero(fa.net_margin) and not notes.margin.applies:
        c.error(
            "MARGIN",
            margin_path,
            f"{margin_path}: margin-scheme sales (P_13_11) need P_PMarzy and its kind",
        )
    elif notes.margin.applies and fa.net_margin is None:
        c.warning("MARGIN", margin_path, f"{margin_path}: margin scheme marked, but no P_13_11")
    _check_split_payment(c, base)


def _check_split_payment(c: _Checks, base: str) -> None:
    fa = c.fa
    if fa.annotations.split_payment or not any(line.annex_15 for line in fa.lines):
        return
    if fa.currency == "PLN":
        total_pln: Decimal | None = fa.total
    else:
        rates = {x.exchange_rate for x in fa.lines if x.exchange_rate is not None}
        if fa.advance_exchange_rate is not None:
            rates.add(fa.advance_exchange_rate)
        total_pln = fa.total * rates.pop() if len(rates) == 1 else None
    if total_pln is not None and total_pln > SPLIT_PAYMENT_THRESHOLD:
        where = f"{base}/{xml_name(Annotations, 'split_payment')}"
        c.error(
            "SPLIT_PAYMENT",
            where,
            f"{where} 2: annex-15 goods (P_12_Zal_15) and P_15 over {SPLIT_PAYMENT_THRESHOLD} "
            'PLN need P_18A = 1 ("mechanizm podzielonej płatności")',
        )


# ---------------------------------------------------------------------------- entry points

_CHECKS = (
    _check_identifiers,
    _check_totals,
    _check_lines,
    _check_settlement,
    _check_payment,
    _check_shares,
    _check_dates,
    _check_currency,
    _check_corrections,
    _check_advances,
    _check_annotations,
)


def _warsaw_today() -> datetime.date:
    """The current calendar day in Poland (KSeF compares ``P_1`` with it)."""
    return datetime.datetime.now(_WARSAW).date()


def check(invoice: Invoice, *, today: datetime.date | None = None) -> list[Finding]:
    """The business findings of an invoice (the XSD is :func:`validate`'s job).

    ``today`` (default: the current Europe/Warsaw day) is what "in the future" means.

    >>> from decimal import Decimal
    >>> from ksefkit.fa3 import InvoiceBuilder, Party
    >>> invoice = (
    ...     InvoiceBuilder(seller=Party.company("1234567890", "ABC", "ul. Kwiatowa 1"),
    ...                    buyer=Party.company("1111111111", "XYZ", "ul. Polna 1"))
    ...     .number("FV/1").issued(datetime.date(2026, 2, 1))
    ...     .created(datetime.datetime(2026, 2, 1, 9, tzinfo=datetime.UTC))
    ...     .line("Konsultacje", Decimal(2), Decimal("150.00")).build())
    >>> [f.message for f in check(invoice, today=datetime.date(2026, 2, 1))]
    ['Podmiot1/DaneIdentyfikacyjne/NIP 1234567890: invalid NIP checksum']
    """
    checks = _Checks(invoice, today or _warsaw_today())
    for run in _CHECKS:
        run(checks)
    return checks.findings


def validate(
    invoice: Invoice | bytes,
    *,
    today: datetime.date | None = None,
    store: SchemaStore | None = None,
) -> Report:
    """XSD validation plus :func:`check`, for a model or FA(3) XML bytes.

    XML that is not well-formed gives only its XSD error; XML the model cannot hold gives a
    ``PARSE`` error finding (with the element's path) after the XSD errors. A model is
    serialised first, so the XSD sees exactly what :meth:`Invoice.to_xml` would send.

    >>> validate(b"<Faktura/>").ok  # doctest: +SKIP
    False
    """
    schemas = store or default_store()
    if isinstance(invoice, Invoice):
        model: Invoice | None = invoice
        document: etree._Element | bytes = invoice.to_xml(pretty=False)
    else:
        model = None
        try:
            document = etree.fromstring(bytes(invoice), safe_parser())
        except etree.XMLSyntaxError as exc:
            return Report(xsd_errors=(f"line {exc.lineno}: not well-formed XML: {exc.msg}",))
    xsd = tuple(schemas.validate_invoice(document, FormCode.FA3))
    findings: list[Finding] = []
    if model is None:
        assert isinstance(document, etree._Element)
        try:
            model = Invoice.from_xml(document)
        except InvoiceParseError as exc:
            path = exc.path or ROOT_TAG
            findings.append(Finding("PARSE", path, str(exc)))
    if model is not None:
        findings.extend(check(model, today=today))
    return Report(xsd_errors=xsd, findings=tuple(findings), invoice=model)
