"""Kill a syncing client process (SIGKILL) at random and at chosen points of a window;
restart it until done; the directory must hold every expected invoice exactly once.

The emulator runs here (file database, background processing, small export packages so a
sync spans several windows); each client is a separate process running
``sync_client_script.py``. Kill points come from a seeded RNG: forced hooks at each progress
phase (``KSEFKIT_CRASH``) plus kills after random delays. More invoices are seeded between
rounds so later runs continue from the checkpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ksefkit.emulator.state import SeededSubject
from ksefkit.identifiers import random_nip
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import RunningEmulator, run_emulator

SCRIPT = Path(__file__).with_name("sync_client_script.py")
MAX_ATTEMPTS = 10
PER_PACKAGE = 60  # export_max_invoices: a few windows per sync

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

#: One round per entry: (invoices seeded before it, forced kill points, random kills).
ROUNDS: list[tuple[int, list[str], int]] = [
    (240, ["downloaded:2", "stored:1", "checkpointed:2", "exporting:1"], 2),
    (90, ["stored:1", "downloaded:1"], 2),
    (30, [], 1),
]


def _client(
    emulator: RunningEmulator,
    subject: SeededSubject,
    into: Path,
    start: dt.datetime,
    crash: str | None,
) -> subprocess.Popen[str]:
    env = {**os.environ, "KSEF_TOKEN": subject.token, "PYTHONUNBUFFERED": "1"}
    env.pop("KSEFKIT_CRASH", None)
    if crash:
        env["KSEFKIT_CRASH"] = crash
    args = [emulator.api_url, subject.nip, str(into), start.isoformat()]
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sync_until_done(
    emulator: RunningEmulator,
    subject: SeededSubject,
    into: Path,
    start: dt.datetime,
    crashes: list[str],
    random_kills: int,
    rng: random.Random,
) -> int:
    """Returns how many attempts the round needed."""
    kills = 0
    for attempt in range(MAX_ATTEMPTS):
        crash = crashes[attempt] if attempt < len(crashes) else None
        process = _client(emulator, subject, into, start, crash)
        if crash is None and kills < random_kills:
            delay = rng.uniform(0.3, 1.5)  # start-up, auth, export, download, store
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()  # SIGKILL
                kills += 1
        out, err = process.communicate(timeout=120)
        if crash is not None and process.returncode != -9:
            pytest.fail(f"the forced kill point {crash} was never reached:\n{out}{err}")
        if process.returncode == 0:
            json.loads(out.strip().splitlines()[-1])
            return attempt + 1
        if process.returncode != -9:
            pytest.fail(f"client failed (attempt {attempt + 1}, crash {crash}):\n{err}")
    pytest.fail(f"not done after {MAX_ATTEMPTS} attempts")


def test_killed_syncs_restart_and_store_every_invoice_exactly_once(tmp_path) -> None:
    rng = random.Random(20250827)
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=3)
    into = tmp_path / "sync"
    with run_emulator(
        db_path=str(tmp_path / "emulator.db"),
        processing="background",
        export_part_size=20_000,
        export_max_invoices=PER_PACKAGE,
    ) as emulator:
        subject = emulator.create_subject()
        lag = emulator.state.config.hwm_lag + 0.2
        buyer = random_nip()
        attempts = []
        for first, (count, crashes, random_kills) in enumerate(ROUNDS):
            now = dt.datetime.now(dt.UTC)
            if first == 0:  # history: two days up to five minutes ago
                since, until = now - dt.timedelta(days=2), now - dt.timedelta(minutes=5)
            else:  # later rounds: just after the HWM the previous round synced up to
                since, until = now + dt.timedelta(seconds=0.05), now + dt.timedelta(seconds=0.5)
            emulator.state.seed_invoices(
                count, seller_nip=subject.nip, buyer_nip=buyer, start=since, end=until
            )
            time.sleep(max((until - dt.datetime.now(dt.UTC)).total_seconds(), 0) + lag)
            attempts.append(
                _sync_until_done(emulator, subject, into, start, crashes, random_kills, rng)
            )
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            window = InvoiceQueryDateRange(date_type="PermanentStorage", from_=start)
            filters = InvoiceQueryFilters(subject_type="Subject1", date_range=window)
            expected = {
                m.ksef_number: m.invoice_hash for m in client.invoices.query_metadata(filters)
            }

    assert len(expected) == sum(count for count, _, _ in ROUNDS)
    for (_, crashes, _), needed in zip(ROUNDS, attempts, strict=True):
        assert needed >= len(crashes) + 1  # every forced kill happened
    assert sum(attempts) > len(ROUNDS) + sum(len(c) for _, c, _ in ROUNDS)  # and random ones

    files = [p for p in into.rglob("*") if p.is_file() and ".ksefkit-sync" not in p.parts]
    names = [p.name for p in files]
    assert len(names) == len(set(names))  # each invoice once
    assert sorted(names) == sorted(f"{number}.xml" for number in expected)
    for path in files:
        digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
        assert digest == expected[path.stem], path.name
    leftovers = [p for p in (into / ".ksefkit-sync").rglob("*") if p.suffix != ".json"]
    assert leftovers == []  # no staging left behind
    assert time.monotonic() - started < 60
