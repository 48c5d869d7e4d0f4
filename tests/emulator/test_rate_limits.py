"""API rate limits: sliding windows, growing blocks, separation, overrides (ManualClock)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_helpers import Ksef
from oas import OpenApiSpec
from recording import Recorder

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.ratelimit import GROUPS, PRODUCTION, RateLimiter, classify
from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio

Headers = dict[str, str]
SESSIONS = "/v2/sessions?sessionType=Online"
REF = "20260210-SO-2F14610000-242991F8C9-B4"
ClientFactory = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def clients(state: EmulatorState) -> AsyncIterator[ClientFactory]:
    """HTTP clients of the same emulator, each seen as coming from the IP it is made for."""
    app = create_app(state)
    made: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        made.append(httpx.AsyncClient(transport=transport, base_url="http://emulator.test"))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


async def _bearer(ksef: Ksef, subject: SeededSubject) -> Headers:
    return await ksef.bearer(subject)


def _limits(**groups: tuple[int, int, int]) -> dict[str, Any]:
    """A SetRateLimitsRequest: PRD values except ``groups``."""
    values = {g: PRODUCTION[g].to_json() for g in GROUPS}
    for group, (second, minute, hour) in groups.items():
        values[group] = {"perSecond": second, "perMinute": minute, "perHour": hour}
    return {"rateLimits": values}


async def _statuses(http: httpx.AsyncClient, n: int, path: str, headers: Headers) -> list[int]:
    return [(await http.get(path, headers=headers)).status_code for _ in range(n)]


async def test_off_by_default_reports_generous_limits_and_enforces_nothing(
    ksef: Ksef, subject: SeededSubject, spec_dir: Path
) -> None:
    headers = await _bearer(ksef, subject)
    body = (await ksef.http.get("/v2/rate-limits", headers=headers)).json()
    required = json.loads((spec_dir / "open-api.json").read_text())["components"]["schemas"][
        "EffectiveApiRateLimits"
    ]["required"]
    assert set(body) == set(required) == set(GROUPS)
    assert all(
        v == {"perSecond": 10**6, "perMinute": 10**6, "perHour": 10**6} for v in body.values()
    )
    # sessionList is 5/s in production; nothing stops 30 at the same instant here.
    assert set(await _statuses(ksef.http, 30, SESSIONS, headers)) == {200}


async def test_production_for_a_context_matches_the_spec_and_is_enforced(
    ksef: Ksef, subject: SeededSubject, spec_dir: Path
) -> None:
    headers = await _bearer(ksef, subject)
    turned_on = await ksef.http.post("/v2/testdata/rate-limits/production", headers=headers)
    assert turned_on.status_code == 200
    body = (await ksef.http.get("/v2/rate-limits", headers=headers)).json()
    spec = json.loads((spec_dir / "open-api.json").read_text())
    example = spec["paths"]["/rate-limits"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    assert body == example  # the PRD table as the spec documents it
    assert await _statuses(ksef.http, 6, SESSIONS, headers) == [200] * 5 + [429]
    refused = await ksef.http.get(SESSIONS, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("application/json")
    status = refused.json()["status"]
    assert status["code"] == 429 and status["description"] == "Too Many Requests"
    assert "sessionList" in status["details"][0]


async def test_minute_and_hour_windows_and_retry_after(
    ksef: Ksef, subject: SeededSubject, state: EmulatorState
) -> None:
    headers = await _bearer(ksef, subject)
    await ksef.http.post("/v2/testdata/rate-limits/production", headers=headers)
    # sessionList: 5/s, 10/min, 60/h. Five at t=0 and five at t=1 fill the minute.
    assert await _statuses(ksef.http, 5, SESSIONS, headers) == [200] * 5
    state.advance(1)
    assert await _statuses(ksef.http, 5, SESSIONS, headers) == [200] * 5
    state.advance(1)
    refused = await ksef.http.get(SESSIONS, headers=headers)
    assert refused.status_code == 429
    # The first five leave the minute window at t=60; now is t=2.
    assert refused.headers["retry-after"] == "58"
    assert "10 żądań na minutę" in refused.json()["status"]["details"][0]
    state.advance(58)
    assert (await ksef.http.get(SESSIONS, headers=headers)).status_code == 200
    # An hour window: 3 per hour, one request a minute apart.
    limits = _limits(sessionList=(100, 100, 3))
    assert (
        await ksef.http.post("/v2/testdata/rate-limits", json=limits, headers=headers)
    ).status_code == 200
    state.advance(3600)  # the earlier requests leave every window
    headers = await _bearer(ksef, subject)  # (and the access token expired)
    for _ in range(3):
        assert (await ksef.http.get(SESSIONS, headers=headers)).status_code == 200
        state.advance(60)
    refused = await ksef.http.get(SESSIONS, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(3600 - 180)
    assert "na godzinę" in refused.json()["status"]["details"][0]


async def test_block_doubles_on_repeated_violations_and_refusals_do_not_count(
    ksef: Ksef, subject: SeededSubject, state: EmulatorState
) -> None:
    headers = await _bearer(ksef, subject)
    limits = _limits(sessionList=(5, 1000, 10000))  # only the 1 s window matters here
    await ksef.http.post("/v2/testdata/rate-limits", json=limits, headers=headers)
    waits = []
    for _ in range(4):
        assert await _statuses(ksef.http, 5, SESSIONS, headers) == [200] * 5
        refused = await ksef.http.get(SESSIONS, headers=headers)
        waits.append(int(refused.headers["retry-after"]))
        # Inside the block: refused with what is left of it, without counting.
        state.advance(waits[-1] / 2)
        during = await ksef.http.get(SESSIONS, headers=headers)
        assert during.status_code == 429
        assert int(during.headers["retry-after"]) == max(1, -(-waits[-1] // 2))
        assert "blokada" in during.json()["status"]["details"][0]
        state.advance(waits[-1] / 2)
    assert waits == [1, 2, 4, 8]
    # An hour without a violation: the block is back to its base.
    state.advance(3601)
    headers = await _bearer(ksef, subject)
    assert await _statuses(ksef.http, 5, SESSIONS, headers) == [200] * 5
    assert (await ksef.http.get(SESSIONS, headers=headers)).headers["retry-after"] == "1"


async def test_refused_requests_leave_the_quota_untouched(
    ksef: Ksef, subject: SeededSubject, state: EmulatorState
) -> None:
    headers = await _bearer(ksef, subject)
    limits = _limits(sessionList=(100, 3, 100))
    await ksef.http.post("/v2/testdata/rate-limits", json=limits, headers=headers)
    assert await _statuses(ksef.http, 4, SESSIONS, headers) == [200] * 3 + [429]
    state.advance(30)
    assert set(await _statuses(ksef.http, 10, SESSIONS, headers)) == {429}
    state.advance(30)  # the block (60 s) is over; the ten refusals were never counted
    assert await _statuses(ksef.http, 4, SESSIONS, headers) == [200] * 3 + [429]


async def test_counters_are_per_context_and_per_ip(
    state: EmulatorState, clients: ClientFactory
) -> None:
    a, b = state.create_subject(), state.create_subject()
    first, second = clients("10.0.0.1"), clients("10.0.0.2")
    ka, kb = Ksef(first, state), Ksef(first, state)
    ha, hb = await ka.bearer(a), await kb.bearer(b)
    for headers in (ha, hb):
        await first.post("/v2/testdata/rate-limits/production", headers=headers)
    assert await _statuses(first, 6, SESSIONS, ha) == [200] * 5 + [429]
    # Another context from the same IP, and the same context from another IP, are free.
    assert await _statuses(first, 5, SESSIONS, hb) == [200] * 5
    assert await _statuses(second, 5, SESSIONS, ha) == [200] * 5
    # A context that did not turn limits on is not limited while the default is off.
    c = state.create_subject()
    hc = await Ksef(first, state).bearer(c)
    assert set(await _statuses(first, 20, SESSIONS, hc)) == {200}


async def test_named_groups_share_a_counter_other_endpoints_do_not(
    ksef: Ksef, subject: SeededSubject
) -> None:
    headers = await _bearer(ksef, subject)
    limits = _limits(sessionInvoiceList=(2, 100, 100), other=(2, 100, 100))
    await ksef.http.post("/v2/testdata/rate-limits", json=limits, headers=headers)
    # GET …/invoices and …/invoices/failed are both sessionInvoiceList (the session does not
    # exist: the request still reached the endpoint and counts).
    assert (await ksef.http.get(f"/v2/sessions/{REF}/invoices", headers=headers)).status_code == 400
    failed = await ksef.http.get(f"/v2/sessions/{REF}/invoices/failed", headers=headers)
    assert failed.status_code == 400
    again = await ksef.http.get(f"/v2/sessions/{REF}/invoices", headers=headers)
    assert again.status_code == 429
    # `other`: every endpoint on its own (GET /tokens vs GET /limits/context).
    assert await _statuses(ksef.http, 3, "/v2/tokens", headers) == [200, 200, 429]
    assert await _statuses(ksef.http, 2, "/v2/limits/context", headers) == [200, 200]
    # Unknown paths are no endpoint: 404, never 429.
    assert set(await _statuses(ksef.http, 5, "/v2/no/such/endpoint", headers)) == {404}


async def test_problem_details_429_and_the_exchanges_follow_the_spec(
    state: EmulatorState, subject: SeededSubject, spec_dir: Path
) -> None:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=create_app(state))
    async with recorder.async_http_client(
        transport=transport, base_url="http://emulator.test"
    ) as http:
        ksef = Ksef(http, state)
        headers = await ksef.bearer(subject)
        await http.get("/v2/rate-limits", headers=headers)
        await http.post("/v2/testdata/rate-limits", json=_limits(), headers=headers)
        await http.post("/v2/testdata/rate-limits/production", headers=headers)
        await _statuses(http, 5, SESSIONS, headers)
        legacy = await http.get(SESSIONS, headers=headers)
        problem = await http.get(SESSIONS, headers={**headers, "X-Error-Format": "problem-details"})
        await http.delete("/v2/testdata/rate-limits", headers=headers)
        bad = await http.post("/v2/testdata/rate-limits", json={"rateLimits": {}}, headers=headers)
    assert legacy.status_code == problem.status_code == 429
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.headers["retry-after"] == "1"
    body = problem.json()
    assert body["title"] == "Too Many Requests" and body["status"] == 429
    assert body["instance"] == "/v2/sessions" and "sessionList" in body["detail"]
    assert bad.status_code == 400
    spec = OpenApiSpec.load(spec_dir / "open-api.json", strict_reference_numbers=True)
    # (the deliberately invalid request body is left out)
    reports = [spec.check(req, resp) for req, resp in recorder.exchanges if resp is not bad]
    assert [str(r) for r in reports if not r.ok] == []
    assert {r.operation for r in reports} >= {
        "GET /rate-limits",
        "POST /testdata/rate-limits",
        "POST /testdata/rate-limits/production",
        "DELETE /testdata/rate-limits",
        "GET /sessions",
    }


async def test_set_validate_and_restore_overrides(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await _bearer(ksef, subject)
    assert (await ksef.http.get("/v2/rate-limits")).status_code == 401
    custom = _limits(invoiceSend=(1, 2, 3))
    assert (
        await ksef.http.post("/v2/testdata/rate-limits", json=custom, headers=headers)
    ).status_code == 200
    body = (await ksef.http.get("/v2/rate-limits", headers=headers)).json()
    assert body == custom["rateLimits"]
    broken = _limits()
    del broken["rateLimits"]["other"]
    broken["rateLimits"]["invoiceSend"]["perHour"] = "3"
    broken["rateLimits"]["sessionList"]["perMinute"] = True
    broken["rateLimits"]["invoiceStatus"]["perSecond"] = -1
    refused = await ksef.http.post("/v2/testdata/rate-limits", json=broken, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["exception"]["exceptionDetailList"][0]
    assert error["exceptionCode"] == 21405
    joined = " ".join(error["details"])
    for fragment in ("other", "invoiceSend.perHour", "sessionList.perMinute", "invoiceStatus"):
        assert fragment in joined
    # The refused body changed nothing; DELETE restores the default (off: generous).
    body = (await ksef.http.get("/v2/rate-limits", headers=headers)).json()
    assert body == custom["rateLimits"]
    restored = await ksef.http.delete("/v2/testdata/rate-limits", headers=headers)
    assert restored.status_code == 200
    body = (await ksef.http.get("/v2/rate-limits", headers=headers)).json()
    assert body["invoiceSend"] == {"perSecond": 10**6, "perMinute": 10**6, "perHour": 10**6}


async def test_production_config_limits_public_endpoints_per_ip_not_admin_or_storage(
    clock: ManualClock,
) -> None:
    with EmulatorState(clock=clock, rate_limits="production") as state:
        app = create_app(state)
        transports = [
            httpx.ASGITransport(app=app, client=(ip, 1)) for ip in ("10.1.1.1", "10.1.1.2")
        ]
        async with (
            httpx.AsyncClient(transport=transports[0], base_url="http://e") as one,
            httpx.AsyncClient(transport=transports[1], base_url="http://e") as two,
        ):
            codes = [(await one.post("/v2/auth/challenge")).status_code for _ in range(61)]
            assert codes == [200] * 60 + [429]
            assert (await two.post("/v2/auth/challenge")).status_code == 200
            # Another public endpoint has its own counter.
            keys = await one.get("/v2/security/public-key-certificates")
            assert keys.status_code == 200
            # Admin and pre-signed storage links are never limited.
            health = [(await one.get("/_emulator/health")).status_code for _ in range(100)]
            assert set(health) == {200}
            links = [(await one.get("/storage/upo/not-a-token")).status_code for _ in range(100)]
            assert set(links) == {403}
            # Without a context (no token) a protected endpoint is counted per IP.
            anonymous = [(await one.get(SESSIONS)).status_code for _ in range(6)]
            assert anonymous == [401] * 5 + [429]
            # And a reset forgets counters and blocks.
            state.reset()
            assert (await one.post("/v2/auth/challenge")).status_code == 200


async def test_config_mapping_merges_over_production(clock: ManualClock) -> None:
    with EmulatorState(clock=clock, rate_limits={"sessionList": {"perSecond": 1}}) as state:
        subject = state.create_subject()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(state)), base_url="http://e"
        ) as http:
            headers = await Ksef(http, state).bearer(subject)
            body = (await http.get("/v2/rate-limits", headers=headers)).json()
            assert body["sessionList"] == {"perSecond": 1, "perMinute": 10, "perHour": 60}
            assert body["invoiceSend"] == PRODUCTION["invoiceSend"].to_json()
            assert await _statuses(http, 2, SESSIONS, headers) == [200, 429]
    with pytest.raises(ValueError, match="unknown group"):
        RateLimiter(clock, {"sessionLists": {"perSecond": 1}})
    with pytest.raises(ValueError, match="non-negative"):
        RateLimiter(clock, {"other": {"perSecond": -1}})
    with pytest.raises(ValueError, match="'off', 'production' or a mapping"):
        RateLimiter(clock, "fast")


def test_only_operations_that_declare_429_are_limited(spec_dir: Path) -> None:
    """The limiter refuses only where open-api.json declares a 429; the three reads of
    collective identifiers declare none (nor ``x-rate-limits``), only their POST does."""
    spec = json.loads((spec_dir / "open-api.json").read_text())
    unlimited = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            bucket = classify(method.upper(), template)
            assert (bucket.group != "unlimited") == ("429" in op["responses"]), template
            if "x-rate-limits" in op and not bucket.public:
                assert PRODUCTION[bucket.group].to_json() == op["x-rate-limits"], template
            if bucket.group == "unlimited":
                unlimited.append(f"{method.upper()} {template}")
    assert len(unlimited) == 3, unlimited


async def test_collective_identifier_reads_are_never_refused(
    ksef: Ksef, subject: SeededSubject
) -> None:
    headers = await _bearer(ksef, subject)
    limits = _limits(collectiveIdentifier=(1, 100, 100), other=(1, 100, 100))
    await ksef.http.post("/v2/testdata/rate-limits", json=limits, headers=headers)
    create = [
        (await ksef.http.post("/v2/collective-identifiers", json={}, headers=headers)).status_code
        for _ in range(2)
    ]
    assert create == [400, 429]  # an invalid body still counts
    query = {"dateCreatedFrom": "2026-01-01T00:00:00Z", "dateCreatedTo": "2026-02-01T00:00:00Z"}
    for _ in range(3):
        resp = await ksef.http.post("/v2/collective-identifiers/query", json=query, headers=headers)
        assert resp.status_code == 200
    number = f"{subject.nip}-IZ202602-000000000000-00"
    assert set(
        await _statuses(ksef.http, 3, f"/v2/collective-identifiers/{number}/invoices", headers)
    ) == {400}
