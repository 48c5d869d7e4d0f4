"""The emulator's encryption keys: KsefTokenEncryption and SymmetricKeyEncryption.

Two different RSA-2048 keys, each wrapped in a self-signed certificate ``CN=Ministerstwo
Finansów``, persisted in the store so a restarted emulator keeps decrypting what clients
encrypted with the published certificates. ``rotate`` adds a new key per usage (planned
rotation: both stay valid) or withdraws the old ones (emergency rotation: 21470 from then on).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .clock import Clock, isoformat, parse_datetime
from .errors import KsefApiError, bad_request
from .store import Store

__all__ = [
    "SYMMETRIC_KEY",
    "TOKEN_KEY",
    "EmulatorKeys",
    "KeyRecord",
    "public_key_id_of",
    "self_signed_certificate",
]

TOKEN_KEY = "KsefTokenEncryption"  # noqa: S105 - a key usage name
SYMMETRIC_KEY = "SymmetricKeyEncryption"

_POOL_LOCK = threading.Lock()
_POOL: list[rsa.RSAPrivateKey] = []


def _new_rsa_key(reuse: bool, index: int) -> rsa.RSAPrivateKey:
    """RSA-2048 keys are slow to make; tests may draw from a per-process pool instead."""
    if not reuse:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with _POOL_LOCK:
        while len(_POOL) <= index:
            _POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _POOL[index]


def public_key_id_of(key: rsa.RSAPublicKey) -> str:
    """Base64 SHA-256 of the DER SubjectPublicKeyInfo (the wire ``publicKeyId``)."""
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def self_signed_certificate(
    key: rsa.RSAPrivateKey, common_name: str, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    """A self-signed certificate ``CN=<common_name>, C=PL`` for ``key``."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class KeyRecord:
    """One published key (private part included: this is the server side)."""

    public_key_id: str
    usage: str
    private_key: rsa.RSAPrivateKey
    certificate_der: bytes
    valid_from: dt.datetime
    valid_to: dt.datetime
    withdrawn: bool

    def to_wire(self) -> dict[str, Any]:
        """The ``PublicKeyCertificate`` JSON object."""
        return {
            "certificate": base64.b64encode(self.certificate_der).decode("ascii"),
            "certificateId": base64.b64encode(
                hashlib.sha256(self.certificate_der).digest()
            ).decode(),
            "publicKeyId": self.public_key_id,
            "validFrom": isoformat(self.valid_from),
            "validTo": isoformat(self.valid_to),
            "usage": [self.usage],
        }


class EmulatorKeys:
    """Key management over the ``keys`` table.

    >>> from ksefkit.emulator.clock import SystemClock
    >>> keys = EmulatorKeys(Store(), SystemClock(), reuse=True); keys.ensure()
    >>> sorted(c["usage"][0] for c in keys.certificates())
    ['KsefTokenEncryption', 'SymmetricKeyEncryption']
    """

    def __init__(self, store: Store, clock: Clock, *, reuse: bool = False) -> None:
        self._store = store
        self._clock = clock
        self._reuse = reuse
        self._parsed: dict[str, rsa.RSAPrivateKey] = {}

    def ensure(self) -> None:
        """Create one key per usage if the store has none (first start)."""
        with self._store.tx():  # both keys or none
            for usage in (TOKEN_KEY, SYMMETRIC_KEY):
                if not self._active(usage):
                    self._create(usage)

    def certificates(self) -> list[dict[str, Any]]:
        """``GET /security/public-key-certificates``: every non-withdrawn key, newest first."""
        return [k.to_wire() for k in self._records() if not k.withdrawn]

    def private_key(self, usage: str, public_key_id: str | None) -> rsa.RSAPrivateKey:
        """The private key a client used, chosen by ``publicKeyId`` or the newest for ``usage``.

        Raises 400/21470 for an unknown, withdrawn or wrong-usage key id.
        """
        active = self._active(usage)
        if public_key_id is None:
            return active[0].private_key
        for record in active:
            if record.public_key_id == public_key_id:
                return record.private_key
        raise _unknown_key(public_key_id)

    def rotate(self, *, emergency: bool = False) -> list[str]:
        """Add a new key per usage; with ``emergency`` withdraw the old ones. Returns new ids."""
        with self._store.tx():
            if emergency:
                self._store.run("UPDATE keys SET withdrawn = 1")
            return [self._create(usage) for usage in (TOKEN_KEY, SYMMETRIC_KEY)]

    def _active(self, usage: str) -> list[KeyRecord]:
        return [k for k in self._records() if k.usage == usage and not k.withdrawn]

    def _records(self) -> list[KeyRecord]:
        rows = self._store.all("SELECT * FROM keys ORDER BY valid_from DESC, created DESC")
        return [_record(r, self._parsed) for r in rows]

    def _create(self, usage: str) -> str:
        count_row = self._store.one("SELECT COUNT(*) AS n FROM keys")
        index = int(count_row["n"]) if count_row else 0
        key = _new_rsa_key(self._reuse, index)
        now = self._clock.now().replace(microsecond=0)
        # Later keys must sort first (client rule: prefer the latest validFrom).
        valid_from = now - dt.timedelta(days=1) + dt.timedelta(seconds=index)
        cert = self_signed_certificate(
            key, "Ministerstwo Finansów", valid_from, valid_from + dt.timedelta(days=730)
        )
        key_id = public_key_id_of(key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._store.run(
            "INSERT INTO keys (public_key_id, usage, private_pem, certificate_der, valid_from,"
            " valid_to, withdrawn, created) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (
                key_id,
                usage,
                pem,
                cert.public_bytes(serialization.Encoding.DER),
                isoformat(valid_from),
                isoformat(valid_from + dt.timedelta(days=730)),
                isoformat(self._clock.now()),
            ),
        )
        return key_id


def _record(row: Any, parsed: dict[str, rsa.RSAPrivateKey]) -> KeyRecord:
    key = parsed.get(row["public_key_id"])
    if key is None:
        loaded = serialization.load_pem_private_key(bytes(row["private_pem"]), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError("the emulator only stores RSA keys")
        key = parsed[row["public_key_id"]] = loaded
    return KeyRecord(
        public_key_id=row["public_key_id"],
        usage=row["usage"],
        private_key=key,
        certificate_der=bytes(row["certificate_der"]),
        valid_from=parse_datetime(row["valid_from"]),
        valid_to=parse_datetime(row["valid_to"]),
        withdrawn=bool(row["withdrawn"]),
    )


def _unknown_key(public_key_id: str) -> KsefApiError:
    return bad_request(21470, f"Klucz o identyfikatorze {public_key_id} nie jest wspierany.")
