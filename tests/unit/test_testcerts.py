"""Tests of ksefkit.testcerts: the self-signed certificates KSeF TEST accepts."""

from __future__ import annotations

import datetime
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ksefkit.errors import ConfigurationError
from ksefkit.testcerts import (
    TestCertificate,
    certificate_fingerprint,
    company_seal,
    person_by_nip,
    person_by_pesel,
    subject_identifier,
)
from ksefkit.xades import XadesSigner, build_auth_token_request, verify_xades

NIP = "5265877635"
PESEL = "90010112345"
ORG_ID = x509.ObjectIdentifier("2.5.4.97")
UTC = datetime.UTC


def values(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[object]:
    return [a.value for a in cert.subject.get_attributes_for_oid(oid)]


def check_common(tc: TestCertificate, key: str) -> None:
    cert = tc.certificate
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # self-signed: its own key signed it
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert values(cert, NameOID.COUNTRY_NAME) == ["PL"]
    now = datetime.datetime.now(UTC)
    start = now - cert.not_valid_before_utc
    assert datetime.timedelta(minutes=60) < start < datetime.timedelta(minutes=62)
    length = cert.not_valid_after_utc - now
    assert datetime.timedelta(days=729) < length <= datetime.timedelta(days=730)
    public = cert.public_key()
    if key == "rsa":
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
        assert isinstance(tc.private_key, rsa.RSAPrivateKey)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, ec.SECP256R1)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_company_seal(key: str) -> None:
    tc = company_seal(NIP, organization="ACME & Syn sp. z o.o.", key=key)  # type: ignore[arg-type]
    check_common(tc, key)
    cert = tc.certificate
    assert values(cert, NameOID.ORGANIZATION_NAME) == ["ACME & Syn sp. z o.o."]
    assert values(cert, ORG_ID) == [f"VATPL-{NIP}"]
    assert values(cert, NameOID.COMMON_NAME) == ["ACME & Syn sp. z o.o."]
    assert values(cert, NameOID.GIVEN_NAME) == values(cert, NameOID.SURNAME) == []
    assert values(cert, NameOID.SERIAL_NUMBER) == []
    assert subject_identifier(cert) == ("Nip", NIP)
    assert (
        company_seal(NIP, common_name="Pieczęć")
        .certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value
        == "Pieczęć"
    )


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_person_by_pesel(key: str) -> None:
    tc = person_by_pesel(PESEL, given_name="Anna", surname="Nowak", key=key)  # type: ignore[arg-type]
    check_common(tc, key)
    cert = tc.certificate
    assert values(cert, NameOID.GIVEN_NAME) == ["Anna"]
    assert values(cert, NameOID.SURNAME) == ["Nowak"]
    assert values(cert, NameOID.SERIAL_NUMBER) == [f"PNOPL-{PESEL}"]
    assert values(cert, NameOID.COMMON_NAME) == ["Anna Nowak"]
    assert values(cert, ORG_ID) == values(cert, NameOID.ORGANIZATION_NAME) == []
    assert subject_identifier(cert) == ("Pesel", PESEL)


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_person_by_nip(key: str) -> None:
    tc = person_by_nip(NIP, key=key)  # type: ignore[arg-type]
    check_common(tc, key)
    cert = tc.certificate
    assert values(cert, NameOID.GIVEN_NAME) == ["Jan"]
    assert values(cert, NameOID.SURNAME) == ["Kowalski"]
    assert values(cert, NameOID.SERIAL_NUMBER) == [f"TINPL-{NIP}"]
    assert subject_identifier(cert) == ("Nip", NIP)


def test_custom_validity() -> None:
    start = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime.datetime(2020, 2, 1, tzinfo=UTC)
    cert = person_by_nip(NIP, key="ec", not_before=start, not_after=end).certificate
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (start, end)


@pytest.mark.parametrize(
    "factory_args",
    [
        (company_seal, "123"),
        (company_seal, "0123456789"),
        (person_by_nip, "52658776351"),
        (person_by_pesel, "9001011234"),
        (person_by_pesel, "9001011234x"),
    ],
)
def test_factories_validate_identifiers(factory_args: tuple[object, str]) -> None:
    factory, value = factory_args
    with pytest.raises(ValueError, match="not a valid"):
        factory(value)  # type: ignore[operator]


def test_unknown_key_kind() -> None:
    with pytest.raises(ConfigurationError):
        company_seal(NIP, key="dsa")  # type: ignore[arg-type]


def cert_with(attributes: list[x509.NameAttribute[str]]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(attributes)
    now = datetime.datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("oid", "value", "expected"),
    [
        (ORG_ID, "VATPL-5265877635", ("Nip", "5265877635")),
        (ORG_ID, "VATPL 5265877635", ("Nip", "5265877635")),
        (NameOID.SERIAL_NUMBER, "PESEL:90010112345", ("Pesel", "90010112345")),
        (NameOID.SERIAL_NUMBER, "PNOPL-90010112345", ("Pesel", "90010112345")),
        (NameOID.SERIAL_NUMBER, "NIP-5265877635", ("Nip", "5265877635")),
        (NameOID.SERIAL_NUMBER, "TINPL-5265877635", ("Nip", "5265877635")),
    ],
)
def test_subject_identifier_regexes(
    oid: x509.ObjectIdentifier, value: str, expected: tuple[str, str]
) -> None:
    cert = cert_with([x509.NameAttribute(oid, value), x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    assert subject_identifier(cert) == expected


@pytest.mark.parametrize(
    "attributes",
    [
        [x509.NameAttribute(NameOID.COMMON_NAME, "VATPL-5265877635")],  # wrong attribute
        [x509.NameAttribute(ORG_ID, "VATDE-123456789")],
        [x509.NameAttribute(NameOID.SERIAL_NUMBER, "PNOPL-1234")],
        [x509.NameAttribute(NameOID.SERIAL_NUMBER, "IDCPL-ABC123456")],
    ],
)
def test_subject_identifier_none(attributes: list[x509.NameAttribute[str]]) -> None:
    with pytest.raises(ValueError, match="names no NIP or PESEL"):
        subject_identifier(cert_with(attributes))


def test_fingerprint() -> None:
    tc = company_seal(NIP, key="ec")
    der = tc.certificate.public_bytes(serialization.Encoding.DER)
    assert certificate_fingerprint(tc.certificate) == hashlib.sha256(der).hexdigest().upper()
    assert tc.fingerprint == certificate_fingerprint(tc.certificate)


def test_repr_hides_the_key() -> None:
    tc = company_seal(NIP)
    key = tc.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    text = repr(tc)
    assert "private_key" not in text and "RSAPrivateKey" not in text
    assert str(key.private_numbers().p)[:20] not in text
    assert "Certificate" in text


def test_signer_signs_verifiably() -> None:
    tc = person_by_pesel(PESEL, key="ec")
    request = build_auth_token_request(
        challenge="20250604-CR-461EA5B000-537A6BA15D-D7", context_type="Nip", context_value=NIP
    )
    verified = verify_xades(tc.signer().sign(request))
    assert verified.certificate == tc.certificate
    assert subject_identifier(verified.certificate) == ("Pesel", PESEL)


@pytest.mark.parametrize("password", [None, "tajne-hasło"])
def test_save_round_trip(tmp_path: Path, password: str | None) -> None:
    tc = company_seal(NIP, key="ec")
    cert_path, key_path = tc.save(tmp_path / "certs", password=password)
    assert cert_path == tmp_path / "certs" / f"nip-{NIP}.crt.pem"
    assert key_path == tmp_path / "certs" / f"nip-{NIP}.key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert x509.load_pem_x509_certificate(cert_path.read_bytes()) == tc.certificate
    pem = key_path.read_bytes()
    assert (b"ENCRYPTED PRIVATE KEY" in pem) is (password is not None)
    loaded = serialization.load_pem_private_key(
        pem, password=password.encode() if password else None
    )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert loaded.public_key().public_bytes(der, spki) == tc.certificate.public_key().public_bytes(
        der, spki
    )
    signer = XadesSigner.from_files(cert_path, key_path, password)
    assert signer.certificate == tc.certificate


def test_save_tightens_an_existing_key_file(tmp_path: Path) -> None:
    tc = person_by_pesel(PESEL, key="ec")
    existing = tmp_path / "me.key.pem"
    existing.write_bytes(b"old")
    existing.chmod(0o644)
    cert_path, key_path = tc.save(tmp_path, name="me")
    assert key_path == existing
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_path.read_bytes()
    assert cert_path.name == "me.crt.pem"


@pytest.mark.parametrize("password", [None, "p12"])
def test_pkcs12_round_trip(password: str | None) -> None:
    tc = person_by_nip(NIP)
    bundle = tc.to_pkcs12(password)
    key, cert, extra = pkcs12.load_key_and_certificates(
        bundle, password.encode() if password else None
    )
    assert cert == tc.certificate and extra == []
    assert isinstance(key, rsa.RSAPrivateKey) and isinstance(tc.private_key, rsa.RSAPrivateKey)
    assert key.private_numbers() == tc.private_key.private_numbers()
    if password:
        with pytest.raises(ValueError, match="Invalid password"):
            pkcs12.load_key_and_certificates(bundle, b"wrong")
    assert XadesSigner.from_pkcs12(bundle, password).certificate == tc.certificate
