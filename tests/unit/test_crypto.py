"""Tests of ksefkit.crypto, checked against independent computations (hashlib, raw AES)."""

from __future__ import annotations

import base64
import doctest
import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

import ksefkit.crypto as crypto_module
from ksefkit.crypto import (
    EncryptedInvoice,
    KeyUsage,
    PublicKeyCertificate,
    SymmetricKey,
    aes_cbc_decrypt,
    aes_cbc_decrypt_stream,
    aes_cbc_encrypt,
    aes_cbc_encrypt_stream,
    certificate_id,
    encrypt_invoice,
    encrypt_ksef_token,
    encrypted_size,
    encryption_info,
    public_key_id,
    rsa_oaep_decrypt,
    rsa_oaep_encrypt,
    select_certificate,
    sha256_b64,
)
from ksefkit.errors import ConfigurationError, DecryptionError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@cache
def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed(
    key: CertificateIssuerPrivateKeyTypes,
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=365),
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ministerstwo Finansów")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def wire_item(cert: x509.Certificate, usage: list[str], **over: object) -> dict[str, object]:
    der = cert.public_bytes(Encoding.DER)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    item: dict[str, object] = {
        "certificate": base64.b64encode(der).decode(),
        "certificateId": base64.b64encode(hashlib.sha256(der).digest()).decode(),
        "publicKeyId": base64.b64encode(hashlib.sha256(spki).digest()).decode(),
        "validFrom": "2026-04-01T00:00:00.0000000+00:00",
        "validTo": "2027-04-01T00:00:00Z",
        "usage": usage,
    }
    item.update(over)
    return item


def raw_aes_decrypt(ct: bytes, key: SymmetricKey) -> bytes:
    """Independent AES-CBC decryption with manual PKCS#7 unpadding."""
    d = Cipher(algorithms.AES(key.key), modes.CBC(key.iv)).decryptor()
    padded = d.update(ct) + d.finalize()
    n = padded[-1]
    assert 1 <= n <= 16
    assert padded[-n:] == bytes([n]) * n
    return padded[:-n]


def test_doctests() -> None:
    result = doctest.testmod(crypto_module)
    assert result.attempted > 5
    assert result.failed == 0


# --- SymmetricKey -------------------------------------------------------------------------


def test_symmetric_key_lengths_and_b64_roundtrip() -> None:
    k = SymmetricKey.generate()
    assert len(k.key) == 32
    assert len(k.iv) == 16
    assert SymmetricKey.generate() != k
    key_b64, iv_b64 = k.to_b64()
    assert base64.b64decode(key_b64) == k.key
    assert base64.b64decode(iv_b64) == k.iv
    assert SymmetricKey.from_b64(key_b64, iv_b64) == k


@pytest.mark.parametrize(
    ("key", "iv"), [(bytes(31), bytes(16)), (bytes(32), bytes(15)), (b"", b"")]
)
def test_symmetric_key_rejects_bad_lengths(key: bytes, iv: bytes) -> None:
    with pytest.raises(ConfigurationError):
        SymmetricKey(key, iv)


def test_symmetric_key_from_bad_b64() -> None:
    with pytest.raises(ConfigurationError, match="Base64"):
        SymmetricKey.from_b64("not base64!!", base64.b64encode(bytes(16)).decode())


def test_symmetric_key_repr_hides_secret() -> None:
    k = SymmetricKey(b"\xab" * 32, b"\xcd" * 16)
    text = repr(k) + str(k)
    for secret in (k.key, k.iv):
        assert secret.hex() not in text
        assert base64.b64encode(secret).decode() not in text
        assert repr(secret) not in text
    assert "hidden" in text


# --- AES -------------------------------------------------------------------------------------


def test_aes_sizes_follow_padding_rule() -> None:
    k = SymmetricKey.generate()
    assert len(aes_cbc_encrypt(bytes(6480), k)) == 6496
    assert len(aes_cbc_encrypt(bytes(16037), k)) == 16048
    for n in (0, 1, 15, 16, 17, 31, 32):
        assert len(aes_cbc_encrypt(bytes(n), k)) == encrypted_size(n) == (n // 16 + 1) * 16


def test_aes_decrypts_independently_and_has_no_iv_prefix() -> None:
    k = SymmetricKey.generate()
    data = "<Faktura>zażółć</Faktura>".encode() * 100
    ct = aes_cbc_encrypt(data, k)
    assert raw_aes_decrypt(ct, k) == data
    assert aes_cbc_decrypt(ct, k) == data
    # Same key + IV => deterministic (KSeF reuses them for every invoice of a session).
    assert aes_cbc_encrypt(data, k) == ct
    assert not ct.startswith(k.iv)


def test_aes_streams_match_one_shot() -> None:
    k = SymmetricKey.generate()
    data = bytes(range(256)) * 40 + b"tail"
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    ct = b"".join(aes_cbc_encrypt_stream(chunks, k))
    assert ct == aes_cbc_encrypt(data, k)
    ct_chunks = [ct[i : i + 7] for i in range(0, len(ct), 7)]
    assert b"".join(aes_cbc_decrypt_stream(ct_chunks, k)) == data


@pytest.mark.parametrize("bad", [b"", b"x" * 15, b"x" * 17])
def test_aes_decrypt_bad_length(bad: bytes) -> None:
    with pytest.raises(DecryptionError):
        aes_cbc_decrypt(bad, SymmetricKey.generate())
    with pytest.raises(DecryptionError):
        b"".join(aes_cbc_decrypt_stream([bad], SymmetricKey.generate()))


def test_aes_decrypt_bad_padding_is_decryption_error() -> None:
    k = SymmetricKey(bytes(32), bytes(16))
    # Raw CBC of a zero block: its "padding byte" decrypts to 0, which PKCS#7 forbids.
    e = Cipher(algorithms.AES(k.key), modes.CBC(k.iv)).encryptor()
    ct = e.update(bytes(16)) + e.finalize()
    with pytest.raises(DecryptionError, match="cannot decrypt") as info:
        aes_cbc_decrypt(ct, k)
    assert isinstance(info.value, ValueError)


# --- hashes / ids ------------------------------------------------------------------------


def test_sha256_b64_matches_hashlib() -> None:
    data = b"invoice bytes"
    assert sha256_b64(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert len(sha256_b64(data)) == 44


def test_public_key_and_certificate_ids() -> None:
    key = rsa_key()
    cert = self_signed(key)
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert (
        public_key_id(key.public_key()) == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    )
    der = cert.public_bytes(Encoding.DER)
    assert certificate_id(cert) == base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert public_key_id(cert.public_key()) == public_key_id(key.public_key())


# --- RSA -------------------------------------------------------------------------------------


def test_rsa_oaep_roundtrip_with_independent_decrypt() -> None:
    key = rsa_key()
    ct = rsa_oaep_encrypt(key.public_key(), b"secret")
    assert key.decrypt(ct, OAEP) == b"secret"
    assert rsa_oaep_decrypt(key, key.public_key().encrypt(b"abc", OAEP)) == b"abc"


def test_rsa_oaep_uses_mgf1_sha256_not_sha1() -> None:
    key = rsa_key()
    ct = rsa_oaep_encrypt(key.public_key(), b"secret")
    sha1_mgf = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None)
    with pytest.raises(ValueError, match="Decryption failed"):
        key.decrypt(ct, sha1_mgf)


def test_rsa_oaep_decrypt_failure() -> None:
    with pytest.raises(DecryptionError):
        rsa_oaep_decrypt(rsa_key(), b"\x00" * 256)
    with pytest.raises(DecryptionError):
        rsa_oaep_decrypt(rsa_key(), b"short")


def test_encrypt_ksef_token() -> None:
    key = rsa_key()
    out = encrypt_ksef_token(
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|abc", 1700, key.public_key()
    )
    plain = key.decrypt(base64.b64decode(out), OAEP)
    assert plain == b"20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|abc|1700"


# --- invoice encryption ----------------------------------------------------------------------


def test_encrypt_invoice_and_wire() -> None:
    k = SymmetricKey.generate()
    xml = b"<Faktura>" + b"a" * 6461 + b"</Faktura>"
    assert len(xml) == 6480
    inv = encrypt_invoice(xml, k)
    assert inv.invoice_size == 6480
    assert inv.encrypted_invoice_size == 6496 == len(inv.encrypted_invoice_content)
    assert inv.invoice_hash == base64.b64encode(hashlib.sha256(xml).digest()).decode()
    ct_hash = hashlib.sha256(inv.encrypted_invoice_content).digest()
    assert inv.encrypted_invoice_hash == base64.b64encode(ct_hash).decode()
    assert raw_aes_decrypt(inv.encrypted_invoice_content, k) == xml

    wire = inv.to_wire()
    assert wire == {
        "invoiceHash": inv.invoice_hash,
        "invoiceSize": 6480,
        "encryptedInvoiceHash": inv.encrypted_invoice_hash,
        "encryptedInvoiceSize": 6496,
        "encryptedInvoiceContent": base64.b64encode(inv.encrypted_invoice_content).decode(),
        "offlineMode": False,
    }
    corrected = sha256_b64(b"old")
    wire2 = inv.to_wire(offline_mode=True, hash_of_corrected_invoice=corrected)
    assert wire2["offlineMode"] is True
    assert wire2["hashOfCorrectedInvoice"] == corrected


def test_encrypted_invoice_repr_hides_content() -> None:
    inv = EncryptedInvoice("h", 1, "eh", 16, b"\x99" * 16)
    assert "\\x99" not in repr(inv)
    assert "encrypted_invoice_content" not in repr(inv)
    assert "invoice_size=1" in repr(inv)


def test_encryption_info() -> None:
    key = rsa_key()
    k = SymmetricKey.generate()
    info = encryption_info(k, key.public_key(), "KID")
    assert set(info) == {"encryptedSymmetricKey", "initializationVector", "publicKeyId"}
    assert key.decrypt(base64.b64decode(info["encryptedSymmetricKey"]), OAEP) == k.key
    assert base64.b64decode(info["initializationVector"]) == k.iv
    assert info["publicKeyId"] == "KID"
    assert "publicKeyId" not in encryption_info(k, key.public_key(), None)


# --- public-key certificates ----------------------------------------------------------------


def test_from_wire_on_self_made_cert() -> None:
    key = rsa_key()
    cert = self_signed(key)
    item = wire_item(cert, ["SymmetricKeyEncryption"])
    pkc = PublicKeyCertificate.from_wire(item)
    assert pkc.certificate == cert
    assert pkc.usage == frozenset({"SymmetricKeyEncryption"})
    assert pkc.public_key_id == item["publicKeyId"]
    assert pkc.certificate_id == item["certificateId"]
    assert pkc.valid_from == datetime(2026, 4, 1, tzinfo=UTC)
    assert pkc.valid_to == datetime(2027, 4, 1, tzinfo=UTC)
    assert pkc.public_key.public_numbers() == key.public_key().public_numbers()


def test_from_wire_key_id_mismatch() -> None:
    cert = self_signed(rsa_key())
    other = public_key_id(rsa.generate_private_key(65537, 1024).public_key())
    with pytest.raises(ConfigurationError, match="publicKeyId"):
        PublicKeyCertificate.from_wire(wire_item(cert, ["KsefTokenEncryption"], publicKeyId=other))


@pytest.mark.parametrize(
    "over",
    [
        {"certificate": "!!!"},
        {"certificate": base64.b64encode(b"junk").decode()},
        {"validTo": "soon"},
    ],
)
def test_from_wire_malformed(over: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        PublicKeyCertificate.from_wire(
            wire_item(self_signed(rsa_key()), ["KsefTokenEncryption"], **over)
        )


def test_from_wire_missing_field() -> None:
    item = wire_item(self_signed(rsa_key()), ["KsefTokenEncryption"])
    del item["usage"]
    with pytest.raises(ConfigurationError, match="usage"):
        PublicKeyCertificate.from_wire(item)


def test_non_rsa_public_key_refused() -> None:
    cert = self_signed(ec.generate_private_key(ec.SECP256R1()))
    pkc = PublicKeyCertificate.from_wire(wire_item(cert, ["KsefTokenEncryption"]))
    with pytest.raises(ConfigurationError, match="not RSA"):
        _ = pkc.public_key


def make_pkc(usage: set[str], start: datetime, end: datetime, n: int = 0) -> PublicKeyCertificate:
    cert = self_signed(rsa_key(n))
    return PublicKeyCertificate(
        cert, frozenset(usage), start, end, f"kid-{n}", certificate_id(cert)
    )


def test_select_certificate_rules() -> None:
    day = timedelta(days=1)
    sym, tok = KeyUsage.SYMMETRIC_KEY_ENCRYPTION, KeyUsage.KSEF_TOKEN_ENCRYPTION
    old = make_pkc({sym}, NOW - 100 * day, NOW + 100 * day, 1)
    newer = make_pkc({sym}, NOW - 10 * day, NOW + 100 * day, 2)
    expired = make_pkc({sym}, NOW - 5 * day, NOW - day, 3)
    future = make_pkc({sym}, NOW + day, NOW + 100 * day, 4)
    token = make_pkc({tok}, NOW - 2 * day, NOW + 100 * day, 5)
    both = [old, newer, expired, future, token]

    assert select_certificate(both, sym, NOW) is newer
    assert select_certificate(both, "SymmetricKeyEncryption", NOW) is newer
    assert select_certificate(both, tok, NOW) is token
    assert select_certificate([old, expired], sym, NOW) is old
    # naive "now" is taken as UTC
    assert select_certificate(both, sym, NOW.replace(tzinfo=None)) is newer
    # valid_to is exclusive, valid_from inclusive
    assert select_certificate([future], sym, NOW + day) is future
    with pytest.raises(ConfigurationError, match="SymmetricKeyEncryption"):
        select_certificate([expired], sym, NOW - day)


@pytest.mark.parametrize(
    "certs",
    [
        [],
        [make_pkc({"KsefTokenEncryption"}, NOW - timedelta(days=1), NOW + timedelta(days=1))],
        [make_pkc({"SymmetricKeyEncryption"}, NOW + timedelta(days=1), NOW + timedelta(days=9))],
    ],
)
def test_select_certificate_none_suitable(certs: list[PublicKeyCertificate]) -> None:
    with pytest.raises(ConfigurationError, match="no KSeF public-key certificate"):
        select_certificate(certs, KeyUsage.SYMMETRIC_KEY_ENCRYPTION, NOW)


def test_key_usage_values() -> None:
    assert KeyUsage.KSEF_TOKEN_ENCRYPTION == "KsefTokenEncryption"
    assert KeyUsage.SYMMETRIC_KEY_ENCRYPTION == "SymmetricKeyEncryption"
