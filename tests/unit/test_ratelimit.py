"""The client-side rate limiter: the group table, the sliding windows, and the limiter at work
in the real transport (``httpx.MockTransport``; a fake clock advanced by the patched sleep,
except for the concurrency tests, which run on real time so tasks and threads truly race).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import ksefkit._async as async_pkg
from ksefkit import AsyncClient, Client, RateLimited, RetryPolicy, _polling, _ratelimit
from ksefkit._http import Operation
from ksefkit._ratelimit import (
    DEFAULT_RATE_LIMITS,
    PUBLIC,
    PUBLIC_LIMITS,
    GroupLimits,
    RateLimits,
    Windows,
    bucket_of,
    endpoint_key,
    group_of,
)
from ksefkit.errors import ConfigurationError

BASE = "https://ksef.invalid/v2"
REF = "20250625-SO-2C3E6C8000-B675CF5D68-07"
# The three reads of collective identifiers carry no group in open-api.json; they are
# counted with the POST of the same resource (see _ratelimit.GROUP_ENDPOINTS).
UNGROUPED = {
    "POST /collective-identifiers/query",
    "GET /collective-identifiers/{}/invoices",
    "GET /collective-identifiers/ksef/{}",
}


def spec_operations(spec_dir: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    spec = json.loads((spec_dir / "open-api.json").read_text("utf-8"))
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield method.upper(), path, op


# -- the table ---------------------------------------------------------------------------


def test_every_operation_of_the_spec_is_in_its_group(spec_dir: Path) -> None:
    seen = 0
    for method, path, op in spec_operations(spec_dir):
        key = endpoint_key(method, path)
        described = op.get("responses", {}).get("429", {}).get("description", "")
        named = described.strip().rsplit("|", 1)[-1].strip() if described else None
        expected = {"-": PUBLIC, None: "collectiveIdentifier"}.get(named, named)
        if named is None:
            assert key in UNGROUPED, key
        assert group_of(method, path) == expected, (key, expected)
        limits = op.get("x-rate-limits")
        if limits:
            table = PUBLIC_LIMITS if expected == PUBLIC else DEFAULT_RATE_LIMITS[expected]
            assert table == GroupLimits.parse(limits), key
        seen += 1
    assert seen >= 83


def test_every_sdk_operation_is_an_endpoint_of_the_spec(spec_dir: Path) -> None:
    endpoints = {endpoint_key(m, p) for m, p, _ in spec_operations(spec_dir)}
    found = []
    for info in pkgutil.walk_packages(async_pkg.__path__, async_pkg.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Operation):
                found.append(value)
                assert endpoint_key(value.method, value.template) in endpoints, value.name
    assert len(found) >= 30


def test_buckets() -> None:
    ctx = "Nip:5265877635"
    # Named groups share one counter per context, whatever the endpoint.
    assert bucket_of("POST", "/sessions/online", ctx) == bucket_of(
        "POST", "/sessions/online/{ref}/close", ctx
    )
    # "other" counts per endpoint; public endpoints once per client, whatever the context.
    assert bucket_of("GET", "/tokens", ctx) != bucket_of("POST", "/tokens", ctx)
    assert bucket_of("POST", "/auth/challenge", ctx) == bucket_of("GET", "/auth/{ref}", "")
    assert bucket_of("GET", "/sessions/{ref}", ctx) != bucket_of("GET", "/sessions/{ref}", "x")


def test_rate_limits_parse() -> None:
    wire = {name: {"perSecond": 1, "perMinute": 2, "perHour": 3} for name in DEFAULT_RATE_LIMITS}
    assert RateLimits.parse(wire).for_group("sessionMisc") == GroupLimits(1, 2, 3)
    model_like = RateLimits.parse({"invoice_send": GroupLimits(4, 5, 6)})
    assert model_like.for_group("invoiceSend") == GroupLimits(4, 5, 6)
    assert model_like.for_group("invoiceStatus") == DEFAULT_RATE_LIMITS["invoiceStatus"]
    assert model_like.for_group("unheard-of") == DEFAULT_RATE_LIMITS["other"]
    with pytest.raises(ConfigurationError, match="unknown rate-limit group"):
        RateLimits.parse({"invoiceSent": (1, 2, 3)})
    assert RateLimits.parse({"invoiceSent": (1, 2, 3)}, strict=False).groups == DEFAULT_RATE_LIMITS
    with pytest.raises(ConfigurationError):
        RateLimits.parse({"other": "fast"})
    assert GroupLimits(0, None, 5).windows() == ((3600.0, 5),)


# -- the windows -------------------------------------------------------------------------


def test_each_window_is_enforced() -> None:
    key = ("ctx", "g")
    per_second = Windows()
    slots = [per_second.reserve(key, GroupLimits(3, None, None), 10.0) for _ in range(7)]
    assert slots == pytest.approx([0, 0, 0, 1.1, 1.1, 1.1, 2.2])
    per_minute = Windows()
    slots = [per_minute.reserve(key, GroupLimits(10, 2, None), 0.0) for _ in range(3)]
    assert slots == pytest.approx([0, 0, 60.1])
    per_hour = Windows()
    for _ in range(3):
        per_hour.reserve(key, GroupLimits(None, None, 3), 0.0)
    assert per_hour.next_free(key, GroupLimits(None, None, 3), 100.0) == pytest.approx(3600.1)


def test_slots_are_first_come_first_served_and_time_frees_them() -> None:
    windows, key, limits = Windows(), ("c", "g"), GroupLimits(2, None, None)
    assert windows.reserve(key, limits, 0.0) == 0
    assert windows.reserve(key, limits, 0.0) == 0
    assert windows.reserve(key, limits, 0.1) == pytest.approx(1.0)  # waits for the 1st
    assert windows.reserve(key, limits, 0.1) == pytest.approx(1.0)  # right behind it
    assert windows.reserve(key, limits, 5.0) == 0  # the windows emptied meanwhile


def test_a_wait_beyond_max_wait_takes_nothing() -> None:
    windows, key, limits = Windows(), ("c", "g"), GroupLimits(None, 1, None)
    assert windows.reserve(key, limits, 0.0, max_wait=10) == 0
    assert windows.reserve(key, limits, 1.0, max_wait=10) is None
    assert windows.reserve(key, limits, 1.0, max_wait=10) is None  # still nothing taken
    assert windows.wait_hint(key, limits, 1.0) == pytest.approx(59.1)
    assert windows.reserve(key, limits, 1.0, max_wait=100) == pytest.approx(59.1)


def test_a_block_holds_the_bucket() -> None:
    windows, key, limits = Windows(), ("c", "g"), GroupLimits(100, None, None)
    windows.block(key, 30.0)
    assert windows.reserve(key, limits, 10.0) == pytest.approx(20.0)
    assert windows.reserve(("c", "other"), limits, 10.0) == 0


def test_memory_stays_bounded() -> None:
    windows, key, limits = Windows(), ("c", "g"), GroupLimits(5, 50, 100)
    for i in range(1000):
        windows.record(key, limits, i * 10.0, i * 10.0)
    assert len(windows._stamps[key]) <= 100


# -- the limiter in the transport --------------------------------------------------------


class FakeTime:
    """A clock that moves only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_ratelimit, "clock", fake.clock)
    monkeypatch.setattr(_polling, "sync_sleep", fake.sleep)
    return fake


class StrictKsef:
    """A server that counts like KSeF (its own naive sliding windows, per endpoint group as
    the caller says) and answers 429 to any request over a limit."""

    def __init__(
        self,
        now: Callable[[], float],
        limits: dict[str, tuple[int | None, int | None, int | None]],
        *,
        rate_limits_answer: httpx.Response | None = None,
        slack: float = 0.0,
    ) -> None:
        self.now = now
        self.limits = limits
        self.rate_limits_answer = rate_limits_answer
        # Real-time tests forgive this much scheduling jitter between client and "server".
        self.slack = slack
        self.sent: dict[str, list[float]] = {}
        self.requests: list[httpx.Request] = []
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            path = request.url.path.removeprefix("/v2")
            if path == "/rate-limits" and self.rate_limits_answer is not None:
                answer = self.rate_limits_answer  # a fresh copy: a response is read once
                return httpx.Response(
                    answer.status_code, headers=answer.headers, content=answer.content
                )
            group = group_of(request.method, _template(path))
            at = self.now()
            stamps = self.sent.setdefault(group, [])
            limit = self.limits.get(group)
            if limit is not None:
                for window, allowed in zip((1.0, 60.0, 3600.0), limit, strict=True):
                    recent = sum(1 for s in stamps if s > at - window + self.slack)
                    if allowed is not None and recent >= allowed:
                        self.refused += 1
                        return httpx.Response(429, headers={"Retry-After": "1"})
            stamps.append(at)
        if path == "/sessions":
            return httpx.Response(200, json={"sessions": []})
        return httpx.Response(200, json=_status_body())


def _template(path: str) -> str:
    parts = path.split("/")
    if parts[1:2] == ["sessions"] and len(parts) == 3:
        return "/sessions/{ref}"
    return path


def _status_body() -> dict[str, Any]:
    return {
        "status": {"code": 100, "description": "Sesja interaktywna otwarta"},
        "dateCreated": "2025-06-25T10:00:00+00:00",
        "dateUpdated": "2025-06-25T10:00:00+00:00",
    }


def make_client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Client:
    kwargs.setdefault("access_token", "opaque-access-token")
    return Client(base_url=BASE, transport=httpx.MockTransport(handler), **kwargs)


def rate_limits_json(**groups: tuple[int, int, int]) -> dict[str, Any]:
    table = {
        name: (lim.per_second, lim.per_minute, lim.per_hour)
        for name, lim in DEFAULT_RATE_LIMITS.items()
    }
    table.update(groups)
    return {
        name: {"perSecond": s, "perMinute": m, "perHour": h} for name, (s, m, h) in table.items()
    }


def test_a_paced_client_never_meets_429(fake_time: FakeTime) -> None:
    limits = {"sessionMisc": (2, 5, 100)}
    server = StrictKsef(fake_time.clock, limits)
    with make_client(server, rate_limits=limits) as client:
        for _ in range(12):
            client.sessions.status(REF)
    assert server.refused == 0
    assert len(server.requests) == 12
    # 5 per minute: the 12th request went out in the third minute.
    assert 120 < fake_time.now - 1000.0 < 125


def test_an_unpaced_client_meets_429(fake_time: FakeTime) -> None:
    server = StrictKsef(fake_time.clock, {"sessionMisc": (2, 5, 100)})
    with make_client(server, rate_limits=None, retry=RetryPolicy(max_attempts=1)) as client:
        client.sessions.status(REF)
        client.sessions.status(REF)
        with pytest.raises(RateLimited):
            client.sessions.status(REF)  # the checker above is not vacuous


def test_auto_reads_rate_limits_once_after_authentication(fake_time: FakeTime) -> None:
    answer = httpx.Response(200, json=rate_limits_json(sessionMisc=(1, 100, 1000)))
    server = StrictKsef(fake_time.clock, {"sessionMisc": (1, 100, 1000)}, rate_limits_answer=answer)
    with make_client(server) as client:
        for _ in range(3):
            client.sessions.status(REF)
        paths = [r.url.path for r in server.requests]
        assert paths == ["/v2/rate-limits"] + ["/v2/sessions/" + REF] * 3
        assert server.refused == 0 and fake_time.now - 1000.0 == pytest.approx(2.2)
        # A new authentication (new tokens): the limits are read again, once.
        client.tokens.set("another-access-token", "another-refresh-token")
        client.sessions.status(REF)
        client.sessions.status(REF)
    assert [r.url.path for r in server.requests].count("/v2/rate-limits") == 2


def test_auto_falls_back_to_the_documented_defaults(fake_time: FakeTime) -> None:
    server = StrictKsef(
        fake_time.clock, {}, rate_limits_answer=httpx.Response(500, text="<html>oops</html>")
    )
    with make_client(server, retry=RetryPolicy(max_attempts=2, base_delay=0.0)) as client:
        for _ in range(11):
            client.sessions.status(REF)
        # The read is retried like any GET (two attempts here), then the defaults hold.
        assert [r.url.path for r in server.requests].count("/v2/rate-limits") == 2
        # sessionMisc defaults: 10 per second, so the 11th waited a second.
        assert fake_time.now - 1000.0 == pytest.approx(1.1)
        # A minute later the limits are read again (KSeF may be back).
        fake_time.now += 61
        client.sessions.status(REF)
    assert [r.url.path for r in server.requests].count("/v2/rate-limits") == 4


def test_a_failed_reread_keeps_the_limits_read_before(fake_time: FakeTime) -> None:
    answers = [
        httpx.Response(200, json=rate_limits_json(sessionMisc=(1000, 100000, 1000000))),
        httpx.Response(503, text="<html>busy</html>"),
    ]
    paths: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v2/rate-limits":
            return answers.pop(0) if len(answers) > 1 else answers[0]
        if paths.count("/v2/sessions/" + REF) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json=_status_body())

    with make_client(server, retry=RetryPolicy(max_attempts=2, base_delay=0.0)) as client:
        client.sessions.status(REF)  # 429 -> limits marked stale, re-read fails
        for _ in range(50):
            client.sessions.status(REF)
    # Had the failed re-read fallen back to the defaults (10/s), 50 calls would take 4+ s.
    assert fake_time.now - 1000.0 < 2.0
    assert paths.count("/v2/rate-limits") >= 2


def test_auto_does_nothing_before_authentication_and_for_public_endpoints(
    fake_time: FakeTime,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path != "/v2/rate-limits"
        return httpx.Response(200, json=[])

    with make_client(answer, access_token=None) as client:
        for _ in range(5):
            client.security.public_key_certificates()
    assert fake_time.sleeps == []


def test_429_anyway_holds_the_group_and_rereads_the_limits(fake_time: FakeTime) -> None:
    refusals = [httpx.Response(429, headers={"Retry-After": "30"})]
    paths: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v2/rate-limits":
            return httpx.Response(200, json=rate_limits_json())
        return refusals.pop() if refusals else httpx.Response(200, json=_status_body())

    with make_client(server, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(RateLimited):
            client.sessions.status(REF)
        # Another call of the same group waits out KSeF's Retry-After before it goes.
        client.sessions.status(REF)
    assert fake_time.now - 1000.0 == pytest.approx(30.0)
    assert paths.count("/v2/rate-limits") == 2


def test_a_wait_beyond_max_wait_raises_rate_limited_locally(fake_time: FakeTime) -> None:
    server = StrictKsef(fake_time.clock, {})
    with make_client(
        server, rate_limits={"sessionList": (5, 1, 60)}, retry=RetryPolicy(max_wait=30)
    ) as client:
        assert list(client.sessions.list("Online")) == []
        with pytest.raises(RateLimited) as info:
            list(client.sessions.list("Online"))
        # A more patient call (per-call policy) waits for the slot instead.
        patient = client.with_options(retry=RetryPolicy(max_wait=120))
        assert list(patient.sessions.list("Online")) == []
    error = info.value
    assert error.local and error.group == "sessionList" and len(server.requests) == 2
    assert error.retry_after == pytest.approx(60.1) and error.retry_at is not None
    assert "client-side rate limit of group sessionList" in str(error)
    assert fake_time.sleeps == [pytest.approx(60.1)]


def test_views_share_the_counters_or_turn_pacing_off(fake_time: FakeTime) -> None:
    server = StrictKsef(fake_time.clock, {})
    with make_client(server, rate_limits={"sessionMisc": (1, 100, 1000)}) as client:
        client.sessions.status(REF)
        client.with_options(retry=RetryPolicy(max_attempts=2)).sessions.status(REF)
        assert fake_time.now - 1000.0 == pytest.approx(1.1)  # the view waited its turn
        unpaced = client.with_options(rate_limits=None)
        for _ in range(3):
            unpaced.sessions.status(REF)
        assert fake_time.now - 1000.0 == pytest.approx(1.1)
        stricter = client.with_options(rate_limits={"sessionMisc": (1, 2, 100)})
        stricter.sessions.status(REF)  # the view's own limits, the shared history
    assert fake_time.now - 1000.0 == pytest.approx(60.1)


def test_presigned_links_are_never_paced(fake_time: FakeTime) -> None:
    def storage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<UPO/>")

    with make_client(storage, rate_limits={"sessionMisc": (1, 1, 1), "other": (1, 1, 1)}) as client:
        for _ in range(5):
            client.sessions.download_upo("https://blob.invalid/upo.xml?sig=x")
    assert fake_time.sleeps == []


# -- shared by tasks and threads (real time) ---------------------------------------------

LIMIT = {"sessionMisc": (5, 100, 1000)}


def test_threads_of_one_client_share_the_counters() -> None:
    server = StrictKsef(time.monotonic, LIMIT, slack=0.15)
    with make_client(server, rate_limits=LIMIT) as client:
        threads = [
            threading.Thread(target=lambda: [client.sessions.status(REF) for _ in range(3)])
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.refused == 0 and len(server.requests) == 12


@pytest.mark.anyio
async def test_tasks_of_one_client_share_the_counters() -> None:
    server = StrictKsef(time.monotonic, LIMIT, slack=0.15)
    async with AsyncClient(
        base_url=BASE,
        transport=httpx.MockTransport(server),
        access_token="opaque-access-token",
        rate_limits=LIMIT,
    ) as client:
        async with anyio.create_task_group() as tasks:
            for _ in range(11):
                tasks.start_soon(client.sessions.status, REF)
    assert server.refused == 0 and len(server.requests) == 11


def test_limits_resource_reads_the_three_endpoints() -> None:
    answers = {
        "/v2/limits/context": {
            kind: {"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 7}
            for kind in ("onlineSession", "batchSession")
        },
        "/v2/limits/subject": {"enrollment": {"maxEnrollments": 300}, "certificate": {}},
        "/v2/rate-limits": rate_limits_json(invoiceSend=(1, 2, 3)),
    }
    paths: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json=answers[request.url.path])

    with make_client(server, rate_limits="defaults") as client:
        assert client.limits.context().batch_session.max_invoices == 7
        subject = client.limits.subject()
        assert subject.enrollment is not None and subject.enrollment.max_enrollments == 300
        assert subject.certificate is not None and subject.certificate.max_certificates is None
        assert client.limits.rate_limits().invoice_send.per_hour == 3
    assert paths == ["/v2/limits/context", "/v2/limits/subject", "/v2/rate-limits"]
