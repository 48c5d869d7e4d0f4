"""KSeF tokens: generate (26001/26002), Pending → Active, revoke, list filters, visibility."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from emulator_helpers import OAEP, START, Ksef, b64
from xades_helpers import bearer, real_now, xades_login

from ksefkit.emulator.app import create_app
from ksefkit.emulator.backends.auth import Claims
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.testcerts import person_by_pesel

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> ManualClock:
    """Real time: XAdES test certificates are valid from "now"."""
    return ManualClock(real_now())


def _code(resp: httpx.Response) -> int:
    assert resp.status_code == 400, resp.text
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


async def _generate(
    ksef: Ksef, headers: dict[str, str], permissions: list[str], description: str = "Token testowy"
) -> dict[str, Any]:
    resp = await ksef.http.post(
        "/v2/tokens", json={"permissions": permissions, "description": description}, headers=headers
    )
    assert resp.status_code == 202, resp.text
    return dict(resp.json())


async def _status_code(ksef: Ksef, nip: str, token: str) -> dict[str, Any]:
    init = await ksef.start_auth(nip, token)
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    return dict(
        (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()[
            "status"
        ]
    )


async def test_generate_authenticate_with_exactly_its_permissions(
    ksef: Ksef, subject: SeededSubject
) -> None:
    owner = await ksef.bearer(subject)
    created = await _generate(ksef, owner, ["InvoiceRead", "InvoiceWrite"])
    ref, token = created["referenceNumber"], created["token"]
    assert re.fullmatch(rf"{re.escape(ref)}\|nip-{subject.nip}\|[0-9a-f]{{64}}", token)
    assert len(token) <= 160
    status = (await ksef.http.get(f"/v2/tokens/{ref}", headers=owner)).json()
    assert status["status"] == "Active"  # immediate processing
    assert status["requestedPermissions"] == ["InvoiceRead", "InvoiceWrite"]
    assert status["authorIdentifier"] == {"type": "Nip", "value": subject.nip}
    assert status["contextIdentifier"] == {"type": "Nip", "value": subject.nip}
    assert status["description"] == "Token testowy"
    assert status["statusDetails"] == []
    assert "lastUseDate" not in status
    tokens = await ksef.login(SeededSubject(subject.nip, token, ref))
    payload = tokens["accessToken"]["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert sorted(claims["permissions"]) == ["InvoiceRead", "InvoiceWrite"]
    status = (await ksef.http.get(f"/v2/tokens/{ref}", headers=owner)).json()
    assert status["lastUseDate"]


async def test_cannot_give_permissions_you_lack(ksef: Ksef, state: EmulatorState) -> None:
    reader = state.create_subject(permissions=["InvoiceRead"])
    headers = await ksef.bearer(reader)
    resp = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceRead", "InvoiceWrite"], "description": "za dużo"},
        headers=headers,
    )
    assert _code(resp) == 26001
    assert "InvoiceWrite" in resp.json()["exception"]["exceptionDetailList"][0]["details"][0]


@pytest.mark.parametrize(
    "body",
    [
        {"permissions": ["InvoiceRead"]},
        {"permissions": ["InvoiceRead"], "description": "abc"},
        {"permissions": ["Nonsense"], "description": "Token testowy"},
        {"permissions": "InvoiceRead", "description": "Token testowy"},
        {"permissions": ["InvoiceRead"], "description": "x" * 257},
    ],
)
async def test_malformed_generate_requests_are_21405(
    ksef: Ksef, subject: SeededSubject, body: dict[str, Any]
) -> None:
    headers = await ksef.bearer(subject)
    assert _code(await ksef.http.post("/v2/tokens", json=body, headers=headers)) == 21405


async def test_token_context_type_rule_is_26002(ksef: Ksef, state: EmulatorState) -> None:
    context = ("NipVatUe", "5265877635-ATU12345678")
    state.grant_permissions(context, ("Pesel", "90010112345"), ["InvoiceWrite"])
    tokens = await xades_login(ksef, person_by_pesel("90010112345", key="ec"), context)
    resp = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceWrite"], "description": "Token VAT UE"},
        headers=bearer(tokens),
    )
    assert _code(resp) == 26002


async def test_revoked_token_no_longer_authenticates(ksef: Ksef, subject: SeededSubject) -> None:
    owner = await ksef.bearer(subject)
    created = await _generate(ksef, owner, ["InvoiceRead"])
    ref, token = created["referenceNumber"], created["token"]
    session = await ksef.login(SeededSubject(subject.nip, token, ref))
    assert (await ksef.http.delete(f"/v2/tokens/{ref}", headers=owner)).status_code == 204
    assert (await ksef.http.get(f"/v2/tokens/{ref}", headers=owner)).json()["status"] == "Revoked"
    status = await _status_code(ksef, subject.nip, token)
    assert status["code"] == 450
    assert status["details"] == ["Token unieważniony"]
    refresh = {"Authorization": f"Bearer {session['refreshToken']['token']}"}
    resp = await ksef.http.post("/v2/auth/token/refresh", headers=refresh)
    assert _code(resp) == 21301
    # Revoking again is a no-op.
    assert (await ksef.http.delete(f"/v2/tokens/{ref}", headers=owner)).status_code == 204


async def test_manual_processing_pending_then_active_and_revoking_then_revoked() -> None:
    with EmulatorState(clock=ManualClock(START), processing="manual") as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, state)
            subject = state.create_subject()
            owner = await ksef.bearer(subject)
            created = await _generate(ksef, owner, ["InvoiceRead"])
            ref, token = created["referenceNumber"], created["token"]
            url = f"/v2/tokens/{ref}"
            assert (await http.get(url, headers=owner)).json()["status"] == "Pending"
            status = await _status_code(ksef, subject.nip, token)
            assert (status["code"], status["details"]) == (450, ["Token nieaktywny"])
            assert state.step() == 1
            assert (await http.get(url, headers=owner)).json()["status"] == "Active"
            assert (await _status_code(ksef, subject.nip, token))["code"] == 200
            assert (await http.delete(url, headers=owner)).status_code == 204
            assert (await http.get(url, headers=owner)).json()["status"] == "Revoking"
            assert (await _status_code(ksef, subject.nip, token))["code"] == 450
            assert (await http.post("/_emulator/step")).json() == {"processed": 1}
            assert (await http.get(url, headers=owner)).json()["status"] == "Revoked"


async def test_activation_fails_when_the_author_lost_the_permissions() -> None:
    with EmulatorState(clock=ManualClock(START), processing="manual") as state:
        nip, pesel = "5265877635", "90010112345"
        state.grant_permissions(("Nip", nip), ("Pesel", pesel), ["InvoiceRead"])
        # The backend directly, with the claims a PESEL person's access token would carry.
        person = Claims(
            token_type="ContextToken",
            reference_number="",
            context_type="Nip",
            context_value=nip,
            subject_value=pesel,
            permissions=("InvoiceRead",),
            expires=START,
            subject_type="Pesel",
            method_category="XadesSignature",
        )
        body = {"permissions": ["InvoiceRead"], "description": "Token osoby"}
        created = state.tokens.generate(person, body)
        assert state.rights.revoke("Nip", nip, "Pesel", pesel) == 1
        assert state.step() == 1
        status = state.tokens.status(person, created["referenceNumber"])
        assert status["status"] == "Failed"
        assert status["statusDetails"]
        assert status["authorIdentifier"] == {"type": "Pesel", "value": pesel}


async def test_list_filters_and_paging(ksef: Ksef, subject: SeededSubject) -> None:
    owner = await ksef.bearer(subject)
    refs = [
        (await _generate(ksef, owner, ["InvoiceRead"], f"Opis numer {i:02d}"))["referenceNumber"]
        for i in range(12)
    ]
    await ksef.http.delete(f"/v2/tokens/{refs[0]}", headers=owner)
    first = (await ksef.http.get("/v2/tokens", headers=owner)).json()
    assert len(first["tokens"]) == 10
    assert set(first["tokens"][0]) >= {
        "referenceNumber",
        "authorIdentifier",
        "contextIdentifier",
        "description",
        "requestedPermissions",
        "dateCreated",
        "status",
    }
    nxt = {**owner, "x-continuation-token": first["continuationToken"]}
    second = (await ksef.http.get("/v2/tokens", headers=nxt)).json()
    assert "continuationToken" not in second
    seen = {t["referenceNumber"] for t in first["tokens"] + second["tokens"]}
    assert set(refs) | {subject.token_reference} == seen  # 12 generated + the seed token
    revoked = (await ksef.http.get("/v2/tokens?status=Revoked", headers=owner)).json()
    assert [t["referenceNumber"] for t in revoked["tokens"]] == [refs[0]]
    both = await ksef.http.get(
        "/v2/tokens?status=Revoked&status=Active&pageSize=100", headers=owner
    )
    assert len(both.json()["tokens"]) == 13
    found = (await ksef.http.get("/v2/tokens?description=NUMER 03", headers=owner)).json()
    assert [t["referenceNumber"] for t in found["tokens"]] == [refs[3]]
    by_author = await ksef.http.get(
        f"/v2/tokens?authorIdentifier={subject.nip[:5]}&authorIdentifierType=Nip&pageSize=100",
        headers=owner,
    )
    assert len(by_author.json()["tokens"]) == 13
    none = await ksef.http.get("/v2/tokens?authorIdentifierType=Pesel", headers=owner)
    assert none.json()["tokens"] == []


@pytest.mark.parametrize(
    ("query", "headers", "code"),
    [
        ("?pageSize=5", {}, 21405),
        ("?pageSize=abc", {}, 21405),
        ("?status=Unknown", {}, 21405),
        ("?description=ab", {}, 21405),
        ("?authorIdentifierType=Email", {}, 21405),
        ("", {"x-continuation-token": "not-a-token"}, 21418),
    ],
)
async def test_list_rejects_bad_queries(
    ksef: Ksef, subject: SeededSubject, query: str, headers: dict[str, str], code: int
) -> None:
    owner = await ksef.bearer(subject)
    resp = await ksef.http.get(f"/v2/tokens{query}", headers={**owner, **headers})
    assert _code(resp) == code


async def test_token_caller_without_credentials_rights_sees_only_its_token(
    ksef: Ksef, state: EmulatorState
) -> None:
    subject = state.create_subject()
    owner = await ksef.bearer(subject)
    other = await _generate(ksef, owner, ["InvoiceRead"])
    mine = await _generate(ksef, owner, ["InvoiceWrite"])
    limited = await ksef.bearer(SeededSubject(subject.nip, mine["token"], mine["referenceNumber"]))
    listed = (await ksef.http.get("/v2/tokens", headers=limited)).json()["tokens"]
    assert [t["referenceNumber"] for t in listed] == [mine["referenceNumber"]]
    hidden = await ksef.http.get(f"/v2/tokens/{other['referenceNumber']}", headers=limited)
    assert hidden.status_code == 403
    assert hidden.json()["reasonCode"] == "insufficient-resource-access"
    denied = await ksef.http.delete(f"/v2/tokens/{other['referenceNumber']}", headers=limited)
    assert denied.status_code == 403
    # ...but it may revoke the token it authenticated with.
    url = f"/v2/tokens/{mine['referenceNumber']}"
    assert (await ksef.http.delete(url, headers=limited)).status_code == 204


async def test_unknown_and_foreign_tokens_are_21405(ksef: Ksef, state: EmulatorState) -> None:
    a, b = state.create_subject(), state.create_subject()
    headers = await ksef.bearer(a)
    missing = "20260210-EC-0000000000-0000000000-00"
    assert _code(await ksef.http.get(f"/v2/tokens/{missing}", headers=headers)) == 21405
    foreign = f"/v2/tokens/{b.token_reference}"
    assert _code(await ksef.http.get(foreign, headers=headers)) == 21405
    assert _code(await ksef.http.delete(foreign, headers=headers)) == 21405
    assert _code(await ksef.http.get("/v2/tokens/short", headers=headers)) == 21405
    assert (await ksef.http.get("/v2/tokens")).status_code == 401


async def _token_auth_with_policy(
    ksef: Ksef, subject: SeededSubject, policy: object
) -> httpx.Response:
    ch = (await ksef.http.post("/v2/auth/challenge")).json()
    pub, kid = await ksef.certificates("KsefTokenEncryption")
    plain = f"{subject.token}|{ch['timestampMs']}".encode()
    body = {
        "challenge": ch["challenge"],
        "contextIdentifier": {"type": "Nip", "value": subject.nip},
        "encryptedToken": b64(pub.encrypt(plain, OAEP)),
        "publicKeyId": kid,
        "authorizationPolicy": policy,
    }
    return await ksef.http.post("/v2/auth/ksef-token", json=body)


@pytest.mark.parametrize(
    ("allowed_ips", "expected"),
    [
        ({"ip4Addresses": ["10.0.0.1"]}, 403),
        ({"ip4Masks": ["127.0.0.0/8"]}, 200),
        ({"ip4Ranges": ["127.0.0.0-127.0.0.255"], "ip4Addresses": []}, 200),
        ({}, 200),  # no entries: no restriction
    ],
)
async def test_ksef_token_ip_policy(
    ksef: Ksef, subject: SeededSubject, allowed_ips: dict[str, Any], expected: int
) -> None:
    resp = await _token_auth_with_policy(ksef, subject, {"allowedIps": allowed_ips})
    assert resp.status_code == 202, resp.text
    init = resp.json()
    operation = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    tokens = (await ksef.http.post("/v2/auth/token/redeem", headers=operation)).json()
    used = await ksef.http.get("/v2/tokens", headers=bearer(tokens))
    assert used.status_code == expected, used.text
    if expected == 403:
        assert used.json()["reasonCode"] == "ip-not-allowed"
        assert used.json()["security"] == {"clientIp": "127.0.0.1"}


@pytest.mark.parametrize(
    "policy",
    [
        "10.0.0.1",
        {"allowedIps": {"ip4Addresses": ["10.0.0.256"]}},
        {"allowedIps": {"ip4Masks": ["10.0.0.0/33"]}},
        {"allowedIps": {"ip4Ranges": ["10.0.0.9-10.0.0.1"]}},
        {"allowedIps": {"ip4Addresses": [f"10.0.0.{i}" for i in range(11)]}},
        {"allowedIps": {"ipv6": ["::1"]}},
        {"somethingElse": {}},
    ],
)
async def test_malformed_ip_policies_are_21405(
    ksef: Ksef, subject: SeededSubject, policy: object
) -> None:
    assert _code(await _token_auth_with_policy(ksef, subject, policy)) == 21405
