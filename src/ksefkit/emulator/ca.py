"""The emulator's own certificate authority and the chain check behind status 460.

By default the emulator accepts self-signed signing certificates, as KSeF TEST does. With
``require_trusted_certificates=True`` (or ``?verifyCertificateChain=true`` on one request) a
certificate must be issued directly by a trusted CA: the emulator's CA (generated once and
persisted in the store; ``GET /_emulator/ca.pem``) or one of ``trusted_ca_pems``. Only a
one-level chain is checked (issuer name + signature + the CA's validity); no OCSP/CRL.

>>> import datetime as dt
>>> from cryptography.hazmat.primitives.asymmetric import ec
>>> ca = EmulatorCA.generate(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
>>> key = ec.generate_private_key(ec.SECP256R1())
>>> name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Jan")])
>>> cert = ca.issue(name, key.public_key(), now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
>>> chains_to(cert, [ca.certificate], dt.datetime(2026, 1, 3, tzinfo=dt.UTC))
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

__all__ = ["EmulatorCA", "chains_to", "is_self_signed", "load_pem_certificates"]

_CA_NAME = x509.Name(
    [
        x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "PL"),
        x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "ksefkit emulator"),
        x509.NameAttribute(x509.NameOID.COMMON_NAME, "ksefkit emulator test CA"),
    ]
)


@dataclass(frozen=True)
class EmulatorCA:
    """A CA key pair (EC P-256) and its self-signed certificate (ten years)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls, now: dt.datetime) -> EmulatorCA:
        """A fresh CA valid from a day before ``now``."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_CA_NAME)
            .issuer_name(_CA_NAME)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def from_pem(cls, data: bytes) -> EmulatorCA:
        """Load what :meth:`to_pem` wrote (key first, then certificate)."""
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the persisted CA key is not an EC key")
        return cls(x509.load_pem_x509_certificates(data)[0], key)

    def to_pem(self) -> bytes:
        """Private key (PKCS#8, unencrypted: a test CA) followed by the certificate."""
        key = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key + self.certificate_pem()

    def certificate_pem(self) -> bytes:
        """The CA certificate alone, PEM (what ``GET /_emulator/ca.pem`` serves)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        *,
        now: dt.datetime,
        valid_from: dt.datetime | None = None,
        valid_to: dt.datetime | None = None,
        serial_number: int | None = None,
        key_usage: x509.KeyUsage | None = None,
    ) -> x509.Certificate:
        """An end-entity certificate for ``subject`` (default validity now−61 min … +2 years).

        ``serial_number`` defaults to a random one; ``key_usage`` (critical) is added when
        given (KSeF certificates: digitalSignature or nonRepudiation).
        """
        start = valid_from or now - dt.timedelta(minutes=61)
        end = valid_to or now + dt.timedelta(days=730)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(serial_number or x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if key_usage is not None:
            builder = builder.add_extension(key_usage, critical=True)
        return builder.sign(self.private_key, hashes.SHA256())


def load_pem_certificates(pems: Sequence[bytes]) -> list[x509.Certificate]:
    """Every certificate in ``pems`` (each item may hold several)."""
    out: list[x509.Certificate] = []
    for pem in pems:
        out.extend(x509.load_pem_x509_certificates(pem))
    return out


def is_self_signed(cert: x509.Certificate) -> bool:
    """Whether ``cert`` is its own issuer (name match and a signature its key verifies)."""
    return cert.issuer == cert.subject and _signed_by(cert, cert)


def chains_to(
    cert: x509.Certificate, anchors: Sequence[x509.Certificate], now: dt.datetime
) -> bool:
    """Whether ``cert`` is issued directly by one of ``anchors`` valid at ``now``."""
    for anchor in anchors:
        if anchor.subject != cert.issuer:
            continue
        if not anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc:
            continue
        if _signed_by(cert, anchor):
            return True
    return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
