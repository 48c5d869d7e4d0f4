"""One scenario, shared by the reliability test and ``bench/bench_faults.py``: send N invoices
through the SDK to an emulator (real TCP) that injects faults on a share of the requests,
then read the emulator's own database to judge the outcome.

>>> result = run_scenario(20, fault_rate=0.0)  # doctest: +SKIP
>>> result.accepted_once  # doctest: +SKIP
True
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from dataclasses import dataclass, field

import httpx

from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.testing import run_emulator

__all__ = ["FAULT_MIX", "ScenarioResult", "run_scenario"]

#: How the fault rate is split between kinds (shares of ``fault_rate``). The ambiguous case
#: (``drop_after``: processed, answer lost) and its twin (``drop_before``) dominate because
#: they are the ones that make naive clients lose or duplicate invoices.
FAULT_MIX: tuple[tuple[str, float, dict[str, object]], ...] = (
    ("rate_limit", 0.10, {"retry_after": 1}),
    ("server_error", 0.15, {"status": 503}),
    ("server_error", 0.15, {"status": 502, "html": True}),
    ("drop_before", 0.30, {}),
    ("drop_after", 0.30, {}),
)


@dataclass
class ScenarioResult:
    """What happened, read from the emulator's database after the run."""

    invoices: int
    seconds: float
    requests: int
    faults_hit: dict[str, int]
    statuses: dict[int, int]
    stored: int
    distinct_hashes: int
    sent_references: int
    missing_hashes: list[str] = field(default_factory=list)

    @property
    def accepted_once(self) -> bool:
        """Every invoice stored once, accepted (200), nothing else stored."""
        return (
            self.stored == self.invoices
            and self.distinct_hashes == self.invoices
            and self.statuses == {200: self.invoices}
            and not self.missing_hashes
            and self.sent_references == self.invoices
        )


def run_scenario(n: int, *, fault_rate: float, seed: int = 20261121) -> ScenarioResult:
    """Send ``n`` invoices in one online session with ``fault_rate`` of requests faulted."""
    requests = collections.Counter[str]()

    def count(request: httpx.Request) -> None:
        requests["all"] += 1

    today = dt.date.today()
    with run_emulator() as emu:
        subject = emu.create_subject()
        buyer = random_nip()
        http = httpx.Client(event_hooks={"request": [count]}, timeout=30.0)
        with emu.client(http_client=http) as client:
            # Log in before the faults start: redeeming the authentication token is one-shot
            # by design (never retried), so a lost redeem answer means logging in again.
            client.authenticate(subject.token, nip=subject.nip)
            faults = emu.state.faults
            faults.reseed(seed)
            for kind, share, extra in FAULT_MIX:
                if fault_rate > 0:
                    faults.add(kind, rate=fault_rate * share, **extra)
            started = time.perf_counter()
            hashes: list[str] = []
            references: set[str] = set()
            with client.online_session() as session:
                for i in range(n):
                    xml = generate_fa3(
                        seller_nip=subject.nip,
                        buyer_nip=buyer,
                        invoice_number=f"REL/{i}/{seed}",
                        issue_date=today,
                    )
                    sent = session.send(xml)
                    hashes.append(sent.invoice_hash)
                    references.add(sent.reference_number)
            session.wait_until_processed(timeout=600)
            seconds = time.perf_counter() - started
            hit = collections.Counter[str]()
            for rule in faults.rules():
                hit[str(rule["kind"])] += int(rule.get("hits", 0))
            faults.clear()
        http.close()
        rows = emu.state.store.all("SELECT invoice_hash, status_code FROM invoices")
    stored_hashes = {row["invoice_hash"] for row in rows}
    return ScenarioResult(
        invoices=n,
        seconds=seconds,
        requests=requests["all"],
        faults_hit=dict(hit),
        statuses=dict(collections.Counter(int(row["status_code"]) for row in rows)),
        stored=len(rows),
        distinct_hashes=len(stored_hashes),
        sent_references=len(references),
        missing_hashes=[h for h in hashes if h not in stored_hashes],
    )
