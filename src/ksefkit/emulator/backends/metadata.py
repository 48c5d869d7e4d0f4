"""Invoice metadata (``InvoiceMetadata``), the metadata query and the High Water Mark.

Rules (KSEF_API.md §10.2, §10.4, §18; the emulator's decisions where KSeF is silent):

* Metadata is derived from the stored XML once and cached in ``invoices.metadata`` (JSON),
  together with the columns the role filters need (``buyer_nip``, ``third_ids``,
  ``authorized_nip``). Rows accepted by the pipeline are filled lazily by the first query.
* ``invoiceType`` CamelCases ``RodzajFaktury`` (``KOR_ZAL`` -> ``KorZal``); ``netAmount`` sums
  ``P_13_*``, ``vatAmount`` sums ``P_14_*`` (``P_14_*W`` when the currency is not PLN),
  ``grossAmount`` is ``P_15``; ``isSelfInvoicing`` is ``Adnotacje/P_17 = 1``.
* Who sees what: ``Subject1`` the seller NIP equals the context, ``Subject2`` the buyer
  (``Podmiot2`` NIP), ``Subject3`` any ``Podmiot3`` identifier, ``SubjectAuthorized`` the
  ``PodmiotUpowazniony`` NIP. Only invoices whose ``permanentStorageDate`` has passed are visible.
* ``Issue`` ranges compare Europe/Warsaw calendar days (``issueDate`` is a date).
* HWM = now - ``hwm_lag`` and never moves backwards; :func:`storage_floor` keeps the pipeline
  from storing an invoice at or below an HWM it has reported. (Seeded test data may be older.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree
from pydantic import BaseModel

from ...formcodes import FormCode
from ...invoices.facts import extract_facts
from ..clock import WARSAW, isoformat, parse_datetime, warsaw_date
from ..errors import KsefApiError, validation_error
from . import check_ksef_number, parse_body

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = [
    "Page",
    "QueryResult",
    "derive_metadata",
    "ensure_metadata",
    "metadata_for",
    "permanent_storage_hwm",
    "query_invoices",
    "query_page",
    "storage_floor",
]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_HWM_KEY = "permanent_storage_hwm"
_RESOLUTION = dt.timedelta(microseconds=1)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# -- derivation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """Metadata fields read from the XML plus the identifiers the role filters use."""

    fields: dict[str, Any]
    buyer_nip: str | None
    third_ids: list[str]
    authorized_nip: str | None


def _child(element: Any, ns: str, *names: str) -> Any:
    for name in names:
        if element is None:
            return None
        element = element.find(ns + name)
    return element


def _text(element: Any) -> str | None:
    if element is None or element.text is None:
        return None
    return str(element.text).strip() or None


def _number(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _camel(code: str | None) -> str:
    return "".join(part.capitalize() for part in (code or "VAT").split("_"))


def _party_identifier(ids: Any, ns: str) -> tuple[str, str | None]:
    """``(type, value)`` of a ``DaneIdentyfikacyjne`` element."""
    if (nip := _text(_child(ids, ns, "NIP"))) is not None:
        return "Nip", nip
    if (internal := _text(_child(ids, ns, "IDWew"))) is not None:
        return "InternalId", internal
    if (vat_ue := _text(_child(ids, ns, "NrVatUE"))) is not None:
        return "VatUe", (_text(_child(ids, ns, "KodUE")) or "") + vat_ue
    if (other := _text(_child(ids, ns, "NrID"))) is not None:
        return "Other", other
    return "None", None


def _identifier(kind: str, value: str | None) -> dict[str, Any]:
    return {"type": kind} if value is None else {"type": kind, "value": value}


def derive_metadata(xml: bytes) -> Derived:
    """The XML-derived part of ``InvoiceMetadata`` (ValueError for malformed XML).

    >>> from ksefkit.invoices.generate import generate_fa3
    >>> d = derive_metadata(generate_fa3(seller_nip="5265877635", buyer_nip="7740001454",
    ...     invoice_number="FV/1", issue_date=dt.date(2026, 2, 1)))
    >>> d.fields["invoiceType"], d.fields["netAmount"], d.fields["buyer"]["identifier"]
    ('Vat', 2070.99, {'type': 'Nip', 'value': '7740001454'})
    """
    facts = extract_facts(xml)
    root = etree.fromstring(xml, _PARSER)
    ns = f"{{{facts.namespace}}}" if facts.namespace else ""
    currency = facts.currency or "PLN"
    form = facts.form_code
    fields: dict[str, Any] = {
        "invoiceNumber": facts.invoice_number or "",
        "currency": currency,
        "invoiceType": _camel(facts.invoice_type),
        "hasAttachment": facts.has_attachment,
        "isSelfInvoicing": False,
        "seller": {"nip": facts.seller_nip or ""},
        "buyer": {"identifier": _identifier("Nip", facts.buyer_nip)}
        if facts.buyer_nip
        else {"identifier": {"type": "None"}},
        "grossAmount": float(facts.gross_amount or 0),
    }
    third_ids: list[str] = []
    authorized: str | None = None
    buyer_nip = facts.buyer_nip
    if form is FormCode.PEF3 or form is FormCode.PEF_KOR3 or root.find(ns + "Fa") is None:
        body = None
    else:
        body = root.find(ns + "Fa")
    if body is not None:
        net = sum((_number(e.text) for e in body if _local(e).startswith("P_13_")), Decimal(0))
        vat_plain = [e for e in body if re.fullmatch(r"P_14_\d+", _local(e))]
        vat_w = [e for e in body if re.fullmatch(r"P_14_\d+W", _local(e))]
        chosen = vat_w if currency != "PLN" and vat_w else vat_plain
        fields["netAmount"] = float(net)
        fields["vatAmount"] = float(sum((_number(e.text) for e in chosen), Decimal(0)))
        fields["isSelfInvoicing"] = _text(_child(body, ns, "Adnotacje", "P_17")) == "1"
        seller_name = _text(_child(root, ns, "Podmiot1", "DaneIdentyfikacyjne", "Nazwa"))
        if seller_name:
            fields["seller"]["name"] = seller_name
        buyer_ids = _child(root, ns, "Podmiot2", "DaneIdentyfikacyjne")
        if buyer_ids is not None:
            kind, value = _party_identifier(buyer_ids, ns)
            fields["buyer"] = {"identifier": _identifier(kind, value)}
            buyer_nip = value if kind == "Nip" else None
            if name := _text(_child(buyer_ids, ns, "Nazwa")):
                fields["buyer"]["name"] = name
        thirds = []
        for party in root.iterfind(ns + "Podmiot3"):
            ids = _child(party, ns, "DaneIdentyfikacyjne")
            kind, value = _party_identifier(ids, ns)
            entry: dict[str, Any] = {"identifier": _identifier(kind, value)}
            if name := _text(_child(ids, ns, "Nazwa")):
                entry["name"] = name
            role = _text(_child(party, ns, "Rola"))
            entry["role"] = int(role) if role and role.isdigit() else 0
            thirds.append(entry)
            if value is not None:
                third_ids.append(value)
        if thirds:
            fields["thirdSubjects"] = thirds
        upow = root.find(ns + "PodmiotUpowazniony")
        if upow is not None:
            ids = _child(upow, ns, "DaneIdentyfikacyjne")
            authorized = _text(_child(ids, ns, "NIP"))
            subject: dict[str, Any] = {"nip": authorized or ""}
            if name := _text(_child(ids, ns, "Nazwa")):
                subject["name"] = name
            role = _text(_child(upow, ns, "RolaPU"))
            subject["role"] = int(role) if role and role.isdigit() else 0
            fields["authorizedSubject"] = subject
    else:
        fields["netAmount"] = fields["grossAmount"]
        fields["vatAmount"] = 0.0
    return Derived(fields, buyer_nip, third_ids, authorized)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _row_fields(row: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The row-derived (store) part of ``InvoiceMetadata``."""
    try:
        form = FormCode[row["form_code"]].to_wire()
    except KeyError:
        form = FormCode.FA3.to_wire()
    out: dict[str, Any] = {
        "ksefNumber": row["ksef_number"],
        "issueDate": row["issue_date"],
        "invoicingDate": row["invoicing_date"],
        "acquisitionDate": row["acquisition_date"],
        "permanentStorageDate": row["permanent_storage_date"],
        "invoicingMode": row["invoicing_mode"] or "Online",
        "formCode": form,
        "invoiceHash": row["invoice_hash"],
    }
    if row["hash_of_corrected"]:
        out["hashOfCorrectedInvoice"] = row["hash_of_corrected"]
    return out


_ORDER = (
    "ksefNumber",
    "invoiceNumber",
    "issueDate",
    "invoicingDate",
    "acquisitionDate",
    "permanentStorageDate",
    "seller",
    "buyer",
    "netAmount",
    "grossAmount",
    "vatAmount",
    "currency",
    "invoicingMode",
    "invoiceType",
    "formCode",
    "isSelfInvoicing",
    "hasAttachment",
    "invoiceHash",
    "hashOfCorrectedInvoice",
    "thirdSubjects",
    "authorizedSubject",
)


def build_metadata(row: Mapping[str, Any] | Any, derived: Derived) -> dict[str, Any]:
    """``InvoiceMetadata`` of an accepted invoice row and its derived XML fields."""
    merged = {**derived.fields, **_row_fields(row)}
    return {key: merged[key] for key in _ORDER if key in merged}


def ensure_metadata(state: EmulatorState) -> int:
    """Derive and cache the metadata of accepted invoices that have none yet; returns how many."""
    store = state.store
    with store.tx():
        rows = store.all(
            "SELECT * FROM invoices WHERE status_code = 200 AND metadata IS NULL"
            " AND ksef_number IS NOT NULL"
        )
        for row in rows:
            _cache(state, row)
    return len(rows)


def _cache(state: EmulatorState, row: Any) -> dict[str, Any]:
    try:
        derived = derive_metadata(bytes(row["xml"] or b""))
    except ValueError:
        derived = Derived({"seller": {"nip": row["seller_nip"] or ""}}, None, [], None)
    meta = build_metadata(row, derived)
    state.store.run(
        "UPDATE invoices SET metadata = ?, buyer_nip = ?, third_ids = ?, authorized_nip = ?"
        " WHERE reference_number = ?",
        (
            json.dumps(meta, ensure_ascii=False),
            derived.buyer_nip,
            _joined(derived.third_ids),
            derived.authorized_nip,
            row["reference_number"],
        ),
    )
    return meta


def _joined(ids: list[str]) -> str | None:
    return "|" + "|".join(ids) + "|" if ids else None


def metadata_for(state: EmulatorState, row: Mapping[str, Any] | Any) -> dict[str, object]:
    """The wire ``InvoiceMetadata`` of a stored (accepted) invoice row, cached in the store.

    >>> metadata_for(state, row)["invoiceType"]  # doctest: +SKIP
    'Vat'
    """
    cached = row["metadata"] if "metadata" in row.keys() else None  # noqa: SIM118 - sqlite3.Row
    if cached:
        value: dict[str, object] = json.loads(cached)
        return value
    full = state.store.one(
        "SELECT * FROM invoices WHERE reference_number = ?", (row["reference_number"],)
    )
    if full is None:
        raise LookupError(f"no invoice {row['reference_number']!r}")
    if full["metadata"]:
        value = json.loads(full["metadata"])
        return value
    with state.store.tx():
        return _cache(state, full)


# -- High Water Mark -------------------------------------------------------------------------


def permanent_storage_hwm(state: EmulatorState) -> dt.datetime:
    """``permanentStorageHwmDate``: now - ``hwm_lag`` seconds, never below one reported before.

    >>> from ksefkit.emulator.state import EmulatorState
    >>> from ksefkit.emulator.clock import ManualClock
    >>> s = EmulatorState(clock=ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    >>> permanent_storage_hwm(s).isoformat()
    '2025-12-31T23:59:59+00:00'
    """
    lag = max(float(getattr(state.config, "hwm_lag", 1.0)), 0.0)
    hwm = state.clock.now().astimezone(dt.UTC) - dt.timedelta(seconds=lag)
    with state.store.tx():
        previous = state.store.get_meta(_HWM_KEY)
        if previous is not None:
            before = parse_datetime(previous.decode())
            if before >= hwm:
                return before
        state.store.set_meta(_HWM_KEY, hwm.isoformat().encode())
    return hwm


def storage_floor(state: EmulatorState) -> dt.datetime | None:
    """The earliest ``permanentStorageDate`` a newly stored invoice may get (None: any)."""
    previous = state.store.get_meta(_HWM_KEY)
    return None if previous is None else parse_datetime(previous.decode()) + _RESOLUTION


# -- query -----------------------------------------------------------------------------------


class _DateRange(BaseModel):
    dateType: Literal["Issue", "Invoicing", "PermanentStorage"]
    # from/to are parsed by hand (strict pydantic refuses date-time strings)
    model_config = {"populate_by_name": True}
    from_: str
    to: str | None = None
    restrictToPermanentStorageHwmDate: bool | None = None


class _Amount(BaseModel):
    type: Literal["Brutto", "Netto", "Vat"]
    from_: float | None = None
    to: float | None = None


class _Buyer(BaseModel):
    type: Literal["Nip", "VatUe", "Other", "None"]
    value: str | None = None


class _Filters(BaseModel):
    subjectType: Literal["Subject1", "Subject2", "Subject3", "SubjectAuthorized"]
    dateRange: _DateRange
    ksefNumber: str | None = None
    invoiceNumber: str | None = None
    amount: _Amount | None = None
    sellerNip: str | None = None
    buyerIdentifier: _Buyer | None = None
    currencyCodes: list[str] | None = None
    invoicingMode: Literal["Online", "Offline"] | None = None
    isSelfInvoicing: bool | None = None
    formType: Literal["FA", "PEF", "FA_RR"] | None = None
    invoiceTypes: (
        list[
            Literal[
                "Vat",
                "Zal",
                "Kor",
                "Roz",
                "Upr",
                "KorZal",
                "KorRoz",
                "VatPef",
                "VatPefSp",
                "KorPef",
                "VatRr",
                "KorVatRr",
            ]
        ]
        | None
    ) = None
    hasAttachment: bool | None = None


def _renamed(filters: Mapping[str, Any]) -> dict[str, Any]:
    """``from`` is a Python keyword: rename it in the two objects that carry it."""
    body = dict(filters)
    for key in ("dateRange", "amount"):
        part = body.get(key)
        if isinstance(part, dict) and "from" in part:
            part = dict(part)
            part["from_"] = part.pop("from")
            body[key] = part
    return body


@dataclass
class QueryResult:
    """Matching metadata (sorted), whether the cap cut it, and the HWM (PermanentStorage)."""

    rows: list[dict[str, Any]]
    truncated: bool
    hwm: dt.datetime | None


_DATE_COLUMNS = {
    "Issue": "issue_date",
    "Invoicing": "invoicing_date",
    "PermanentStorage": "permanent_storage_date",
}
_AMOUNT_FIELDS = {"Brutto": "grossAmount", "Netto": "netAmount", "Vat": "vatAmount"}
_SUBJECT_SQL = {
    "Subject1": "seller_nip = ?",
    "Subject2": "buyer_nip = ?",
    "Subject3": "third_ids LIKE '%|' || ? || '|%'",
    "SubjectAuthorized": "authorized_nip = ?",
}


def _instant(text: str, field: str) -> dt.datetime:
    try:
        return parse_datetime(text)
    except (ValueError, TypeError):
        raise validation_error(f"{field}: nieprawidłowa data {text[:40]!r} (ISO 8601).") from None


def _plus_months(value: dt.datetime, months: int) -> dt.datetime:
    month = value.month - 1 + months
    year, month = value.year + month // 12, month % 12 + 1
    days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, days))


def _within_three_months(start: dt.datetime, end: dt.datetime) -> bool:
    for zone in (dt.UTC, WARSAW):
        a = start.astimezone(zone).replace(tzinfo=None)
        b = end.astimezone(zone).replace(tzinfo=None)
        if b <= _plus_months(a, 3):
            return True
    return False


def _out_of_range() -> KsefApiError:
    return KsefApiError(
        400,
        21183,
        "Zakres filtrowania wykracza poza dostępny zakres danych.",
        ["dateRange.from: data początkowa jest późniejsza niż permanentStorageHwmDate."],
    )


@dataclass
class _Prepared:
    where: str
    params: list[Any]
    order: str
    hwm: dt.datetime | None


def _prepare(
    state: EmulatorState,
    context_type: str,
    context_value: str,
    filters: Mapping[str, Any],
    sort_order: str,
) -> _Prepared:
    """Validate ``filters`` and turn them into SQL (21405 / 21183 as KSeF answers)."""
    if not isinstance(filters, Mapping):
        raise validation_error("Treść żądania musi być obiektem JSON.")
    if sort_order not in ("Asc", "Desc"):
        raise validation_error("sortOrder: dozwolone wartości to Asc i Desc.")
    f = parse_body(_Filters, _renamed(filters))
    now = state.clock.now().astimezone(dt.UTC)
    rng = f.dateRange
    start = _instant(rng.from_, "dateRange.from")
    end = now if rng.to is None else _instant(rng.to, "dateRange.to")
    problems: list[str] = []
    if end < start:
        problems.append("dateRange: data końcowa jest wcześniejsza niż początkowa.")
    elif not _within_three_months(start, end):
        problems.append("dateRange: maksymalny zakres dat to 3 miesiące.")
    if f.ksefNumber is not None:
        check_ksef_number(f.ksefNumber, "ksefNumber")
    if f.invoiceNumber is not None and len(f.invoiceNumber) > 256:
        problems.append("invoiceNumber: maksymalnie 256 znaków.")
    if f.sellerNip is not None and not re.fullmatch(r"[1-9]\d{9}", f.sellerNip):
        problems.append("sellerNip: oczekiwano 10-cyfrowego NIP.")
    if f.buyerIdentifier is not None and len(f.buyerIdentifier.value or "") > 50:
        problems.append("buyerIdentifier.value: maksymalnie 50 znaków.")
    for code in f.currencyCodes or ():
        if not _CURRENCY.fullmatch(code):
            problems.append(f"currencyCodes: nieprawidłowy kod waluty {code[:10]!r}.")
    if (
        f.amount is not None
        and None not in (f.amount.from_, f.amount.to)
        and f.amount.from_ > f.amount.to  # type: ignore[operator]
    ):
        problems.append("amount: wartość from jest większa niż to.")
    if problems:
        raise validation_error(*problems)

    hwm: dt.datetime | None = None
    if rng.dateType == "PermanentStorage":
        current = permanent_storage_hwm(state)
        if rng.restrictToPermanentStorageHwmDate:
            if start > current:
                raise _out_of_range()
            end = min(end, current)
        hwm = min(end, current)

    ensure_metadata(state)
    column = _DATE_COLUMNS[rng.dateType]
    if rng.dateType == "Issue":
        low, high = warsaw_date(start).isoformat(), warsaw_date(end).isoformat()
    else:
        low, high = isoformat(start), isoformat(end)
    where = [
        "status_code = 200",
        "metadata IS NOT NULL",
        "permanent_storage_date <= ?",
        _SUBJECT_SQL[f.subjectType],
        f"{column} >= ?",
        f"{column} <= ?",
    ]
    params: list[Any] = [isoformat(now), context_value, low, high]
    for sql, value in _filter_sql(f):
        where.append(sql)
        params.extend(value)
    direction = "DESC" if sort_order == "Desc" else "ASC"
    order = f" ORDER BY {column} {direction}, ksef_number {direction}"
    return _Prepared(" AND ".join(where), params, order, hwm)


def _filter_sql(f: _Filters) -> list[tuple[str, list[Any]]]:
    """SQL conditions (over columns and the cached metadata JSON) of the optional filters."""
    out: list[tuple[str, list[Any]]] = []
    for sql, value in (
        ("ksef_number = ?", f.ksefNumber),
        ("invoice_number = ?", f.invoiceNumber),
        ("seller_nip = ?", f.sellerNip),
        ("invoicing_mode = ?", f.invoicingMode),
        ("json_extract(metadata, '$.formCode.value') = ?", f.formType),
    ):
        if value is not None:
            out.append((sql, [value]))
    for field, flag in (("isSelfInvoicing", f.isSelfInvoicing), ("hasAttachment", f.hasAttachment)):
        if flag is not None:
            out.append((f"json_extract(metadata, '$.{field}') = ?", [int(flag)]))
    if f.amount is not None:
        amount = f"json_extract(metadata, '$.{_AMOUNT_FIELDS[f.amount.type]}')"
        if f.amount.from_ is not None:
            out.append((f"{amount} >= ?", [f.amount.from_]))
        if f.amount.to is not None:
            out.append((f"{amount} <= ?", [f.amount.to]))
    if f.buyerIdentifier is not None:
        out.append(
            ("json_extract(metadata, '$.buyer.identifier.type') = ?", [f.buyerIdentifier.type])
        )
        if f.buyerIdentifier.value is not None:
            out.append(
                (
                    "json_extract(metadata, '$.buyer.identifier.value') = ?",
                    [f.buyerIdentifier.value],
                )
            )
    for field, values in (("currency", f.currencyCodes), ("invoiceType", f.invoiceTypes)):
        if values:
            marks = ", ".join("?" for _ in values)
            out.append((f"json_extract(metadata, '$.{field}') IN ({marks})", list(values)))
    return out


def query_invoices(
    state: EmulatorState,
    context_type: str,
    context_value: str,
    filters: Mapping[str, Any],
    *,
    sort_order: str = "Asc",
    limit: int | None = None,
) -> QueryResult:
    """Metadata of the invoices ``filters`` (``InvoiceQueryFilters``) select for a context.

    Sorted by the filter's date type, then KSeF number; ``limit`` caps the rows (``truncated``
    when more match). Raises 400/21405 for malformed filters and 400/21183 when
    ``restrictToPermanentStorageHwmDate`` is set and ``from`` is after the HWM.

    >>> query_invoices(state, "Nip", "5265877635", {"subjectType": "Subject1",
    ...     "dateRange": {"dateType": "PermanentStorage", "from": "2026-01-01T00:00:00Z"}}
    ... ).truncated  # doctest: +SKIP
    False
    """
    q = _prepare(state, context_type, context_value, filters, sort_order)
    sql = f"SELECT metadata FROM invoices WHERE {q.where}{q.order}"  # noqa: S608 - fixed parts
    params = list(q.params)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(limit, 0) + 1)
    rows = [json.loads(r["metadata"]) for r in state.store.all(sql, params)]
    truncated = limit is not None and len(rows) > limit
    return QueryResult(rows[:limit] if truncated else rows, truncated, q.hwm)


@dataclass
class Page:
    """One page of a capped query: its rows, how many records the query serves (<= cap)."""

    rows: list[dict[str, Any]]
    served: int
    truncated: bool
    hwm: dt.datetime | None


def query_page(
    state: EmulatorState,
    context_type: str,
    context_value: str,
    filters: Mapping[str, Any],
    *,
    sort_order: str = "Asc",
    offset: int = 0,
    size: int = 10,
    cap: int = 10_000,
) -> Page:
    """Rows ``offset:offset+size`` of :func:`query_invoices` with ``limit=cap``, paged in SQL."""
    q = _prepare(state, context_type, context_value, filters, sort_order)
    count_row = state.store.one(
        f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM invoices WHERE {q.where} LIMIT ?)",  # noqa: S608
        [*q.params, cap + 1],
    )
    matched = int(count_row["n"]) if count_row is not None else 0
    served = min(matched, cap)
    take = max(min(size, served - offset), 0)
    rows: list[dict[str, Any]] = []
    if take:
        sql = f"SELECT metadata FROM invoices WHERE {q.where}{q.order} LIMIT ? OFFSET ?"  # noqa: S608
        rows = [json.loads(r["metadata"]) for r in state.store.all(sql, [*q.params, take, offset])]
    return Page(rows, served, matched > cap, q.hwm)


def visible_invoice(state: EmulatorState, context_value: str, ksef_number: str) -> Any:
    """The row of ``ksef_number`` if the context plays any role on it (21164 otherwise)."""
    missing = KsefApiError(
        400,
        21164,
        "Faktura o podanym identyfikatorze nie istnieje.",
        [f"Nie znaleziono faktury o numerze KSeF {ksef_number}."],
    )
    row = state.store.one(
        "SELECT * FROM invoices WHERE ksef_number = ? AND status_code = 200", (ksef_number,)
    )
    if row is None:
        raise missing
    if row["metadata"] is None:
        with state.store.tx():
            _cache(state, row)
        row = state.store.one("SELECT * FROM invoices WHERE ksef_number = ?", (ksef_number,))
        assert row is not None
    third = row["third_ids"] or ""
    if context_value not in (row["seller_nip"], row["buyer_nip"], row["authorized_nip"]) and (
        f"|{context_value}|" not in third
    ):
        raise missing
    if parse_datetime(row["permanent_storage_date"]) > state.clock.now():
        raise KsefApiError(
            400,
            21165,
            "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
            ["Faktura nie została jeszcze trwale zapisana; spróbuj ponownie później."],
        )
    return row
