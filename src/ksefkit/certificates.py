"""KSeF certificates on the client side: the CSR, the private key, the issued certificate.

Pure functions and value objects (no I/O besides the explicit file helpers) for the
certificate workflow of KSEF_API.md §12.3; ``client.certificates`` drives them over HTTP.

* :func:`subject_name` / :func:`build_csr` — a PKCS#10 request whose subject is exactly the
  distinguished name KSeF dictates in ``GET /certificates/enrollments/data`` (every attribute
  the response carries, in the order of the schema, nothing added), signed with SHA-256 by an
  RSA-2048 or EC P-256 key (the two key types KSeF accepts; EC is recommended).
  :class:`CertificateRequest` bundles the CSR with its key and gives DER, PEM and Base64.
* :func:`private_key_pem` / :func:`load_private_key` (+ the ``*_file`` variants) — keys as
  PKCS#8 PEM, encrypted when a password is given; files are created with mode 0600.
* :func:`load_certificate` — a retrieved certificate (Base64 DER, as ``POST
  /certificates/retrieve`` returns it), DER or PEM bytes → :class:`x509.Certificate`.
* :class:`EnrolledCertificate` — an issued certificate with its private key: a
  :class:`~ksefkit.xades.XadesSigner` for ``client.authenticate(...)`` (type
  ``Authentication``), :meth:`EnrolledCertificate.sign_link` for offline KOD II links (type
  ``Offline``), :meth:`EnrolledCertificate.save` / :meth:`EnrolledCertificate.load`.

Private keys never appear in ``repr`` and are never logged.

>>> from ksefkit.models import CertificateEnrollmentDataResponse
>>> data = CertificateEnrollmentDataResponse(common_name="Jan Kowalski", country_name="PL",
...                                          serial_number="PNOPL-90010112345")
>>> request = CertificateRequest.create(data, key_type="ec")
>>> request.csr.subject.rfc4514_string()
'2.5.4.5=PNOPL-90010112345,C=PL,CN=Jan Kowalski'
>>> request.der[:1] == b"\\x30" and "PRIVATE" not in repr(request)
True
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID

from .errors import ConfigurationError
from .models import CertificateEnrollmentDataResponse, RetrieveCertificatesListItem
from .xades import PrivateKey, XadesSigner, certificate_fingerprint

__all__ = [
    "DN_ATTRIBUTES",
    "CertificateRequest",
    "EnrolledCertificate",
    "KeyType",
    "build_csr",
    "generate_private_key",
    "ksef_certificate_type",
    "load_certificate",
    "load_private_key",
    "load_private_key_file",
    "private_key_pem",
    "save_private_key",
    "serial_number_hex",
    "sign_link",
    "subject_name",
    "verify_link_signature",
]

KeyType = Literal["ec", "rsa"]

#: ``CertificateEnrollmentDataResponse`` fields (wire names) and the X.500 attribute each one
#: becomes, in the order of the schema (certyfikaty-KSeF.md lists the same OIDs).
DN_ATTRIBUTES: tuple[tuple[str, x509.ObjectIdentifier], ...] = (
    ("commonName", NameOID.COMMON_NAME),  # 2.5.4.3
    ("countryName", NameOID.COUNTRY_NAME),  # 2.5.4.6
    ("givenName", NameOID.GIVEN_NAME),  # 2.5.4.42
    ("surname", NameOID.SURNAME),  # 2.5.4.4
    ("serialNumber", NameOID.SERIAL_NUMBER),  # 2.5.4.5
    ("uniqueIdentifier", NameOID.X500_UNIQUE_IDENTIFIER),  # 2.5.4.45
    ("organizationName", NameOID.ORGANIZATION_NAME),  # 2.5.4.10
    ("organizationIdentifier", NameOID.ORGANIZATION_IDENTIFIER),  # 2.5.4.97
)


def generate_private_key(key_type: KeyType = "ec") -> PrivateKey:
    """A new key of a type KSeF certifies: EC P-256 (``"ec"``) or RSA 2048 (``"rsa"``).

    >>> generate_private_key("ec").curve.name
    'secp256r1'
    >>> generate_private_key("rsa").key_size
    2048
    """
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ConfigurationError(f"key_type must be 'ec' or 'rsa', not {key_type!r}")


def subject_name(data: CertificateEnrollmentDataResponse | Mapping[str, Any]) -> x509.Name:
    """The CSR subject: every attribute of the enrollment data, values copied verbatim.

    ``data`` is the SDK model or the raw JSON object. Attributes KSeF left out (``null``) are
    left out of the name too; KSeF rejects a CSR whose name differs (``25003``).

    >>> subject_name({"commonName": "ACME", "countryName": "PL",
    ...               "organizationIdentifier": "VATPL-5265877635"}).rfc4514_string()
    '2.5.4.97=VATPL-5265877635,C=PL,CN=ACME'
    """
    wire = data.to_wire() if isinstance(data, CertificateEnrollmentDataResponse) else data
    attributes = []
    for name, oid in DN_ATTRIBUTES:
        value = wire.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"enrollment data {name}: expected a non-empty string")
        try:
            attributes.append(x509.NameAttribute(oid, value))
        except ValueError as exc:  # e.g. a countryName that is not two letters
            raise ConfigurationError(f"enrollment data {name}: {exc}") from None
    for required in ("commonName", "countryName"):
        if not wire.get(required):
            raise ConfigurationError(f"enrollment data lacks {required}")
    return x509.Name(attributes)


def build_csr(
    data: CertificateEnrollmentDataResponse | Mapping[str, Any],
    private_key: PrivateKey,
    *,
    hash_algorithm: hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None = None,
) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for ``private_key`` naming the subject of ``data``.

    Signed with PKCS#1 v1.5 (RSA) or ECDSA and SHA-256 unless ``hash_algorithm`` says
    otherwise (KSeF also accepts SHA-384 and SHA-512). The key must be RSA 2048 or EC P-256.

    >>> key = generate_private_key("rsa")
    >>> csr = build_csr({"commonName": "ACME", "countryName": "PL"}, key)
    >>> csr.is_signature_valid, csr.signature_hash_algorithm.name
    (True, 'sha256')
    """
    _check_key(private_key)
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name(data))
        .sign(private_key, hash_algorithm or hashes.SHA256())
    )


def _check_key(key: object) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size != 2048:
            raise ConfigurationError(f"KSeF certifies RSA keys of 2048 bits, not {key.key_size}")
        return
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ConfigurationError(f"KSeF certifies EC keys on P-256, not {key.curve.name}")
        return
    raise ConfigurationError("KSeF certifies RSA 2048 or EC P-256 keys only")


@dataclass(frozen=True)
class CertificateRequest:
    """A CSR and the private key it was made for (the key is left out of ``repr``)."""

    csr: x509.CertificateSigningRequest
    private_key: PrivateKey = field(repr=False)

    @classmethod
    def create(
        cls,
        data: CertificateEnrollmentDataResponse | Mapping[str, Any],
        *,
        key_type: KeyType = "ec",
        private_key: PrivateKey | None = None,
    ) -> CertificateRequest:
        """A fresh key (or ``private_key``) and the CSR for ``data``.

        >>> CertificateRequest.create({"commonName": "A B", "countryName": "PL"}).csr.subject
        <Name(C=PL,CN=A B)>
        """
        key = private_key if private_key is not None else generate_private_key(key_type)
        return cls(build_csr(data, key), key)

    @property
    def der(self) -> bytes:
        """The CSR, DER (what KSeF wants, Base64-encoded, in ``csr``)."""
        return self.csr.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        """The CSR, PEM."""
        return self.csr.public_bytes(serialization.Encoding.PEM)

    @property
    def base64(self) -> str:
        """The ``csr`` field of ``EnrollCertificateRequest``: Base64 of the DER."""
        return base64.b64encode(self.der).decode("ascii")


def private_key_pem(private_key: PrivateKey, password: str | bytes | None = None) -> bytes:
    """``private_key`` as PKCS#8 PEM, encrypted (best available cipher) when ``password``.

    >>> pem = private_key_pem(generate_private_key(), "s3cret")
    >>> pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    True
    """
    secret = _password(password)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_private_key(pem: bytes, password: str | bytes | None = None) -> PrivateKey:
    """A PEM private key (PKCS#8 or traditional; encrypted ones need ``password``).

    A wrong or missing password, or a key KSeF cannot certify, is a
    :class:`~ksefkit.errors.ConfigurationError` (the message never contains the password).

    >>> key = generate_private_key()
    >>> load_private_key(private_key_pem(key, "pw"), "pw").public_key() == key.public_key()
    True
    """
    try:
        key = serialization.load_pem_private_key(pem, _password(password) or None)
    except TypeError:
        raise ConfigurationError(
            "the private key is encrypted: a password is needed"
            if password is None
            else "the private key is not encrypted: give no password"
        ) from None
    except ValueError:
        raise ConfigurationError(
            "cannot read the private key (not PEM, or a wrong password)"
        ) from None
    _check_key(key)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))  # by _check_key
    return key


def save_private_key(
    path: Path | str, private_key: PrivateKey, password: str | bytes | None = None
) -> Path:
    """Write the PKCS#8 PEM of ``private_key`` to ``path`` (mode 0600 from the start).

    >>> save_private_key("ksef.key.pem", key, password)  # doctest: +SKIP
    """
    target = Path(path)
    _write_private(target, private_key_pem(private_key, password))
    return target


def load_private_key_file(path: Path | str, password: str | bytes | None = None) -> PrivateKey:
    """:func:`load_private_key` of a file.

    >>> key = load_private_key_file("ksef.key.pem", password)  # doctest: +SKIP
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the private key {path}: {exc.strerror}") from None
    return load_private_key(data, password)


def load_certificate(data: str | bytes) -> x509.Certificate:
    """A certificate from Base64 DER text (``RetrieveCertificatesListItem.certificate``),
    DER bytes or PEM bytes.

    >>> from ksefkit.testcerts import company_seal
    >>> cert = company_seal("5265877635", key="ec").certificate
    >>> der = cert.public_bytes(serialization.Encoding.DER)
    >>> load_certificate(base64.b64encode(der).decode()) == load_certificate(der) == cert
    True
    """
    try:
        if isinstance(data, str):
            return x509.load_der_x509_certificate(base64.b64decode(data, validate=True))
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, binascii.Error):
        raise ConfigurationError("not a certificate (Base64 DER, DER or PEM)") from None


def serial_number_hex(certificate: x509.Certificate) -> str:
    """The serial number the way KSeF writes it: 16 upper-case hex digits.

    >>> from ksefkit.testcerts import company_seal
    >>> len(serial_number_hex(company_seal("5265877635", key="ec").certificate)) >= 16
    True
    """
    return format(certificate.serial_number, "X").rjust(16, "0")


def sign_link(private_key: PrivateKey, link: str) -> str:
    """The signature segment of a KOD II link (KSEF_API.md §13.4), Base64URL without padding.

    ``link`` is the URL without ``https://``, without the signature segment and without a
    trailing ``/``. RSA keys sign with RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt),
    EC P-256 keys with ECDSA/SHA-256 as IEEE P1363 ``r‖s`` (64 bytes). Only a certificate of
    type ``Offline`` may be used for these links.

    >>> len(sign_link(generate_private_key("ec"), "qr-test.ksef.mf.gov.pl/certificate/x"))
    86
    """
    data = link.encode("utf-8")
    if isinstance(private_key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = private_key.sign(data, pss, hashes.SHA256())
    else:
        size = (private_key.curve.key_size + 7) // 8
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def verify_link_signature(public_key: object, link: str, signature: str) -> bool:
    """Whether ``signature`` (Base64URL, padding optional) signs ``link`` under ``public_key``.

    The counterpart of :func:`sign_link`: RSASSA-PSS (SHA-256, MGF1-SHA-256, salt exactly 32
    bytes) for RSA keys; ECDSA/SHA-256 for EC keys, as IEEE P1363 ``r‖s`` (recommended) or
    DER (allowed, KSEF_API.md §13.4). Any other key type, or a malformed signature, is False.

    >>> key = generate_private_key("ec")
    >>> link = "qr-test.ksef.mf.gov.pl/certificate/x"
    >>> verify_link_signature(key.public_key(), link, sign_link(key, link))
    True
    >>> verify_link_signature(key.public_key(), link + "y", sign_link(key, link))
    False
    """
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return False
    data = link.encode("utf-8")
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            public_key.verify(raw, data, pss, hashes.SHA256())
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            if len(raw) == 2 * size:  # P1363 r‖s; a DER SEQUENCE is never exactly 2n bytes
                r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
                raw = encode_dss_signature(r, s)
            public_key.verify(raw, data, ec.ECDSA(hashes.SHA256()))
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def ksef_certificate_type(certificate: x509.Certificate) -> str | None:
    """``"Offline"`` or ``"Authentication"`` as the certificate's key usage says, else None.

    KSeF issues ``Authentication`` certificates with keyUsage digitalSignature and ``Offline``
    ones with nonRepudiation only (KSEF_API.md §12.3), so the type survives a round trip
    through PEM files, which do not carry KSeF's type field.

    >>> from ksefkit.testcerts import company_seal
    >>> ksef_certificate_type(company_seal("5265877635").certificate) is None
    True
    """
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if usage.content_commitment and not usage.digital_signature:
        return "Offline"
    if usage.digital_signature and not usage.content_commitment:
        return "Authentication"
    return None


@dataclass(frozen=True)
class EnrolledCertificate:
    """A KSeF certificate with its private key (the key is left out of ``repr``).

    ``certificate_type`` is ``Authentication`` (sign AuthTokenRequests: :meth:`signer`) or
    ``Offline`` (sign KOD II links: :meth:`sign_link`).

    >>> enrolled = client.certificates.enroll_and_wait("ERP signer")  # doctest: +SKIP
    >>> client.authenticate(enrolled.signer(), nip="5265877635")  # doctest: +SKIP
    """

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)
    serial_number: str
    name: str
    certificate_type: str
    reference_number: str | None = None

    @classmethod
    def from_retrieved(
        cls,
        item: RetrieveCertificatesListItem,
        private_key: PrivateKey,
        *,
        reference_number: str | None = None,
    ) -> EnrolledCertificate:
        """Pair a ``POST /certificates/retrieve`` item with the key its CSR was made with."""
        certificate = load_certificate(item.certificate)
        _check_pair(certificate, private_key)
        return cls(
            certificate,
            private_key,
            item.certificate_serial_number,
            item.certificate_name,
            item.certificate_type,
            reference_number,
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, upper-case hex."""
        return certificate_fingerprint(self.certificate)

    @property
    def certificate_pem(self) -> bytes:
        """The certificate, PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self, password: str | bytes | None = None) -> bytes:
        """The key as PKCS#8 PEM (encrypted when ``password``)."""
        return private_key_pem(self.private_key, password)

    def signer(self) -> XadesSigner:
        """A :class:`~ksefkit.xades.XadesSigner` for ``client.authenticate(...)``."""
        return XadesSigner.from_keys(self.certificate, self.private_key)

    def sign_link(self, link: str) -> str:
        """:func:`sign_link` with this certificate's key (an ``Offline`` certificate)."""
        if self.certificate_type != "Offline":
            raise ConfigurationError(
                f"KOD II links are signed with an Offline certificate, not {self.certificate_type}"
            )
        return sign_link(self.private_key, link)

    def save(
        self, directory: Path | str, *, password: str | bytes | None = None, name: str | None = None
    ) -> tuple[Path, Path]:
        """Write ``<name>.crt.pem`` and ``<name>.key.pem`` (PKCS#8, mode 0600); both paths.

        ``name`` defaults to the serial number. The files work with
        ``XadesSigner.from_files`` and ``ksefkit auth login --cert ... --key ...``.

        >>> enrolled.save(Path("certs"), password=os.environ["KSEF_KEY_PASSWORD"])  # doctest: +SKIP
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        stem = name or self.serial_number
        cert_path, key_path = folder / f"{stem}.crt.pem", folder / f"{stem}.key.pem"
        cert_path.write_bytes(self.certificate_pem)
        _write_private(key_path, self.private_key_pem(password))
        return cert_path, key_path

    @classmethod
    def load(
        cls,
        cert_path: Path | str,
        key_path: Path | str,
        *,
        password: str | bytes | None = None,
        certificate_type: str | None = None,
        name: str | None = None,
    ) -> EnrolledCertificate:
        """Read back what :meth:`save` wrote (the name is not in the files).

        ``certificate_type`` defaults to what the key usage says
        (:func:`ksef_certificate_type`), else ``Authentication``.

        >>> EnrolledCertificate.load("c.crt.pem", "c.key.pem", password=pw)  # doctest: +SKIP
        """
        try:
            certificate = load_certificate(Path(cert_path).read_bytes())
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the certificate {cert_path}: {exc.strerror}"
            ) from None
        key = load_private_key_file(key_path, password)
        _check_pair(certificate, key)
        serial = serial_number_hex(certificate)
        kind = certificate_type or ksef_certificate_type(certificate) or "Authentication"
        return cls(certificate, key, serial, name or serial, kind)


def _check_pair(certificate: x509.Certificate, private_key: PrivateKey) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if certificate.public_key().public_bytes(der, spki) != private_key.public_key().public_bytes(
        der, spki
    ):
        raise ConfigurationError("the private key does not belong to the certificate")


def _password(password: str | bytes | None) -> bytes:
    if password is None:
        return b""
    return password.encode("utf-8") if isinstance(password, str) else password


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start (no window with wider permissions); chmod covers a file
    # that existed before with other permissions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.chmod(path, 0o600)
        file.write(data)
