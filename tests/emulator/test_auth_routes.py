"""Public keys and KSeF-token authentication over HTTP."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from emulator_helpers import Ksef

from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio


async def test_public_key_certificates_are_wire_exact(ksef: Ksef) -> None:
    certs = (await ksef.http.get("/v2/security/public-key-certificates")).json()
    assert sorted(c["usage"] for c in certs) == [
        ["KsefTokenEncryption"],
        ["SymmetricKeyEncryption"],
    ]
    ids = set()
    for item in certs:
        assert set(item) == {
            "certificate",
            "certificateId",
            "publicKeyId",
            "validFrom",
            "validTo",
            "usage",
        }
        der = base64.b64decode(item["certificate"])
        cert = x509.load_der_x509_certificate(der)
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        assert cn[0].value == "Ministerstwo Finansów"
        spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        assert item["publicKeyId"] == base64.b64encode(hashlib.sha256(spki).digest()).decode()
        assert item["certificateId"] == base64.b64encode(hashlib.sha256(der).digest()).decode()
        assert item["validFrom"] < item["validTo"]
        ids.add(item["publicKeyId"])
    assert len(ids) == 2  # two different keys


async def test_token_auth_happy_path_redeem_once_and_refresh(
    ksef: Ksef, subject: SeededSubject
) -> None:
    ch = (await ksef.http.post("/v2/auth/challenge")).json()
    assert re.fullmatch(r"\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}", ch["challenge"])
    assert set(ch) == {"challenge", "timestamp", "timestampMs", "clientIp"}
    init = await ksef.start_auth(subject.nip, subject.token)
    assert re.fullmatch(r"\d{8}-AU-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}", init["referenceNumber"])
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
    assert status["status"] == {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
    assert status["authenticationMethodInfo"] == {
        "category": "Token",
        "code": "token.ksef",
        "displayName": "Token KSeF",
    }
    assert status["isTokenRedeemed"] is False
    tokens = (await ksef.http.post("/v2/auth/token/redeem", headers=bearer)).json()
    assert set(tokens) == {"accessToken", "refreshToken"}
    again = await ksef.http.post("/v2/auth/token/redeem", headers=bearer)
    assert again.status_code == 400
    assert again.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21301
    refresh = {"Authorization": f"Bearer {tokens['refreshToken']['token']}"}
    fresh = await ksef.http.post("/v2/auth/token/refresh", headers=refresh)
    assert fresh.status_code == 200
    assert set(fresh.json()) == {"accessToken"}
    # An access token is not a refresh token.
    wrong = {"Authorization": f"Bearer {tokens['accessToken']['token']}"}
    assert (await ksef.http.post("/v2/auth/token/refresh", headers=wrong)).status_code == 401
    status = (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
    assert status["isTokenRedeemed"] is True
    assert "lastTokenRefreshDate" in status


async def test_valid_until_matches_jwt_exp(ksef: Ksef, subject: SeededSubject) -> None:
    import json

    tokens = await ksef.login(subject)
    token = tokens["accessToken"]["token"]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    from ksefkit.emulator.clock import parse_datetime

    assert int(parse_datetime(tokens["accessToken"]["validUntil"]).timestamp()) == payload["exp"]
    assert payload["token-type"] == "ContextToken"
    assert payload["context-identifier-value"] == subject.nip


@pytest.mark.parametrize(
    ("token_kind", "stamp_delta", "detail"),
    [
        ("wrong", 0, "Nieprawidłowy token"),
        ("right", 1, "Nieprawidłowy czas tokena"),
    ],
)
async def test_bad_token_ends_with_450(
    ksef: Ksef, subject: SeededSubject, token_kind: str, stamp_delta: int, detail: str
) -> None:
    token = subject.token if token_kind == "right" else subject.token[:-4] + "0000"
    init = await ksef.start_auth(subject.nip, token, stamp_delta=stamp_delta)
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
    assert status["status"]["code"] == 450
    assert status["status"]["details"] == [detail]
    redeem = await ksef.http.post("/v2/auth/token/redeem", headers=bearer)
    assert redeem.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21301


async def test_token_of_other_context_is_450(ksef: Ksef, state: EmulatorState) -> None:
    a, b = state.create_subject(), state.create_subject()
    init = await ksef.start_auth(b.nip, a.token)
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
    assert status["status"]["code"] == 450


async def test_token_without_permissions_is_415(ksef: Ksef, state: EmulatorState) -> None:
    subject = state.create_subject(permissions=[])
    init = await ksef.start_auth(subject.nip, subject.token)
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
    assert status["status"]["code"] == 415


async def test_stale_and_reused_challenge_is_21111(
    ksef: Ksef, subject: SeededSubject, clock: ManualClock
) -> None:
    ch = (await ksef.http.post("/v2/auth/challenge")).json()
    clock.advance(601)
    body = {
        "challenge": ch["challenge"],
        "contextIdentifier": {"type": "Nip", "value": subject.nip},
        "encryptedToken": base64.b64encode(b"x" * 256).decode(),
    }
    resp = await ksef.http.post("/v2/auth/ksef-token", json=body)
    assert resp.status_code == 400
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21111
    fresh = (await ksef.http.post("/v2/auth/challenge")).json()
    body["challenge"] = fresh["challenge"]
    assert (await ksef.http.post("/v2/auth/ksef-token", json=body)).status_code == 202
    reused = await ksef.http.post("/v2/auth/ksef-token", json=body)
    assert reused.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21111


async def test_unknown_public_key_id_is_21470(ksef: Ksef, subject: SeededSubject) -> None:
    ch = (await ksef.http.post("/v2/auth/challenge")).json()
    body = {
        "challenge": ch["challenge"],
        "contextIdentifier": {"type": "Nip", "value": subject.nip},
        "encryptedToken": base64.b64encode(b"x").decode(),
        "publicKeyId": "A" * 43 + "=",
    }
    resp = await ksef.http.post("/v2/auth/ksef-token", json=body)
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21470


@pytest.mark.parametrize("payload", [b"{not json", b'{"challenge": 5}', b"[]"])
async def test_malformed_bodies_are_21405(ksef: Ksef, payload: bytes) -> None:
    resp = await ksef.http.post(
        "/v2/auth/ksef-token", content=payload, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    detail = resp.json()["exception"]["exceptionDetailList"][0]
    assert detail["exceptionCode"] == 21405
    assert detail["exceptionDescription"] == "Błąd walidacji danych wejściowych."
    assert detail["details"]


async def test_problem_details_switch(ksef: Ksef) -> None:
    resp = await ksef.http.post(
        "/v2/auth/ksef-token", content=b"{", headers={"X-Error-Format": "problem-details"}
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["title"] == "Bad Request"
    assert body["status"] == 400
    assert body["errors"][0]["code"] == 21405
    assert {"instance", "detail", "timestamp", "traceId"} <= set(body)


async def test_401_shapes(ksef: Ksef, clock: ManualClock, subject: SeededSubject) -> None:
    missing = await ksef.http.get("/v2/sessions/x")
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    body = missing.json()
    assert body["title"] == "Unauthorized"
    assert body["status"] == 401
    assert body["detail"]
    headers = await ksef.bearer(subject)
    clock.advance(16 * 60)
    expired = await ksef.http.get("/v2/sessions?sessionType=Online", headers=headers)
    assert expired.status_code == 401
    forged = {"Authorization": headers["Authorization"][:-3] + "abc"}
    assert (
        await ksef.http.get("/v2/sessions?sessionType=Online", headers=forged)
    ).status_code == 401


async def test_403_missing_permissions(ksef: Ksef, state: EmulatorState) -> None:
    reader = state.create_subject(permissions=["InvoiceRead"])
    headers = await ksef.bearer(reader)
    resp = await ksef.http.post("/v2/sessions/online", json={}, headers=headers)
    assert resp.status_code == 403
    body = resp.json()
    assert body["reasonCode"] == "missing-permissions"
    assert body["security"]["presentPermissions"] == ["InvoiceRead"]
    assert "InvoiceWrite" in body["security"]["requiredAnyOfPermissions"]
