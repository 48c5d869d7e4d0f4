"""Batch sessions end to end: the spec contract, a real HTTP server in background mode and a
restart between close and processing (file database, parts on disk)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from batch_helpers import (
    Package,
    close,
    invoices,
    open_batch,
    send_package,
    targz_bytes,
    upload,
    upload_all,
    zip_bytes,
)
from emulator_helpers import START, Ksef, invoice
from oas import OpenApiSpec
from recording import Recorder

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]

OPERATIONS = {
    "POST /sessions/batch",
    "POST /sessions/batch/{referenceNumber}/close",
    "GET /sessions",
    "GET /sessions/{referenceNumber}",
    "GET /sessions/{referenceNumber}/invoices",
    "GET /sessions/{referenceNumber}/invoices/failed",
    "GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
    "GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}",
}


@pytest.fixture
def clock() -> ManualClock:
    # The contract checker compares dates with real time; start the manual clock at now.
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


async def test_batch_exchanges_follow_the_spec(
    state: EmulatorState, subject: SeededSubject, session_key: Key, spec_dir: Path
) -> None:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=create_app(state))
    async with recorder.async_http_client(
        transport=transport, base_url="http://emulator.test"
    ) as http:
        ksef = Ksef(http, state)
        headers = await ksef.bearer(subject)
        today = state.today()
        files = {
            "ok.xml": invoice(subject.nip, "C/1", today),
            "bad.xml": b"<broken",
        }
        pkg = Package.build(targz_bytes(files), *session_key, parts=2, compression="TarGz")
        ref, status = await send_package(ksef, headers, pkg)
        assert status["status"]["code"] == 200
        listed = await invoices(ksef, headers, ref)
        await invoices(ksef, headers, ref, failed=True)
        await http.get(
            f"/v2/sessions/{ref}/invoices/{listed[0]['referenceNumber']}", headers=headers
        )
        page = status["upo"]["pages"][0]["referenceNumber"]
        await http.get(f"/v2/sessions/{ref}/upo/{page}", headers=headers)
        await http.get("/v2/sessions", params={"sessionType": "Batch"}, headers=headers)
        # Errors: 21205 (nothing uploaded), 21180 (closed twice), 21157 as problem details.
        opened = await open_batch(ksef, headers, pkg)
        await close(ksef, headers, opened["referenceNumber"])
        await close(ksef, headers, ref)
        body = {
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "batchFile": {
                **pkg.declaration(),
                "fileParts": [{**pkg.declaration()["fileParts"][0], "fileSize": 100_000_017}],
            },
            "encryption": {"encryptedSymmetricKey": "AAAA", "initializationVector": "AAAA"},
        }
        refused = await http.post(
            "/v2/sessions/batch",
            json=body,
            headers={**headers, "X-Error-Format": "problem-details"},
        )
        assert refused.json()["errors"][0]["code"] == 21157
    spec = OpenApiSpec.load(spec_dir / "open-api.json", strict_reference_numbers=True)
    problems, seen = [], set()
    for request, response in recorder.exchanges:
        if request.url.path.startswith(("/_emulator", "/storage")):
            continue
        report = spec.check(request, response)
        seen.add(report.operation)
        if not report.ok:
            problems.append(str(report))
    assert not problems, "\n".join(problems)
    assert seen >= OPERATIONS


async def test_real_http_background_mode(session_key: Key) -> None:
    """uvicorn + chunked uploads over a socket; the worker thread processes the package."""
    with (
        EmulatorState(processing="background", processing_delay=0.05) as state,
        ThreadedServer(create_app(state)) as server,
    ):
        subject = state.create_subject()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            ksef = Ksef(http, state)
            headers = await _bearer_when_ready(ksef, subject)
            files = {f"{i}.xml": invoice(subject.nip, f"BG/{i}", state.today()) for i in range(4)}
            pkg = Package.build(zip_bytes(files, 0), *session_key, parts=3)
            opened = await open_batch(ksef, headers, pkg)
            assert opened["partUploadRequests"][0]["url"].startswith(server.base_url)

            async def chunks(data: bytes) -> AsyncIterator[bytes]:
                for i in range(0, len(data), 1000):
                    yield data[i : i + 1000]

            for request in opened["partUploadRequests"]:
                part = pkg.parts[request["ordinalNumber"] - 1]
                resp = await upload(ksef, request, chunks(part))
                assert resp.status_code == 201, resp.text
            ref = opened["referenceNumber"]
            assert (await close(ksef, headers, ref)).status_code == 204
            with anyio.fail_after(10):
                for _ in range(200):  # poll: the worker thread does the processing
                    status = await ksef.session_status(headers, ref)
                    if status["status"]["code"] >= 200:
                        break
                    await anyio.sleep(0.05)
            assert status["status"]["code"] == 200
            assert status["successfulInvoiceCount"] == 4


async def _bearer_when_ready(ksef: Ksef, subject: SeededSubject) -> dict[str, str]:
    """Log in when authentication completes in the background."""
    init = await ksef.start_auth(subject.nip, subject.token)
    auth = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    with anyio.fail_after(10):
        for _ in range(200):
            status = await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=auth)
            if status.json()["status"]["code"] == 200:
                break
            await anyio.sleep(0.05)
    tokens = (await ksef.http.post("/v2/auth/token/redeem", headers=auth)).json()
    return {"Authorization": f"Bearer {tokens['accessToken']['token']}"}


async def test_processing_resumes_after_a_restart(tmp_path: Path, session_key: Key) -> None:
    db = str(tmp_path / "emulator.sqlite3")
    clock = ManualClock(START)
    with EmulatorState(db_path=db, processing="manual", clock=clock) as state:
        subject = state.create_subject()
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, state)
            headers = await ksef.bearer(subject)
            files = {f"{i}.xml": invoice(subject.nip, f"RS/{i}") for i in range(2)}
            pkg = Package.build(zip_bytes(files), *session_key, parts=2)
            opened = await open_batch(ksef, headers, pkg)
            await upload_all(ksef, opened, pkg)
            ref = opened["referenceNumber"]
            assert (await close(ksef, headers, ref)).status_code == 204
        parts = sorted(p.name for p in (tmp_path / "emulator-storage" / "batch" / ref).iterdir())
        assert parts == ["part-1.bin", "part-2.bin"]
    with EmulatorState(db_path=db, processing="manual", clock=clock) as state:
        assert state.step() >= 4
        row = state.store.one("SELECT status_code FROM sessions WHERE reference_number = ?", (ref,))
        assert row is not None and row["status_code"] == 200
        assert not (tmp_path / "emulator-storage" / "batch" / ref).exists()
