"""Collective identifiers: creation rules (71001, 71002, 21405), the number's format and CRC,
the context query, an identifier's invoices with hidden payment details, lookup by KSeF number,
paging, permissions and durability."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import BUYER, START, Ksef
from xades_helpers import code_of

from ksefkit.emulator.backends.auth import Claims
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.identifiers import crc8, random_nip

pytestmark = pytest.mark.anyio

BASE = "/v2/collective-identifiers"


def _ksef_numbers(state: EmulatorState, seller: str, buyer: str, count: int) -> list[str]:
    before = {r["ksef_number"] for r in state.store.all("SELECT ksef_number FROM invoices")}
    state.seed_invoices(count, seller_nip=seller, buyer_nip=buyer)
    rows = state.store.all(
        "SELECT ksef_number FROM invoices WHERE seller_nip = ? ORDER BY ksef_number", (seller,)
    )
    return [r["ksef_number"] for r in rows if r["ksef_number"] not in before]


async def _create(ksef: Ksef, headers: dict[str, str], invoices: list[Any]) -> Any:
    items = [i if isinstance(i, dict) else {"ksefNumber": i} for i in invoices]
    return await ksef.http.post(BASE, json={"invoices": items}, headers=headers)


async def _query(ksef: Ksef, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    span = {"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"}
    resp = await ksef.http.post(f"{BASE}/query", json=span | body, headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def _invoices(ksef: Ksef, headers: dict[str, str], number: str) -> list[dict[str, Any]]:
    resp = await ksef.http.get(f"{BASE}/{number}/invoices", headers=headers)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["invoices"])


async def test_create_number_format_and_lookups(ksef: Ksef, state: EmulatorState) -> None:
    seller = state.create_subject()
    numbers = _ksef_numbers(state, seller.nip, BUYER, 3)
    headers = await ksef.bearer(seller)
    payment = {"amount": 100, "currency": "PLN"}
    resp = await _create(
        ksef,
        headers,
        [{"ksefNumber": numbers[0], "payment": payment, "description": "Rata 1"}, *numbers[1:]],
    )
    assert resp.status_code == 201, resp.text
    number = resp.json()["collectiveIdentifierNumber"]
    assert len(number) == 35
    assert number.startswith(f"{seller.nip}-IZ{START:%Y%m}-")
    assert number[33:] == f"{crc8(number[:32].encode()):02X}"
    listed = await _query(ksef, headers)
    assert listed["collectiveIdentifiers"] == [
        {
            "collectiveIdentifierNumber": number,
            "dateCreated": listed["collectiveIdentifiers"][0]["dateCreated"],
            "invoiceCount": 3,
            "createdInCurrentContext": True,
        }
    ]
    assert "continuationToken" in listed
    items = await _invoices(ksef, headers, number)
    assert [i["ksefNumber"] for i in items] == sorted(numbers, reverse=True)
    first = next(i for i in items if i["ksefNumber"] == numbers[0])
    assert first == {
        "ksefNumber": numbers[0],
        "payment": {"amount": 100.0, "currency": "PLN"},
        "description": "Rata 1",
        "detailsHidden": False,
    }
    others = [i for i in items if i is not first]
    assert others == [{"ksefNumber": n, "detailsHidden": False} for n in sorted(numbers[1:])[::-1]]
    resp = await ksef.http.get(f"{BASE}/ksef/{numbers[1]}", headers=headers)
    assert [c["collectiveIdentifierNumber"] for c in resp.json()["collectiveIdentifiers"]] == [
        number
    ]


async def test_invoices_it_cannot_assign_are_71001(ksef: Ksef, state: EmulatorState) -> None:
    seller, other = state.create_subject(), state.create_subject()
    mine = _ksef_numbers(state, seller.nip, BUYER, 1)[0]
    foreign = _ksef_numbers(state, other.nip, BUYER, 1)[0]  # seller is not a party to it
    unknown = mine[:11] + "20260101-0000000000AA-" + mine[-2:]
    headers = await ksef.bearer(seller)
    resp = await _create(ksef, headers, [unknown, mine, foreign])
    assert code_of(resp) == 71001
    details = resp.json()["exception"]["exceptionDetailList"][0]["details"]
    assert details == [
        f"Faktura o numerze KSeF {n} nie może zostac przypisana do Identyfikatora Zbiorczego."
        for n in (unknown, foreign)
    ]


async def test_invoices_of_two_sellers_are_71001(ksef: Ksef, state: EmulatorState) -> None:
    buyer = state.create_subject()
    a = _ksef_numbers(state, random_nip(), buyer.nip, 1)[0]
    b = _ksef_numbers(state, random_nip(), buyer.nip, 1)[0]
    headers = await ksef.bearer(buyer)
    assert code_of(await _create(ksef, headers, [a, b])) == 71001
    # Each alone is fine: the buyer sees them (the identifier carries the seller's NIP).
    resp = await _create(ksef, headers, [b])
    assert resp.status_code == 201
    assert resp.json()["collectiveIdentifierNumber"].startswith(b[:10])


async def test_an_invoice_in_132_identifiers_of_a_context_is_71002(
    ksef: Ksef, state: EmulatorState
) -> None:
    seller = state.create_subject()
    number = _ksef_numbers(state, seller.nip, BUYER, 1)[0]
    headers = await ksef.bearer(seller)
    for _ in range(132):
        assert (await _create(ksef, headers, [number])).status_code == 201
    assert code_of(await _create(ksef, headers, [number])) == 71002
    # Another context (the buyer's) still may.
    buyer = state.create_subject(BUYER)
    assert (await _create(ksef, await ksef.bearer(buyer), [number])).status_code == 201


@pytest.mark.parametrize(
    "invoices",
    [
        [],
        ["not-a-ksef-number"],
        ["DUP", "DUP"],
        [{"ksefNumber": "ONE", "payment": {"amount": 1, "currency": "ABC"}}],
        [{"ksefNumber": "ONE", "payment": {"amount": "1", "currency": "PLN"}}],
        [{"ksefNumber": "ONE", "description": "x" * 513}],
        ["ONE"] * 501,
    ],
)
async def test_malformed_requests_are_21405(
    ksef: Ksef, state: EmulatorState, invoices: list[Any]
) -> None:
    seller = state.create_subject()
    real = _ksef_numbers(state, seller.nip, BUYER, 1)[0]

    def fill(item: Any) -> Any:
        if isinstance(item, dict):
            return item | {"ksefNumber": real}
        return real if item in ("DUP", "ONE") else item

    resp = await _create(ksef, await ksef.bearer(seller), [fill(i) for i in invoices])
    assert code_of(resp) == 21405


async def test_payment_details_only_for_the_creator_and_parties(
    ksef: Ksef, state: EmulatorState
) -> None:
    seller, buyer, stranger = state.create_subject(), state.create_subject(), state.create_subject()
    paid, plain = _ksef_numbers(state, seller.nip, buyer.nip, 2)
    buyer_h = await ksef.bearer(buyer)
    body = [{"ksefNumber": paid, "payment": {"amount": 12.5, "currency": "EUR"}}, plain]
    number = (await _create(ksef, buyer_h, body)).json()["collectiveIdentifierNumber"]
    for viewer in (buyer, seller):  # the creator, and the seller (a party on both invoices)
        items = {
            i["ksefNumber"]: i for i in await _invoices(ksef, await ksef.bearer(viewer), number)
        }
        assert items[paid]["payment"] == {"amount": 12.5, "currency": "EUR"}
        assert items[paid]["detailsHidden"] is False
    items = {i["ksefNumber"]: i for i in await _invoices(ksef, await ksef.bearer(stranger), number)}
    assert items[paid] == {"ksefNumber": paid, "detailsHidden": True}
    assert items[plain] == {"ksefNumber": plain, "detailsHidden": False}  # nothing to hide
    # The seller's query shows the identifier (its invoices) as not created there.
    seller_h = await ksef.bearer(seller)
    [found] = (await _query(ksef, seller_h))["collectiveIdentifiers"]
    assert found["createdInCurrentContext"] is False
    assert (await _query(ksef, seller_h, createdInCurrentContext=True))[
        "collectiveIdentifiers"
    ] == []
    # A stranger neither finds it by query nor by the invoice's KSeF number.
    stranger_h = await ksef.bearer(stranger)
    assert (await _query(ksef, stranger_h))["collectiveIdentifiers"] == []
    resp = await ksef.http.get(f"{BASE}/ksef/{paid}", headers=stranger_h)
    assert resp.json()["collectiveIdentifiers"] == []
    resp = await ksef.http.get(f"{BASE}/ksef/{paid}", headers=seller_h)
    [by_number] = resp.json()["collectiveIdentifiers"]
    assert by_number["createdInCurrentContext"] is False


async def test_query_filters_dates_and_paging(
    ksef: Ksef, state: EmulatorState, clock: ManualClock
) -> None:
    seller = state.create_subject()
    numbers = _ksef_numbers(state, seller.nip, BUYER, 3)
    headers = await ksef.bearer(seller)
    created = []
    for n in range(12):
        clock.advance(60)
        resp = await _create(ksef, headers, numbers[: 1 + n % 3])
        created.append(resp.json()["collectiveIdentifierNumber"])
    first = await _query(ksef, headers)
    assert len(first["collectiveIdentifiers"]) == 10
    resp = await ksef.http.post(
        f"{BASE}/query",
        json={"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"},
        headers=headers | {"x-continuation-token": first["continuationToken"]},
    )
    rest = resp.json()
    assert rest.get("continuationToken") is None
    order = [c["collectiveIdentifierNumber"] for c in first["collectiveIdentifiers"]]
    order += [c["collectiveIdentifierNumber"] for c in rest["collectiveIdentifiers"]]
    assert order == list(reversed(created))  # dateCreated descending
    three = await _query(ksef, headers, invoiceCountFrom=3, invoiceCountTo=3)
    assert {c["invoiceCount"] for c in three["collectiveIdentifiers"]} == {3}
    assert len(three["collectiveIdentifiers"]) == 4
    one = await _query(ksef, headers, collectiveIdentifierNumber=created[5])
    assert [c["collectiveIdentifierNumber"] for c in one["collectiveIdentifiers"]] == [created[5]]
    later = (START + dt.timedelta(minutes=6, seconds=30)).isoformat()
    window = await _query(ksef, headers, dateCreatedFrom=later)
    assert len(window["collectiveIdentifiers"]) == 6
    big = {"pageSize": 200}
    resp = await ksef.http.post(
        f"{BASE}/query",
        params=big,
        json={"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"},
        headers=headers,
    )
    assert len(resp.json()["collectiveIdentifiers"]) == 12


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-04-12T00:00:00Z"}, {}),
        ({"dateCreatedFrom": "2026-02-01T00:00:00Z", "dateCreatedTo": "2026-01-01T00:00:00Z"}, {}),
        ({"dateCreatedFrom": "2026-02-01T00:00:00Z"}, {}),
        ({"dateCreatedFrom": "luty", "dateCreatedTo": "2026-03-01T00:00:00Z"}, {}),
        (
            {"dateCreatedFrom": "2026-02-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"},
            {"pageSize": 201},
        ),
    ],
)
async def test_bad_queries_are_21405(
    ksef: Ksef, subject: SeededSubject, body: dict[str, Any], params: dict[str, Any]
) -> None:
    headers = await ksef.bearer(subject)
    resp = await ksef.http.post(f"{BASE}/query", json=body, params=params, headers=headers)
    assert code_of(resp) == 21405


async def test_exactly_100_days_is_allowed(ksef: Ksef, subject: SeededSubject) -> None:
    body = {"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-04-11T00:00:00Z"}
    resp = await ksef.http.post(f"{BASE}/query", json=body, headers=await ksef.bearer(subject))
    assert resp.status_code == 200


async def test_unknown_or_malformed_identifier_numbers(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    unknown = f"{subject.nip}-IZ202602-000000000000-00"
    assert code_of(await ksef.http.get(f"{BASE}/{unknown}/invoices", headers=headers)) == 21405
    assert code_of(await ksef.http.get(f"{BASE}/garbage/invoices", headers=headers)) == 21405
    assert code_of(await ksef.http.get(f"{BASE}/ksef/garbage", headers=headers)) == 21405
    # A well-formed KSeF number of no invoice at all (a stored one of others is an empty list).
    absent = f"{subject.nip}-20260210-0000000000AB-00"
    resp = await ksef.http.get(f"{BASE}/ksef/{absent}", headers=headers)
    assert code_of(resp) == 21405
    assert "nie istnieje" in resp.text


async def test_permissions_are_required(ksef: Ksef, state: EmulatorState) -> None:
    narrow = state.create_subject(permissions=["CredentialsRead"])
    headers = await ksef.bearer(narrow)
    resp = await ksef.http.post(
        f"{BASE}/query",
        json={"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"},
        headers=headers,
    )
    assert resp.status_code == 403
    assert resp.json()["reasonCode"] == "missing-permissions"
    assert (await ksef.http.post(f"{BASE}/query", json={})).status_code == 401


def test_identifiers_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "emu.sqlite")
    clock = ManualClock(START)
    with EmulatorState(clock=clock, db_path=path) as state:
        seller = state.create_subject()
        number = _ksef_numbers(state, seller.nip, BUYER, 1)[0]
        claims = _claims(seller.nip)
        made = state.collective.generate(claims, {"invoices": [{"ksefNumber": number}]})
    with EmulatorState(clock=clock, db_path=path) as again:
        body = {"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-03-01T00:00:00Z"}
        found = again.collective.query(_claims(seller.nip), body, None, None)
        assert [c["collectiveIdentifierNumber"] for c in found["collectiveIdentifiers"]] == [
            made["collectiveIdentifierNumber"]
        ]


def _claims(nip: str) -> Claims:
    return Claims(
        token_type="ContextToken",
        reference_number="20260210-AU-0000000000-0000000000-00",
        context_type="Nip",
        context_value=nip,
        subject_value=nip,
        permissions=("InvoiceRead",),
        expires=START + dt.timedelta(hours=1),
    )
