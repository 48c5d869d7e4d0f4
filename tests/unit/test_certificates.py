"""Tests of ksefkit.certificates: the CSR from enrollment data, PKCS#8 keys, retrieved
certificates, KOD II link signatures and the EnrolledCertificate value object."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from ksefkit.certificates import (
    DN_ATTRIBUTES,
    CertificateRequest,
    EnrolledCertificate,
    build_csr,
    generate_private_key,
    load_certificate,
    load_private_key,
    load_private_key_file,
    private_key_pem,
    save_private_key,
    serial_number_hex,
    sign_link,
    subject_name,
)
from ksefkit.errors import ConfigurationError
from ksefkit.models import CertificateEnrollmentDataResponse, RetrieveCertificatesListItem
from ksefkit.xades import build_auth_token_request, verify_xades

FULL = {
    "commonName": "Jan Kowalski",
    "countryName": "PL",
    "givenName": "Jan",
    "surname": "Kowalski",
    "serialNumber": "PNOPL-90010112345",
    "uniqueIdentifier": "d9d22724-4696-460c-9e5e-b9e3aafb0af3",
    "organizationName": "Firma Kowalski Sp. z o.o.",
    "organizationIdentifier": "VATPL-7762811692",
}


def _issued(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, serial: int) -> x509.Certificate:
    """A certificate for ``key`` signed by a throw-away CA (stands in for KSeF's)."""
    ca = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject_name(FULL))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca, hashes.SHA256())
    )


def test_subject_name_copies_every_attribute_in_schema_order() -> None:
    name = subject_name(CertificateEnrollmentDataResponse.model_validate(FULL))
    assert [(a.oid, a.value) for a in name] == [(oid, FULL[key]) for key, oid in DN_ATTRIBUTES]
    dotted = [oid.dotted_string for _, oid in DN_ATTRIBUTES]
    assert dotted == [
        "2.5.4.3",
        "2.5.4.6",
        "2.5.4.42",
        "2.5.4.4",
        "2.5.4.5",
        "2.5.4.45",
        "2.5.4.10",
        "2.5.4.97",
    ]


def test_subject_name_leaves_out_absent_attributes_and_checks_values() -> None:
    name = subject_name({"commonName": "ACME", "countryName": "PL", "surname": None})
    assert [a.oid for a in name] == [NameOID.COMMON_NAME, NameOID.COUNTRY_NAME]
    for bad in (
        {"countryName": "PL"},
        {"commonName": "ACME"},
        {"commonName": "ACME", "countryName": "POL"},
        {"commonName": "ACME", "countryName": "PL", "surname": ""},
        {"commonName": "ACME", "countryName": "PL", "surname": 5},
    ):
        with pytest.raises(ConfigurationError):
            subject_name(bad)


def test_csr_of_the_spec_example_has_the_spec_example_attributes(spec_dir: Path) -> None:
    """The OAS example data and example CSR name the same attributes with the same values."""
    spec = json.loads((spec_dir / "open-api.json").read_text(encoding="utf-8"))
    paths = spec["paths"]
    data = paths["/certificates/enrollments/data"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    example = paths["/certificates/enrollments"]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]["csr"]
    theirs = x509.load_der_x509_csr(base64.b64decode(example))
    ours = build_csr(data, generate_private_key("ec"))
    assert sorted((a.oid.dotted_string, a.value) for a in ours.subject) == sorted(
        (a.oid.dotted_string, a.value) for a in theirs.subject
    )


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_certificate_request_bundles_csr_and_key(key_type: str) -> None:
    request = CertificateRequest.create(FULL, key_type=key_type)  # type: ignore[arg-type]
    csr = request.csr
    assert csr.is_signature_valid and csr.signature_hash_algorithm.name == "sha256"
    assert csr.subject == subject_name(FULL)
    assert csr.public_key() == request.private_key.public_key()
    assert x509.load_der_x509_csr(request.der) == csr
    assert x509.load_pem_x509_csr(request.pem) == csr
    assert base64.b64decode(request.base64) == request.der
    assert "PRIVATE" not in repr(request) and "private_key" not in repr(request)


def test_only_keys_ksef_certifies() -> None:
    assert isinstance(generate_private_key("ec").curve, ec.SECP256R1)
    assert generate_private_key("rsa").key_size == 2048
    with pytest.raises(ConfigurationError):
        generate_private_key("dsa")  # type: ignore[arg-type]
    for key in (
        rsa.generate_private_key(public_exponent=65537, key_size=3072),
        ec.generate_private_key(ec.SECP384R1()),
        ed25519.Ed25519PrivateKey.generate(),
    ):
        with pytest.raises(ConfigurationError):
            build_csr(FULL, key)  # type: ignore[arg-type]
    csr = build_csr(FULL, generate_private_key("ec"), hash_algorithm=hashes.SHA384())
    assert csr.signature_hash_algorithm.name == "sha384"


def test_pkcs8_keys_with_and_without_a_password(tmp_path: Path) -> None:
    key = generate_private_key("rsa")
    plain = private_key_pem(key)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, not "RSA PRIVATE KEY"
    locked = private_key_pem(key, "zażółć")
    assert locked.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_private_key(plain).public_key() == key.public_key()
    assert load_private_key(locked, "zażółć").public_key() == key.public_key()
    assert load_private_key(locked, "zażółć".encode()).public_key() == key.public_key()
    failures = [(locked, None), (locked, "wrong-secret"), (plain, "unneeded"), (b"junk", None)]
    for pem, password in failures:
        with pytest.raises(ConfigurationError) as info:
            load_private_key(pem, password)
        assert password is None or password not in str(info.value)
    other = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigurationError):
        load_private_key(other)


def test_saved_keys_are_private_files(tmp_path: Path) -> None:
    key = generate_private_key()
    target = tmp_path / "ksef.key.pem"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    save_private_key(target, key, "pw")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert load_private_key_file(target, "pw").public_key() == key.public_key()
    with pytest.raises(ConfigurationError):
        load_private_key_file(tmp_path / "missing.pem")


def test_load_certificate_from_every_form() -> None:
    cert = _issued(generate_private_key(), 0x0321C82DA41B4362)
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert load_certificate(base64.b64encode(der).decode()) == cert
    assert load_certificate(der) == cert
    assert load_certificate(pem) == cert
    for bad in ("not base64!", b"\x30\x00", b"-----BEGIN CERTIFICATE-----\nxx\n"):
        with pytest.raises(ConfigurationError):
            load_certificate(bad)
    assert serial_number_hex(cert) == "0321C82DA41B4362"
    assert serial_number_hex(_issued(generate_private_key(), 1)) == "0000000000000001"


def test_kod2_link_signatures_follow_the_spec() -> None:
    link = "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/abc"
    rsa_key = generate_private_key("rsa")
    signature = sign_link(rsa_key, link)
    assert "=" not in signature and "+" not in signature and "/" not in signature
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    rsa_key.public_key().verify(raw, link.encode(), pss, hashes.SHA256())
    with pytest.raises(InvalidSignature):  # the salt length is part of the scheme
        rsa_key.public_key().verify(
            raw,
            link.encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20),
            hashes.SHA256(),
        )
    ec_key = generate_private_key("ec")
    raw = base64.urlsafe_b64decode(sign_link(ec_key, link) + "==")
    assert len(raw) == 64  # IEEE P1363 r‖s
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    ec_key.public_key().verify(der, link.encode(), ec.ECDSA(hashes.SHA256()))


def test_enrolled_certificate_pairs_key_and_certificate(tmp_path: Path) -> None:
    key = generate_private_key("ec")
    cert = _issued(key, 0x018209160C631F1E)
    item = RetrieveCertificatesListItem(
        certificate=base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
        certificate_name="Offline ERP",
        certificate_serial_number="018209160C631F1E",
        certificate_type="Offline",
    )
    enrolled = EnrolledCertificate.from_retrieved(item, key, reference_number="ref")
    assert (enrolled.serial_number, enrolled.name, enrolled.certificate_type) == (
        "018209160C631F1E",
        "Offline ERP",
        "Offline",
    )
    assert "PRIVATE" not in repr(enrolled) and "private_key" not in repr(enrolled)
    with pytest.raises(ConfigurationError):
        EnrolledCertificate.from_retrieved(item, generate_private_key("ec"))
    link = "qr-test.ksef.mf.gov.pl/certificate/Nip/1/1/018209160C631F1E/x"
    assert enrolled.sign_link(link)
    login = EnrolledCertificate(cert, key, "018209160C631F1E", "Login", "Authentication")
    with pytest.raises(ConfigurationError):
        login.sign_link(link)
    # an Authentication certificate signs AuthTokenRequests
    request = build_auth_token_request(
        challenge="20250604-CR-461EA5B000-537A6BA15D-D7",
        context_type="Nip",
        context_value="5265877635",
    )
    assert verify_xades(login.signer().sign(request)).certificate == cert

    cert_path, key_path = enrolled.save(tmp_path / "certs", password="pw")
    assert cert_path.name == "018209160C631F1E.crt.pem"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    loaded = EnrolledCertificate.load(
        cert_path, key_path, password="pw", certificate_type="Offline"
    )
    assert loaded.certificate == cert and loaded.serial_number == "018209160C631F1E"
    assert loaded.private_key.public_key() == key.public_key()
    other_cert, _ = EnrolledCertificate(
        _issued(generate_private_key(), 7), generate_private_key(), "7", "x", "Offline"
    ).save(tmp_path / "other")
    with pytest.raises(ConfigurationError):
        EnrolledCertificate.load(other_cert, key_path, password="pw")
    with pytest.raises(ConfigurationError):
        EnrolledCertificate.load(tmp_path / "nope.pem", key_path, password="pw")
