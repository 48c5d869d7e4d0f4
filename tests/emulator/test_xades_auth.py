"""POST /auth/xades-signature: signatures, schema, challenge, subjects, rights, trust, blocks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from emulator_helpers import Ksef, invoice, send_body
from lxml import etree
from xades_helpers import (
    XML,
    auth_status,
    bearer,
    challenge,
    code_of,
    jwt_claims,
    post_xades,
    real_now,
    redeem,
    signed_request,
    xades_login,
    xades_status,
)

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState
from ksefkit.testcerts import (
    TestCertificate,
    certificate_fingerprint,
    company_seal,
    person_by_nip,
    person_by_pesel,
)
from ksefkit.xades import AUTH_NS_V20, AUTH_NS_V21, build_auth_token_request

pytestmark = pytest.mark.anyio

NIP = "5265877635"
OTHER_NIP = "7740001454"
PESEL = "90010112345"
CERT_FAILED = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(real_now())


@pytest.mark.parametrize(
    ("factory", "key", "code", "method"),
    [
        (company_seal, "rsa", "xades.self-signed-seal", "QualifiedSeal"),
        (company_seal, "ec", "xades.self-signed-seal", "QualifiedSeal"),
        (person_by_nip, "rsa", "xades.self-signed-signature", "QualifiedSignature"),
        (person_by_nip, "ec", "xades.self-signed-signature", "QualifiedSignature"),
    ],
)
async def test_nip_owner_signs_in_and_redeems(
    ksef: Ksef, state: EmulatorState, factory: object, key: str, code: str, method: str
) -> None:
    cert = factory(NIP, key=key)  # type: ignore[operator]
    body = await signed_request(ksef, cert, ("Nip", NIP), namespace=AUTH_NS_V21)
    resp = await post_xades(ksef, body)
    assert resp.status_code == 202, resp.text
    init = resp.json()
    assert set(init) == {"referenceNumber", "authenticationToken"}
    status = await auth_status(ksef, init)
    assert status["status"] == {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
    assert status["authenticationMethod"] == method
    assert status["authenticationMethodInfo"]["category"] == "XadesSignature"
    assert status["authenticationMethodInfo"]["code"] == code
    tokens = await redeem(ksef, init)
    claims = jwt_claims(tokens)
    assert claims["context-identifier-value"] == NIP
    assert json.loads(claims["subject-details"])["SubjectIdentifier"] == {
        "Type": "Nip",
        "Value": NIP,
    }
    assert "InvoiceWrite" in claims["permissions"]
    # The owner can use it, e.g. to open an online session's prerequisite listing.
    listed = await ksef.http.get("/v2/sessions?sessionType=Online", headers=bearer(tokens))
    assert listed.status_code == 200, listed.text
    # The signed document's hash is kept for the UPO (SkrotDokumentuUwierzytelniajacego).
    row = state.store.one(
        "SELECT auth_document_hash FROM auth_operations WHERE reference_number = ?",
        (init["referenceNumber"],),
    )
    assert row is not None
    assert row["auth_document_hash"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


async def test_tampered_challenge_after_signing_is_9105(ksef: Ksef) -> None:
    body = await signed_request(ksef, company_seal(NIP, key="ec"), ("Nip", NIP))
    signed_challenge = etree.fromstring(body).findtext(f"{{{AUTH_NS_V20}}}Challenge")
    assert signed_challenge is not None
    other = await challenge(ksef)  # a real, unused challenge: only the signature can fail
    resp = await post_xades(ksef, body.replace(signed_challenge.encode(), other.encode()))
    assert code_of(resp) == 9105
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionDescription"] == (
        "Nieprawidłowy podpis."
    )


async def test_unsigned_request_is_9102(ksef: Ksef) -> None:
    root = build_auth_token_request(
        challenge=await challenge(ksef), context_type="Nip", context_value=NIP
    )
    assert code_of(await post_xades(ksef, etree.tostring(root))) == 9102


async def test_two_signatures_are_9103(ksef: Ksef) -> None:
    cert = company_seal(NIP, key="ec")
    once = await signed_request(ksef, cert, ("Nip", NIP))
    twice = cert.signer().sign(etree.fromstring(once))
    assert code_of(await post_xades(ksef, twice)) == 9103


async def test_replayed_challenge_is_21111(ksef: Ksef) -> None:
    body = await signed_request(ksef, company_seal(NIP, key="ec"), ("Nip", NIP))
    assert (await post_xades(ksef, body)).status_code == 202
    assert code_of(await post_xades(ksef, body)) == 21111


async def test_expired_and_unknown_challenges_are_21111(ksef: Ksef, clock: ManualClock) -> None:
    cert = company_seal(NIP, key="ec")
    body = await signed_request(ksef, cert, ("Nip", NIP))
    clock.advance(601)
    assert code_of(await post_xades(ksef, body)) == 21111

    def unknown(root: etree._Element) -> None:
        root[0].text = "20250101-CR-0000000000-0000000000-00"

    body = await signed_request(ksef, cert, ("Nip", NIP), edit=unknown)
    assert code_of(await post_xades(ksef, body)) == 21111


async def test_refused_request_does_not_consume_its_challenge(ksef: Ksef) -> None:
    """A request refused before acceptance (here: 21117) leaves its challenge usable."""
    cert = company_seal(NIP, key="ec")
    body = await signed_request(ksef, cert, ("PeppolId", "PPL123456"))
    assert code_of(await post_xades(ksef, body)) == 21117
    ch = etree.fromstring(body).findtext(f"{{{AUTH_NS_V20}}}Challenge")
    row = ksef.state.store.one("SELECT used FROM challenges WHERE challenge = ?", (ch,))
    assert row is not None
    assert row["used"] == 0


def _rename_root(root: etree._Element) -> None:
    ns = "http://ksef.mf.gov.pl/auth/token/9.9"
    for element in root.iter():
        element.tag = f"{{{ns}}}{etree.QName(element).localname}"


def _drop_subject_type(root: etree._Element) -> None:
    root.remove(root[2])


def _bad_nip(root: etree._Element) -> None:
    root[1][0].text = "0123456789"


def _swap_order(root: etree._Element) -> None:
    root.insert(0, root[2])


def _stray_text(root: etree._Element) -> None:
    root[0].tail = "oops"


@pytest.mark.parametrize(
    "edit", [_rename_root, _drop_subject_type, _bad_nip, _swap_order, _stray_text]
)
async def test_schema_violations_are_21401(ksef: Ksef, edit: object) -> None:
    body = await signed_request(
        ksef,
        company_seal(NIP, key="ec"),
        ("Nip", NIP),
        edit=edit,  # type: ignore[arg-type]
    )
    resp = await post_xades(ksef, body)
    assert code_of(resp) == 21401
    assert resp.json()["exception"]["exceptionDetailList"][0]["details"]


async def test_nip_vat_ue_of_the_docs_is_schema_valid_in_both_namespaces(
    ksef: Ksef, state: EmulatorState
) -> None:
    """The 2.1 XSD's literal ^/$ would reject this; the emulator reads them as anchors."""
    context = ("NipVatUe", f"{NIP}-ATU12345678")
    cert = person_by_pesel(PESEL, key="ec")
    state.grant_permissions(context, ("Pesel", PESEL), ["InvoiceWrite"])
    for namespace in (AUTH_NS_V20, AUTH_NS_V21):
        _, status = await xades_status(ksef, cert, context, namespace=namespace)
        assert status["status"]["code"] == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", 21001),
        (b"<AuthTokenRequest", 21001),
        ("<a>zażółć</a>".encode("iso-8859-2"), 21217),
        (b'<?xml version="1.0" encoding="ISO-8859-2"?><a/>', 21217),
    ],
)
async def test_unreadable_bodies(ksef: Ksef, body: bytes, code: int) -> None:
    assert code_of(await post_xades(ksef, body)) == code


async def test_problem_details_for_xades_errors(ksef: Ksef) -> None:
    resp = await ksef.http.post(
        "/v2/auth/xades-signature",
        content=b"<x/>",
        headers={**XML, "X-Error-Format": "problem-details"},
    )
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == 9102


async def test_peppol_context_is_21117(ksef: Ksef) -> None:
    body = await signed_request(ksef, company_seal(NIP, key="ec"), ("PeppolId", "PPL123456"))
    assert code_of(await post_xades(ksef, body)) == 21117


async def test_certificate_without_identifier_is_21115(ksef: Ksef) -> None:
    template = company_seal(NIP, key="ec")
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Nobody")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(template.private_key.public_key())
        .serial_number(1)
        .not_valid_before(template.certificate.not_valid_before_utc)
        .not_valid_after(template.certificate.not_valid_after_utc)
        .sign(template.private_key, hashes.SHA256())
    )
    anonymous = TestCertificate(cert, template.private_key)
    body = await signed_request(ksef, anonymous, ("Nip", NIP))
    assert code_of(await post_xades(ksef, body)) == 21115


async def test_pesel_person_needs_a_grant(ksef: Ksef) -> None:
    cert = person_by_pesel(PESEL, key="ec")
    _, status = await xades_status(ksef, cert, ("Nip", NIP))
    assert status["status"]["code"] == 415
    assert status["status"]["details"] == ["Brak przypisanych uprawnień"]
    grant = {
        "context": {"type": "Nip", "value": NIP},
        "subject": {"type": "Pesel", "value": PESEL},
        "permissions": ["InvoiceRead"],
    }
    assert (await ksef.http.post("/_emulator/permissions", json=grant)).status_code == 204
    tokens = await xades_login(ksef, cert, ("Nip", NIP))
    claims = jwt_claims(tokens)
    assert claims["permissions"] == ["InvoiceRead"]
    assert json.loads(claims["subject-details"])["SubjectIdentifier"]["Type"] == "Pesel"
    revoke = {k: grant[k] for k in ("context", "subject")}
    resp = await ksef.http.post("/_emulator/permissions/revoke", json=revoke)
    assert resp.status_code == 204
    _, status = await xades_status(ksef, cert, ("Nip", NIP))
    assert status["status"]["code"] == 415


async def test_other_nip_has_no_rights_in_a_foreign_context(ksef: Ksef) -> None:
    _, status = await xades_status(ksef, company_seal(OTHER_NIP, key="ec"), ("Nip", NIP))
    assert status["status"]["code"] == 415


async def test_owner_owns_its_internal_id_contexts(ksef: Ksef) -> None:
    _, status = await xades_status(
        ksef, company_seal(NIP, key="ec"), ("InternalId", f"{NIP}-00001")
    )
    assert status["status"]["code"] == 200


async def test_fingerprint_subject_needs_a_grant(ksef: Ksef, state: EmulatorState) -> None:
    cert = company_seal(OTHER_NIP, key="ec")
    kw = {"subject_type": "certificateFingerprint"}
    _, status = await xades_status(ksef, cert, ("Nip", NIP), **kw)
    assert status["status"]["code"] == 415
    fingerprint = certificate_fingerprint(cert.certificate).lower()  # case-insensitive
    state.grant_permissions(("Nip", NIP), ("Fingerprint", fingerprint), ["InvoiceWrite"])
    tokens = await xades_login(ksef, cert, ("Nip", NIP), **kw)
    claims = jwt_claims(tokens)
    assert json.loads(claims["subject-details"])["SubjectIdentifier"] == {
        "Type": "Fingerprint",
        "Value": fingerprint.upper(),
    }


async def test_invalid_grants_are_21405(ksef: Ksef) -> None:
    bad = [
        {"context": {"type": "Nip", "value": "1"}, "subject": {"type": "Pesel", "value": PESEL}},
        {"context": {"type": "Nip", "value": NIP}, "subject": {"type": "Email", "value": "x"}},
        {"context": {"type": "Nip", "value": NIP}, "subject": {"type": "Pesel", "value": "1"}},
    ]
    for body in bad:
        resp = await ksef.http.post("/_emulator/permissions", json={**body, "permissions": ["X"]})
        assert code_of(resp) == 21405
    resp = await ksef.http.post("/_emulator/permissions", json=[1])
    assert code_of(resp) == 21405


async def test_expired_certificate_is_460(ksef: Ksef, clock: ManualClock) -> None:
    now = clock.now()
    cert = company_seal(
        NIP, key="ec", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
    )
    _, status = await xades_status(ksef, cert, ("Nip", NIP))
    assert status["status"] == {
        "code": 460,
        "description": CERT_FAILED,
        "details": ["Nieważny certyfikat"],
    }


async def test_verify_certificate_chain_refuses_self_signed(ksef: Ksef) -> None:
    cert = company_seal(NIP, key="ec")
    _, status = await xades_status(ksef, cert, ("Nip", NIP), "?verifyCertificateChain=true")
    assert status["status"]["code"] == 460
    assert status["status"]["details"] == ["Niezaufany łańcuch certyfikatów"]
    _, status = await xades_status(ksef, cert, ("Nip", NIP), "?verifyCertificateChain=false")
    assert status["status"]["code"] == 200
    resp = await post_xades(ksef, b"<x/>", "?verifyCertificateChain=maybe")
    assert code_of(resp) == 21405


async def test_required_trust_accepts_ca_issued_certificates(clock: ManualClock) -> None:
    with EmulatorState(clock=clock, require_trusted_certificates=True) as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, state)
            self_signed = company_seal(NIP, key="ec")
            _, status = await xades_status(ksef, self_signed, ("Nip", NIP))
            assert status["status"]["code"] == 460
            trusted = state.issue_certificate(self_signed)
            assert trusted.certificate.issuer == state.ca.certificate.subject
            _, status = await xades_status(ksef, trusted, ("Nip", NIP))
            assert status["status"]["code"] == 200
            assert status["authenticationMethodInfo"]["code"] == "xades.qualified-seal"
            pem = (await http.get("/_emulator/ca.pem")).content
            assert x509.load_pem_x509_certificate(pem) == state.ca.certificate


async def test_configured_ca_is_trusted(clock: ManualClock) -> None:
    with EmulatorState(clock=clock) as issuer:
        template = person_by_pesel(PESEL, key="ec")
        foreign = issuer.issue_certificate(template)
        pems = [issuer.ca.certificate_pem()]
    with EmulatorState(
        clock=clock, require_trusted_certificates=True, trusted_ca_pems=pems
    ) as state:
        state.grant_permissions(("Nip", NIP), ("Pesel", PESEL), ["InvoiceRead"])
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            _, status = await xades_status(Ksef(http, state), foreign, ("Nip", NIP))
            assert status["status"]["code"] == 200
            assert status["authenticationMethodInfo"]["code"] == "xades.qualified-signature"


async def test_emulator_ca_survives_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = str(tmp_path / "emu.sqlite")
    with EmulatorState(clock=clock, db_path=path) as first:
        pem = first.ca.certificate_pem()
    with EmulatorState(clock=clock, db_path=path) as second:
        assert second.ca.certificate_pem() == pem


async def test_blocked_context_ends_480_until_unblocked(ksef: Ksef) -> None:
    cert = company_seal(NIP, key="ec")
    ctx = {"contextIdentifier": {"type": "Nip", "value": NIP}}
    assert (await ksef.http.post("/v2/testdata/context/block", json=ctx)).status_code == 200
    init, status = await xades_status(ksef, cert, ("Nip", NIP))
    assert status["status"]["code"] == 480
    assert status["status"]["description"] == "Uwierzytelnienie zablokowane"
    bearer_op = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    resp = await ksef.http.post("/v2/auth/token/redeem", headers=bearer_op)
    assert code_of(resp) == 21301
    # KSeF-token authentication into the blocked context is refused too.
    subject = ksef.state.create_subject(NIP)
    token_init = await ksef.start_auth(NIP, subject.token)
    assert (await auth_status(ksef, token_init))["status"]["code"] == 480
    assert (await ksef.http.post("/v2/testdata/context/unblock", json=ctx)).status_code == 200
    _, status = await xades_status(ksef, cert, ("Nip", NIP))
    assert status["status"]["code"] == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"contextIdentifier": {"type": "Nip"}},
        {"contextIdentifier": {"type": "X", "value": NIP}},
    ],
)
async def test_block_requires_a_context(ksef: Ksef, body: object) -> None:
    resp = await ksef.http.post("/v2/testdata/context/block", json=body)
    assert code_of(resp) == 21405


async def test_xades_ip_policy_is_enforced(ksef: Ksef) -> None:
    cert = company_seal(NIP, key="ec")
    refused = await xades_login(ksef, cert, ("Nip", NIP), addresses=("10.0.0.1",))
    resp = await ksef.http.get("/v2/auth/sessions", headers=bearer(refused))
    assert resp.status_code == 403
    body = resp.json()
    assert body["reasonCode"] == "ip-not-allowed"
    assert body["security"] == {"clientIp": "127.0.0.1"}
    refresh = await ksef.http.post(
        "/v2/auth/token/refresh", headers=bearer(refused, "refreshToken")
    )
    assert refresh.status_code == 403
    allowed = await xades_login(ksef, cert, ("Nip", NIP), masks=("127.0.0.0/8",))
    assert (await ksef.http.get("/v2/auth/sessions", headers=bearer(allowed))).status_code == 200
    ranged = await xades_login(ksef, cert, ("Nip", NIP), ranges=("127.0.0.1-127.0.0.9",))
    assert (await ksef.http.get("/v2/auth/sessions", headers=bearer(ranged))).status_code == 200


async def test_upo_of_a_xades_session_carries_the_document_hash(
    ksef: Ksef, state: EmulatorState, clock: ManualClock
) -> None:
    seal = company_seal(NIP, key="ec")
    body = await signed_request(ksef, seal, ("Nip", NIP))
    init = (await post_xades(ksef, body)).json()
    headers = bearer(await redeem(ksef, init))
    key, iv = os.urandom(32), os.urandom(16)
    ref = await ksef.open_session(headers, key, iv)
    xml = invoice(NIP, issue=clock.now().date())
    sent = await ksef.send(headers, ref, send_body(xml, key, iv))
    assert sent.status_code == 202, sent.text
    inv = sent.json()["referenceNumber"]
    assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 200
    upo = await ksef.http.get(f"/v2/sessions/{ref}/invoices/{inv}/upo", headers=headers)
    ns = {"u": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}
    digest = etree.fromstring(upo.content).findtext(
        ".//u:SkrotDokumentuUwierzytelniajacego", namespaces=ns
    )
    assert digest == base64.b64encode(hashlib.sha256(body).digest()).decode()
