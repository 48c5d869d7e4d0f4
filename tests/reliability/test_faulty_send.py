"""Done-when 1 of the resilience issue: 2 000 invoices sent through the SDK while the
emulator injects 429s, 5xx (JSON and HTML) and dropped connections (before and after
processing) on 10 % of requests — every invoice accepted exactly once (no 440), none lost.

``KSEFKIT_RELIABILITY_INVOICES`` changes N (e.g. 200 for a quick local run).
"""

from __future__ import annotations

import os

from faulty_run import run_scenario

N = int(os.environ.get("KSEFKIT_RELIABILITY_INVOICES", "2000"))
FAULT_RATE = 0.10


def test_every_invoice_accepted_exactly_once_through_faults() -> None:
    result = run_scenario(N, fault_rate=FAULT_RATE)

    # The faults really happened, in every kind, at about the rate asked for.
    assert set(result.faults_hit) == {
        "rate_limit",
        "server_error",
        "drop_before",
        "drop_after",
    }, result.faults_hit
    assert all(hits > 0 for hits in result.faults_hit.values()), result.faults_hit
    share = sum(result.faults_hit.values()) / result.requests
    assert 0.06 < share < 0.14, f"{share:.1%} of {result.requests} requests faulted"

    # Nothing lost, nothing twice.
    assert result.missing_hashes == []
    assert result.statuses.get(440, 0) == 0, "an invoice was sent twice (440 duplicate)"
    assert result.stored == N, f"{result.stored} invoices stored for {N} sent"
    assert result.distinct_hashes == N
    assert result.statuses == {200: N}
    assert result.sent_references == N
    assert result.accepted_once
