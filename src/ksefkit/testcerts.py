"""Self-signed test certificates of the kinds KSeF's TEST environment accepts (KSEF_API.md §4.4).

Four factories mirror what the official clients generate:

* :func:`company_seal` — a company seal: ``O``, ``organizationIdentifier`` (2.5.4.97)
  ``VATPL-<nip>``, ``CN``, ``C=PL``, no given name or surname;
* :func:`person_by_pesel` — a person: ``givenName``, ``surname``, ``serialNumber`` (2.5.4.5)
  ``PNOPL-<pesel>``, ``CN``, ``C=PL``;
* :func:`person_by_nip` — the same with ``serialNumber`` ``TINPL-<nip>``;
* :func:`peppol_provider_seal` — a Peppol service provider's seal: ``CN`` (and
  ``organizationIdentifier``) the PeppolId, ``O`` the provider's name.

Keys are RSA-2048 (certificate signed with SHA-256) or EC P-256; validity runs from 61 minutes
ago to two years ahead. Such certificates authenticate **only on TEST** (and the ksefkit
emulator). :func:`subject_identifier` reads back who a certificate names, with the regexes KSeF
documents; the emulator uses it to identify the authenticating subject.

>>> seal = company_seal("5265877635", key="ec")
>>> subject_identifier(seal.certificate)
('Nip', '5265877635')
>>> "PRIVATE" in repr(seal) or "private_key" in repr(seal)
False
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .errors import ConfigurationError
from .xades import PrivateKey, XadesSigner, certificate_fingerprint

__all__ = [
    "KeyKind",
    "TestCertificate",
    "certificate_fingerprint",
    "company_seal",
    "peppol_provider_seal",
    "person_by_nip",
    "person_by_pesel",
    "subject_identifier",
]

KeyKind = Literal["rsa", "ec"]

_ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
_SEAL_RE = re.compile(r"(VATPL).*?(?P<identifier>\d{10})")
_PESEL_RE = re.compile(r"(PNOPL|PESEL).*?(?P<identifier>\d{11})")
_NIP_RE = re.compile(r"(TINPL|NIP).*?(?P<identifier>\d{10})")
_NIP_FORMAT = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")
_PESEL_FORMAT = re.compile(r"^\d{11}$")
_PEPPOL_FORMAT = re.compile(r"^P[A-Z]{2}[0-9]{6}$")


@dataclass(frozen=True)
class TestCertificate:
    """A self-signed certificate and its private key (the key is left out of ``repr``).

    >>> cert = person_by_nip("5265877635", key="ec")
    >>> cert.signer().algorithm
    'ecdsa-sha256'
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, upper-case hex."""
        return certificate_fingerprint(self.certificate)

    def signer(self) -> XadesSigner:
        """A :class:`~ksefkit.xades.XadesSigner` for this certificate and key."""
        return XadesSigner.from_keys(self.certificate, self.private_key)

    def save(
        self, directory: Path, *, password: str | None = None, name: str | None = None
    ) -> tuple[Path, Path]:
        """Write ``<name>.crt.pem`` and ``<name>.key.pem`` (mode 0600); return both paths.

        The key is PKCS#8, encrypted when ``password`` is given. ``name`` defaults to
        ``<kind>-<identifier>``, e.g. ``nip-5265877635``.

        >>> cert_path, key_path = company_seal("5265877635").save(Path("certs"))  # doctest: +SKIP
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if name is None:
            kind, value = subject_identifier(self.certificate)
            name = f"{kind.lower()}-{value}"
        cert_path = directory / f"{name}.crt.pem"
        key_path = directory / f"{name}.key.pem"
        cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        _write_private(key_path, self._key_pem(password))
        return cert_path, key_path

    def _key_pem(self, password: str | None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def to_pkcs12(self, password: str | None) -> bytes:
        """The key and certificate as a PKCS#12 bundle (encrypted when ``password``).

        >>> from ksefkit.xades import XadesSigner
        >>> bundle = company_seal("5265877635", key="ec").to_pkcs12("secret")
        >>> XadesSigner.from_pkcs12(bundle, "secret").algorithm
        'ecdsa-sha256'
        """
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            b"ksefkit-test", self.private_key, self.certificate, None, encryption
        )


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start (no window with wider permissions); chmod covers a file
    # that existed before with other permissions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.chmod(path, 0o600)
        file.write(data)


def _new_key(key: KeyKind) -> PrivateKey:
    if key == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ConfigurationError(f"key must be 'rsa' or 'ec', not {key!r}")


def _self_signed(
    attributes: list[x509.NameAttribute[str]],
    key: KeyKind,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
) -> TestCertificate:
    private_key = _new_key(key)
    name = x509.Name(attributes)
    now = datetime.datetime.now(datetime.UTC)
    start = not_before or now - datetime.timedelta(minutes=61)
    end = not_after or now + datetime.timedelta(days=730)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, hashes.SHA256())
    )
    return TestCertificate(certificate=certificate, private_key=private_key)


def company_seal(
    nip: str,
    *,
    organization: str = "Firma Testowa",
    common_name: str | None = None,
    key: KeyKind = "rsa",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> TestCertificate:
    """A self-signed company seal for ``nip`` (``organizationIdentifier = VATPL-<nip>``).

    ``common_name`` defaults to ``organization``; ``not_before`` / ``not_after`` override
    the validity (e.g. to test an expired certificate).

    >>> seal = company_seal("5265877635", organization="ACME sp. z o.o.")
    >>> seal.certificate.subject.rfc4514_string()
    'C=PL,CN=ACME sp. z o.o.,2.5.4.97=VATPL-5265877635,O=ACME sp. z o.o.'
    """
    _check(nip, _NIP_FORMAT, "NIP")
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(_ORGANIZATION_IDENTIFIER, f"VATPL-{nip}"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name or organization),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
    ]
    return _self_signed(attributes, key, not_before, not_after)


def peppol_provider_seal(
    peppol_id: str,
    *,
    organization: str = "Dostawca Peppol",
    key: KeyKind = "rsa",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> TestCertificate:
    """A self-signed seal of a Peppol service provider: ``CN`` and ``organizationIdentifier``
    are the PeppolId (``P`` + 2 letters + 6 digits), ``O`` its name — what the official
    clients sign with to authenticate (and, the first time, register) in a ``PeppolId`` context.

    >>> seal = peppol_provider_seal("PPL123456", organization="ACME Peppol", key="ec")
    >>> seal.certificate.subject.rfc4514_string()
    'C=PL,CN=PPL123456,2.5.4.97=PPL123456,O=ACME Peppol'
    """
    _check(peppol_id, _PEPPOL_FORMAT, "PeppolId")
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(_ORGANIZATION_IDENTIFIER, peppol_id),
        x509.NameAttribute(NameOID.COMMON_NAME, peppol_id),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
    ]
    return _self_signed(attributes, key, not_before, not_after)


def _person(
    serial: str,
    given_name: str,
    surname: str,
    key: KeyKind,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
) -> TestCertificate:
    attributes = [
        x509.NameAttribute(NameOID.GIVEN_NAME, given_name),
        x509.NameAttribute(NameOID.SURNAME, surname),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{given_name} {surname}"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
    ]
    return _self_signed(attributes, key, not_before, not_after)


def person_by_pesel(
    pesel: str,
    *,
    given_name: str = "Jan",
    surname: str = "Kowalski",
    key: KeyKind = "rsa",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> TestCertificate:
    """A self-signed personal certificate for ``pesel`` (``serialNumber = PNOPL-<pesel>``).

    >>> subject_identifier(person_by_pesel("90010112345", key="ec").certificate)
    ('Pesel', '90010112345')
    """
    _check(pesel, _PESEL_FORMAT, "PESEL")
    return _person(f"PNOPL-{pesel}", given_name, surname, key, not_before, not_after)


def person_by_nip(
    nip: str,
    *,
    given_name: str = "Jan",
    surname: str = "Kowalski",
    key: KeyKind = "rsa",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> TestCertificate:
    """A self-signed personal certificate for ``nip`` (``serialNumber = TINPL-<nip>``).

    >>> subject_identifier(person_by_nip("5265877635", key="ec").certificate)
    ('Nip', '5265877635')
    """
    _check(nip, _NIP_FORMAT, "NIP")
    return _person(f"TINPL-{nip}", given_name, surname, key, not_before, not_after)


def _check(value: str, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigurationError(f"{value!r} is not a valid {what}")


def _attribute(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [
        value if isinstance(value := a.value, str) else value.decode("utf-8", "replace")
        for a in certificate.subject.get_attributes_for_oid(oid)
    ]


def subject_identifier(certificate: x509.Certificate) -> tuple[str, str]:
    """Who a certificate names, per KSeF's rules: ``("Nip", nip)`` or ``("Pesel", pesel)``.

    ``organizationIdentifier`` (2.5.4.97) is matched with ``(VATPL).*?(\\d{10})``; then
    ``serialNumber`` (2.5.4.5) with ``(PNOPL|PESEL).*?(\\d{11})`` and
    ``(TINPL|NIP).*?(\\d{10})``. Raises ValueError when none matches.

    >>> subject_identifier(company_seal("5265877635", key="ec").certificate)
    ('Nip', '5265877635')
    """
    for value in _attribute(certificate, _ORGANIZATION_IDENTIFIER):
        if match := _SEAL_RE.search(value):
            return "Nip", match["identifier"]
    for value in _attribute(certificate, NameOID.SERIAL_NUMBER):
        if match := _PESEL_RE.search(value):
            return "Pesel", match["identifier"]
        if match := _NIP_RE.search(value):
            return "Nip", match["identifier"]
    raise ValueError(
        "the certificate subject names no NIP or PESEL "
        "(organizationIdentifier VATPL-… or serialNumber PNOPL-…/TINPL-…)"
    )
