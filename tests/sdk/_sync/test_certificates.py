# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""KSeF certificates through ``client.certificates``: enroll, authenticate with the result,
revoke, Offline certificates and KOD II links, limits, CSR checks, listing and test data."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ksefkit import AuthenticationFailed, BadRequest, Forbidden
from ksefkit.certificates import (
    CertificateRequest,
    EnrolledCertificate,
    build_csr,
    generate_private_key,
    sign_link,
    subject_name,
)
from ksefkit.errors import CertificateEnrollmentFailed, ConfigurationError, WaitTimeout
from ksefkit.identifiers import random_nip
from ksefkit.testcerts import TestCertificate, company_seal, person_by_pesel


def bare_certificate() -> TestCertificate:
    """A self-signed certificate naming no NIP or PESEL (only a fingerprint identifies it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Integrator Sp. z o.o. system"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return TestCertificate(cert, key)


#: The SHA-256 (Base64URL) of the KSEF_API.md §13.3 example.
_HASH = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"


def link_for(nip: str, serial: str) -> str:
    """A KOD II link without its signature segment (KSEF_API.md §13.4)."""
    return f"qr-test.ksef.mf.gov.pl/certificate/Nip/{nip}/{nip}/{serial}/{_HASH}"


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_enrolled_certificate_signs_an_accepted_auth_request(ksef_emulator, key_type):
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        data = owner.certificates.enrollment_data()
        enrolled = owner.certificates.enroll_and_wait("Podpis ERP", key_type=key_type)
    assert enrolled.certificate.subject == subject_name(data)
    assert enrolled.certificate_type == "Authentication" and enrolled.name == "Podpis ERP"
    assert enrolled.certificate.issuer == ksef_emulator.state.ca.certificate.subject
    usage = enrolled.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment
    assert format(enrolled.certificate.serial_number, "016X") == enrolled.serial_number
    assert "PRIVATE" not in repr(enrolled) and "private_key" not in repr(enrolled)

    with ksef_emulator.client() as client:
        result = client.authenticate(
            enrolled.signer(), nip=nip, verify_certificate_chain=True
        )
        assert result.status.status.code == 200
        assert result.status.authentication_method == "InternalCertificate"
        assert result.status.authentication_method_info.category == "XadesSignature"
        with client.online_session() as session:  # an authenticated, permissioned call
            assert session.reference_number
        [item] = [c for c in client.certificates.query(serial_number=enrolled.serial_number)]
    assert item.status == "Active" and item.last_use_date is not None
    assert (item.subject_identifier.type, item.subject_identifier.value) == ("Nip", nip)
    assert item.common_name == data.common_name and item.type == "Authentication"


def test_a_persons_certificate_keeps_the_pesel_and_its_grants(ksef_emulator) -> None:
    nip, pesel = random_nip(), "90010112345"
    ksef_emulator.state.grant_permissions(("Nip", nip), ("Pesel", pesel), ["InvoiceRead"])
    person = person_by_pesel(pesel, given_name="Anna", surname="Nowak", key="ec")
    with ksef_emulator.client() as client:
        client.authenticate(person.signer(), nip=nip)
        data = client.certificates.enrollment_data()
        enrolled = client.certificates.enroll_and_wait("Anna Nowak KSeF")
    assert (data.given_name, data.surname) == ("Anna", "Nowak")
    assert data.serial_number == f"PNOPL-{pesel}"
    with ksef_emulator.client() as client:
        result = client.authenticate(enrolled.signer(), nip=nip)
        assert result.status.status.code == 200
        [item] = [c for c in client.certificates.query()]
    assert (item.subject_identifier.type, item.subject_identifier.value) == ("Pesel", pesel)
    # the grant belongs to the PESEL: another context stays closed to the certificate
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(enrolled.signer(), nip=random_nip())
    assert info.value.code == 415


def test_a_fingerprint_subjects_certificate_authenticates_as_that_fingerprint(
    ksef_emulator,
) -> None:
    nip, bare = random_nip(), bare_certificate()
    subject = ("Fingerprint", bare.fingerprint)
    ksef_emulator.state.grant_permissions(("Nip", nip), subject, ["InvoiceRead"])
    with ksef_emulator.client() as client:
        client.authenticate(
            bare.signer(), nip=nip, subject_identifier_type="certificateFingerprint"
        )
        enrolled = client.certificates.enroll_and_wait("System integratora")
    assert enrolled.fingerprint != bare.fingerprint
    # its DN names no NIP or PESEL, yet it logs in as the fingerprint that enrolled it
    with ksef_emulator.client() as client:
        assert (client.authenticate(enrolled.signer(), nip=nip)).status.status.code == 200
        [item] = [c for c in client.certificates.query()]
    assert (item.subject_identifier.type, item.subject_identifier.value) == (
        "Fingerprint",
        bare.fingerprint,
    )


def test_enroll_and_wait_waits_for_background_processing(background_emulator) -> None:
    nip = random_nip()
    with background_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        enrolled = owner.certificates.enroll_and_wait("Przetwarzanie w tle")
    with background_emulator.client() as client:
        assert (client.authenticate(enrolled.signer(), nip=nip)).status.status.code == 200


def test_a_revoked_certificate_is_refused(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        enrolled = owner.certificates.enroll_and_wait("Do odwołania")
        owner.certificates.revoke(enrolled.serial_number, reason="KeyCompromise")
        revoked = [c for c in owner.certificates.query(status="Revoked")]
        assert [c.certificate_serial_number for c in revoked] == [enrolled.serial_number]
        with pytest.raises(BadRequest) as again:
            owner.certificates.revoke(enrolled.serial_number)
        with pytest.raises(BadRequest) as unknown:
            owner.certificates.revoke("0123456789ABCDEF")
    assert (again.value.code, unknown.value.code) == (25009, 25008)
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(enrolled.signer(), nip=nip)
    assert info.value.code == 460
    assert info.value.details == ("Certyfikat odwołany",)


def test_revocation_blocks_first_then_revokes(manual_emulator) -> None:
    nip = random_nip()
    state = manual_emulator.state
    with manual_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        request = CertificateRequest.create(owner.certificates.enrollment_data())
        sent = owner.certificates.enroll("Ręczne przetwarzanie", request)
        pending = owner.certificates.enrollment_status(sent.reference_number)
        assert pending.status.code == 100 and pending.certificate_serial_number is None
        with pytest.raises(WaitTimeout) as waited:
            owner.certificates.wait_for_enrollment(sent.reference_number, timeout=0.2)
        assert waited.value.last.status.code == 100
        state.step()
        done = owner.certificates.wait_for_enrollment(sent.reference_number)
        serial = done.certificate_serial_number
        [item] = owner.certificates.retrieve([serial])
        enrolled = EnrolledCertificate.from_retrieved(item, request.private_key)
        owner.certificates.revoke(serial)
        [blocked] = [c for c in owner.certificates.query(serial_number=serial)]
        assert blocked.status == "Blocked"
        with manual_emulator.client() as client:
            with pytest.raises(AuthenticationFailed) as info:
                client.authenticate(enrolled.signer(), nip=nip)
        assert info.value.details == ("Certyfikat zawieszony",)
        state.step()
        [revoked] = [c for c in owner.certificates.query(serial_number=serial)]
        assert revoked.status == "Revoked"


def test_an_offline_certificate_signs_kod2_links_but_cannot_authenticate(
    ksef_emulator,
) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        offline = owner.certificates.enroll_and_wait(
            "Faktury offline", certificate_type="Offline", key_type="rsa"
        )
        login = owner.certificates.enroll_and_wait("Logowanie")
        usage = offline.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.content_commitment and not usage.digital_signature
        with ksef_emulator.client() as client:
            with pytest.raises(AuthenticationFailed) as info:
                client.authenticate(offline.signer(), nip=nip)
        assert (info.value.code, info.value.details) == (460, ("Niepoprawny certyfikat",))

        verify = ksef_emulator.state.certificates.verify_link
        link = link_for(nip, offline.serial_number)
        assert verify(f"https://{link}/{offline.sign_link(link)}").valid
        assert not verify(f"https://{link}/{offline.sign_link(link + 'x')}").valid
        wrong_type = link_for(nip, login.serial_number)
        with pytest.raises(ConfigurationError):
            login.sign_link(wrong_type)
        verdict = verify(f"https://{wrong_type}/{sign_link(login.private_key, wrong_type)}")
        assert not verdict.valid and "Offline" in verdict.detail
        owner.certificates.revoke(offline.serial_number, reason="Superseded")
        verdict = verify(f"https://{link}/{offline.sign_link(link)}")
        assert (verdict.valid, verdict.detail) == (False, "Certyfikat odwołany")


def test_limits_are_reported_enforced_and_overridable(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        fresh = owner.certificates.limits()
        assert (fresh.enrollment.limit, fresh.certificate.limit) == (300, 100)
        assert fresh.can_request and fresh.certificate.remaining == 100

        owner.testdata.set_certificate_limits(max_certificates=1)
        first = owner.certificates.enroll_and_wait("Pierwszy certyfikat")
        full = owner.certificates.limits()
        assert (full.certificate.limit, full.certificate.remaining, full.can_request) == (
            1,
            0,
            False,
        )
        assert full.enrollment.remaining == 299
        with pytest.raises(BadRequest) as too_many:
            owner.certificates.enroll_and_wait("Drugi certyfikat")
        assert too_many.value.code == 25007
        owner.certificates.revoke(first.serial_number)
        assert (owner.certificates.limits()).certificate.remaining == 1  # revoked: not held

        owner.testdata.set_certificate_limits(max_enrollments=1)
        with pytest.raises(BadRequest) as no_more:
            owner.certificates.enroll_and_wait("Trzeci certyfikat")
        assert no_more.value.code == 25006
        with pytest.raises(BadRequest) as wrong_type:
            owner.testdata.set_certificate_limits(
                max_enrollments=5, subject_identifier_type="Pesel"
            )
        assert wrong_type.value.code == 21405

        owner.testdata.reset_certificate_limits()
        back = owner.certificates.limits()
        assert (back.enrollment.limit, back.certificate.limit, back.can_request) == (300, 100, True)
        owner.certificates.enroll_and_wait("Po przywróceniu limitów")


def test_a_ksef_token_login_cannot_enroll_or_revoke(ksef_client) -> None:
    limits = ksef_client.certificates.limits()  # reading works for any login
    assert limits.can_request
    with pytest.raises(BadRequest) as data:
        ksef_client.certificates.enrollment_data()
    request = CertificateRequest.create({"commonName": "Firma", "countryName": "PL"})
    with pytest.raises(BadRequest) as enroll:
        ksef_client.certificates.enroll("Certyfikat z tokena", request)
    with pytest.raises(Forbidden) as revoke:
        ksef_client.certificates.revoke("0123456789ABCDEF")
    assert (data.value.code, enroll.value.code) == (25001, 25002)
    assert revoke.value.reason_code == "auth-method-not-allowed"
    assert [c for c in ksef_client.certificates.query()] == []


def test_the_csr_is_checked(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        data = (owner.certificates.enrollment_data()).to_wire()
        key = generate_private_key("ec")
        changed = {**data, "commonName": "Ktoś Inny"}
        fewer = {k: v for k, v in data.items() if k != "uniqueIdentifier"}
        big_rsa = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        p384 = ec.generate_private_key(ec.SECP384R1())
        name = subject_name(data)
        cases = {
            "changed DN": (build_csr(changed, key).public_bytes(Encoding.DER), 25003),
            "missing attribute": (build_csr(fewer, key).public_bytes(Encoding.DER), 25003),
            "RSA 3072": (_raw_csr(name, big_rsa).public_bytes(Encoding.DER), 25010),
            "EC P-384": (_raw_csr(name, p384).public_bytes(Encoding.DER), 25010),
            "not a CSR": (b"\x30\x03\x02\x01\x00", 25004),
        }
        codes = {}
        for label, (csr, _) in cases.items():
            with pytest.raises(BadRequest) as info:
                owner.certificates.enroll("Zły wniosek", csr)
            codes[label] = info.value.code
        assert codes == {label: code for label, (_, code) in cases.items()}
        with pytest.raises(BadRequest) as bad_name:
            owner.certificates.enroll("<script>", build_csr(data, key))
        assert bad_name.value.code == 21405
        # PEM bytes and a SHA-512 signature are accepted
        pem = build_csr(data, key, hash_algorithm=hashes.SHA512()).public_bytes(Encoding.PEM)
        sent = owner.certificates.enroll("Wniosek PEM", pem)
        done = owner.certificates.wait_for_enrollment(sent.reference_number)
        assert done.status.code == 200
        assert (owner.certificates.limits()).enrollment.remaining == 299


def test_a_key_certified_for_another_subject_is_rejected(ksef_emulator) -> None:
    shared_key = generate_private_key("ec")
    serials = []
    for outcome in ("issued", "rejected"):
        nip = random_nip()
        with ksef_emulator.client() as client:
            client.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
            if outcome == "issued":
                enrolled = client.certificates.enroll_and_wait(
                    "Wspólny klucz", private_key=shared_key
                )
                serials.append(enrolled.serial_number)
                continue
            with pytest.raises(CertificateEnrollmentFailed) as info:
                client.certificates.enroll_and_wait("Wspólny klucz", private_key=shared_key)
    assert info.value.code == 400
    assert info.value.details == ("Klucz publiczny został już certyfikowany przez inny podmiot.",)
    assert info.value.reference_number and len(serials) == 1


def test_query_and_retrieve_walk_every_page(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        key = generate_private_key("ec")  # one key for all: the same subject may reuse it
        made = []
        for n in range(12):
            kind = "Offline" if n % 4 == 0 else "Authentication"
            enrolled = owner.certificates.enroll_and_wait(
                f"Certyfikat {n:02d}", certificate_type=kind, private_key=key
            )
            made.append(enrolled.serial_number)
        listed = [c for c in owner.certificates.query(page_size=10)]
        assert [c.certificate_serial_number for c in listed] == made[::-1]  # newest first
        offline = [c for c in owner.certificates.query(certificate_type="Offline")]
        assert {c.certificate_serial_number for c in offline} == {made[0], made[4], made[8]}
        named = [c for c in owner.certificates.query(name="certyfikat 1")]
        assert sorted(c.name for c in named) == ["Certyfikat 10", "Certyfikat 11"]
        far = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
        assert [c for c in owner.certificates.query(expires_after=far)] == []
        items = owner.certificates.retrieve([*made, "0123456789ABCDEF"])  # 13: two calls
        assert [i.certificate_serial_number for i in items] == made
    with ksef_emulator.client() as stranger:  # certificates are per subject
        other = random_nip()
        stranger.authenticate(company_seal(other, key="ec").signer(), nip=other)
        assert stranger.certificates.retrieve(made[:3]) == []
        assert [c for c in stranger.certificates.query()] == []


def test_test_data_can_expire_a_certificate(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        enrolled = owner.certificates.enroll_and_wait("Wygaśnie")
        [item] = [c for c in owner.certificates.query()]
        with pytest.raises(BadRequest) as later:
            owner.testdata.update_certificate(
                enrolled.serial_number, valid_to=item.valid_to + dt.timedelta(days=1)
            )
        assert later.value.code == 21405
        with pytest.raises(BadRequest) as unknown:
            owner.testdata.update_certificate(
                "0123456789ABCDEF", valid_to=dt.datetime.now(dt.UTC)
            )
        assert unknown.value.code == 25008
        owner.testdata.update_certificate(
            enrolled.serial_number, valid_to=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
        [expired] = [c for c in owner.certificates.query(status="Expired")]
        assert expired.certificate_serial_number == enrolled.serial_number
        with pytest.raises(BadRequest) as revoke:
            owner.certificates.revoke(enrolled.serial_number)
        assert revoke.value.code == 25009
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(enrolled.signer(), nip=nip)
    assert info.value.details == ("Nieważny certyfikat",)


def test_saved_certificate_and_encrypted_key_log_in_again(ksef_emulator, tmp_path) -> None:
    nip = random_nip()
    with ksef_emulator.client() as owner:
        owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        enrolled = owner.certificates.enroll_and_wait("Na dysk", key_type="rsa")
    cert_path, key_path = enrolled.save(tmp_path, password="hasło-123")
    assert key_path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    with pytest.raises(ConfigurationError) as wrong:
        EnrolledCertificate.load(cert_path, key_path, password="złe")
    assert "złe" not in str(wrong.value)
    loaded = EnrolledCertificate.load(cert_path, key_path, password="hasło-123")
    assert loaded.serial_number == enrolled.serial_number
    with ksef_emulator.client() as client:
        assert (client.authenticate(loaded.signer(), nip=nip)).status.status.code == 200


def _raw_csr(
    name: x509.Name, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> x509.CertificateSigningRequest:
    """A CSR built without ksefkit's key checks (to see the emulator refuse it)."""
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
