"""Kill a batch-sending client process (SIGKILL) at random and at chosen points of packaging,
upload and close; resume it until done; every invoice must be accepted exactly once.

The emulator runs here (file database, background processing); each client is a separate
process running ``batch_client_script.py``. Kill points come from a seeded RNG: a few forced
hooks that hit each phase exactly (``KSEFKIT_CRASH``) plus kills after random delays.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.testing import RunningEmulator, run_emulator

SCRIPT = Path(__file__).with_name("batch_client_script.py")
INVOICES_PER_RUN = 16
PART_SIZE = 1500  # several parts per package
MAX_ATTEMPTS = 8

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

#: Forced kill points (see the script's docstring), one run each; then random-delay runs.
FORCED = [
    ["pack:2"],
    ["save:1"],  # package built, state saved, not opened
    ["open"],  # KSeF opened a session the state never heard of
    ["save:2", "put:2"],  # after opening; then mid-upload
    ["putdone:1", "putdone:2"],  # parts uploaded but not recorded, twice
    ["save:4", "close"],  # a part recorded; then the close accepted but not recorded
]
RANDOM_RUNS = 3


def _today():
    import datetime as dt

    return dt.datetime.now(dt.UTC).date()


def _write_invoices(directory: Path, nip: str, run: int) -> list[str]:
    directory.mkdir()
    numbers = []
    for i in range(1, INVOICES_PER_RUN + 1):
        number = f"CRASH/{run}/{i:03d}"
        xml = generate_fa3(
            seller_nip=nip, buyer_nip=random_nip(), invoice_number=number, issue_date=_today()
        )
        (directory / f"{i:03d}.xml").write_bytes(xml)
        numbers.append(number)
    return numbers


def _client(
    emulator: RunningEmulator, token: str, nip: str, state: Path, source: Path, crash: str | None
) -> subprocess.Popen[str]:
    env = {**os.environ, "KSEF_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    env.pop("KSEFKIT_CRASH", None)
    if crash:
        env["KSEFKIT_CRASH"] = crash
    args = [emulator.api_url, nip, str(state), str(source), str(PART_SIZE)]
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_until_done(
    emulator: RunningEmulator,
    token: str,
    nip: str,
    workdir: Path,
    source: Path,
    crashes: list[str],
    rng: random.Random,
    random_kills: int,
) -> dict[str, object]:
    state = workdir / "batch.json"
    kills = 0
    for attempt in range(MAX_ATTEMPTS):
        crash = crashes[attempt] if attempt < len(crashes) else None
        process = _client(emulator, token, nip, state, source, crash)
        if crash is None and kills < random_kills:
            delay = rng.uniform(0.4, 2.0)  # start-up, auth, packing, upload, close, wait
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()  # SIGKILL
                kills += 1
        out, err = process.communicate(timeout=120)
        if crash is not None and process.returncode != -9:
            pytest.fail(f"the forced kill point {crash} was never reached:\n{out}{err}")
        if process.returncode == 0:
            return {**json.loads(out.strip().splitlines()[-1]), "attempts": attempt + 1}
        if process.returncode != -9:
            pytest.fail(f"client failed (attempt {attempt + 1}, crash {crash}):\n{err}")
    pytest.fail(f"not done after {MAX_ATTEMPTS} attempts")


def test_killed_clients_resume_and_send_every_invoice_exactly_once(tmp_path) -> None:
    rng = random.Random(20250826)
    plans = [(c, 0) for c in FORCED] + [([], 1 + rng.randrange(2)) for _ in range(RANDOM_RUNS)]
    started = time.monotonic()
    with run_emulator(
        db_path=str(tmp_path / "emulator.db"), processing="background", processing_delay=0.05
    ) as emulator:
        subject = emulator.create_subject()
        expected: list[str] = []
        results = []
        for run, (crashes, random_kills) in enumerate(plans, 1):
            workdir = tmp_path / f"run{run}"
            workdir.mkdir()
            expected += _write_invoices(workdir / "invoices", subject.nip, run)
            results.append(
                _run_until_done(
                    emulator,
                    subject.token,
                    subject.nip,
                    workdir,
                    workdir / "invoices",
                    crashes,
                    rng,
                    random_kills,
                )
            )
        # every forced kill happened, and some random ones: each run needed extra attempts
        for (crashes, random_kills), result in zip(plans, results, strict=True):
            assert result["attempts"] >= len(crashes) + 1
        assert sum(int(r["attempts"]) for r in results) > len(results) + sum(map(len, FORCED))
        for result in results:
            assert result["status"] == 200
            invoices = result["invoices"]
            assert isinstance(invoices, list) and len(invoices) == INVOICES_PER_RUN
            assert all(code == 200 and number for _, code, number in invoices)

        # Across every session the subject ever opened: each P_2 exactly once, no duplicate.
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            seen: list[tuple[str | None, int, str | None]] = [
                (i.invoice_number, i.status.code, i.ksef_number)
                for s in client.sessions.list("Batch")
                for i in client.sessions.invoices(s.reference_number)
            ]
    assert [entry for entry in seen if entry[1] != 200] == []  # no 440 duplicate, no failure
    counts = Counter(number for number, _, _ in seen)
    assert sorted(counts) == sorted(expected)  # none missing, none foreign
    assert set(counts.values()) == {1}  # none twice
    assert len({k for _, _, k in seen}) == len(expected)
    assert time.monotonic() - started < 120
