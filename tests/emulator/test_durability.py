"""Durability pieces in-process: store settings, the crash hook, the start-up sweep, id streams
of a restarted seeded emulator, part fsync ordering, and work (invoice, session UPO, export)
interrupted halfway being redone exactly once (kill -9 of a real process: tests/reliability)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from batch_helpers import Package, open_batch, upload, zip_bytes
from emulator_helpers import OAEP, START, Ksef, b64, invoice, send_body

from ksefkit.emulator import crash
from ksefkit.emulator.app import create_app
from ksefkit.emulator.backends import batch_storage, exports, processing
from ksefkit.emulator.clock import ManualClock, isoformat
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.emulator.store import Store

pytestmark = pytest.mark.anyio


class _Died(BaseException):
    """Stands in for the process dying at a crash point (nothing after it runs)."""


def test_file_store_is_wal_with_full_sync_and_one_upo_page_per_number(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "e.db"))
    try:
        assert store.one("PRAGMA journal_mode")[0] == "wal"  # type: ignore[index]
        assert store.one("PRAGMA synchronous")[0] == 2  # type: ignore[index]  # FULL
        with store.tx():
            store.run("INSERT INTO upo_pages VALUES ('EU-1', 'SO-1', 1, x'00')")
        with pytest.raises(sqlite3.IntegrityError), store.tx():
            store.run("INSERT INTO upo_pages VALUES ('EU-2', 'SO-1', 1, x'00')")
        assert store.one("SELECT COUNT(*) FROM upo_pages")[0] == 1  # type: ignore[index]
    finally:
        store.close()


def test_crash_hook_is_inert_unless_armed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crash.ENV, raising=False)
    assert crash.armed() is None
    crash.crash_point("invoice-accept")  # nothing happens
    monkeypatch.setenv(crash.ENV, "session-upo:2")
    assert crash.armed() == "session-upo:2"
    crash.crash_point("invoice-accept")  # another point: nothing happens
    monkeypatch.setenv(crash.ENV, "no-such-point")
    with pytest.raises(ValueError, match="unknown point"):
        crash.armed()


def test_crash_hook_exits_at_the_nth_pass() -> None:
    code = (
        "from ksefkit.emulator.crash import crash_point\n"
        "for i in range(3):\n"
        "    crash_point('batch-upo'); print('passed', i, flush=True)\n"
    )
    env = {**os.environ, crash.ENV: "batch-upo:2"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 137
    assert done.stdout.split("\n")[:-1] == ["passed 0"]


def test_start_sweeps_the_files_a_killed_run_left(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    with EmulatorState(db_path=str(db), processing="manual") as state:
        state.store.run(
            "INSERT INTO batch_sessions VALUES ('SB-LIVE', 1, 'h', 'Zip', 0, '2030-01-01', 'open')"
        )
        state.store.run(
            "INSERT INTO exports (reference_number, context_type, context_value, subject_value,"
            " filters, only_metadata, compression, iv, status_code, status_description,"
            " date_created) VALUES ('EH-READY', 'Nip', '1', '1', '{}', 0, 'Zip', x'00', 200,"
            " 'ok', '2030-01-01')"
        )
        root = state.batch.storage.storage_root()
    live, done = root / "batch" / "SB-LIVE", root / "batch" / "SB-DONE"
    for directory in (live, done, root / "exports" / "EH-READY", root / "exports" / "EH-OLD"):
        directory.mkdir(parents=True)
    for name in ("part-1.bin", "part-2.0a1b.upload", "package.bin"):
        (live / name).write_bytes(b"x")
    (done / "part-1.bin").write_bytes(b"x")
    (root / "exports" / "EH-READY" / "EH-READY-001.zip.aes").write_bytes(b"x")
    with EmulatorState(db_path=str(db), processing="manual"):
        assert sorted(p.name for p in live.iterdir()) == ["part-1.bin"]  # uploaded part kept
        assert not done.exists()  # no live session owns it
        assert (root / "exports" / "EH-READY" / "EH-READY-001.zip.aes").exists()
        assert not (root / "exports" / "EH-OLD").exists()


def test_a_seeded_file_emulator_restarts_without_reusing_ids(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    firsts = []
    for _ in range(3):
        with EmulatorState(db_path=db, random_seed=7, processing="manual") as state:
            firsts.append(state.create_subject().token_reference)  # a duplicate key would raise
    assert len(set(firsts)) == 3
    with EmulatorState(db_path=str(tmp_path / "f.db"), random_seed=7) as state:
        assert state.create_subject().token_reference == firsts[0]  # first start: reproducible
    with EmulatorState(random_seed=7) as a, EmulatorState(random_seed=7) as b:
        assert a.ids.hex(12) == b.ids.hex(12)  # in-memory: as before


async def test_a_part_reaches_the_disk_before_it_is_recorded(
    ksef: Ksef,
    subject: SeededSubject,
    session_key: tuple[bytes, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = await ksef.bearer(subject)
    pkg = Package.build(zip_bytes({"1.xml": invoice(subject.nip)}), *session_key)
    opened = await open_batch(ksef, headers, pkg)
    events: list[str] = []

    def recorded() -> Any:
        return ksef.state.store.one("SELECT path FROM batch_parts")["path"]  # type: ignore[index]

    real_file, real_dir, real_replace = (
        batch_storage.fsync_file,
        batch_storage.fsync_dir,
        batch_storage.os.replace,
    )

    def fsync_file(f: Any) -> None:
        real_file(f)
        events.append("fsync part")

    def replace(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        events.append("rename")

    def fsync_dir(path: Any) -> None:
        real_dir(path)
        events.append(f"fsync dir, recorded={recorded() is not None}")

    monkeypatch.setattr(batch_storage, "fsync_file", fsync_file)
    monkeypatch.setattr(batch_storage, "fsync_dir", fsync_dir)
    monkeypatch.setattr(batch_storage.os, "replace", replace)
    resp = await upload(ksef, opened["partUploadRequests"][0], pkg.parts[0])
    assert resp.status_code == 201
    assert events == ["fsync part", "rename", *["fsync dir, recorded=False"] * 2]
    assert recorded() is not None


async def _online_invoice(state: EmulatorState, subject: SeededSubject) -> tuple[str, str]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
        ksef = Ksef(http, state)
        key = (os.urandom(32), os.urandom(16))
        headers = await ksef.bearer(subject)
        ref = await ksef.open_session(headers, *key)
        sent = await ksef.send(headers, ref, send_body(invoice(subject.nip), *key))
        await ksef.close(headers, ref)
        return ref, str(sent.json()["referenceNumber"])


def _die_at(point: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash_point(name: str) -> None:
        if name == point:
            raise _Died(name)

    monkeypatch.setattr(processing, "crash_point", crash_point)


async def test_work_interrupted_halfway_is_redone_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "e.db")
    clock = ManualClock(START)
    state = EmulatorState(clock=clock, db_path=db, processing="manual")
    subject = state.create_subject()
    session, inv = await _online_invoice(state, subject)
    _die_at("invoice-accept", monkeypatch)  # number drawn, UPO signed, nothing stored
    with pytest.raises(_Died):
        state.step()
    state.close()
    _die_at("session-upo", monkeypatch)  # the invoice is done again; the session UPO dies
    with EmulatorState(clock=clock, db_path=db, processing="manual") as again, pytest.raises(_Died):
        again.step()
    monkeypatch.undo()
    with EmulatorState(clock=clock, db_path=db, processing="manual") as last:
        assert last.step() == 1  # only the session was left
        row = last.store.one(
            "SELECT status_code, ksef_number, upo FROM invoices WHERE reference_number = ?",
            (inv,),
        )
        assert row is not None and row["status_code"] == 200
        assert row["ksef_number"].encode() in row["upo"]
        pages = last.store.all("SELECT xml FROM upo_pages WHERE session_reference = ?", (session,))
        assert len(pages) == 1 and row["ksef_number"].encode() in pages[0]["xml"]
        status = last.store.one(
            "SELECT status_code FROM sessions WHERE reference_number = ?", (session,)
        )
        assert status is not None and status["status_code"] == 200


async def test_an_export_interrupted_before_it_is_done_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "e.db")
    clock = ManualClock(START)
    state = EmulatorState(clock=clock, db_path=db, processing="manual", export_part_size=2000)
    subject = state.create_subject()
    since = START - dt.timedelta(hours=2)
    state.seed_invoices(
        4,
        seller_nip=subject.nip,
        buyer_nip="7740001454",
        start=since,
        end=START - dt.timedelta(hours=1),
    )
    key, iv = os.urandom(32), os.urandom(16)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://e.test") as http:
        ksef = Ksef(http, state)
        pub, kid = await ksef.certificates("SymmetricKeyEncryption")
        body = {
            "encryption": {
                "encryptedSymmetricKey": b64(pub.encrypt(key, OAEP)),
                "initializationVector": b64(iv),
                "publicKeyId": kid,
            },
            "filters": {
                "subjectType": "Subject1",
                "dateRange": {"dateType": "PermanentStorage", "from": isoformat(since)},
            },
        }
        resp = await http.post(
            "/v2/invoices/exports", json=body, headers=await ksef.bearer(subject)
        )
        assert resp.status_code == 201, resp.text
        reference = resp.json()["referenceNumber"]

    def crash_point(name: str) -> None:
        if name == "export-build":
            raise _Died(name)

    monkeypatch.setattr(exports, "crash_point", crash_point)  # parts written, not marked done
    with pytest.raises(_Died):
        state.step()
    directory = state.exports.export_dir(reference)
    assert any(directory.iterdir())
    state.close()
    monkeypatch.undo()
    config = {"db_path": db, "processing": "manual", "export_part_size": 2000}
    with EmulatorState(clock=clock, **config) as again:
        assert not directory.exists()  # the start-up sweep dropped the half-built package
        assert again.step() == 1
        row = again.store.one("SELECT status_code, package FROM exports")
        assert row is not None and row["status_code"] == 200
        parts = json.loads(row["package"])["parts"]
        assert len(parts) > 1
        assert sorted(p.name for p in directory.iterdir()) == sorted(p["partName"] for p in parts)
