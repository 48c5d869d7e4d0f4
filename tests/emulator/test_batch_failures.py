"""Batch session failures: package verdicts (405/415/420/430/435/440/445/500) and timeouts."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from typing import Any

import pytest
from batch_helpers import (
    Package,
    close,
    code,
    details,
    invoices,
    open_batch,
    send_package,
    targz_bytes,
    upload_all,
    zip_bytes,
)
from emulator_helpers import Ksef, b64, b64sha, invoice

from ksefkit.emulator.backends import batch as batch_module
from ksefkit.emulator.state import SeededSubject

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]


async def _status(
    ksef: Ksef, subject: SeededSubject, pkg: Package, **overrides: Any
) -> dict[str, Any]:
    headers = await ksef.bearer(subject)
    _, status = await send_package(ksef, headers, pkg, **overrides)
    return status["status"]  # type: ignore[no-any-return]


def _one(nip: str) -> dict[str, bytes]:
    return {"a.xml": invoice(nip, "F/1")}


async def test_undecryptable_part_is_435(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    good = Package.build(zip_bytes(_one(subject.nip)), *session_key, parts=2)
    garbage = os.urandom(len(good.parts[1]))  # a multiple of 16, but the padding is wrong
    pkg = Package(good.archive, *session_key, parts=[good.parts[0], garbage])
    status = await _status(ksef, subject, pkg)
    assert status["code"] == 435
    assert status["description"] == "Błąd odszyfrowania zaszyfrowanych części archiwum"
    assert "części 2" in status["details"][0]


async def test_unusable_session_key_is_415_after_close(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key)
    _, kid = await ksef.certificates("SymmetricKeyEncryption")
    encryption = {
        "encryptedSymmetricKey": b64(os.urandom(256)),
        "initializationVector": b64(session_key[1]),
        "publicKeyId": kid,
    }
    status = await _status(ksef, subject, pkg, encryption=encryption)
    assert status == {"code": 415, "description": "Błąd odszyfrowania dostarczonego klucza"}


async def test_archive_hash_mismatch_is_405(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key)
    declaration = {**pkg.declaration(), "fileHash": b64sha(b"something else")}
    status = await _status(ksef, subject, pkg, batchFile=declaration)
    assert status["code"] == 405
    declaration = {**pkg.declaration(), "fileSize": len(pkg.archive) + 1}
    assert (await _status(ksef, subject, pkg, batchFile=declaration))["code"] == 405


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(b"this is not a zip archive at all", id="not-a-zip"),
        pytest.param(zip_bytes({"a.xml": b"<a/>" * 1000})[:-30], id="truncated-zip"),
        pytest.param(zip_bytes({"../evil.xml": b"<a/>"}), id="zip-dotdot"),
        pytest.param(zip_bytes({"/etc/evil.xml": b"<a/>"}), id="zip-absolute"),
        pytest.param(zip_bytes({"C:\\evil.xml": b"<a/>"}), id="zip-drive"),
        pytest.param(zip_bytes({"bomb.xml": bytes(5_000_000)}), id="zip-bomb-ratio"),
        pytest.param(zip_bytes({"big.xml": os.urandom(10_000_001)}, 0), id="zip-entry-too-big"),
    ],
)
async def test_bad_zip_is_430(
    ksef: Ksef, subject: SeededSubject, session_key: Key, archive: bytes
) -> None:
    status = await _status(ksef, subject, Package.build(archive, *session_key))
    assert status["code"] == 430, status
    assert status["description"] == "Błąd dekompresji pierwotnego archiwum"
    assert status["details"]


def _tar(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.addfile(member, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, **attrs: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(_tar(_member("ok.xml", size=4), b"<a/>")[:-20], id="truncated-gzip"),
        pytest.param(b"\x1f\x8b not really gzip", id="not-gzip"),
        pytest.param(_tar(_member("../../x.xml", size=4), b"<a/>"), id="tar-dotdot"),
        pytest.param(_tar(_member("/abs.xml", size=4), b"<a/>"), id="tar-absolute"),
        pytest.param(_tar(_member("link.xml", tarfile.SYMTYPE, linkname="/etc")), id="symlink"),
        pytest.param(_tar(_member("hard.xml", tarfile.LNKTYPE, linkname="a.xml")), id="hardlink"),
        pytest.param(_tar(_member("dev", tarfile.CHRTYPE, devmajor=1, devminor=3)), id="device"),
        pytest.param(_tar(_member("fifo", tarfile.FIFOTYPE)), id="fifo"),
        pytest.param(targz_bytes({"bomb.xml": bytes(9_000_000)}), id="tar-bomb-ratio"),
    ],
)
async def test_bad_tar_gz_is_430(
    ksef: Ksef, subject: SeededSubject, session_key: Key, archive: bytes
) -> None:
    pkg = Package.build(archive, *session_key, compression="TarGz")
    status = await _status(ksef, subject, pkg)
    assert status["code"] == 430, status


async def test_zip_declared_as_tar_is_430(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key, compression="TarGz")
    assert (await _status(ksef, subject, pkg))["code"] == 430


async def test_too_many_invoices_is_420(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    ksef.state.config.batch_max_invoices = 2
    files = {f"{i}.xml": invoice(subject.nip, f"N/{i}") for i in range(3)}
    for archive, compression in ((zip_bytes(files), "Zip"), (targz_bytes(files), "TarGz")):
        pkg = Package.build(archive, *session_key, compression=compression)
        status = await _status(ksef, subject, pkg)
        assert status == {
            "code": 420,
            "description": "Przekroczony limit faktur w sesji",
            "details": ["Paczka zawiera więcej niż 2 plików faktur."],
        }
    files.pop("2.xml")
    ok = Package.build(zip_bytes(files), *session_key)
    assert (await _status(ksef, subject, ok))["code"] == 200


async def test_empty_archive_is_440_no_invoices(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("only-a-directory/"), b"")
    for archive, compression in ((buf.getvalue(), "Zip"), (targz_bytes({}), "TarGz")):
        pkg = Package.build(archive, *session_key, compression=compression)
        status = await _status(ksef, subject, pkg)
        assert status == {
            "code": 440,
            "description": "Sesja anulowana",
            "details": ["Nie przesłano faktur"],
        }


async def test_all_invoices_rejected_is_445(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    files = {"x.xml": b"<broken", "y.xml": invoice("7740001454", "NOT/MINE")}
    ref, status = await send_package(ksef, headers, Package.build(zip_bytes(files), *session_key))
    assert status["status"] == {
        "code": 445,
        "description": "Błąd weryfikacji, brak poprawnych faktur",
    }
    assert "upo" not in status
    failed = await invoices(ksef, headers, ref, failed=True)
    assert {i["invoiceFileName"]: i["status"]["code"] for i in failed} == {
        "x.xml": 430,
        "y.xml": 410,
    }


async def test_unexpected_error_is_500_with_details(
    ksef: Ksef, subject: SeededSubject, session_key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(batch_module, "unpack", boom)
    status = await _status(ksef, subject, Package.build(zip_bytes(_one(subject.nip)), *session_key))
    assert status == {
        "code": 500,
        "description": "Nieznany błąd (500)",
        "details": ["RuntimeError: disk on fire"],
    }


async def test_close_checks(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key, parts=3)
    opened = await open_batch(ksef, headers, pkg)
    ref = opened["referenceNumber"]
    resp = await close(ksef, headers, ref)
    assert code(resp) == 21205
    assert len(details(resp)) == 3
    assert code(await close(ksef, headers, "20260210-SB-0000000000-0000000000-00")) == 21173
    await upload_all(ksef, opened, pkg)
    # A part file that shrank on disk after upload: declared size ≠ actual (21157).
    part = ksef.state.batch.session_dir(ref) / "part-2.bin"
    part.write_bytes(part.read_bytes()[:-16])
    assert code(await close(ksef, headers, ref)) == 21157
    part.write_bytes(pkg.parts[1])
    assert (await close(ksef, headers, ref)).status_code == 204
    again = await close(ksef, headers, ref)
    assert code(again) == 21180
    assert details(again) == ["Status sesji 200 uniemożliwia jej zamknięcie."]


async def test_twelve_hours_without_close_is_440_upload_time_exceeded(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key)
    never_uploaded = await open_batch(ksef, headers, pkg)
    uploaded = await open_batch(ksef, headers, pkg)
    await upload_all(ksef, uploaded, pkg)
    ksef.state.advance(12 * 3600 - 1)
    assert ksef.state.step() == 0
    headers = await ksef.bearer(subject)  # the access token lives 15 minutes
    assert (await ksef.session_status(headers, uploaded["referenceNumber"]))["status"][
        "code"
    ] == 100
    ksef.state.advance(1)
    ksef.state.step()  # the worker notices too, not only lookups
    rows = ksef.state.store.all(
        "SELECT status_code FROM sessions WHERE session_type = 'Batch' ORDER BY date_created"
    )
    assert [r["status_code"] for r in rows] == [440, 440]
    for opened in (never_uploaded, uploaded):
        ref = opened["referenceNumber"]
        status = await ksef.session_status(headers, ref)
        assert status["status"] == {
            "code": 440,
            "description": "Sesja anulowana",
            "details": ["Przekroczono czas wysyłki"],
        }
        assert not ksef.state.batch.session_dir(ref).exists()
        resp = await close(ksef, headers, ref)
        assert code(resp) == 21208
    listed = await ksef.http.get(
        "/v2/sessions", params={"sessionType": "Batch", "statuses": "Cancelled"}, headers=headers
    )
    assert len(listed.json()["sessions"]) == 2


async def test_close_after_the_upload_window_is_21208(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_one(subject.nip)), *session_key)
    opened = await open_batch(ksef, headers, pkg)
    await upload_all(ksef, opened, pkg)
    ksef.state.advance(20 * 60)
    headers = await ksef.bearer(subject)  # the access token lives 15 minutes
    resp = await close(ksef, headers, opened["referenceNumber"])
    assert code(resp) == 21208
    assert details(resp) == ["Sesja anulowana, przekroczony czas wysyłki."]
    status = await ksef.session_status(headers, opened["referenceNumber"])
    assert status["status"]["code"] == 440
    assert code(await close(ksef, headers, opened["referenceNumber"])) == 21208
