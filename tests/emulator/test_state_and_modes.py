"""Processing modes, restart persistence, admin routes and the threaded server."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
import pytest
from emulator_helpers import START, Ksef, invoice, send_body

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState

pytestmark = pytest.mark.anyio


async def _send_one(ksef: Ksef, nip_token: object) -> tuple[dict[str, str], str, str]:
    subject = nip_token
    key = (os.urandom(32), os.urandom(16))
    headers = await ksef.bearer(subject)  # type: ignore[arg-type]
    ref = await ksef.open_session(headers, *key)
    sent = await ksef.send(headers, ref, send_body(invoice(subject.nip), *key))  # type: ignore[attr-defined]
    return headers, ref, sent.json()["referenceNumber"]


async def test_manual_mode_waits_for_step() -> None:
    with EmulatorState(clock=ManualClock(START), processing="manual") as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, state)
            subject = state.create_subject()
            init = await ksef.start_auth(subject.nip, subject.token)
            bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
            status = (await http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)).json()
            assert status["status"]["code"] == 200  # auth is not held back by manual mode
            tokens = (await http.post("/v2/auth/token/redeem", headers=bearer)).json()
            headers = {"Authorization": f"Bearer {tokens['accessToken']['token']}"}
            key = (os.urandom(32), os.urandom(16))
            ref = await ksef.open_session(headers, *key)
            sent = await ksef.send(headers, ref, send_body(invoice(subject.nip), *key))
            inv = sent.json()["referenceNumber"]
            assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 100
            await ksef.close(headers, ref)
            assert (await ksef.session_status(headers, ref))["status"]["code"] == 170
            assert (await http.post("/_emulator/step")).json() == {"processed": 2}
            assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 200
            assert (await ksef.session_status(headers, ref))["status"]["code"] == 200


async def test_background_mode_processes_with_delay() -> None:
    with EmulatorState(processing="background", processing_delay=0.05) as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, state)
            subject = state.create_subject()
            init = await ksef.start_auth(subject.nip, subject.token)
            bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
            for _ in range(200):
                status = (
                    await http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)
                ).json()
                if status["status"]["code"] != 100:
                    break
                await anyio.sleep(0.02)
            assert status["status"]["code"] == 200


async def test_state_survives_restart_with_file_db(tmp_path: Path) -> None:
    db = str(tmp_path / "emulator.sqlite3")
    clock = ManualClock(START)
    state = EmulatorState(clock=clock, db_path=db)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
        ksef = Ksef(http, state)
        subject = state.create_subject()
        headers, ref, inv = await _send_one(ksef, subject)
        certs = (await http.get("/v2/security/public-key-certificates")).json()
        before = await ksef.invoice_status(headers, ref, inv)
    state.close()
    reopened = EmulatorState(clock=clock, db_path=db)
    try:
        transport = httpx.ASGITransport(app=create_app(reopened))
        async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
            ksef = Ksef(http, reopened)
            assert (await http.get("/v2/security/public-key-certificates")).json() == certs
            # The old access token still verifies (JWT secret persisted) ...
            after = await ksef.invoice_status(headers, ref, inv)
            assert after["ksefNumber"] == before["ksefNumber"]
            # ... and the old KSeF token still authenticates.
            assert (await ksef.login(subject))["accessToken"]["token"]
            upo = await http.get(f"/v2/sessions/{ref}/invoices/{inv}/upo", headers=headers)
            assert upo.status_code == 200
    finally:
        reopened.close()


async def test_manual_mode_work_resumes_after_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "e.sqlite3")
    state = EmulatorState(clock=ManualClock(START), db_path=db, processing="manual")
    subject = state.create_subject()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
        _, _, inv = await _send_one(Ksef(http, state), subject)
    state.close()
    with EmulatorState(clock=ManualClock(START), db_path=db, processing="manual") as again:
        assert again.step() == 1
        row = again.store.one(
            "SELECT status_code, ksef_number FROM invoices WHERE reference_number = ?", (inv,)
        )
        assert row is not None
        assert row["status_code"] == 200
        assert row["ksef_number"].startswith(subject.nip)


async def test_admin_subjects_reset_clock_and_rotate(ksef: Ksef, state: EmulatorState) -> None:
    resp = await ksef.http.post("/_emulator/subjects", json={"nip": "5265877635"})
    assert resp.status_code == 201
    body = resp.json()
    assert body["nip"] == "5265877635"
    reference, nip_part, secret = body["ksefToken"].split("|")
    assert reference == body["tokenReferenceNumber"]
    assert nip_part == "nip-5265877635"
    assert len(secret) == 64
    assert (await ksef.http.get("/_emulator/health")).json()["status"] == "ok"
    before = (await ksef.http.get("/_emulator/health")).json()["now"]
    after = (await ksef.http.post("/_emulator/clock", json={"advance": 60})).json()["now"]
    assert after > before
    old = {
        c["publicKeyId"]
        for c in (await ksef.http.get("/v2/security/public-key-certificates")).json()
    }
    rotated = (await ksef.http.post("/_emulator/keys/rotate", json={"emergency": True})).json()
    now_ids = {
        c["publicKeyId"]
        for c in (await ksef.http.get("/v2/security/public-key-certificates")).json()
    }
    assert now_ids == set(rotated["publicKeyIds"])
    assert not old & now_ids
    assert (await ksef.http.post("/_emulator/reset")).status_code == 204
    assert state.store.one("SELECT COUNT(*) AS n FROM ksef_tokens")["n"] == 0  # type: ignore[index]
    bad = await ksef.http.post("/_emulator/subjects", json={"nip": "123"})
    assert bad.status_code == 400


def test_threaded_server_serves_http() -> None:
    with EmulatorState() as state, ThreadedServer(create_app(state)) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        health = httpx.get(server.base_url + "/_emulator/health")
        assert health.json()["status"] == "ok"
        subject = httpx.post(server.base_url + "/_emulator/subjects", json={}).json()
        assert subject["nip"]
