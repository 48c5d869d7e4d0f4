"""Invoice metadata: derivation, every filter of InvoiceQueryFilters, ordering, the 10 000 cap,
who-sees-what and the High Water Mark (backend level, no HTTP)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from emulator_helpers import START

from ksefkit.emulator.backends.metadata import (
    metadata_for,
    permanent_storage_hwm,
    query_invoices,
    storage_floor,
)
from ksefkit.emulator.errors import KsefApiError
from ksefkit.emulator.state import EmulatorState

SELLER, BUYER, THIRD, AUTH, OTHER = (
    "5265877635",
    "7740001454",
    "1111111111",
    "2222222222",
    "3333333333",
)
DAY = dt.timedelta(days=1)


def _filters(subject: str = "Subject1", date_type: str = "PermanentStorage", **extra: Any) -> Any:
    rng: dict[str, Any] = {"dateType": date_type, "from": (START - 40 * DAY).isoformat()}
    rng.update(extra.pop("dateRange", {}))
    return {"subjectType": subject, "dateRange": rng, **extra}


def _seed(state: EmulatorState, count: int, **kw: Any) -> None:
    kw.setdefault("seller_nip", SELLER)
    kw.setdefault("buyer_nip", BUYER)
    kw.setdefault("start", START - 20 * DAY)
    kw.setdefault("end", START - DAY)
    state.seed_invoices(count, **kw)


def _numbers(state: EmulatorState, **filters: Any) -> list[str]:
    subject = filters.pop("subject", "Subject1")
    context = filters.pop("context", SELLER)
    result = query_invoices(state, "Nip", context, _filters(subject, **filters))
    return [str(m["ksefNumber"]) for m in result.rows]


def test_metadata_derivation(state: EmulatorState) -> None:
    _seed(state, 1, third_subject_nip=THIRD, authorized_nip=AUTH)
    row = state.store.one("SELECT * FROM invoices")
    meta = metadata_for(state, row)
    assert meta["invoiceType"] == "Vat"
    assert meta["currency"] == "PLN"
    assert (meta["netAmount"], meta["vatAmount"], meta["grossAmount"]) == (2070.99, 463.55, 2534.54)
    assert meta["seller"] == {"nip": SELLER, "name": "Przykładowa Firma Sprzedająca sp. z o.o."}
    assert meta["buyer"] == {
        "identifier": {"type": "Nip", "value": BUYER},
        "name": "Nabywca Testowy S.A.",
    }
    assert meta["thirdSubjects"] == [
        {"identifier": {"type": "Nip", "value": THIRD}, "name": "Odbiorca Testowy", "role": 2}
    ]
    assert meta["authorizedSubject"] == {"nip": AUTH, "name": "Przedstawiciel Testowy", "role": 3}
    assert meta["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
    assert meta["isSelfInvoicing"] is False and meta["hasAttachment"] is False
    assert meta["invoicingMode"] == "Online"
    assert "hashOfCorrectedInvoice" not in meta


def test_lazy_metadata_for_pipeline_rows(state: EmulatorState) -> None:
    _seed(state, 2)
    state.store.run("UPDATE invoices SET metadata = NULL, buyer_nip = NULL")
    assert len(_numbers(state)) == 2  # the query derives and caches what is missing
    assert len(_numbers(state, subject="Subject2", context=BUYER)) == 2


def test_sorting_both_ways_with_ties(state: EmulatorState) -> None:
    _seed(state, 30, tie_group=5)  # 6 distinct timestamps, 5 invoices each
    asc = query_invoices(state, "Nip", SELLER, _filters()).rows
    keys = [(m["permanentStorageDate"], m["ksefNumber"]) for m in asc]
    assert keys == sorted(keys) and len({k[0] for k in keys}) == 6
    desc = query_invoices(state, "Nip", SELLER, _filters(), sort_order="Desc").rows
    assert [m["ksefNumber"] for m in desc] == [m["ksefNumber"] for m in reversed(asc)]


def test_date_types(state: EmulatorState) -> None:
    _seed(state, 10, start=START - 10 * DAY, end=START - DAY, tie_group=1)
    window = {"from": (START - 5.5 * DAY).isoformat(), "to": (START - 2.5 * DAY).isoformat()}
    for date_type in ("PermanentStorage", "Invoicing"):
        assert len(_numbers(state, date_type=date_type, dateRange=window)) == 3
    # Issue compares Warsaw calendar days: 5, 4, 3 days before START
    issue = {"from": (START - 5 * DAY).isoformat(), "to": (START - 3 * DAY).isoformat()}
    assert len(_numbers(state, date_type="Issue", dateRange=issue)) == 3
    # no offset: Europe/Warsaw local time (UTC+1 in February)
    local = (START - 5.5 * DAY + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(_numbers(state, dateRange={"from": local, "to": window["to"]})) == 3


def test_every_filter(state: EmulatorState) -> None:
    _seed(state, 3)
    _seed(state, 2, currency="EUR", buyer_nip=OTHER)
    _seed(state, 1, seller_nip=OTHER)
    everything = query_invoices(state, "Nip", SELLER, _filters()).rows
    assert len(everything) == 5
    first = everything[0]
    assert _numbers(state, ksefNumber=first["ksefNumber"]) == [first["ksefNumber"]]
    assert _numbers(state, invoiceNumber=first["invoiceNumber"]) == [first["ksefNumber"]]
    assert len(_numbers(state, sellerNip=SELLER)) == 5
    assert _numbers(state, sellerNip=OTHER) == []
    assert len(_numbers(state, buyerIdentifier={"type": "Nip", "value": OTHER})) == 2
    assert _numbers(state, buyerIdentifier={"type": "VatUe"}) == []
    assert len(_numbers(state, currencyCodes=["EUR"])) == 2
    assert len(_numbers(state, currencyCodes=["EUR", "PLN"])) == 5
    assert len(_numbers(state, invoicingMode="Online")) == 5
    assert _numbers(state, invoicingMode="Offline") == []
    assert len(_numbers(state, isSelfInvoicing=False)) == 5
    assert _numbers(state, isSelfInvoicing=True) == []
    assert len(_numbers(state, formType="FA")) == 5
    assert _numbers(state, formType="PEF") == []
    assert len(_numbers(state, invoiceTypes=["Vat", "Kor"])) == 5
    assert _numbers(state, invoiceTypes=["Kor"]) == []
    assert len(_numbers(state, hasAttachment=False)) == 5
    assert _numbers(state, hasAttachment=True) == []
    for kind, value in (("Brutto", 2534.54), ("Netto", 2070.99), ("Vat", 463.55)):
        assert len(_numbers(state, amount={"type": kind, "from": value, "to": value})) == 5
        assert _numbers(state, amount={"type": kind, "from": value + 0.01}) == []
        assert _numbers(state, amount={"type": kind, "to": value - 0.01}) == []
    assert len(_numbers(state, amount={"type": "Brutto", "from": -5})) == 5  # negatives allowed


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        ({"dateRange": {"dateType": "PermanentStorage"}}, "from"),
        ({"subjectType": "Subject9"}, "subjectType"),
        ({"dateRange": {"dateType": "Nope", "from": "2026-01-01T00:00:00Z"}}, "dateType"),
        ({"dateRange": {"dateType": "Issue", "from": "yesterday"}}, "dateRange.from"),
        ({"dateRange": {"dateType": "Issue", "from": "2025-01-01T00:00:00Z"}}, "3 miesi"),
        (
            {
                "dateRange": {
                    "dateType": "Issue",
                    "from": "2026-02-01T00:00:00Z",
                    "to": "2026-01-01T00:00:00Z",
                }
            },
            "wcześniejsza",
        ),
        ({"ksefNumber": "nope"}, "ksefNumber"),
        ({"invoiceNumber": "x" * 257}, "invoiceNumber"),
        ({"sellerNip": "12"}, "sellerNip"),
        ({"currencyCodes": ["euro"]}, "currencyCodes"),
        ({"amount": {"type": "Brutto", "from": 5, "to": 1}}, "amount"),
        ({"amount": {"from": 1}}, "amount.type"),
        ({"isSelfInvoicing": "yes"}, "isSelfInvoicing"),
        ({"invoiceTypes": ["Faktura"]}, "invoiceTypes"),
        ({"buyerIdentifier": {"type": "Nip", "value": "x" * 51}}, "buyerIdentifier"),
    ],
)
def test_bad_filters_are_21405(state: EmulatorState, filters: dict[str, Any], where: str) -> None:
    body = _filters()
    body.update(filters)
    with pytest.raises(KsefApiError) as info:
        query_invoices(state, "Nip", SELLER, body)
    assert (info.value.status, info.value.code) == (400, 21405)
    assert where in " ".join(info.value.details)


def test_three_months_in_warsaw_or_utc(state: EmulatorState) -> None:
    # from = 29 Nov 23:30 UTC = 30 Nov 00:30 Warsaw; +3 months clamps to 28 Feb in both zones,
    # so the UTC bound (28 Feb 23:30 UTC) is later than the Warsaw one (27 Feb 23:30 UTC)
    start = "2025-11-29T23:30:00Z"
    ok = {"from": start, "to": "2026-02-28T23:00:00Z"}  # within 3 months in UTC only
    query_invoices(state, "Nip", SELLER, _filters(dateRange=ok))
    too_long = _filters(dateRange={"from": start, "to": "2026-02-28T23:31:00Z"})
    with pytest.raises(KsefApiError):
        query_invoices(state, "Nip", SELLER, too_long)


def test_who_sees_what(state: EmulatorState) -> None:
    _seed(state, 2, third_subject_nip=THIRD, authorized_nip=AUTH)
    _seed(state, 1, seller_nip=OTHER, buyer_nip=SELLER)
    assert len(_numbers(state, subject="Subject1", context=SELLER)) == 2
    assert len(_numbers(state, subject="Subject2", context=SELLER)) == 1
    assert len(_numbers(state, subject="Subject2", context=BUYER)) == 2
    assert _numbers(state, subject="Subject1", context=BUYER) == []
    assert len(_numbers(state, subject="Subject3", context=THIRD)) == 2
    assert _numbers(state, subject="Subject3", context="111111111") == []  # no partial match
    assert len(_numbers(state, subject="SubjectAuthorized", context=AUTH)) == 2
    assert _numbers(state, subject="SubjectAuthorized", context=THIRD) == []
    assert _numbers(state, subject="Subject1", context=THIRD) == []


def test_invisible_before_permanent_storage(state: EmulatorState) -> None:
    _seed(state, 3, start=START - DAY, end=START + 10 * dt.timedelta(seconds=1), tie_group=1)
    assert len(_numbers(state)) == 2  # the last one is stored in the future
    state.advance(11)
    assert len(_numbers(state)) == 3


def test_limit_exactly_10000_vs_10001(state: EmulatorState) -> None:
    _seed(state, 10_000, tie_group=7)
    result = query_invoices(state, "Nip", SELLER, _filters(), limit=10_000)
    assert (len(result.rows), result.truncated) == (10_000, False)
    _seed(state, 1)
    result = query_invoices(state, "Nip", SELLER, _filters(), limit=10_000)
    assert (len(result.rows), result.truncated) == (10_000, True)
    keys = [(m["permanentStorageDate"], m["ksefNumber"]) for m in result.rows]
    assert keys == sorted(keys)


def test_hwm(state: EmulatorState) -> None:
    hwm = permanent_storage_hwm(state)
    assert hwm == START - dt.timedelta(seconds=1)
    result = query_invoices(state, "Nip", SELLER, _filters())
    assert result.hwm == hwm  # recent window: slightly below "now"
    old = {"to": (START - 30 * DAY).isoformat()}
    assert query_invoices(state, "Nip", SELLER, _filters(dateRange=old)).hwm == START - 30 * DAY
    assert query_invoices(state, "Nip", SELLER, _filters(date_type="Issue")).hwm is None
    # never moves backwards, and the pipeline stores new invoices above it
    state.clock.set(START - 10 * dt.timedelta(seconds=1))  # type: ignore[attr-defined]
    assert permanent_storage_hwm(state) == hwm
    floor = storage_floor(state)
    assert floor is not None and floor > hwm


def test_restrict_to_hwm(state: EmulatorState) -> None:
    _seed(state, 3, start=START - 3 * dt.timedelta(seconds=1), end=START, tie_group=1)
    restricted = _filters(dateRange={"restrictToPermanentStorageHwmDate": True})
    result = query_invoices(state, "Nip", SELLER, restricted)
    assert len(result.rows) == 2 and result.hwm == START - dt.timedelta(seconds=1)
    assert len(query_invoices(state, "Nip", SELLER, _filters()).rows) == 3
    late = _filters(
        dateRange={"from": START.isoformat(), "restrictToPermanentStorageHwmDate": True}
    )
    with pytest.raises(KsefApiError) as info:
        query_invoices(state, "Nip", SELLER, late)
    assert (info.value.status, info.value.code) == (400, 21183)


def test_seeding_is_fast(state: EmulatorState) -> None:
    import time

    begun = time.perf_counter()
    assert state.seed_invoices(10_000, seller_nip=SELLER, buyer_nip=BUYER) == 10_000
    assert time.perf_counter() - begun < 15
    numbers = [r["ksef_number"] for r in state.store.all("SELECT ksef_number FROM invoices")]
    assert len(set(numbers)) == 10_000


def test_reset_forgets_the_hwm(state: EmulatorState) -> None:
    permanent_storage_hwm(state)
    assert storage_floor(state) is not None
    state.reset()
    assert storage_floor(state) is None


def test_query_page_matches_query_invoices(state: EmulatorState) -> None:
    from ksefkit.emulator.backends.metadata import query_page

    _seed(state, 23, tie_group=4)
    _seed(state, 5, currency="EUR")
    body = _filters(currencyCodes=["PLN"])
    everything = query_invoices(state, "Nip", SELLER, body, sort_order="Desc", limit=20)
    assert everything.truncated and len(everything.rows) == 20
    pages = [
        query_page(state, "Nip", SELLER, body, sort_order="Desc", offset=o, size=10, cap=20)
        for o in (0, 10, 20)
    ]
    assert [m for p in pages for m in p.rows] == everything.rows
    assert [(p.served, p.truncated) for p in pages] == [(20, True)] * 3
