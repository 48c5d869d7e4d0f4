"""What is retried, what is reconciled, what never is; Retry-After; per-call policies.

The first half asks the pure decider (``RetryPolicy.classify``); the second drives the real
transport of the sync client through ``httpx.MockTransport`` with the one patchable sleep
replaced, so every rule is checked where it acts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from ksefkit import NO_RETRY, Client, RetryPolicy
from ksefkit._http import AuthKind, Operation
from ksefkit._retry import Decision
from ksefkit.errors import (
    ApiError,
    BadRequest,
    IntegrityError,
    RateLimited,
    ServerError,
    StorageError,
    TransportError,
)

GET = Operation("GET", "/sessions/{ref}")
SEND = Operation("POST", "/sessions/online/{ref}/invoices", reconcile=True)
GENERATE = Operation("POST", "/tokens")
OPEN = Operation("POST", "/sessions/online", idempotent=True)
REDEEM = Operation("POST", "/auth/token/redeem", AuthKind.AUTHENTICATION, one_shot=True)
UPLOAD = Operation("PUT", "https://blob.example/part1?…", AuthKind.NONE, idempotent=True)
POLICY = RetryPolicy(max_attempts=3, max_wait=60)

REF = "20250625-SO-2C3E6C8000-B675CF5D68-07"
BASE = "https://ksef.invalid/v2"


# -- the decider -------------------------------------------------------------------------


def test_reads_retry_on_5xx_429_408_and_transport() -> None:
    for error in (
        ServerError(503),
        ServerError(500),
        RateLimited(429, retry_after=5),
        ApiError(408),
        TransportError("reset", sent=True),
        TransportError("refused", sent=False),
    ):
        assert POLICY.classify(GET, error, 1) is Decision.RETRY, error
    assert POLICY.classify(GET, BadRequest(400), 1) is Decision.RAISE
    assert POLICY.classify(GET, ServerError(503), 3) is Decision.RAISE  # attempts used up


def test_ambiguous_send_is_reconciled_never_blindly_resent() -> None:
    for error in (ServerError(500), ServerError(504), TransportError("read timeout", sent=True)):
        assert POLICY.classify(SEND, error, 1) is Decision.RECONCILE
        # Looking up is not resending: the answer does not depend on the attempts left.
        assert POLICY.classify(SEND, error, 3) is Decision.RECONCILE
    assert POLICY.classify(SEND, BadRequest(400), 1) is Decision.RAISE


def test_write_that_never_reached_kseF_or_was_refused_by_429_is_resent() -> None:
    assert POLICY.classify(SEND, TransportError("refused", sent=False), 1) is Decision.RETRY
    assert POLICY.classify(SEND, RateLimited(429, retry_after=1), 1) is Decision.RETRY
    assert POLICY.classify(SEND, RateLimited(429), 1) is Decision.RETRY
    assert POLICY.classify(GENERATE, RateLimited(429, retry_after=1), 1) is Decision.RETRY
    assert POLICY.classify(SEND, RateLimited(429, retry_after=1), 3) is Decision.RAISE


def test_other_ambiguous_writes_are_raised() -> None:
    assert POLICY.classify(GENERATE, ServerError(502), 1) is Decision.RAISE
    assert POLICY.classify(GENERATE, TransportError("reset", sent=True), 1) is Decision.RAISE
    assert POLICY.classify(GENERATE, TransportError("refused", sent=False), 1) is Decision.RETRY


def test_opening_a_session_is_retried_after_an_ambiguous_failure() -> None:
    assert POLICY.classify(OPEN, ServerError(502), 1) is Decision.RETRY
    assert POLICY.classify(OPEN, TransportError("read timeout", sent=True), 1) is Decision.RETRY


def test_redeem_is_never_retried() -> None:
    for error in (ServerError(500), TransportError("x", sent=False), RateLimited(429)):
        assert POLICY.classify(REDEEM, error, 1) is Decision.RAISE


def test_retry_after_longer_than_max_wait_is_not_slept_through() -> None:
    assert POLICY.classify(GET, RateLimited(429, retry_after=3600), 1) is Decision.RAISE
    assert POLICY.classify(GET, RateLimited(429, retry_after=60), 1) is Decision.RETRY
    assert POLICY.delay(RateLimited(429, retry_after=7), 1) == 7
    patient = RetryPolicy(max_wait=7200)
    assert patient.classify(GET, RateLimited(429, retry_after=3600), 1) is Decision.RETRY
    assert patient.delay(RateLimited(429, retry_after=3600), 1) == 3600


def test_storage_failures() -> None:
    for status in (408, 429, 500, 502, 503, 504):
        assert POLICY.classify(UPLOAD, StorageError("x", status_code=status), 1) is Decision.RETRY
    for status in (400, 401, 404):
        assert POLICY.classify(UPLOAD, StorageError("x", status_code=status), 1) is Decision.RAISE
    expired = StorageError("x", status_code=403, expired=True)
    assert POLICY.classify(UPLOAD, expired, 1) is Decision.RAISE
    slow = StorageError("x", status_code=503, retry_after=3600)
    assert POLICY.classify(UPLOAD, slow, 1) is Decision.RAISE
    assert POLICY.delay(StorageError("x", status_code=503, retry_after=4), 1) == 4
    assert POLICY.classify(UPLOAD, TransportError("reset"), 1) is Decision.RETRY
    assert POLICY.classify(UPLOAD, IntegrityError("hash"), 1) is Decision.RETRY
    assert POLICY.classify(SEND, IntegrityError("hash"), 1) is Decision.RAISE


def test_backoff_is_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    delays = [policy.delay(ServerError(500), attempt) for attempt in range(1, 8) for _ in range(5)]
    for index, delay in enumerate(delays):
        attempt = index // 5 + 1
        assert 0 <= delay <= min(2.0, 0.5 * 2 ** (attempt - 1))
    assert len(set(delays)) > 1  # jittered, not a fixed schedule


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_wait=-1)


# -- the transport -----------------------------------------------------------------------


class Server:
    """Answers from a script, one per request; records every request."""

    def __init__(self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


def status_json() -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "status": {"code": 100, "description": "Sesja interaktywna otwarta"},
            "dateCreated": "2025-06-25T10:00:00+00:00",
            "dateUpdated": "2025-06-25T10:00:00+00:00",
        },
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from ksefkit import _polling

    slept: list[float] = []
    monkeypatch.setattr(_polling, "sync_sleep", slept.append)
    return slept


def client(server: Server, **kwargs: object) -> Client:
    return Client(
        base_url=BASE,
        transport=httpx.MockTransport(server),
        access_token="opaque-access-token",
        rate_limits=None,
        **kwargs,  # type: ignore[arg-type]
    )


def test_429_retry_after_seconds_is_honoured(sleeps: list[float]) -> None:
    server = Server(httpx.Response(429, headers={"Retry-After": "42"}), status_json())
    with client(server) as c:
        assert c.sessions.status(REF).status.code == 100
    assert len(server.requests) == 2
    assert sleeps == [42.0]


def test_429_retry_after_http_date_is_honoured(sleeps: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    server = Server(httpx.Response(429, headers={"Retry-After": when}), status_json())
    with client(server) as c:
        c.sessions.status(REF)
    assert len(sleeps) == 1 and 85 <= sleeps[0] <= 90


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_retry_after_beyond_max_wait_raises_with_when_to_come_back(
    sleeps: list[float], form: str
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=3600)
    header = "3600" if form == "seconds" else format_datetime(later, usegmt=True)
    server = Server(httpx.Response(429, headers={"Retry-After": header}))
    with client(server, retry=RetryPolicy(max_wait=300)) as c, pytest.raises(RateLimited) as info:
        c.sessions.status(REF)
    error = info.value
    assert len(server.requests) == 1 and sleeps == []
    assert error.retry_after is not None and 3590 <= error.retry_after <= 3600
    assert error.retry_at is not None and error.retry_at.tzinfo is not None
    assert abs((error.retry_at - later).total_seconds()) < 10
    text = str(error)
    assert "GET /sessions/{ref}" in text and "HTTP 429" in text
    assert "retry after" in text and error.retry_at.isoformat(timespec="seconds") in text


def test_429_on_a_write_is_resent_after_retry_after(sleeps: list[float]) -> None:
    body = {"referenceNumber": "20250625-EE-319D7EE000-B67F415CDC-2C"}
    server = Server(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(202, json=body)
    )
    with client(server) as c:
        from ksefkit.models import SendInvoiceRequest

        request = SendInvoiceRequest.model_validate(
            {
                "invoiceHash": "a" * 44,
                "invoiceSize": 10,
                "encryptedInvoiceHash": "b" * 44,
                "encryptedInvoiceSize": 16,
                "encryptedInvoiceContent": "AAAAAAAAAAAAAAAAAAAAAA==",
            }
        )
        sent = c.sessions.send_invoice(REF, request)
    assert sent.reference_number == body["referenceNumber"]
    assert len(server.requests) == 2 and sleeps == [3.0]


def test_ambiguous_send_leaves_the_transport_at_once(sleeps: list[float]) -> None:
    server = Server(httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>"))
    with client(server) as c, pytest.raises(ServerError):
        c._http.request(
            Operation("POST", "/sessions/online/{ref}/invoices", reconcile=True),
            path_params={"ref": REF},
            json={},
        )
    assert len(server.requests) == 1  # the workflow reconciles; the transport never resends


def test_redeem_is_sent_once_whatever_happens(sleeps: list[float]) -> None:
    server = Server(httpx.Response(503))
    with client(server) as c, pytest.raises(ServerError):
        c.auth.redeem("operation-token")
    assert len(server.requests) == 1 and sleeps == []


def test_connect_error_is_retried_even_for_a_write(sleeps: list[float]) -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(
            201, json={"referenceNumber": "R", "timestamp": "2025-01-01T00:00:00Z"}
        )

    with client(Server(flaky)) as c:
        c._http.request(GENERATE, json={})
    assert calls == 2 and len(sleeps) == 1


def test_with_options_sets_the_policy_per_call(sleeps: list[float]) -> None:
    server = Server(httpx.Response(503), httpx.Response(503), status_json())
    with client(server) as c:
        with pytest.raises(ServerError):
            c.with_options(retry=NO_RETRY).sessions.status(REF)
        assert len(server.requests) == 1
        # The client itself keeps its own policy: this call retries through the 503.
        assert c.sessions.status(REF).status.code == 100
        assert len(server.requests) == 3


def test_per_call_retry_argument_wins(sleeps: list[float]) -> None:
    server = Server(httpx.Response(503))
    with client(server) as c, pytest.raises(ServerError):
        c._http.request(GET, path_params={"ref": REF}, retry=RetryPolicy(max_attempts=2))
    assert len(server.requests) == 2


def test_with_options_view_shares_tokens_and_pool_and_timeout(sleeps: list[float]) -> None:
    seen: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        assert request.headers["Authorization"] == "Bearer opaque-access-token"
        return status_json()

    with client(Server(answer)) as c:
        view = c.with_options(timeout=7.5)
        assert view.tokens is c.tokens and view.keys is c.keys
        assert view._http.http is c._http.http
        assert view._http.limiter._shared is c._http.limiter._shared
        assert view.retry is c.retry
        view.sessions.status(REF)
        c.sessions.status(REF)
        view.close()  # a view closes nothing
        c.sessions.status(REF)
    assert seen[0] == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}
    assert seen[1] != seen[0] and seen[2] == seen[1]


def test_presigned_download_errors_are_storage_errors(sleeps: list[float]) -> None:
    server = Server(
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.Response(200, content=b"<UPO/>"),
    )
    url = "https://blob.invalid/upo/1.xml?sv=2024&sig=SECRET"
    with client(server) as c:
        assert c.sessions.download_upo(url) == b"<UPO/>"
        assert sleeps == [2.0]
        assert all("Authorization" not in r.headers for r in server.requests)
        for status, expired in ((404, False), (403, True)):
            server.answers = [httpx.Response(status, text="<Error><Code>X</Code></Error>")]
            with pytest.raises(StorageError) as info:
                c.sessions.download_upo(url)
            assert not isinstance(info.value, ApiError)
            assert info.value.status_code == status and info.value.expired is expired
            assert "SECRET" not in str(info.value) and "blob.invalid/upo/1.xml" in str(info.value)


def test_presigned_download_transport_failure_does_not_leak_the_link(sleeps: list[float]) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"connection reset while reading {request.url}", request=request)

    url = "https://blob.invalid/upo/1.xml?sig=SECRET"
    with client(Server(broken), retry=RetryPolicy(max_attempts=2)) as c:
        with pytest.raises(TransportError) as info:
            c.sessions.download_upo(url)
    assert "SECRET" not in str(info.value)
    assert len(sleeps) == 1


def test_503_retry_after_is_honoured_too(sleeps: list[float]) -> None:
    server = Server(httpx.Response(503, headers={"Retry-After": "12"}), status_json())
    with client(server) as c:
        c.sessions.status(REF)
    assert sleeps == [12.0]
    server = Server(httpx.Response(503, headers={"Retry-After": "7200"}))
    with client(server) as c, pytest.raises(ServerError) as info:
        c.sessions.status(REF)
    assert len(server.requests) == 1 and info.value.retry_after == 7200
    assert "retry after 7200 s" in str(info.value)
