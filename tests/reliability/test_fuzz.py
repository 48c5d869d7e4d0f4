"""A property-based fuzzer: schemathesis drives every operation of open-api.json against the
emulator on 127.0.0.1 (uvicorn in a thread), with valid and spec-breaking data.

Each generated request carries the token its operation asks for (access, refresh or
authentication token of a logged-in test company). Every answer is judged by
:func:`live_spec.verdict` and by :func:`_judge`:

* never a 5xx;
* the status is declared for the operation — or it is one of two universal answers the spec
  cannot declare: 405 (+ ``Allow``) for a method the path does not declare (schemathesis tries
  those), and the emulator's 404 for an operation it does not route yet;
* content type and body match the spec's response for that status (the contract validator
  of ``tests/contract/oas.py``), errors shaped as KSEF_API.md §15.1;
* a request the spec refuses (body against its schema, declared parameters) is not accepted
  with a 2xx/3xx, except for the deviations in :data:`DEVIATIONS`.

Runtime is bounded: derandomized (the same cases every run), ``max_examples`` per operation
from ``KSEFKIT_FUZZ_EXAMPLES`` (default 10; the whole file in about a minute on two cores).
A long run: ``KSEFKIT_FUZZ_EXAMPLES=1000 pytest tests/reliability/test_fuzz.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from live_spec import (
    Operation,
    World,
    document,
    operation,
    spec,
    start_world,
    verdict,
)

EXAMPLES = int(os.environ.get("KSEFKIT_FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_dict(document())
schema.config.generation.update(
    max_examples=EXAMPLES,
    deterministic=True,  # derandomized: the same cases on every run
    # The fuzzer sends the real token itself; schemathesis must not replace it with junk.
    with_security_parameters=False,
)

#: Requests the spec refuses but the emulator accepts on purpose (KSEF_API.md), as
#: (operation, regex over the request problem) -> why.
_NO_OFFSET = r"'\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?' is not a 'date-time'"
DEVIATIONS: dict[tuple[str, str], str] = {
    (
        "POST /invoices/query/metadata",
        r"request body \$\.dateRange\.(from|to): " + _NO_OFFSET,
    ): "§2.3: dateRange.from/to without an offset are Europe/Warsaw local time",
    (
        "POST /invoices/exports",
        r"request body \$\.filters\.dateRange\.(from|to): " + _NO_OFFSET,
    ): "§2.3: dateRange.from/to without an offset are Europe/Warsaw local time",
}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with start_world(access_token_lifetime=24 * 3600, rate_limits="off") as live:
        yield live


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One keep-alive session for every case (schemathesis calls go through ``requests``)."""
    with requests.Session() as session:
        yield session


def _as_httpx(response: schemathesis.Response) -> httpx.Response:
    sent = response.request
    request = httpx.Request(
        str(sent.method),
        str(sent.url),
        headers=dict(sent.headers),
        content=sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode(),
    )
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return httpx.Response(
        response.status_code, headers=headers, content=response.content, request=request
    )


def _declared_problems(op: Operation, request: httpx.Request) -> list[str]:
    """What the spec refuses in ``request``: its body and the parameters it declares.

    An empty query value (``?dateModifiedTo=``) counts as absent: ASP.NET model binding, which
    KSeF runs on, binds it to null for optional parameters.
    """
    params = [(k, v) for k, v in request.url.params.multi_items() if v != ""]
    request = httpx.Request(
        request.method,
        request.url.copy_with(params=params),
        headers=request.headers,
        content=request.content,
    )
    report = spec().check(request, None)
    return [
        p
        for p in report.problems
        if not p.endswith("is not declared")  # unknown query parameters are ignored, as KSeF does
        and not p.startswith(("Accept ", "security"))
        and not any(label == op.label and re.search(pattern, p) for (label, pattern) in DEVIATIONS)
    ]


def _judge(world: World, op: Operation, response: httpx.Response) -> list[str]:
    request = response.request
    status = response.status_code
    # Judged as the operation the request really is: GET /auth/challenge, a method the
    # challenge does not declare, is GET /auth/{referenceNumber} with "challenge" as the id.
    matched, _ = spec().match(request.method, request.url.path.removeprefix("/v2"))
    if matched is not None:
        op = operation(f"{request.method} {matched.template}")
    if request.method != op.method:  # schemathesis tries methods the path does not declare
        if status >= 500:
            return [f"server error {status} for an undeclared method: {response.text[:300]}"]
        if status == 404 and not world.routed(op):
            return []
        problems = [] if status == 405 else [f"undeclared method answered {status}"]
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
        if status == 405 and op.method not in allowed:
            problems.append(f"405 Allow {allowed} lacks {op.method}")
        return problems
    refused = _declared_problems(op, request) if world.routed(op) else []
    problems = verdict(world, op, response, bad_input=False)
    if refused and status < 400:
        problems.append(f"spec-invalid request accepted with {status}: {refused[:3]}")
    return problems


def _call(
    world: World, http: requests.Session, op: Operation, case: schemathesis.Case
) -> schemathesis.Response:
    tokens = world.tokens
    if op.label == "DELETE /auth/sessions/current":
        tokens = world.login()  # it ends the authentication session: not the shared one
    return case.call(
        base_url=world.base_url + "/v2",
        session=http,
        headers=world.headers(op, tokens),
        timeout=60,
    )


@schema.parametrize()
@settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_fuzz(case: schemathesis.Case, world: World, http: requests.Session) -> None:
    op = operation(f"{case.operation.method.upper()} {case.operation.path}")
    response = _as_httpx(_call(world, http, op, case))
    if op.template.startswith("/testdata/rate-limits"):
        # Fuzzed limits would turn later cases into 429s: back to the configured ("off").
        world.state.rate_limiter.reset()
    problems = _judge(world, op, response)
    assert not problems, (
        f"{response.request.method} {response.request.url} -> {response.status_code}\n"
        f"request body: {response.request.content[:500]!r}\n" + "\n".join(problems)
    )


@pytest.mark.parametrize(
    ("value", "excused"),
    [("2026-02-10T10:00:00", True), ("2026-02-10T10:00:00.5", True), ("yesterday", False)],
)
def test_deviations_excuse_only_what_ksef_documents(value: str, excused: bool) -> None:
    """An offset-less date range is KSeF's documented reading; anything else stays refused."""
    op = operation("POST /invoices/query/metadata")
    body = {"subjectType": "Subject1", "dateRange": {"dateType": "Issue", "from": value}}
    request = httpx.Request(
        "POST",
        "https://api-test.ksef.mf.gov.pl/v2/invoices/query/metadata",
        json=body,
        headers={"Authorization": "Bearer x"},
    )
    assert spec().check(request, None).problems  # the spec itself refuses it
    assert (_declared_problems(op, request) == []) is excused
