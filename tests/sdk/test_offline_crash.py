"""Kill an offline-queue sender process (SIGKILL) at chosen points and after random delays,
online and batch; run it again until the queue is done: every invoice must reach KSeF
exactly once (no duplicate, none lost), and a lost answer inside one run is settled too.

The emulator runs here (file database, background processing); each sender is a separate
process running ``offline_client_script.py`` (see its docstring for the kill points).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from ksefkit import AsyncClient
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.offline import OfflineQueue
from ksefkit.testing import RunningEmulator, run_emulator

SCRIPT = Path(__file__).with_name("offline_client_script.py")
INVOICES_PER_RUN = 4
MAX_ATTEMPTS = 6

#: (how, forced kill points one attempt each, random kills after that)
PLANS = [
    ("online", ["mark:2"], 0),  # recorded as sending, never sent
    ("online", ["post:2"], 0),  # on its way, answer never read
    ("online", ["posted:1", "posted:2"], 0),  # reached KSeF, not recorded, twice
    ("online", ["verdict:1"], 0),  # verdict known to KSeF, not recorded
    ("batch", ["save:1"], 0),  # package built, session not opened
    ("batch", ["open", "close"], 0),  # opened unrecorded; then closed unrecorded
    ("online", [], 2),
    ("batch", [], 1),
]

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")


def _fill(queue_path: Path, nip: str, run: int) -> list[str]:
    numbers = []
    today = dt.datetime.now(dt.UTC).date()
    with OfflineQueue(queue_path) as queue:
        for i in range(1, INVOICES_PER_RUN + 1):
            number = f"OFFCRASH/{run}/{i}"
            xml = generate_fa3(
                seller_nip=nip, buyer_nip=random_nip(), invoice_number=number, issue_date=today
            )
            queue.add(xml, mode="offline24", file_name=f"{i}.xml")
            numbers.append(number)
    return numbers


def _sender(
    emulator: RunningEmulator, token: str, nip: str, queue: Path, how: str, crash: str | None
) -> subprocess.Popen[str]:
    env = {**os.environ, "KSEF_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    env.pop("KSEFKIT_CRASH", None)
    if crash:
        env["KSEFKIT_CRASH"] = crash
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), emulator.api_url, nip, str(queue), how],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_until_done(
    emulator: RunningEmulator,
    subject: object,
    queue: Path,
    plan: tuple[str, list[str], int],
    rng: random.Random,
) -> int:
    how, crashes, random_kills = plan
    kills = 0
    for attempt in range(MAX_ATTEMPTS):
        crash = crashes[attempt] if attempt < len(crashes) else None
        process = _sender(emulator, subject.token, subject.nip, queue, how, crash)  # type: ignore[attr-defined]
        if crash is None and kills < random_kills:
            try:
                process.wait(timeout=rng.uniform(0.8, 2.5))  # start-up, auth, sends, waits
            except subprocess.TimeoutExpired:
                process.kill()
                kills += 1
        out, err = process.communicate(timeout=120)
        if crash is not None and process.returncode != -9:
            pytest.fail(f"the forced kill point {crash} was never reached:\n{out}{err}")
        if process.returncode == 0:
            return attempt + 1
        if process.returncode != -9:
            pytest.fail(f"sender failed (attempt {attempt + 1}, crash {crash}):\n{out}{err}")
    pytest.fail(f"not done after {MAX_ATTEMPTS} attempts")


@posix_only
def test_killed_senders_send_every_invoice_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    with run_emulator(
        db_path=str(tmp_path / "emulator.db"), processing="background", processing_delay=0.05
    ) as emulator:
        subject = emulator.create_subject()
        expected: list[str] = []
        for run, plan in enumerate(PLANS, 1):
            queue = tmp_path / f"run{run}" / "offline.sqlite3"
            expected += _fill(queue, subject.nip, run)
            attempts = _run_until_done(emulator, subject, queue, plan, rng)
            assert attempts >= len(plan[1]) + 1
            with OfflineQueue(queue) as done:
                entries = done.list()
                assert {e.status for e in entries} == {"accepted"}
                assert {e.invoicing_mode for e in entries} == {"Offline"}
            assert not list((queue.parent / "offline.sqlite3.batches").glob("*.json"))
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            seen = [
                (i.invoice_number, i.status.code)
                for kind in ("Online", "Batch")
                for s in client.sessions.list(kind)
                for i in client.sessions.invoices(s.reference_number)
            ]
    assert [s for s in seen if s[1] != 200] == []  # no 440 duplicate, no failure
    counts = Counter(number for number, _ in seen)
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}


class LoseOneAnswer(httpx.AsyncBaseTransport):
    """Forwards to the emulator, but drops KSeF's answer to the first invoice POST (the
    request did reach KSeF): the client sees a read error, as after a network cut."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/invoices") and not self.lost:
            self.lost += 1
            await response.aclose()
            raise httpx.ReadError("connection reset", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
async def test_a_lost_answer_is_settled_by_hash_not_resent(tmp_path: Path) -> None:
    with run_emulator() as emulator:
        subject = emulator.create_subject()
        today = dt.datetime.now(dt.UTC).date()
        queue = OfflineQueue(tmp_path / "offline.sqlite3")
        for i in (1, 2):
            xml = generate_fa3(
                seller_nip=subject.nip,
                buyer_nip=random_nip(),
                invoice_number=f"LOST/{i}",
                issue_date=today,
            )
            queue.add(xml, mode="offline24")
        transport = LoseOneAnswer()
        async with AsyncClient(base_url=emulator.api_url, transport=transport) as client:
            await client.authenticate(subject.token, nip=subject.nip)
            result = await client.offline(queue).send()
        assert transport.lost == 1
        assert [e.status for e in result.entries] == ["accepted", "accepted"]
        rows = emulator.state.store.all("SELECT invoice_hash FROM invoices")
        assert sorted(Counter(r["invoice_hash"] for r in rows).values()) == [1, 1]
        queue.close()
