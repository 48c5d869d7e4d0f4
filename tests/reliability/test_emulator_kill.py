"""Kill the emulator (SIGKILL, or ``os._exit`` at a forced point) while it works; restart it
on the same SQLite file: nothing it acknowledged is lost and processing completes.

The emulator is a separate ``ksefkit emulator serve --db FILE`` process with background
processing and a processing delay, so invoices are queued when it dies. Forced points come
from ``KSEFKIT_EMULATOR_CRASH_AT`` (:mod:`ksefkit.emulator.crash`): half-way through accepting
an invoice, through building a session UPO, through unpacking a batch package and through a
batch UPO. Random kills come from a seeded RNG while invoices are being sent. Every
acknowledged send (HTTP 202) and close (204) must be found exactly once afterwards, processed:
valid invoices with one KSeF number and a UPO, sessions at 200 with one session UPO page.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ksefkit import Client, FormCode, OnlineSession
from ksefkit.emulator.clock import warsaw_date
from ksefkit.emulator.crash import ENV
from ksefkit.errors import KsefError
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3

pytestmark = [pytest.mark.skipif(os.name != "posix", reason="SIGKILL"), pytest.mark.slow]

DELAY = 0.3  # --processing-delay: sent invoices wait this long in status 100
START_TIMEOUT = 30.0
CRASH_TIMEOUT = 30.0


class Emulator:
    """``ksefkit emulator serve`` on one database file, started and killed by the test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.db = workdir / "emulator.db"
        self.log = workdir / "serve.log"
        self.port = 0  # the first start picks a free port; restarts reuse it
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    def start(self, crash_at: str | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k != ENV}
        if crash_at:
            env[ENV] = crash_at
        cmd = [
            sys.executable,
            "-m",
            "ksefkit.cli.main",
            "emulator",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            "--no-seed",
            "--processing",
            "background",
            "--processing-delay",
            str(DELAY),
        ]
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            log.write(f"\n--- start (crash at {crash_at})\n".encode())
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the emulator exited on start ({self.proc.returncode}):\n{self.tail()}"
                )
            if not self.port:
                found = re.search(rb"KSeF API: +http://127\.0\.0\.1:(\d+)/v2", self._since(mark))
                if found:
                    self.port = int(found.group(1))
            if self.port and self._healthy():
                return
            time.sleep(0.05)
        pytest.fail(f"the emulator did not answer within {START_TIMEOUT} s:\n{self.tail()}")

    def _since(self, mark: int) -> bytes:
        with self.log.open("rb") as f:
            f.seek(mark)
            return f.read()

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.base_url + "/_emulator/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL, from the outside (no clean-up of any kind)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def wait_crash(self, point: str) -> None:
        """The forced point must be reached: the process ends with 137 (``os._exit``)."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=CRASH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the forced kill point {point} was not reached:\n{self.tail()}")
        assert code == 137, f"expected the crash hook's exit 137, got {code}:\n{self.tail()}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def subject(self) -> tuple[str, str]:
        """A new test company (admin API): ``(nip, ksef_token)``."""
        body = httpx.post(self.base_url + "/_emulator/subjects", json={}, timeout=10).json()
        return body["nip"], body["ksefToken"]

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the database file directly (the emulator is dead or idle)."""
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    server = Emulator(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _invoice(seller: str, number: str) -> bytes:
    today = warsaw_date(dt.datetime.now(dt.UTC))
    return generate_fa3(
        seller_nip=seller, buyer_nip=random_nip(), invoice_number=number, issue_date=today
    )


def _hash(xml: bytes) -> str:
    return base64.b64encode(hashlib.sha256(xml).digest()).decode("ascii")


def _send_until_failure(
    session: OnlineSession,
    invoices: list[bytes],
    sent: dict[str, str],
    on_sent: Callable[[], None] = lambda: None,
) -> int:
    """Send ``invoices`` in order; every 202 goes into ``sent`` (reference → invoice hash).
    Returns how many were tried: all, or up to and including the first that failed."""
    for index, xml in enumerate(invoices):
        try:
            reference = session.send(xml).reference_number
        except KsefError:
            return index + 1  # no 202: not acknowledged (it may or may not have arrived)
        sent[reference] = _hash(xml)
        on_sent()
    return len(invoices)


def _check_session_done(
    emulator: Emulator,
    session: OnlineSession,
    sent: dict[str, str],
    tried: int,
    rejected: dict[str, int] | None = None,
) -> None:
    """Every acknowledged invoice once and processed (200 with a KSeF number and UPO, or the
    code ``rejected`` gives its hash); one session UPO page naming each KSeF number once."""
    rejected = rejected or {}
    status = session.wait_until_processed(timeout=60)
    assert status.status.code == 200
    assert status.upo is not None and len(status.upo.pages) == 1
    listed = list(session.invoices())
    counts = Counter(i.reference_number for i in listed)
    assert all(n == 1 for n in counts.values()), counts
    lost = set(sent) - set(counts)
    assert not lost, f"acknowledged invoices lost: {lost}"
    for item in listed:  # acknowledged ones carry the hash that was sent
        assert sent.get(item.reference_number, item.invoice_hash) == item.invoice_hash
    # A send whose answer was lost may have arrived: then it is there once, processed too.
    assert len(listed) <= tried
    assert len({i.invoice_hash for i in listed}) == len(listed)
    numbers = [i.ksef_number for i in listed if i.ksef_number]
    assert len(numbers) == len(set(numbers))
    for item in listed:
        want = rejected.get(item.invoice_hash, 200)
        assert item.status.code == want, (item.reference_number, item.status)
        if want == 200:
            assert item.ksef_number is not None
            assert item.ksef_number.encode() in session.invoice_upo(item.reference_number)
    (page,) = session.session_upo()
    for number in numbers:
        assert page.count(f">{number}<".encode()) == 1, number
    reference = session.reference_number
    assert emulator.query(
        "SELECT COUNT(*) FROM upo_pages WHERE session_reference = ?", (reference,)
    ) == [(1,)]
    assert emulator.query(
        "SELECT COUNT(*), COUNT(DISTINCT ksef_number) FROM invoices"
        " WHERE session_reference = ? AND status_code = 200",
        (reference,),
    ) == [(len(numbers), len(numbers))]


def test_online_session_survives_kills_at_forced_points(emulator: Emulator) -> None:
    started = time.monotonic()
    emulator.start(crash_at="invoice-accept:3")  # dies numbering the third valid invoice
    nip, token = emulator.subject()
    invoices = [_invoice(nip, f"KILL/A/{i}") for i in range(1, 6)]
    foreign = _invoice(random_nip(), "KILL/A/FOREIGN")  # a seller not of this context: 410
    invoices.insert(2, foreign)
    sent: dict[str, str] = {}
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(token, nip=nip)
        session = client.online_session(FormCode.FA3).open()
        tried = _send_until_failure(session, invoices, sent)
        emulator.wait_crash("invoice-accept")
        pending = emulator.query(
            "SELECT COUNT(*) FROM invoices WHERE session_reference = ? AND status_code = 100",
            (session.reference_number,),
        )
        assert pending[0][0] >= 1  # work was queued when it died

        # Restarted: the same access token, session and AES key still work.
        emulator.start(crash_at="session-upo")  # dies building the session UPO
        more = invoices[tried:] + [_invoice(nip, f"KILL/A/{i}") for i in (6, 7)]
        before = len(sent)
        assert _send_until_failure(session, more, sent) == len(more)
        assert len(sent) - before == len(more)
        tried += len(more)
        session.close()  # 204: acknowledged
        emulator.wait_crash("session-upo")
        assert emulator.query(
            "SELECT status_code FROM sessions WHERE reference_number = ?",
            (session.reference_number,),
        ) == [(170,)]
        assert emulator.query("SELECT COUNT(*) FROM upo_pages") == [(0,)]  # rolled back

        emulator.start()
        _check_session_done(emulator, session, sent, tried, {_hash(foreign): 410})
    assert time.monotonic() - started < 45


def test_batch_session_survives_kills_mid_processing(emulator: Emulator, tmp_path: Path) -> None:
    started = time.monotonic()
    emulator.start(crash_at="batch-unpack")  # dies with the package's invoices uncommitted
    nip, token = emulator.subject()
    files = [(f"{i:02d}.xml", _invoice(nip, f"KILL/B/{i}")) for i in range(1, 9)]
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(token, nip=nip)
        batch = client.batch_session(FormCode.FA3)
        package = batch.prepare(files, part_size=2000, directory=tmp_path / "parts")
        assert len(package.parts) > 1
        batch.open()
        batch.upload()
        batch.close()  # 204: acknowledged
        reference = batch.reference_number
        emulator.wait_crash("batch-unpack")
        assert emulator.query(
            "SELECT stage FROM batch_sessions WHERE reference_number = ?", (reference,)
        ) == [("closed",)]
        assert emulator.query(
            "SELECT COUNT(*) FROM invoices WHERE session_reference = ?", (reference,)
        ) == [(0,)]

        emulator.start(crash_at="batch-upo")  # unpacks again, processes, dies in the UPO
        emulator.wait_crash("batch-upo")
        assert emulator.query(
            "SELECT s.status_code, b.stage, COUNT(i.reference_number) FROM sessions s"
            " JOIN batch_sessions b ON b.reference_number = s.reference_number"
            " JOIN invoices i ON i.session_reference = s.reference_number"
            " WHERE s.reference_number = ? AND i.status_code = 200",
            (reference,),
        ) == [(150, "unpacked", len(files))]
        assert emulator.query("SELECT COUNT(*) FROM upo_pages") == [(0,)]

        emulator.start()
        status = batch.wait_until_processed(timeout=60)
        assert status.status.code == 200
        result = batch.result(status)
        assert sorted(r.file_name for r in result.accepted) == [name for name, _ in files]
        numbers = [r.ksef_number for r in result.accepted]
        assert len(set(numbers)) == len(files)
        (page,) = result.upo_pages()
        for number in numbers:
            assert page.count(f">{number}<".encode()) == 1, number
    assert emulator.query(
        "SELECT COUNT(*), COUNT(DISTINCT ordinal_number) FROM invoices WHERE session_reference = ?",
        (reference,),
    ) == [(len(files), len(files))]
    assert emulator.query(
        "SELECT COUNT(*) FROM upo_pages WHERE session_reference = ?", (reference,)
    ) == [(1,)]
    # The session's parts and unpacked files go right after its final commit.
    leftovers = tmp_path / "emulator-storage" / "batch" / reference
    deadline = time.monotonic() + 10
    while leftovers.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leftovers.exists(), f"files of a finished session left: {list(leftovers.iterdir())}"
    assert time.monotonic() - started < 45


def test_random_kills_while_sending_lose_nothing_acknowledged(emulator: Emulator) -> None:
    rng = random.Random(20261121)
    started = time.monotonic()
    kills, per_round = 3, 8
    emulator.start()
    nip, token = emulator.subject()
    invoices = [_invoice(nip, f"KILL/R/{i}") for i in range(1, kills * per_round + 5)]
    sent: dict[str, str] = {}
    tried = 0
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(token, nip=nip)
        session = client.online_session(FormCode.FA3).open()
        for _ in range(kills):
            # SIGKILL from another thread after a random number of acknowledged sends plus a
            # random delay: mid-request, between requests or after the round, always with
            # invoices queued (they wait DELAY seconds before processing).
            after, delay = rng.randint(1, per_round - 1), rng.uniform(0.0, 0.02)
            ready = threading.Event()
            acks = Counter[str]()

            def arm(ready: threading.Event = ready, acks: Counter[str] = acks) -> None:
                acks["n"] += 1
                if acks["n"] == after:
                    ready.set()

            def kill(ready: threading.Event = ready, delay: float = delay) -> None:
                ready.wait(timeout=60)
                time.sleep(delay)
                emulator.kill()

            killer = threading.Thread(target=kill)
            killer.start()
            tried += _send_until_failure(session, invoices[tried : tried + per_round], sent, arm)
            ready.set()  # a round that failed early (it cannot without a kill) must not hang
            killer.join()
            emulator.start()
        tried += _send_until_failure(session, invoices[tried:], sent)
        assert tried == len(invoices)
        assert len(invoices) - len(sent) <= kills  # at most the one send each kill interrupted
        session.close()
        _check_session_done(emulator, session, sent, tried)
    assert time.monotonic() - started < 45
