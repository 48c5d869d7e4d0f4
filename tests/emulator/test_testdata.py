"""/testdata/subject*, /testdata/person* and the per-context session limits
(/testdata/limits/context/session, GET /limits/context) with their effects."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import Ksef, invoice, send_body
from xades_helpers import (
    auth_status,
    bearer,
    code_of,
    jwt_claims,
    real_now,
    xades_login,
    xades_status,
)

from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState
from ksefkit.identifiers import random_nip
from ksefkit.testcerts import company_seal, person_by_nip, person_by_pesel

pytestmark = pytest.mark.anyio

PESEL = "90010112345"
OTHER_PESEL = "85121812345"


@pytest.fixture
def clock() -> ManualClock:
    # XAdES signing times and test certificates are based on the real time.
    return ManualClock(real_now())


def _code(resp: Any) -> int:
    return code_of(resp)


async def _post(ksef: Ksef, path: str, body: dict[str, Any]) -> Any:
    return await ksef.http.post(f"/v2/testdata/{path}", json=body)


def _person(nip: str, pesel: str = PESEL, **extra: Any) -> dict[str, Any]:
    return {"nip": nip, "pesel": pesel, "isBailiff": False, "description": "Osoba testowa"} | extra


# -- subjects ------------------------------------------------------------------------------


async def test_vat_group_with_members_and_its_roles(ksef: Ksef, state: EmulatorState) -> None:
    group, first, second = random_nip(), random_nip(), random_nip()
    body = {
        "subjectNip": group,
        "subjectType": "VatGroup",
        "description": "Grupa VAT testowa",
        "subunits": [
            {"subjectNip": first, "description": "Członek pierwszy"},
            {"subjectNip": second, "description": "Członek drugi"},
        ],
        "createdDate": "2026-01-05T10:00:00+00:00",
    }
    resp = await _post(ksef, "subject", body)
    assert resp.status_code == 200, resp.text
    assert resp.content == b""
    roles = state.testdata.entity_roles(group)
    assert roles == [
        {
            "role": "VatGroupUnit",
            "description": "Grupa VAT testowa",
            "startDate": "2026-01-05T10:00:00.0000000+00:00",
        }
    ]
    assert state.testdata.entity_roles(first)[0]["parentEntityIdentifier"] == {
        "type": "Nip",
        "value": group,
    }
    subordinate = state.testdata.subordinate_roles(group)
    assert {r["subordinateEntityIdentifier"]["value"] for r in subordinate} == {first, second}
    assert {r["role"] for r in subordinate} == {"VatGroupSubUnit"}
    assert [r["description"] for r in state.testdata.subordinate_roles(group, second)] == [
        "Członek drugi"
    ]
    # A second creation of the group, or of one of its members, is 30001.
    assert _code(await _post(ksef, "subject", body)) == 30001
    again = {"subjectNip": first, "subjectType": "JST", "description": "Jednostka samorządu"}
    assert _code(await _post(ksef, "subject", again)) == 30001


@pytest.mark.parametrize(
    ("kind", "parent_role", "child_role"),
    [
        ("JST", "LocalGovernmentUnit", "LocalGovernmentSubUnit"),
        ("EnforcementAuthority", "EnforcementAuthority", None),
    ],
)
async def test_roles_of_each_subject_type(
    ksef: Ksef, state: EmulatorState, kind: str, parent_role: str, child_role: str | None
) -> None:
    nip, unit = random_nip(), random_nip()
    body: dict[str, Any] = {
        "subjectNip": nip,
        "subjectType": kind,
        "description": "Podmiot testowy",
    }
    if child_role:
        body["subunits"] = [{"subjectNip": unit, "description": "Jednostka podrzędna"}]
    assert (await _post(ksef, "subject", body)).status_code == 200
    assert [r["role"] for r in state.testdata.entity_roles(nip)] == [parent_role]
    assert [r["role"] for r in state.testdata.subordinate_roles(nip)] == (
        [child_role] if child_role else []
    )


@pytest.mark.parametrize(
    "change",
    [
        {"subjectType": "Company"},
        {"description": "abc"},
        {"subjectNip": "0123456789"},
        {"subjectType": "EnforcementAuthority"},  # an enforcement authority has no subunits
        {"subunits": [{"subjectNip": "SELF", "description": "Ja sam"}]},
        {"createdDate": "yesterday"},
    ],
)
async def test_subject_validation_is_21405(ksef: Ksef, change: dict[str, Any]) -> None:
    nip = random_nip()
    body: dict[str, Any] = {
        "subjectNip": nip,
        "subjectType": "JST",
        "description": "Gmina testowa",
        "subunits": [{"subjectNip": random_nip(), "description": "Jednostka podrzędna"}],
    }
    body.update(change)
    if body["subunits"][0]["subjectNip"] == "SELF":
        body["subunits"][0]["subjectNip"] = nip
    assert _code(await _post(ksef, "subject", body)) == 21405


async def test_remove_subject_and_recreate_later_only(ksef: Ksef, state: EmulatorState) -> None:
    nip, unit = random_nip(), random_nip()
    body = {
        "subjectNip": nip,
        "subjectType": "JST",
        "description": "Gmina testowa",
        "subunits": [{"subjectNip": unit, "description": "Szkoła gminna"}],
        "createdDate": "2026-01-05T10:00:00+00:00",
    }
    assert (await _post(ksef, "subject", body)).status_code == 200
    assert (await _post(ksef, "subject/remove", {"subjectNip": nip})).status_code == 200
    assert state.testdata.entity_roles(nip) == []
    assert state.testdata.entity_roles(unit) == []
    assert _code(await _post(ksef, "subject/remove", {"subjectNip": nip})) == 21405
    # Re-creating needs a createdDate later than the previous one.
    assert _code(await _post(ksef, "subject", body)) == 21405
    later = body | {"createdDate": "2026-01-06T10:00:00+00:00"}
    assert (await _post(ksef, "subject", later)).status_code == 200
    assert state.testdata.entity_roles(nip)[0]["startDate"].startswith("2026-01-06T10:00:00")


# -- persons -------------------------------------------------------------------------------


async def test_person_owns_the_nip_through_the_pesel(ksef: Ksef, state: EmulatorState) -> None:
    nip = random_nip()
    certificate = person_by_pesel(PESEL, key="ec")
    _, before = await xades_status(ksef, certificate, ("Nip", nip))
    assert before["status"]["code"] == 415
    assert (await _post(ksef, "person", _person(nip))).status_code == 200
    tokens = await xades_login(ksef, certificate, ("Nip", nip))
    held = _permissions(tokens)
    assert {"InvoiceWrite", "InvoiceRead", "CredentialsManage"} <= held
    assert "EnforcementOperations" not in held  # only a bailiff has it
    assert state.testdata.entity_roles(nip) == []
    # ... and may work there: open a session and send an invoice for the NIP.
    headers = bearer(tokens)
    key, iv = b"k" * 32, b"i" * 16
    ref = await ksef.open_session(headers, key, iv)
    assert (await ksef.send(headers, ref, send_body(invoice(nip), key, iv))).status_code == 202
    # A different NIP is not theirs.
    _, other = await xades_status(ksef, certificate, ("Nip", random_nip()))
    assert other["status"]["code"] == 415


def _permissions(tokens: dict[str, Any]) -> set[str]:
    return set(jwt_claims(tokens)["permissions"])


async def test_bailiff_gets_enforcement_operations_and_the_court_bailiff_role(
    ksef: Ksef, state: EmulatorState
) -> None:
    nip = random_nip()
    body = _person(nip, isBailiff=True, description="Komornik sądowy")
    assert (await _post(ksef, "person", body)).status_code == 200
    tokens = await xades_login(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", nip))
    assert "EnforcementOperations" in _permissions(tokens)
    assert [r["role"] for r in state.testdata.entity_roles(nip)] == ["CourtBailiff"]


async def test_person_exists_is_30001_and_validation_is_21405(ksef: Ksef) -> None:
    nip = random_nip()
    assert (await _post(ksef, "person", _person(nip))).status_code == 200
    assert _code(await _post(ksef, "person", _person(nip, OTHER_PESEL))) == 30001
    assert _code(await _post(ksef, "person", _person(random_nip()))) == 30001  # same PESEL
    assert _code(await _post(ksef, "person", _person(random_nip(), "123"))) == 21405
    missing = {"nip": random_nip(), "pesel": OTHER_PESEL, "description": "Bez flagi"}
    assert _code(await _post(ksef, "person", missing)) == 21405  # isBailiff is required
    assert _code(await _post(ksef, "person/remove", {"nip": random_nip()})) == 21405


@pytest.mark.parametrize("factory", ["pesel", "nip"])
async def test_deceased_person_cannot_authenticate(ksef: Ksef, factory: str) -> None:
    nip = random_nip()
    body = _person(nip, isDeceased=True)
    assert (await _post(ksef, "person", body)).status_code == 200
    cert = person_by_pesel(PESEL, key="ec") if factory == "pesel" else person_by_nip(nip, key="ec")
    init, status = await xades_status(ksef, cert, ("Nip", nip))
    assert status["status"]["code"] == 470
    assert status["status"]["details"] == [
        "Próba wykorzystania metod autoryzacyjnych osoby zmarłej"
    ]
    op = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    assert _code(await ksef.http.post("/v2/auth/token/redeem", headers=op)) == 21301
    # The company's own seal is not the person: it still authenticates.
    _, seal = await xades_status(ksef, company_seal(nip, key="ec"), ("Nip", nip))
    assert seal["status"]["code"] == 200


async def test_a_person_marked_deceased_later_cannot_refresh(
    ksef: Ksef, clock: ManualClock
) -> None:
    nip = random_nip()
    assert (await _post(ksef, "person", _person(nip))).status_code == 200
    tokens = await xades_login(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", nip))
    refresh = bearer(tokens, "refreshToken")
    assert (await ksef.http.post("/v2/auth/token/refresh", headers=refresh)).status_code == 200
    assert (await _post(ksef, "person/remove", {"nip": nip})).status_code == 200
    clock.advance(1)
    dead = _person(nip, isDeceased=True, createdDate=clock.now().isoformat())
    assert (await _post(ksef, "person", dead)).status_code == 200
    assert _code(await ksef.http.post("/v2/auth/token/refresh", headers=refresh)) == 21308


async def test_removed_person_loses_grants_and_tokens(ksef: Ksef, state: EmulatorState) -> None:
    nip, other = random_nip(), random_nip()
    assert (await _post(ksef, "person", _person(nip))).status_code == 200
    state.grant_permissions(("Nip", other), ("Pesel", PESEL), ["InvoiceRead"])
    tokens = await xades_login(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", nip))
    created = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceRead"], "description": "Token osoby"},
        headers=bearer(tokens),
    )
    assert created.status_code == 202, created.text
    reference = created.json()["referenceNumber"]
    assert (await _post(ksef, "person/remove", {"nip": nip})).status_code == 200
    for context in (nip, other):
        _, status = await xades_status(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", context))
        assert status["status"]["code"] == 415
    token = await ksef.http.get(f"/v2/tokens/{reference}", headers=bearer(tokens))
    assert token.json()["status"] in ("Revoking", "Revoked")


# -- session limits ------------------------------------------------------------------------

LIMITS = {
    "onlineSession": {
        "maxInvoiceSizeInMB": 0,
        "maxInvoiceWithAttachmentSizeInMB": 4,
        "maxInvoices": 2,
    },
    "batchSession": {
        "maxInvoiceSizeInMB": 2,
        "maxInvoiceWithAttachmentSizeInMB": 5,
        "maxInvoices": 7,
    },
}


async def test_session_limits_override_reads_back_per_context(ksef: Ksef) -> None:
    first = await ksef.bearer(ksef.state.create_subject())
    second = await ksef.bearer(ksef.state.create_subject())
    default = (await ksef.http.get("/v2/limits/context", headers=first)).json()
    resp = await ksef.http.post("/v2/testdata/limits/context/session", json=LIMITS, headers=first)
    assert resp.status_code == 200, resp.text
    assert (await ksef.http.get("/v2/limits/context", headers=first)).json() == LIMITS
    assert (await ksef.http.get("/v2/limits/context", headers=second)).json() == default
    resp = await ksef.http.delete("/v2/testdata/limits/context/session", headers=first)
    assert resp.status_code == 200
    assert (await ksef.http.get("/v2/limits/context", headers=first)).json() == default
    # Only an authenticated context has limits to change.
    unauthenticated = await ksef.http.post("/v2/testdata/limits/context/session", json=LIMITS)
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    ("side", "field", "value"),
    [
        ("onlineSession", "maxInvoiceSizeInMB", 6),
        ("batchSession", "maxInvoiceWithAttachmentSizeInMB", 11),
        ("onlineSession", "maxInvoices", 100_001),
        ("batchSession", "maxInvoices", -1),
        ("onlineSession", "maxInvoices", "5"),
    ],
)
async def test_session_limits_out_of_range_are_21405(
    ksef: Ksef, side: str, field: str, value: object
) -> None:
    headers = await ksef.bearer(ksef.state.create_subject())
    body = {k: dict(v) for k, v in LIMITS.items()}
    body[side][field] = value
    resp = await ksef.http.post("/v2/testdata/limits/context/session", json=body, headers=headers)
    assert _code(resp) == 21405


async def test_online_session_honours_the_override(ksef: Ksef) -> None:
    subject = ksef.state.create_subject()
    headers = await ksef.bearer(subject)
    limits = {
        "onlineSession": {
            "maxInvoiceSizeInMB": 1,
            "maxInvoiceWithAttachmentSizeInMB": 3,
            "maxInvoices": 2,
        },
        "batchSession": LIMITS["batchSession"],
    }
    await ksef.http.post("/v2/testdata/limits/context/session", json=limits, headers=headers)
    key, iv = b"k" * 32, b"i" * 16
    ref = await ksef.open_session(headers, key, iv)
    for n in (1, 2):
        body = send_body(invoice(subject.nip, f"FV/{n}"), key, iv)
        assert (await ksef.send(headers, ref, body)).status_code == 202
    third = await ksef.send(headers, ref, send_body(invoice(subject.nip, "FV/3"), key, iv))
    assert _code(third) == 21155
    assert (
        "limit liczby faktur 2" in third.json()["exception"]["exceptionDetailList"][0]["details"][0]
    )
    # Size: with a 0 MB limit every invoice is too large (status 430) in a new session.
    limits["onlineSession"] |= {"maxInvoiceSizeInMB": 0, "maxInvoices": 10}
    await ksef.http.post("/v2/testdata/limits/context/session", json=limits, headers=headers)
    ref = await ksef.open_session(headers, key, iv)
    sent = await ksef.send(headers, ref, send_body(invoice(subject.nip, "FV/4"), key, iv))
    status = await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 430
    assert "przekracza limit 0 B" in status["status"]["details"][0]
    # Restored defaults: the same invoice goes through.
    await ksef.http.delete("/v2/testdata/limits/context/session", headers=headers)
    sent = await ksef.send(headers, ref, send_body(invoice(subject.nip, "FV/5"), key, iv))
    status = await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 200


def test_limits_backend_defaults_follow_the_configuration() -> None:
    with EmulatorState(session_invoice_limit=5, batch_max_invoices=9) as state:
        online = state.session_limits.online("Nip", "5265877635")
        batch = state.session_limits.batch("Nip", "5265877635")
        assert (online.max_invoices, batch.max_invoices) == (5, 9)
        assert online.max_invoice_size == state.config.max_invoice_size
        state.session_limits.set("Nip", "5265877635", LIMITS)
        assert state.session_limits.batch("Nip", "5265877635").max_invoice_size == 2_000_000
        assert state.session_limits.online("Nip", "7740001454").max_invoices == 5
        state.session_limits.reset("Nip", "5265877635")
        assert state.session_limits.batch("Nip", "5265877635").max_invoices == 9


async def test_auth_status_of_unknown_person_is_unchanged(ksef: Ksef) -> None:
    # A PESEL certificate with no person and no grant: still 415, never 470.
    init, status = await xades_status(ksef, person_by_pesel(OTHER_PESEL), ("Nip", random_nip()))
    assert status["status"]["code"] == 415
    assert (await auth_status(ksef, init))["status"]["code"] == 415
