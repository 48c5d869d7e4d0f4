# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""``client.limits`` and the rate-limit test data change what the emulator allows."""

from __future__ import annotations

import pytest

from ksefkit import Client, ConfigurationError, RateLimited
from ksefkit._retry import NO_RETRY
from ksefkit.testing import RunningEmulator


def test_limits_of_the_context_and_subject(ksef_client: Client) -> None:
    context = ksef_client.limits.context()
    assert context.online_session.max_invoices == 10_000
    ksef_client.testdata.set_session_limits(online={"max_invoices": 7})
    context = ksef_client.limits.context()
    assert context.online_session.max_invoices == 7
    assert context.batch_session.max_invoices == 10_000
    with pytest.raises(ConfigurationError, match="per_sec"):
        ksef_client.testdata.set_rate_limits({"invoiceSend": {"per_sec": 1}})
    with pytest.raises(ConfigurationError, match="noSuchGroup"):
        ksef_client.testdata.set_rate_limits({"noSuchGroup": (1, 1, 1)})
    subject = ksef_client.limits.subject()
    assert subject.certificate is not None and subject.certificate.max_certificates == 100


def test_rate_limit_test_data_is_enforced_and_read_by_the_limiter(
    ksef_emulator: RunningEmulator,
) -> None:
    subject = ksef_emulator.create_subject()
    with ksef_emulator.client() as owner:
        owner.authenticate(subject.token, nip=subject.nip)
        owner.testdata.set_rate_limits({"sessionList": (1, 10, 100)})
        assert (owner.limits.rate_limits()).session_list.per_second == 1
    # A client that reads the limits ("auto") waits for its slot: no 429.
    with ksef_emulator.client(retry=NO_RETRY) as paced:
        paced.authenticate(subject.token, nip=subject.nip)
        _list_sessions(paced, times=3)
    # One that does not pace itself (same context and IP, so the same counters) meets
    # KSeF's 429 within a few back-to-back lists.
    with ksef_emulator.client(rate_limits=None, retry=NO_RETRY) as careless:
        careless.authenticate(subject.token, nip=subject.nip)
        with pytest.raises(RateLimited) as refused:
            _list_sessions(careless, times=3)
        assert refused.value.retry_after is not None and refused.value.retry_after >= 1
        assert not refused.value.local
        careless.testdata.reset_rate_limits()
        assert (careless.limits.rate_limits()).session_list.per_second > 1


def _list_sessions(client: Client, *, times: int) -> None:
    for _ in range(times):
        [s for s in client.sessions.list("Online")]
