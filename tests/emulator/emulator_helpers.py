"""Helpers for emulator tests: a tiny hand-written KSeF client and invoice encryption.

Client-side crypto here uses ``cryptography`` directly (not ksefkit.crypto), so the
emulator's decryption is checked against an independent implementation.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sympad
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.invoices.generate import generate_fa3

START = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 2, 10)
BUYER = "7740001454"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64sha(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


def aes(data: bytes, key: bytes, iv: bytes) -> bytes:
    padder = sympad.PKCS7(128).padder()
    data = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def invoice(nip: str, number: str = "FV/1/2026", issue: dt.date = TODAY) -> bytes:
    return generate_fa3(seller_nip=nip, buyer_nip=BUYER, invoice_number=number, issue_date=issue)


def send_body(xml: bytes, key: bytes, iv: bytes, **overrides: Any) -> dict[str, Any]:
    ct = aes(xml, key, iv)
    body = {
        "invoiceHash": b64sha(xml),
        "invoiceSize": len(xml),
        "encryptedInvoiceHash": b64sha(ct),
        "encryptedInvoiceSize": len(ct),
        "encryptedInvoiceContent": b64(ct),
        "offlineMode": False,
    }
    body.update(overrides)
    return body


@dataclass
class Ksef:
    """A tiny hand-written KSeF client for tests (independent of the SDK)."""

    http: httpx.AsyncClient
    state: EmulatorState

    async def certificates(self, usage: str) -> tuple[Any, str]:
        certs = (await self.http.get("/v2/security/public-key-certificates")).json()
        item = next(c for c in certs if usage in c["usage"])
        cert = x509.load_der_x509_certificate(base64.b64decode(item["certificate"]))
        return cert.public_key(), item["publicKeyId"]

    async def start_auth(self, nip: str, token: str, *, stamp_delta: int = 0) -> dict[str, Any]:
        ch = (await self.http.post("/v2/auth/challenge")).json()
        pub, kid = await self.certificates("KsefTokenEncryption")
        plain = f"{token}|{ch['timestampMs'] + stamp_delta}".encode()
        body = {
            "challenge": ch["challenge"],
            "contextIdentifier": {"type": "Nip", "value": nip},
            "encryptedToken": b64(pub.encrypt(plain, OAEP)),
            "publicKeyId": kid,
        }
        resp = await self.http.post("/v2/auth/ksef-token", json=body)
        assert resp.status_code == 202, resp.text
        return dict(resp.json())

    async def login(self, subject: SeededSubject) -> dict[str, Any]:
        init = await self.start_auth(subject.nip, subject.token)
        bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
        status = (await self.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
        assert status["status"]["code"] == 200, status
        tokens = (await self.http.post("/v2/auth/token/redeem", headers=bearer)).json()
        return dict(tokens)

    async def bearer(self, subject: SeededSubject) -> dict[str, str]:
        tokens = await self.login(subject)
        return {"Authorization": f"Bearer {tokens['accessToken']['token']}"}

    async def open_session(
        self, headers: dict[str, str], key: bytes, iv: bytes, wrapped: bytes | None = None
    ) -> str:
        pub, kid = await self.certificates("SymmetricKeyEncryption")
        body = {
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {
                "encryptedSymmetricKey": b64(
                    wrapped if wrapped is not None else pub.encrypt(key, OAEP)
                ),
                "initializationVector": b64(iv),
                "publicKeyId": kid,
            },
        }
        resp = await self.http.post("/v2/sessions/online", json=body, headers=headers)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["referenceNumber"])

    async def send(self, headers: dict[str, str], ref: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            f"/v2/sessions/online/{ref}/invoices", json=body, headers=headers
        )

    async def invoice_status(self, headers: dict[str, str], ref: str, inv: str) -> dict[str, Any]:
        resp = await self.http.get(f"/v2/sessions/{ref}/invoices/{inv}", headers=headers)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def close(self, headers: dict[str, str], ref: str) -> None:
        resp = await self.http.post(f"/v2/sessions/online/{ref}/close", headers=headers)
        assert resp.status_code == 204, resp.text

    async def session_status(self, headers: dict[str, str], ref: str) -> dict[str, Any]:
        resp = await self.http.get(f"/v2/sessions/{ref}", headers=headers)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())
