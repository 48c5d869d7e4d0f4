"""What is retried and what never is."""

from __future__ import annotations

from ksefkit._http import AuthKind, Operation
from ksefkit._retry import RetryPolicy
from ksefkit.errors import BadRequest, RateLimited, ServerError, TransportError

GET = Operation("GET", "/sessions/{ref}")
SEND = Operation("POST", "/sessions/online/{ref}/invoices")
REDEEM = Operation("POST", "/auth/token/redeem", AuthKind.AUTHENTICATION, one_shot=True)
POLICY = RetryPolicy(max_attempts=3, max_wait=60)


def test_reads_retry_on_5xx_429_and_transport() -> None:
    assert POLICY.should_retry(GET, ServerError(503), 1)
    assert POLICY.should_retry(GET, RateLimited(429, retry_after=5), 1)
    assert POLICY.should_retry(GET, TransportError("reset", sent=True), 1)
    assert not POLICY.should_retry(GET, BadRequest(400), 1)
    assert not POLICY.should_retry(GET, ServerError(503), 3)


def test_long_retry_after_is_not_slept_through() -> None:
    assert not POLICY.should_retry(GET, RateLimited(429, retry_after=3600), 1)
    assert POLICY.delay(RateLimited(429, retry_after=7), 1) == 7


def test_writes_retry_only_when_surely_not_sent() -> None:
    assert not POLICY.should_retry(SEND, ServerError(500), 1)
    assert not POLICY.should_retry(SEND, RateLimited(429, retry_after=1), 1)
    assert not POLICY.should_retry(SEND, TransportError("read timeout", sent=True), 1)
    assert POLICY.should_retry(SEND, TransportError("connect refused", sent=False), 1)


def test_redeem_is_never_retried() -> None:
    for error in (ServerError(500), TransportError("x", sent=False), RateLimited(429)):
        assert not POLICY.should_retry(REDEEM, error, 1)


def test_backoff_is_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    for attempt in range(1, 8):
        delay = policy.delay(ServerError(500), attempt)
        assert 0 <= delay <= min(2.0, 0.5 * 2 ** (attempt - 1))
