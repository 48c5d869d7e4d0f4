"""Invoice exports: POST /invoices/exports, the package build, status, part downloads."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tarfile
import zipfile
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding as sympad
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from emulator_helpers import OAEP, START, Ksef, b64, b64sha, invoice

from ksefkit.emulator.clock import isoformat
from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio

FROM = isoformat(START - dt.timedelta(days=1))


def seed(state: EmulatorState, nip: str, count: int) -> list[tuple[str, bytes]]:
    """``count`` stored invoices of seller ``nip``, one a minute before START (ksef, xml)."""
    out = []
    for i in range(count):
        when = START - dt.timedelta(minutes=count - i)
        xml = invoice(nip, f"FV/{i}/2026", when.date())
        ksef = f"{nip}-{when:%Y%m%d}-{i:012X}-00"
        state.store.run(
            "INSERT INTO invoices (reference_number, session_reference, ordinal_number,"
            " invoice_hash, invoice_size, offline_mode, invoicing_date, status_code,"
            " status_description, xml, ksef_number, invoice_number, seller_nip, invoice_type,"
            " issue_date, acquisition_date, permanent_storage_date, invoicing_mode, form_code)"
            " VALUES (?, 'S', ?, ?, ?, 0, ?, 200, 'Sukces', ?, ?, ?, ?, 'VAT', ?, ?, ?,"
            " 'Online', 'FA3')",
            (
                f"R{i}",
                i,
                b64sha(xml),
                len(xml),
                isoformat(when),
                xml,
                ksef,
                f"FV/{i}/2026",
                nip,
                when.date().isoformat(),
                isoformat(when),
                isoformat(when + dt.timedelta(seconds=1)),
            ),
        )
        out.append((ksef, xml))
    return out


async def export_body(
    ksef: Ksef, key: bytes, iv: bytes, *, date_type: str = "PermanentStorage", **extra: Any
) -> dict[str, Any]:
    pub, kid = await ksef.certificates("SymmetricKeyEncryption")
    body: dict[str, Any] = {
        "encryption": {
            "encryptedSymmetricKey": b64(pub.encrypt(key, OAEP)),
            "initializationVector": b64(iv),
            "publicKeyId": kid,
        },
        "filters": {
            "subjectType": "Subject1",
            "dateRange": {"dateType": date_type, "from": FROM},
        },
    }
    body.update(extra)
    return body


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(data) + dec.finalize()
    unpadder = sympad.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


async def run_export(
    ksef: Ksef, headers: dict[str, str], body: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    ref = resp.json()["referenceNumber"]
    assert ref[9:11] == "EH"
    status = await ksef.http.get(f"/v2/invoices/exports/{ref}", headers=headers)
    assert status.status_code == 200, status.text
    return ref, status.json()


async def download(ksef: Ksef, package: dict[str, Any], key: bytes, iv: bytes) -> bytes:
    archive = b""
    for part in sorted(package["parts"], key=lambda p: p["ordinalNumber"]):
        resp = await ksef.http.get(part["url"])  # no bearer
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-ms-meta-hash"] == b64sha(resp.content) == part["encryptedPartHash"]
        assert len(resp.content) == part["encryptedPartSize"]
        plain = decrypt(resp.content, key, iv)
        assert len(plain) == part["partSize"] and b64sha(plain) == part["partHash"]
        archive += plain
    assert len(archive) == package["size"]
    return archive


def zip_entries(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.fixture
def key_iv() -> tuple[bytes, bytes]:
    return os.urandom(32), os.urandom(16)


async def test_happy_path_zip(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    invoices = seed(ksef.state, subject.nip, 3)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    _, status = await run_export(ksef, headers, await export_body(ksef, key, iv))
    assert status["status"]["code"] == 200, status
    assert status["completedDate"] and status["packageExpirationDate"]
    package = status["package"]
    assert package["invoiceCount"] == 3 and package["isTruncated"] is False
    assert "lastPermanentStorageDate" not in package
    assert "permanentStorageHwmDate" in package
    part = package["parts"][0]
    assert part["method"] == "GET" and part["partName"].endswith("-001.zip.aes")
    entries = zip_entries(await download(ksef, package, key, iv))
    assert entries.keys() == {f"{k}.xml" for k, _ in invoices} | {"_metadata.json"}
    for number, xml in invoices:
        assert entries[f"{number}.xml"] == xml
    meta = json.loads(entries["_metadata.json"])
    assert [m["ksefNumber"] for m in meta["invoices"]] == [k for k, _ in invoices]


async def test_tar_gz(ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]) -> None:
    invoices = seed(ksef.state, subject.nip, 2)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    body = await export_body(ksef, key, iv, compressionType="TarGz")
    _, status = await run_export(ksef, headers, body)
    package = status["package"]
    assert package["parts"][0]["partName"].endswith("-001.tar.gz.aes")
    archive = await download(ksef, package, key, iv)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tf:
        entries = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}  # type: ignore[union-attr]
    assert entries[f"{invoices[1][0]}.xml"] == invoices[1][1]
    assert len(json.loads(entries["_metadata.json"])["invoices"]) == 2


async def test_only_metadata(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    seed(ksef.state, subject.nip, 2)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    _, status = await run_export(ksef, headers, await export_body(ksef, key, iv, onlyMetadata=True))
    entries = zip_entries(await download(ksef, status["package"], key, iv))
    assert list(entries) == ["_metadata.json"]
    assert len(json.loads(entries["_metadata.json"])["invoices"]) == 2


async def test_multi_part(ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]) -> None:
    ksef.state.config.export_part_size = 1000
    invoices = seed(ksef.state, subject.nip, 4)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    _, status = await run_export(ksef, headers, await export_body(ksef, key, iv))
    package = status["package"]
    assert len(package["parts"]) > 1
    assert [p["ordinalNumber"] for p in package["parts"]] == list(
        range(1, len(package["parts"]) + 1)
    )
    assert all(p["partSize"] <= 1000 for p in package["parts"])
    entries = zip_entries(await download(ksef, package, key, iv))
    assert all(entries[f"{k}.xml"] == x for k, x in invoices)


async def test_truncated_package(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    ksef.state.config.export_max_invoices = 2
    invoices = seed(ksef.state, subject.nip, 3)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    _, status = await run_export(ksef, headers, await export_body(ksef, key, iv))
    package = status["package"]
    assert package["isTruncated"] is True and package["invoiceCount"] == 2
    entries = zip_entries(await download(ksef, package, key, iv))
    meta = json.loads(entries["_metadata.json"])["invoices"]
    assert [m["ksefNumber"] for m in meta] == [k for k, _ in invoices[:2]]
    assert package["lastPermanentStorageDate"] == meta[-1]["permanentStorageDate"]
    assert "lastIssueDate" not in package and "lastInvoicingDate" not in package


async def test_expired_link_and_fresh_link(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    ksef.state.config.export_link_lifetime = 60
    seed(ksef.state, subject.nip, 1)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    ref, status = await run_export(ksef, headers, await export_body(ksef, key, iv))
    old = status["package"]["parts"][0]["url"]
    ksef.state.advance(61)
    expired = await ksef.http.get(old)
    assert expired.status_code == 403
    assert expired.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert b"<Error><Code>AuthenticationFailed</Code>" in expired.content
    forged = await ksef.http.get(old.replace("sig=", "sig=AA"))
    assert forged.status_code == 403
    again = (await ksef.http.get(f"/v2/invoices/exports/{ref}", headers=headers)).json()
    fresh = again["package"]["parts"][0]["url"]
    assert fresh != old
    assert (await ksef.http.get(fresh)).status_code == 200


async def test_package_expiry_is_210(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    seed(ksef.state, subject.nip, 1)
    headers = await ksef.bearer(subject)
    key, iv = key_iv
    ref, status = await run_export(ksef, headers, await export_body(ksef, key, iv))
    url = status["package"]["parts"][0]["url"]
    ksef.state.advance(ksef.state.config.export_package_lifetime + 1)
    headers = await ksef.bearer(subject)  # the access token expired meanwhile
    after = (await ksef.http.get(f"/v2/invoices/exports/{ref}", headers=headers)).json()
    assert after["status"]["code"] == 210 and "package" not in after
    assert (await ksef.http.get(url)).status_code == 403  # the link expired with the package


async def test_concurrent_limit_21182(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    ksef.state.config.processing = "manual"
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    for _ in range(10):
        resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
        assert resp.status_code == 201
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 400
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21182
    ksef.state.step()
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 201


async def test_in_progress_then_done_manual(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    ksef.state.config.processing = "manual"
    headers = await ksef.bearer(subject)
    ref, status = await run_export(ksef, headers, await export_body(ksef, *key_iv))
    assert status == {"status": {"code": 100, "description": "Eksport faktur w toku"}}
    ksef.state.step()
    done = (await ksef.http.get(f"/v2/invoices/exports/{ref}", headers=headers)).json()
    assert done["status"]["code"] == 200 and done["package"]["invoiceCount"] == 0


async def test_unknown_reference_21175(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    ref = "20260210-EH-0000000000-0000000000-00"
    resp = await ksef.http.get(f"/v2/invoices/exports/{ref}", headers=headers)
    assert resp.status_code == 400
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21175


async def test_bad_key_is_status_415(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    body["encryption"]["encryptedSymmetricKey"] = b64(os.urandom(256))
    _, status = await run_export(ksef, headers, body)
    assert status["status"]["code"] == 415 and "package" not in status


async def test_unknown_key_id_21470(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    body["encryption"]["publicKeyId"] = b64(os.urandom(32))
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 400
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21470


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("filters"),
        lambda b: b["filters"].update(subjectType="Nobody"),
        lambda b: b["filters"]["dateRange"].update(dateType="Yesterday"),
        lambda b: b["filters"]["dateRange"].update({"from": "not a date"}),
        lambda b: b.update(compressionType="Rar"),
        lambda b: b["encryption"].update(initializationVector="***"),
    ],
)
async def test_malformed_requests_21405(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes], mutate: Any
) -> None:
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    mutate(body)
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21405


async def test_from_after_hwm_is_status_420(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes]
) -> None:
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    body["filters"]["dateRange"].update(
        {
            "from": isoformat(START + dt.timedelta(hours=1)),
            "to": isoformat(START + dt.timedelta(hours=2)),
            "restrictToPermanentStorageHwmDate": True,
        }
    )
    _, status = await run_export(ksef, headers, body)
    assert status["status"]["code"] == 420, status


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(onlyMetadata=None),
        lambda b: b.update(onlyMetadata="yes"),
        lambda b: b["filters"].update(subjectType=None),
        lambda b: b["filters"]["dateRange"].update({"from": None}),
        lambda b: b["filters"].update(amount={"type": "Gross", "from": "ten"}),
        lambda b: b["filters"].update(invoiceTypes=["NotAType"]),
        lambda b: b["encryption"].update(encryptedSymmetricKey=None),
    ],
)
async def test_schema_checked_before_unknown_key_id(
    ksef: Ksef, subject: SeededSubject, key_iv: tuple[bytes, bytes], mutate: Any
) -> None:
    """KSeF binds and validates the whole body (21405) before it looks the key id up (21470)."""
    headers = await ksef.bearer(subject)
    body = await export_body(ksef, *key_iv)
    body["encryption"]["publicKeyId"] = b64(os.urandom(32))
    mutate(body)
    resp = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21405
