"""Batch packages for emulator tests, built with the stdlib and ``cryptography`` only.

Independent of the SDK's packager: ZIP/tar.gz via zipfile/tarfile, plain byte-range split,
AES-256-CBC/PKCS#7 per part with the session key and IV (emulator_helpers.aes).
"""

from __future__ import annotations

import io
import math
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import httpx
from emulator_helpers import OAEP, Ksef, aes, b64, b64sha

FA3 = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def targz_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def split(archive: bytes, parts: int) -> list[bytes]:
    """Plain byte ranges, as the C# reference client cuts them."""
    size = math.ceil(len(archive) / parts)
    return [archive[i * size : (i + 1) * size] for i in range(parts)]


@dataclass
class Package:
    """An archive, its encrypted parts and the session key/IV that encrypted them."""

    archive: bytes
    key: bytes
    iv: bytes
    parts: list[bytes] = field(default_factory=list)
    compression: str = "Zip"

    @classmethod
    def build(
        cls, archive: bytes, key: bytes, iv: bytes, parts: int = 1, compression: str = "Zip"
    ) -> Package:
        encrypted = [aes(chunk, key, iv) for chunk in split(archive, parts)]
        return cls(archive, key, iv, encrypted, compression)

    def declaration(self) -> dict[str, Any]:
        return {
            "fileSize": len(self.archive),
            "fileHash": b64sha(self.archive),
            "compressionType": self.compression,
            "fileParts": [
                {"ordinalNumber": i, "fileSize": len(p), "fileHash": b64sha(p)}
                for i, p in enumerate(self.parts, start=1)
            ],
        }


async def open_body(ksef: Ksef, pkg: Package, **overrides: Any) -> dict[str, Any]:
    pub, kid = await ksef.certificates("SymmetricKeyEncryption")
    body: dict[str, Any] = {
        "formCode": FA3,
        "batchFile": pkg.declaration(),
        "encryption": {
            "encryptedSymmetricKey": b64(pub.encrypt(pkg.key, OAEP)),
            "initializationVector": b64(pkg.iv),
            "publicKeyId": kid,
        },
        "offlineMode": False,
    }
    body.update(overrides)
    return body


async def open_batch(
    ksef: Ksef, headers: dict[str, str], pkg: Package, **overrides: Any
) -> dict[str, Any]:
    resp = await ksef.http.post(
        "/v2/sessions/batch", json=await open_body(ksef, pkg, **overrides), headers=headers
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def upload(ksef: Ksef, request: dict[str, Any], content: Any) -> httpx.Response:
    """PUT one part exactly as instructed (method, url, headers) — no Authorization."""
    resp = await ksef.http.request(
        request["method"], request["url"], headers=request["headers"], content=content
    )
    assert "authorization" not in {k.lower() for k in resp.request.headers}
    return resp


async def upload_all(ksef: Ksef, opened: dict[str, Any], pkg: Package) -> None:
    for request in opened["partUploadRequests"]:
        resp = await upload(ksef, request, pkg.parts[request["ordinalNumber"] - 1])
        assert resp.status_code == 201, resp.text


async def close(ksef: Ksef, headers: dict[str, str], ref: str) -> httpx.Response:
    return await ksef.http.post(f"/v2/sessions/batch/{ref}/close", headers=headers)


async def send_package(
    ksef: Ksef, headers: dict[str, str], pkg: Package, **overrides: Any
) -> tuple[str, dict[str, Any]]:
    """Open, upload every part, close (204); returns the reference and the session status."""
    opened = await open_batch(ksef, headers, pkg, **overrides)
    await upload_all(ksef, opened, pkg)
    ref = str(opened["referenceNumber"])
    resp = await close(ksef, headers, ref)
    assert resp.status_code == 204, resp.text
    return ref, await ksef.session_status(headers, ref)


async def invoices(
    ksef: Ksef, headers: dict[str, str], ref: str, failed: bool = False
) -> list[Any]:
    path = f"/v2/sessions/{ref}/invoices" + ("/failed" if failed else "")
    resp = await ksef.http.get(path, headers=headers, params={"pageSize": 100})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["invoices"])


def code(resp: httpx.Response) -> int:
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


def details(resp: httpx.Response) -> list[str]:
    return list(resp.json()["exception"]["exceptionDetailList"][0]["details"])
