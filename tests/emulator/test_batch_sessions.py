"""Batch sessions over HTTP: open, upload, close, process; statuses, UPOs, listing, modes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from batch_helpers import (
    FA3,
    Package,
    close,
    code,
    invoices,
    open_batch,
    open_body,
    send_package,
    targz_bytes,
    upload_all,
    zip_bytes,
)
from emulator_helpers import TODAY, Ksef, b64, invoice

from ksefkit.emulator.clock import ManualClock, parse_datetime
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.invoices.rewrite import rewrite_invoice
from ksefkit.upo import parse_upo, validate_upo, verify_upo_signature

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]
SAMPLES = Path("/work/shared/ksef-spec/samples/FA3")


def _files(nip: str, count: int, prefix: str = "FV") -> dict[str, bytes]:
    return {f"faktury/{prefix}-{i}.xml": invoice(nip, f"{prefix}/{i}/2026") for i in range(count)}


async def test_zip_in_three_parts_succeeds_with_file_names_and_upos(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    files = _files(subject.nip, 5)
    pkg = Package.build(zip_bytes(files, 0), *session_key, parts=3)  # stored: parts cut XML
    opened = await open_batch(ksef, headers, pkg)
    ref = opened["referenceNumber"]
    assert re.fullmatch(r"\d{8}-SB-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}", ref)
    requests = opened["partUploadRequests"]
    assert [r["ordinalNumber"] for r in requests] == [1, 2, 3]
    for r in requests:
        assert r["method"] == "PUT"
        assert r["headers"] == {"x-ms-blob-type": "BlockBlob"}
        assert r["url"].startswith(f"http://emulator.test/storage/batch/{ref}/batch-parts/")
        assert "sig=" in r["url"] and "se=" in r["url"]
    status = await ksef.session_status(headers, ref)
    assert status["status"] == {"code": 100, "description": "Sesja wsadowa rozpoczęta"}
    await upload_all(ksef, opened, pkg)
    assert (await close(ksef, headers, ref)).status_code == 204
    status = await ksef.session_status(headers, ref)
    assert status["status"] == {"code": 200, "description": "Sesja wsadowa przetworzona pomyślnie"}
    assert (
        status["invoiceCount"],
        status["successfulInvoiceCount"],
        status["failedInvoiceCount"],
    ) == (5, 5, 0)
    listed = await invoices(ksef, headers, ref)
    assert sorted(i["invoiceFileName"] for i in listed) == sorted(files)
    by_name = {i["invoiceFileName"]: i for i in listed}
    for name, xml in files.items():
        item = by_name[name]
        assert item["status"]["code"] == 200
        assert item["invoiceHash"] == b64(hashlib.sha256(xml).digest())
        assert item["invoicingDate"] == status["dateCreated"]
        assert item["ksefNumber"].startswith(f"{subject.nip}-{TODAY:%Y%m%d}-")
        assert item["invoicingMode"] == "Online"
    # Per-invoice UPO and the session UPO page (pre-signed link too).
    first = listed[0]
    upo = await ksef.http.get(
        f"/v2/sessions/{ref}/invoices/{first['referenceNumber']}/upo", headers=headers
    )
    assert upo.status_code == 200
    assert parse_upo(upo.content).documents[0].ksef_number == first["ksefNumber"]
    page = status["upo"]["pages"][0]
    page_xml = (await ksef.http.get(page["downloadUrl"])).content
    assert validate_upo(page_xml) == []
    verify_upo_signature(page_xml, certificate=ksef.state.upo_signer.certificate)
    documents = parse_upo(page_xml).documents
    assert sorted(d.ksef_number for d in documents) == sorted(i["ksefNumber"] for i in listed)
    # Stored parts and the unpacked package are gone once the session is final.
    assert not (ksef.state.batch.session_dir(ref)).exists()


async def test_tar_gz_package(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers = await ksef.bearer(subject)
    files = _files(subject.nip, 3, "TG")
    pkg = Package.build(targz_bytes(files), *session_key, parts=2, compression="TarGz")
    ref, status = await send_package(ksef, headers, pkg)
    assert status["status"]["code"] == 200
    assert status["successfulInvoiceCount"] == 3
    names = {i["invoiceFileName"] for i in await invoices(ksef, headers, ref)}
    assert names == set(files)


async def test_attachments_are_accepted_in_batch(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    files = {}
    for n in (24, 25):
        sample = (SAMPLES / f"FA_3_Przyklad_{n}.xml").read_bytes()
        assert b"Zalacznik" in sample
        files[f"sample-{n}.xml"] = rewrite_invoice(
            sample, seller_nip=subject.nip, invoice_number=f"ZAL/{n}/2026", issue_date=TODAY
        )
    pkg = Package.build(zip_bytes(files), *session_key)
    ref, status = await send_package(ksef, headers, pkg)
    listed = await invoices(ksef, headers, ref)
    assert [i["status"] for i in listed] == [{"code": 200, "description": "Sukces"}] * 2, listed
    assert status["status"]["code"] == 200
    assert {i["invoiceNumber"] for i in listed} == {"ZAL/24/2026", "ZAL/25/2026"}


async def test_mixed_package_counts_failures_and_lists_them(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    files = {
        "ok.xml": invoice(subject.nip, "OK/1"),
        "foreign.xml": invoice("7740001454", "FOREIGN/1"),
        "broken.xml": b"<not-closed>",
        "big.xml": invoice(subject.nip, "BIG/1").replace(
            b"</Faktura>", b"<!--" + b64(os.urandom(760_000)).encode() + b"--></Faktura>"
        ),
    }
    ref, status = await send_package(ksef, headers, Package.build(zip_bytes(files), *session_key))
    assert status["status"]["code"] == 200
    assert (status["successfulInvoiceCount"], status["failedInvoiceCount"]) == (1, 3)
    failed = {
        i["invoiceFileName"]: i["status"]["code"]
        for i in await invoices(ksef, headers, ref, failed=True)
    }
    assert failed == {"foreign.xml": 410, "broken.xml": 430, "big.xml": 430}


async def test_offline_mode_applies_to_every_invoice(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_files(subject.nip, 2, "OFF")), *session_key)
    ref, status = await send_package(ksef, headers, pkg, offlineMode=True)
    assert status["status"]["code"] == 200
    assert {i["invoicingMode"] for i in await invoices(ksef, headers, ref)} == {"Offline"}


async def test_invoicing_date_is_the_open_time_for_auto_offline(
    ksef: Ksef, subject: SeededSubject, session_key: Key, clock: ManualClock
) -> None:
    """Batch opened 23:59:59 Warsaw, P_1 that day, uploaded after midnight → still Online."""
    clock.set(dt.datetime(2026, 2, 10, 22, 59, 30, tzinfo=dt.UTC))
    headers = await ksef.bearer(subject)
    clock.set(dt.datetime(2026, 2, 10, 22, 59, 59, tzinfo=dt.UTC))
    pkg = Package.build(zip_bytes(_files(subject.nip, 1, "MID")), *session_key)
    opened = await open_batch(ksef, headers, pkg)
    ksef.state.advance(5)
    await upload_all(ksef, opened, pkg)
    ref = opened["referenceNumber"]
    assert (await close(ksef, headers, ref)).status_code == 204
    [item] = await invoices(ksef, headers, ref)
    assert item["status"]["code"] == 200
    assert item["invoicingMode"] == "Online"
    assert parse_datetime(item["invoicingDate"]) == dt.datetime(
        2026, 2, 10, 22, 59, 59, tzinfo=dt.UTC
    )


async def test_manual_processing_shows_150_until_stepped(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    ksef.state.config.processing = "manual"
    pkg = Package.build(zip_bytes(_files(subject.nip, 2, "MAN")), *session_key)
    ref, status = await send_package(ksef, headers, pkg)
    assert status["status"] == {"code": 150, "description": "Trwa przetwarzanie"}
    assert status["invoiceCount"] == 0
    assert ksef.state.step() >= 4  # unpack, two invoices, finish
    status = await ksef.session_status(headers, ref)
    assert status["status"]["code"] == 200
    assert status["successfulInvoiceCount"] == 2


async def test_listing_batch_sessions_and_online_routes_refuse_them(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_files(subject.nip, 1, "LST")), *session_key)
    ref, _ = await send_package(ksef, headers, pkg)
    online = await ksef.open_session(headers, *session_key)
    resp = await ksef.http.get("/v2/sessions", params={"sessionType": "Batch"}, headers=headers)
    assert [s["referenceNumber"] for s in resp.json()["sessions"]] == [ref]
    item = resp.json()["sessions"][0]
    assert (item["totalInvoiceCount"], item["successfulInvoiceCount"]) == (1, 1)
    resp = await ksef.http.get(
        "/v2/sessions", params={"sessionType": "Batch", "statuses": "Succeeded"}, headers=headers
    )
    assert len(resp.json()["sessions"]) == 1
    resp = await ksef.http.get("/v2/sessions", params={"sessionType": "Online"}, headers=headers)
    assert [s["referenceNumber"] for s in resp.json()["sessions"]] == [online]
    # Closing an online session through the batch route (and vice versa) is 21173.
    assert code(await close(ksef, headers, online)) == 21173
    other = Package.build(zip_bytes(_files(subject.nip, 1, "X")), *session_key)
    opened = await open_batch(ksef, headers, other)
    resp = await ksef.http.post(
        f"/v2/sessions/online/{opened['referenceNumber']}/close", headers=headers
    )
    assert code(resp) == 21173


async def test_open_validation(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_files(subject.nip, 1)), *session_key)

    async def opened(**overrides: Any) -> httpx.Response:
        body = await open_body(ksef, pkg)
        for name, value in overrides.items():
            if name.startswith("batch_"):
                body["batchFile"][name[6:]] = value
            else:
                body[name] = value
        return await ksef.http.post("/v2/sessions/batch", json=body, headers=headers)

    pef = {"systemCode": "PEF (3)", "schemaVersion": "2-1", "value": "FA_PEF"}
    assert code(await opened(formCode=pef)) == 21405
    assert code(await opened(formCode={**FA3, "systemCode": "FA (9)"})) == 21405
    part = pkg.declaration()["fileParts"][0]
    many = [{**part, "ordinalNumber": i} for i in range(1, 52)]
    assert code(await opened(batch_fileParts=many)) == 21161
    assert code(await opened(batch_fileParts=[])) == 21405
    big = [{**part, "fileSize": 100_000_017}]
    resp = await opened(batch_fileParts=big)
    assert code(resp) == 21157
    ok_max = [{**part, "fileSize": 100_000_016}]
    assert (await opened(batch_fileParts=ok_max)).status_code == 201
    gaps = [{**part, "ordinalNumber": 1}, {**part, "ordinalNumber": 3}]
    assert code(await opened(batch_fileParts=gaps)) == 21405
    twice = [{**part, "ordinalNumber": 1}, {**part, "ordinalNumber": 1}]
    assert code(await opened(batch_fileParts=twice)) == 21405
    assert code(await opened(batch_fileSize=5_000_000_001)) == 21405
    assert code(await opened(batch_compressionType="Rar")) == 21405
    assert code(await opened(batch_fileHash="%%%")) == 21405
    enc = (await open_body(ksef, pkg))["encryption"]
    unknown = {**enc, "publicKeyId": b64(b"\x00" * 32)}
    assert code(await opened(encryption=unknown)) == 21470
    no_auth = await ksef.http.post("/v2/sessions/batch", json=await open_body(ksef, pkg))
    assert no_auth.status_code == 401


async def test_rr_and_fa2_form_codes_are_accepted(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes(_files(subject.nip, 1)), *session_key)
    for form in (
        {"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"},
        {"systemCode": "FA_RR (1)", "schemaVersion": "1-1E", "value": "FA_RR"},
    ):
        resp = await ksef.http.post(
            "/v2/sessions/batch", json=await open_body(ksef, pkg, formCode=form), headers=headers
        )
        assert resp.status_code == 201, resp.text
