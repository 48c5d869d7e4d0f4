"""KSeF cryptography: AES-256-CBC, RSA-OAEP-SHA256, SHA-256, invoice and token encryption,
and the choice of the Ministry's public-key certificate (KSEF_API.md §3).

Pure functions over ``cryptography``. The AES ciphertext is *not* prefixed with the IV: the IV
travels separately in ``EncryptionInfo`` and every invoice/part of a session reuses the same
key and IV (§3.3, §17.1).

>>> key = SymmetricKey.generate()
>>> aes_cbc_decrypt(aes_cbc_encrypt(b"<Faktura/>", key), key)
b'<Faktura/>'
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import ConfigurationError, DecryptionError

__all__ = [
    "EncryptedInvoice",
    "KeyUsage",
    "PublicKeyCertificate",
    "SymmetricKey",
    "aes_cbc_decrypt",
    "aes_cbc_decrypt_stream",
    "aes_cbc_encrypt",
    "aes_cbc_encrypt_stream",
    "b64",
    "certificate_id",
    "encrypt_invoice",
    "encrypt_ksef_token",
    "encrypted_size",
    "encryption_info",
    "parse_wire_datetime",
    "public_key_id",
    "rsa_oaep_decrypt",
    "rsa_oaep_encrypt",
    "select_certificate",
    "sha256_b64",
]

_BLOCK = 16
_KEY_SIZE = 32


def _oaep() -> padding.OAEP:
    # MGF1 must use SHA-256 too (Java's default OAEP-SHA256 uses MGF1-SHA1: wrong for KSeF).
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64(data: bytes) -> str:
    """Standard Base64 with padding, as text.

    >>> b64(b"ksef")
    'a3NlZg=='
    """
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{what} is not valid Base64") from exc


def sha256_b64(data: bytes) -> str:
    """Base64 of the SHA-256 digest (44 chars), the form every KSeF hash field uses.

    >>> sha256_b64(b"")
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
    """
    return b64(hashlib.sha256(data).digest())


@dataclass(frozen=True, repr=False)
class SymmetricKey:
    """The AES-256 key and IV of one session or export. ``repr`` never shows the key.

    >>> k = SymmetricKey(bytes(32), bytes(16))
    >>> SymmetricKey.from_b64(*k.to_b64()) == k
    True
    """

    key: bytes
    iv: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) != _KEY_SIZE:
            raise ConfigurationError("AES-256 key must be 32 bytes")
        if not isinstance(self.iv, bytes) or len(self.iv) != _BLOCK:
            raise ConfigurationError("AES-CBC IV must be 16 bytes")

    @classmethod
    def generate(cls) -> SymmetricKey:
        """A fresh random key and IV (``os.urandom``)."""
        return cls(os.urandom(_KEY_SIZE), os.urandom(_BLOCK))

    def to_b64(self) -> tuple[str, str]:
        """``(key_b64, iv_b64)``."""
        return b64(self.key), b64(self.iv)

    @classmethod
    def from_b64(cls, key_b64: str, iv_b64: str) -> SymmetricKey:
        """The inverse of :meth:`to_b64`; bad Base64 or lengths raise ConfigurationError."""
        return cls(_b64decode(key_b64, "AES key"), _b64decode(iv_b64, "AES IV"))

    def __repr__(self) -> str:
        return "SymmetricKey(key=<hidden>, iv=<hidden>)"


def encrypted_size(plain_size: int) -> int:
    """Ciphertext length of AES-CBC/PKCS#7 for ``plain_size`` bytes (always adds 1..16 B).

    >>> encrypted_size(6480), encrypted_size(16037)
    (6496, 16048)
    """
    return (plain_size // _BLOCK + 1) * _BLOCK


def _cipher(key: SymmetricKey) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key.key), modes.CBC(key.iv))


def aes_cbc_encrypt(data: bytes, key: SymmetricKey) -> bytes:
    """AES-256-CBC with PKCS#7 padding, no IV prefix.

    >>> len(aes_cbc_encrypt(bytes(6480), SymmetricKey.generate()))
    6496
    """
    return b"".join(aes_cbc_encrypt_stream([data], key))


def aes_cbc_decrypt(data: bytes, key: SymmetricKey) -> bytes:
    """Inverse of :func:`aes_cbc_encrypt`; bad length or padding raise DecryptionError.

    >>> aes_cbc_decrypt(b"short", SymmetricKey.generate())
    Traceback (most recent call last):
    ksefkit.errors.DecryptionError: ciphertext length 5 is not a positive multiple of 16
    """
    if not data or len(data) % _BLOCK:
        raise DecryptionError(f"ciphertext length {len(data)} is not a positive multiple of 16")
    return b"".join(aes_cbc_decrypt_stream([data], key))


def aes_cbc_encrypt_stream(chunks: Iterable[bytes], key: SymmetricKey) -> Iterator[bytes]:
    """Encrypt a stream of chunks (e.g. a batch part read from disk) without holding it all.

    >>> k = SymmetricKey.generate()
    >>> b"".join(aes_cbc_encrypt_stream([b"ab", b"cd"], k)) == aes_cbc_encrypt(b"abcd", k)
    True
    """
    padder = sym_padding.PKCS7(128).padder()
    encryptor = _cipher(key).encryptor()
    for chunk in chunks:
        out = encryptor.update(padder.update(chunk))
        if out:
            yield out
    yield encryptor.update(padder.finalize()) + encryptor.finalize()


def aes_cbc_decrypt_stream(chunks: Iterable[bytes], key: SymmetricKey) -> Iterator[bytes]:
    """Decrypt a stream of ciphertext chunks; bad total length or padding → DecryptionError.

    >>> k = SymmetricKey.generate()
    >>> b"".join(aes_cbc_decrypt_stream([aes_cbc_encrypt(b"abcd", k)], k))
    b'abcd'
    """
    unpadder = sym_padding.PKCS7(128).unpadder()
    decryptor = _cipher(key).decryptor()
    total = 0
    try:
        for chunk in chunks:
            total += len(chunk)
            out = unpadder.update(decryptor.update(chunk))
            if out:
                yield out
        if total == 0 or total % _BLOCK:
            raise DecryptionError(f"ciphertext length {total} is not a positive multiple of 16")
        yield unpadder.update(decryptor.finalize()) + unpadder.finalize()
    except DecryptionError:
        raise
    except ValueError as exc:
        raise DecryptionError(f"cannot decrypt: {exc}") from exc


def rsa_oaep_encrypt(public_key: RSAPublicKey, data: bytes) -> bytes:
    """RSA-OAEP with SHA-256 and MGF1-SHA-256, empty label (§3.2)."""
    return public_key.encrypt(data, _oaep())


def rsa_oaep_decrypt(private_key: RSAPrivateKey, data: bytes) -> bytes:
    """Inverse of :func:`rsa_oaep_encrypt`; any failure raises DecryptionError."""
    try:
        return private_key.decrypt(data, _oaep())
    except ValueError as exc:
        raise DecryptionError("RSA-OAEP decryption failed") from exc


def public_key_id(public_key: PublicKeyTypes) -> str:
    """Base64 SHA-256 of the DER ``SubjectPublicKeyInfo`` (KSeF ``publicKeyId``)."""
    return sha256_b64(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def certificate_id(cert: x509.Certificate) -> str:
    """Base64 SHA-256 of the certificate DER (KSeF ``certificateId``)."""
    return sha256_b64(cert.public_bytes(Encoding.DER))


def encrypt_ksef_token(token: str, timestamp_ms: int, public_key: RSAPublicKey) -> str:
    """Base64 of RSA-OAEP(``"{token}|{timestampMs}"``) for ``POST /auth/ksef-token``.

    ``timestamp_ms`` is the ``timestampMs`` of the auth challenge.
    """
    return b64(rsa_oaep_encrypt(public_key, f"{token}|{timestamp_ms}".encode()))


@dataclass(frozen=True)
class EncryptedInvoice:
    """One encrypted invoice with the hashes and sizes ``SendInvoiceRequest`` declares."""

    invoice_hash: str
    invoice_size: int
    encrypted_invoice_hash: str
    encrypted_invoice_size: int
    encrypted_invoice_content: bytes = field(repr=False)

    def to_wire(
        self, offline_mode: bool = False, hash_of_corrected_invoice: str | None = None
    ) -> dict[str, object]:
        """The ``SendInvoiceRequest`` JSON body (camelCase, content Base64)."""
        body: dict[str, object] = {
            "invoiceHash": self.invoice_hash,
            "invoiceSize": self.invoice_size,
            "encryptedInvoiceHash": self.encrypted_invoice_hash,
            "encryptedInvoiceSize": self.encrypted_invoice_size,
            "encryptedInvoiceContent": b64(self.encrypted_invoice_content),
            "offlineMode": offline_mode,
        }
        if hash_of_corrected_invoice is not None:
            body["hashOfCorrectedInvoice"] = hash_of_corrected_invoice
        return body


def encrypt_invoice(xml: bytes, key: SymmetricKey) -> EncryptedInvoice:
    """Encrypt an invoice and compute the hashes and sizes of both forms.

    >>> inv = encrypt_invoice(b"<Faktura/>", SymmetricKey.generate())
    >>> inv.invoice_size, inv.encrypted_invoice_size
    (10, 16)
    """
    ct = aes_cbc_encrypt(xml, key)
    return EncryptedInvoice(sha256_b64(xml), len(xml), sha256_b64(ct), len(ct), ct)


def encryption_info(
    key: SymmetricKey, public_key: RSAPublicKey, public_key_id: str | None
) -> dict[str, str]:
    """The ``EncryptionInfo`` JSON of a session/export (``publicKeyId`` omitted when None)."""
    info = {
        "encryptedSymmetricKey": b64(rsa_oaep_encrypt(public_key, key.key)),
        "initializationVector": b64(key.iv),
    }
    if public_key_id is not None:
        info["publicKeyId"] = public_key_id
    return info


class KeyUsage(enum.StrEnum):
    """What a published KSeF public key may encrypt (``PublicKeyCertificateUsage``)."""

    KSEF_TOKEN_ENCRYPTION = "KsefTokenEncryption"  # noqa: S105 (a purpose, not a secret)
    SYMMETRIC_KEY_ENCRYPTION = "SymmetricKeyEncryption"


def parse_wire_datetime(text: str) -> datetime:
    """Parse a KSeF ISO 8601 date-time (7 fractional digits, ``Z`` or offset; naive = UTC).

    >>> parse_wire_datetime("2025-07-11T12:23:56.0154302+00:00").isoformat()
    '2025-07-11T12:23:56.015430+00:00'
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigurationError(f"not an ISO 8601 date-time: {text!r}") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PublicKeyCertificate:
    """One entry of ``GET /security/public-key-certificates``, parsed and checked."""

    certificate: x509.Certificate
    usage: frozenset[str]
    valid_from: datetime
    valid_to: datetime
    public_key_id: str
    certificate_id: str

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> PublicKeyCertificate:
        """Parse one JSON item; a ``publicKeyId`` not matching the certificate's SPKI (or a
        malformed item) raises ConfigurationError."""
        try:
            der = _b64decode(str(item["certificate"]), "certificate")
            cert = x509.load_der_x509_certificate(der)
            usage = frozenset(str(u) for u in item["usage"])
            valid_from = parse_wire_datetime(str(item["validFrom"]))
            valid_to = parse_wire_datetime(str(item["validTo"]))
            declared_key_id = item.get("publicKeyId")
        except KeyError as exc:
            raise ConfigurationError(f"public-key certificate lacks {exc.args[0]!r}") from exc
        except ValueError as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(f"unreadable public-key certificate: {exc}") from exc
        key_id = public_key_id(cert.public_key())
        if declared_key_id is not None and declared_key_id != key_id:
            raise ConfigurationError(
                f"publicKeyId {declared_key_id!r} does not match the certificate's key {key_id!r}"
            )
        return cls(cert, usage, valid_from, valid_to, key_id, certificate_id(cert))

    @property
    def public_key(self) -> RSAPublicKey:
        """The RSA public key (KSeF publishes RSA keys; anything else is refused)."""
        key = self.certificate.public_key()
        if not isinstance(key, RSAPublicKey):
            raise ConfigurationError(
                f"KSeF public key {self.public_key_id} is {type(key).__name__}, not RSA"
            )
        return key

    def is_valid_at(self, now: datetime) -> bool:
        """True if ``valid_from <= now < valid_to`` (naive ``now`` is taken as UTC)."""
        return self.valid_from <= _aware(now) < self.valid_to


def select_certificate(
    certs: Sequence[PublicKeyCertificate], usage: str, now: datetime
) -> PublicKeyCertificate:
    """The certificate to use for ``usage`` at ``now``: usage matches, valid now, and the
    latest ``valid_from`` wins (§3.1). None suitable → ConfigurationError."""
    usable = [c for c in certs if str(usage) in c.usage and c.is_valid_at(now)]
    if not usable:
        described = ", ".join(
            f"{c.public_key_id} ({'/'.join(sorted(c.usage))}, "
            f"{c.valid_from.isoformat()}..{c.valid_to.isoformat()})"
            for c in certs
        )
        raise ConfigurationError(
            f"no KSeF public-key certificate for {str(usage)!r} is valid at "
            f"{_aware(now).isoformat()}; published: {described or 'none'}"
        )
    return max(usable, key=lambda c: c.valid_from)
