"""``/certificates/*``, ``GET /limits/subject`` and certificate test data, over HTTP with a
hand-written client: validation codes, limits per subject type, processing, retention,
validity windows, durability, KOD II checks."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from emulator_helpers import Ksef
from xades_helpers import (
    auth_status,
    bearer,
    post_xades,
    real_now,
    signed_request,
    xades_login,
)

from ksefkit.certificates import (
    CertificateRequest,
    EnrolledCertificate,
    generate_private_key,
    sign_link,
    subject_name,
)
from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState
from ksefkit.testcerts import TestCertificate, company_seal, person_by_pesel

pytestmark = pytest.mark.anyio

NIP = "5265877635"
PESEL = "90010112345"
FIRST = "0123456789ABCDEF"


@pytest.fixture
def clock() -> ManualClock:
    # XAdES signing times and test certificates follow the real clock
    return ManualClock(real_now())


async def _client(state: EmulatorState) -> AsyncIterator[Ksef]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
        yield Ksef(http, state)


@pytest.fixture
async def manual(clock: ManualClock) -> AsyncIterator[Ksef]:
    """An emulator whose processing waits for ``state.step()``."""
    with EmulatorState(clock=clock, processing="manual") as state:
        async for ksef in _client(state):
            yield ksef


async def login(
    ksef: Ksef, cert: TestCertificate | EnrolledCertificate, **kw: Any
) -> dict[str, str]:
    """A XAdES login into ``NIP``; the access-token header."""
    tokens = await xades_login(ksef, _signing(cert), ("Nip", kw.pop("nip", NIP)), **kw)
    return bearer(tokens)


def _signing(cert: TestCertificate | EnrolledCertificate) -> TestCertificate:
    # xades_helpers sign with a TestCertificate: wrap an enrolled certificate and its key
    return TestCertificate(cert.certificate, cert.private_key)


async def data_of(ksef: Ksef, headers: dict[str, str]) -> dict[str, Any]:
    resp = await ksef.http.get("/v2/certificates/enrollments/data", headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def enroll(
    ksef: Ksef, headers: dict[str, str], csr_der: bytes, **fields: Any
) -> httpx.Response:
    body = {
        "certificateName": "Certyfikat testowy",
        "certificateType": "Authentication",
        "csr": base64.b64encode(csr_der).decode(),
        **fields,
    }
    return await ksef.http.post("/v2/certificates/enrollments", json=body, headers=headers)


async def status_of(ksef: Ksef, headers: dict[str, str], ref: str) -> httpx.Response:
    return await ksef.http.get(f"/v2/certificates/enrollments/{ref}", headers=headers)


async def issue(
    ksef: Ksef, headers: dict[str, str], cert_type: str = "Authentication", **fields: Any
) -> EnrolledCertificate:
    """Enroll with a fresh EC key (processing immediate) and retrieve the certificate."""
    request = CertificateRequest.create(await data_of(ksef, headers))
    resp = await enroll(ksef, headers, request.der, certificateType=cert_type, **fields)
    assert resp.status_code == 202, resp.text
    status = (await status_of(ksef, headers, resp.json()["referenceNumber"])).json()
    assert status["status"]["code"] == 200, status
    serial = status["certificateSerialNumber"]
    got = await ksef.http.post(
        "/v2/certificates/retrieve", json={"certificateSerialNumbers": [serial]}, headers=headers
    )
    [item] = got.json()["certificates"]
    from ksefkit.models import RetrieveCertificatesListItem

    return EnrolledCertificate.from_retrieved(
        RetrieveCertificatesListItem.model_validate(item), request.private_key
    )


def code_of(resp: httpx.Response) -> int:
    assert resp.status_code == 400, resp.text
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


def raw_csr(name: x509.Name, key: Any, algorithm: Any = None, **kw: Any) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    return builder.sign(key, algorithm, **kw).public_bytes(Encoding.DER)


async def test_enrollment_data_follows_the_authentication_certificate(ksef: Ksef) -> None:
    seal = await data_of(ksef, await login(ksef, company_seal(NIP, organization="ACME SA")))
    assert seal["organizationIdentifier"] == f"VATPL-{NIP}"
    assert (seal["commonName"], seal["organizationName"], seal["countryName"]) == (
        "ACME SA",
        "ACME SA",
        "PL",
    )
    assert "givenName" not in seal and "serialNumber" not in seal
    ksef.state.grant_permissions(("Nip", NIP), ("Pesel", PESEL), ["InvoiceRead"])
    person = person_by_pesel(PESEL, given_name="Ewa", surname="Lis", key="ec")
    data = await data_of(ksef, await login(ksef, person))
    assert {k: data[k] for k in ("givenName", "surname", "serialNumber", "commonName")} == {
        "givenName": "Ewa",
        "surname": "Lis",
        "serialNumber": f"PNOPL-{PESEL}",
        "commonName": "Ewa Lis",
    }
    # a stable uniqueIdentifier per subject, different between subjects
    again = await data_of(ksef, await login(ksef, person_by_pesel(PESEL, key="ec")))
    assert again["uniqueIdentifier"] == data["uniqueIdentifier"] != seal["uniqueIdentifier"]


async def test_body_and_csr_validation(ksef: Ksef) -> None:
    headers = await login(ksef, company_seal(NIP, key="ec"))
    data = await data_of(ksef, headers)
    name = subject_name(data)
    key = generate_private_key("ec")
    good = raw_csr(name, key, hashes.SHA256())
    tampered = bytearray(good)
    tampered[-3] ^= 0xFF  # inside the ECDSA signature
    cases = [
        ({"certificateName": "abc"}, good, 21405),  # 5-100 characters
        ({"certificateName": "Nazwa/z/ukośnikami"}, good, 21405),  # pattern
        ({"certificateType": "Both"}, good, 21405),
        ({"validFrom": "jutro"}, good, 21405),
        ({}, b"not a csr at all", 25004),
        ({}, bytes(tampered), 25004),
        ({}, raw_csr(name, ed25519.Ed25519PrivateKey.generate()), 25010),
        ({}, raw_csr(name, rsa.generate_private_key(65537, 1024), hashes.SHA256()), 25010),
        ({}, raw_csr(name, ec.generate_private_key(ec.SECP256R1()), hashes.SHA224()), 25011),
        ({}, raw_csr(x509.Name(list(name)[:-1]), key, hashes.SHA256()), 25003),
    ]
    codes = [code_of(await enroll(ksef, headers, csr, **fields)) for fields, csr, _ in cases]
    assert codes == [code for _, _, code in cases]
    resp = await ksef.http.post(
        "/v2/certificates/enrollments",
        json={"certificateName": "Zły base64", "certificateType": "Offline", "csr": "@@@"},
        headers=headers,
    )
    assert code_of(resp) == 21405
    # nothing above was an enrollment: the limit is untouched
    limits = (await ksef.http.get("/v2/certificates/limits", headers=headers)).json()
    assert limits["enrollment"] == {"remaining": 300, "limit": 300}
    # RSA-PSS and SHA-1 are allowed signature schemes
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    rsa_key = rsa.generate_private_key(65537, 2048)
    for csr in (
        raw_csr(name, rsa_key, hashes.SHA256(), rsa_padding=pss),
        _sha1_csr(name, rsa_key),
    ):
        resp = await enroll(ksef, headers, csr)
        assert resp.status_code == 202, resp.text


async def test_the_body_is_validated_before_the_login_method(ksef: Ksef) -> None:
    """A KSeF-token login may not enroll (25002), yet a body that breaks the schema is the
    model binding's 21405 first, as in KSeF."""
    headers = await ksef.bearer(ksef.state.create_subject(NIP))
    csr = base64.b64encode(b"any DER").decode()
    good = {"certificateName": "Z tokena", "certificateType": "Offline", "csr": csr}
    bad = [
        {k: v for k, v in good.items() if k != "csr"},
        {**good, "csr": "QQ"},  # Base64 without its padding
        {**good, "validFrom": ""},
        {**good, "certificateName": "Nazwa\n"},  # the pattern has no room for a newline
        {**good, "certificateName": "ą" * 101},
    ]
    for body in bad:
        resp = await ksef.http.post("/v2/certificates/enrollments", json=body, headers=headers)
        assert code_of(resp) == 21405, body
    resp = await ksef.http.post("/v2/certificates/enrollments", json=good, headers=headers)
    assert code_of(resp) == 25002


def _sha1_csr(name: x509.Name, key: rsa.RSAPrivateKey) -> bytes:
    """A CSR signed with sha1WithRSAEncryption (cryptography's builder refuses SHA-1)."""
    template = x509.CertificateSigningRequestBuilder().subject_name(name)
    der = template.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)
    info = x509.load_der_x509_csr(der).tbs_certrequest_bytes
    signature = key.sign(info, padding.PKCS1v15(), hashes.SHA1())  # KSeF allows SHA-1
    algorithm = bytes.fromhex("300d06092a864886f70d0101050500")  # sha1WithRSAEncryption, NULL
    bits = b"\x03" + _length(len(signature) + 1) + b"\x00" + signature
    body = info + algorithm + bits
    return b"\x30" + _length(len(body)) + body


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


async def test_subject_limits_per_identifier_type(ksef: Ksef) -> None:
    ksef.state.grant_permissions(("Nip", NIP), ("Pesel", PESEL), ["InvoiceRead"])
    seal = await login(ksef, company_seal(NIP, key="ec"))
    person = await login(ksef, person_by_pesel(PESEL, key="ec"))
    for headers, expected in ((seal, (300, 100)), (person, (12, 6))):
        got = (await ksef.http.get("/v2/limits/subject", headers=headers)).json()
        assert got == {
            "enrollment": {"maxEnrollments": expected[0]},
            "certificate": {"maxCertificates": expected[1]},
        }
    override = {"subjectIdentifierType": "Pesel", "enrollment": {"maxEnrollments": 2}}
    resp = await ksef.http.post(
        "/v2/testdata/limits/subject/certificate", json=override, headers=person
    )
    assert resp.status_code == 200, resp.text
    resp = await ksef.http.post(
        "/v2/testdata/limits/subject/certificate",
        json={"certificate": {"maxCertificates": 1}},
        headers=person,
    )
    assert resp.status_code == 200
    got = (await ksef.http.get("/v2/limits/subject", headers=person)).json()
    assert got == {"enrollment": {"maxEnrollments": 2}, "certificate": {"maxCertificates": 1}}
    # the override is the person's only
    assert (await ksef.http.get("/v2/limits/subject", headers=seal)).json()["certificate"] == {
        "maxCertificates": 100
    }
    negative = {"certificate": {"maxCertificates": -1}}
    resp = await ksef.http.post(
        "/v2/testdata/limits/subject/certificate", json=negative, headers=person
    )
    assert code_of(resp) == 21405
    resp = await ksef.http.delete("/v2/testdata/limits/subject/certificate", headers=person)
    assert resp.status_code == 200
    got = (await ksef.http.get("/v2/limits/subject", headers=person)).json()
    assert got["enrollment"] == {"maxEnrollments": 12}
    assert (await ksef.http.get("/v2/limits/subject")).status_code == 401


async def test_certificate_limit_is_checked_again_when_issuing(manual: Ksef) -> None:
    headers = await login(manual, company_seal(NIP, key="ec"))
    await manual.http.post(
        "/v2/testdata/limits/subject/certificate",
        json={"certificate": {"maxCertificates": 1}},
        headers=headers,
    )
    data = await data_of(manual, headers)
    refs = []
    for _ in range(2):  # both pass the synchronous check: nothing is issued yet
        resp = await enroll(manual, headers, CertificateRequest.create(data).der)
        assert resp.status_code == 202, resp.text
        refs.append(resp.json()["referenceNumber"])
    first = (await status_of(manual, headers, refs[0])).json()
    assert first["status"] == {"code": 100, "description": "Wniosek przyjęty do realizacji"}
    manual.state.step()
    issued, refused = [(await status_of(manual, headers, r)).json() for r in refs]
    assert issued["status"]["code"] == 200 and len(issued["certificateSerialNumber"]) == 16
    assert refused["status"] == {
        "code": 400,
        "description": "Wniosek odrzucony",
        "details": ["Osiągnięto dopuszczalny limit posiadanych certyfikatów."],
    }
    assert "certificateSerialNumber" not in refused
    # now one is held: the synchronous check refuses at once
    assert code_of(await enroll(manual, headers, CertificateRequest.create(data).der)) == 25007


async def test_enrollment_status_is_per_subject_and_kept_30_days(
    ksef: Ksef, clock: ManualClock
) -> None:
    headers = await login(ksef, company_seal(NIP, key="ec"))
    request = CertificateRequest.create(await data_of(ksef, headers))
    ref = (await enroll(ksef, headers, request.der)).json()["referenceNumber"]
    other = await login(ksef, company_seal("7740001454", key="ec"), nip="7740001454")
    assert code_of(await status_of(ksef, other, ref)) == 25005
    assert code_of(await status_of(ksef, headers, "20260101-EH-0000000000-0000000000-00")) == 25005
    assert code_of(await status_of(ksef, headers, "not-a-reference")) == 21405
    # a KSeF-token login of the same NIP is the same subject: it sees the enrollment
    token_login = await ksef.bearer(ksef.state.create_subject(NIP))
    assert (await status_of(ksef, token_login, ref)).json()["status"]["code"] == 200
    clock.advance(31 * 24 * 3600)
    later = await ksef.bearer(ksef.state.create_subject(NIP))  # the old tokens expired
    assert (await status_of(ksef, later, ref)).status_code == 410


async def test_query_retrieve_and_revoke_validation(ksef: Ksef) -> None:
    headers = await login(ksef, company_seal(NIP, key="ec"))
    query = "/v2/certificates/query"
    for params in ("?pageSize=9", "?pageSize=51", "?pageOffset=-1", "?pageSize=x"):
        assert code_of(await ksef.http.post(query + params, json={}, headers=headers)) == 21405
    for body in ({"certificateSerialNumber": "abc"}, {"status": "Gone"}, {"type": "Both"}):
        assert code_of(await ksef.http.post(query, json=body, headers=headers)) == 21405
    for params in ("?pageOffset=2147483648", "?pageSize=1_0"):  # int32; digits only
        assert code_of(await ksef.http.post(query + params, json={}, headers=headers)) == 21405
    empty = await ksef.http.post(query, headers=headers)  # no body: no filters
    assert empty.json() == {"certificates": [], "hasMore": False}
    for content in (b"null", b"[]", b'{"name": 1e999999}'):  # none of them is a filter object
        resp = await ksef.http.post(
            query, content=content, headers={**headers, "Content-Type": "application/json"}
        )
        assert code_of(resp) == 21405
    retrieve = "/v2/certificates/retrieve"
    for serials in ([], [f"{n:016X}" for n in range(11)], ["0123456789abcdef"]):
        body = {"certificateSerialNumbers": serials}
        assert code_of(await ksef.http.post(retrieve, json=body, headers=headers)) == 21405
    revoke = "/v2/certificates/0123456789abcdef/revoke"  # lower case: not the pattern
    assert code_of(await ksef.http.post(revoke, headers=headers)) == 21405
    reason = {"revocationReason": "Lost"}
    resp = await ksef.http.post(f"/v2/certificates/{FIRST}/revoke", json=reason, headers=headers)
    assert code_of(resp) == 21405
    resp = await ksef.http.post(f"/v2/certificates/{FIRST}/revoke", headers=headers)
    assert code_of(resp) == 25008
    put = await ksef.http.put(
        "/v2/testdata/certificates/XYZ", json={"validTo": "2030-01-01T00:00:00Z"}, headers=headers
    )
    assert code_of(put) == 21405


async def test_valid_from_in_the_future_delays_authentication(
    ksef: Ksef, clock: ManualClock
) -> None:
    headers = await login(ksef, company_seal(NIP, key="ec"))
    start = (clock.now() + dt.timedelta(hours=2)).replace(microsecond=0)
    enrolled = await issue(ksef, headers, validFrom=start.isoformat())
    assert enrolled.certificate.not_valid_before_utc == start
    [item] = (await ksef.http.post("/v2/certificates/query", json={}, headers=headers)).json()[
        "certificates"
    ]
    assert item["validFrom"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))
    _, status = await _xades(ksef, enrolled)
    assert status["status"]["details"] == ["Nieważny certyfikat"]
    clock.advance(3 * 3600)
    _, status = await _xades(ksef, enrolled)
    assert status["status"]["code"] == 200
    assert status["authenticationMethod"] == "InternalCertificate"
    assert status["authenticationMethodInfo"] == {
        "category": "XadesSignature",
        "code": "xades.internal-certificate",
        "displayName": "Certyfikat KSeF",
    }


async def _xades(ksef: Ksef, cert: EnrolledCertificate) -> tuple[dict[str, Any], dict[str, Any]]:
    body = await signed_request(ksef, _signing(cert), ("Nip", NIP))
    resp = await post_xades(ksef, body)
    assert resp.status_code == 202, resp.text
    init = dict(resp.json())
    return init, await auth_status(ksef, init)


async def test_certificates_survive_a_restart_and_reset_forgets_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = str(tmp_path / "emulator.sqlite3")
    with EmulatorState(clock=clock, db_path=db) as state:
        async for ksef in _client(state):
            enrolled = await issue(ksef, await login(ksef, company_seal(NIP, key="ec")))
    with EmulatorState(clock=clock, db_path=db) as state:
        async for ksef in _client(state):
            _, status = await _xades(ksef, enrolled)
            assert status["status"]["code"] == 200
            state.reset()
            _, status = await _xades(ksef, enrolled)
            # forgotten: now it is just a certificate naming VATPL-NIP, issued by the CA
            assert status["status"]["code"] == 200
            assert status["authenticationMethod"] == "QualifiedSeal"


async def test_kod2_links_are_checked_like_a_scan(ksef: Ksef) -> None:
    ksef.state.grant_permissions(("Nip", NIP), ("Pesel", PESEL), ["InvoiceRead"])
    seal_headers = await login(ksef, company_seal(NIP, key="ec"))
    offline = await issue(ksef, seal_headers, "Offline")
    reader = await issue(ksef, await login(ksef, person_by_pesel(PESEL, key="ec")), "Offline")
    verify = ksef.state.certificates.verify_link

    def link(serial: str, seller: str = NIP) -> str:
        digest = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"  # a SHA-256, Base64URL (§13.3)
        return f"qr-test.ksef.mf.gov.pl/certificate/Nip/{NIP}/{seller}/{serial}/{digest}"

    ok = link(offline.serial_number)
    assert verify(f"https://{ok}/{offline.sign_link(ok)}").valid
    # ECDSA in DER is allowed besides IEEE P1363 r‖s
    raw = base64.urlsafe_b64decode(offline.sign_link(ok) + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert verify(f"https://{ok}/{base64.urlsafe_b64encode(der).decode().rstrip('=')}").valid
    rsa_link = link(offline.serial_number)
    assert not verify(
        f"https://{rsa_link}/{sign_link(generate_private_key('rsa'), rsa_link)}"
    ).valid
    cases = {
        "https://qr-test.ksef.mf.gov.pl/invoice/x": "Nieprawidłowy format",
        f"https://{link(FIRST)}/sig": "nie istnieje",
        f"https://{link(reader.serial_number)}/{reader.sign_link(link(reader.serial_number))}": (
            "InvoiceWrite"
        ),
        f"https://{link(offline.serial_number, '7740001454')}/"
        f"{offline.sign_link(link(offline.serial_number, '7740001454'))}": "sprzedawcy",
    }
    for url, reason in cases.items():
        verdict = verify(url)
        assert not verdict.valid and reason in verdict.detail, (url, verdict)
    # expired by test data: invalid from then on
    resp = await ksef.http.put(
        f"/v2/testdata/certificates/{offline.serial_number}",
        json={"validTo": (real_now() - dt.timedelta(minutes=1)).isoformat()},
        headers=seal_headers,
    )
    assert resp.status_code == 200, resp.text
    assert verify(f"https://{ok}/{offline.sign_link(ok)}").detail == "Nieważny certyfikat"


async def test_a_nip_pesel_link_lets_the_person_revoke_the_companys_certificate(
    ksef: Ksef,
) -> None:
    person = {"nip": NIP, "pesel": PESEL, "isBailiff": False, "description": "Właściciel JDG"}
    resp = await ksef.http.post("/v2/testdata/person", json=person)
    assert resp.status_code == 200, resp.text
    company = await issue(ksef, await login(ksef, company_seal(NIP, key="ec")))
    owner = await login(ksef, person_by_pesel(PESEL, key="ec"))  # owns NIP through the link
    own = await issue(ksef, owner)
    stranger = "85010112340"
    ksef.state.grant_permissions(("Nip", NIP), ("Pesel", stranger), ["InvoiceRead"])
    other = await login(ksef, person_by_pesel(stranger, key="ec"))
    for serial in (company.serial_number, own.serial_number):
        resp = await ksef.http.post(f"/v2/certificates/{serial}/revoke", headers=other)
        assert code_of(resp) == 25008  # not linked: as if it did not exist
    # the person's own listing stays their own; revocation reaches the linked NIP
    listed = await ksef.http.post("/v2/certificates/query", json={}, headers=owner)
    assert [c["certificateSerialNumber"] for c in listed.json()["certificates"]] == [
        own.serial_number
    ]
    resp = await ksef.http.post(f"/v2/certificates/{company.serial_number}/revoke", headers=owner)
    assert resp.status_code == 204, resp.text
    company_login = await login(ksef, company_seal(NIP, key="ec"))
    resp = await ksef.http.post(
        f"/v2/certificates/{own.serial_number}/revoke", headers=company_login
    )
    assert resp.status_code == 204, resp.text
    listed = await ksef.http.post(
        "/v2/certificates/query", json={"status": "Revoked"}, headers=company_login
    )
    assert [c["certificateSerialNumber"] for c in listed.json()["certificates"]] == [
        company.serial_number
    ]
