"""Contract test of the online-session slice: every request the SDK sends and every answer
the emulator gives, validated against ``../shared/ksef-spec/open-api.json``.

One module-scoped run drives the whole slice through the sync SDK against a fresh
emulator (public keys, token auth, refresh, two online sessions, rejected invoices, paged
lists, the three UPO endpoints, error answers in both formats) with a recording
``httpx.Client``; the tests then judge the recording.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from oas import ContractReport, OpenApiSpec
from recording import Recorder

from ksefkit import BadRequest, InvoiceRejected, Unauthorized
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.models import TokenInfo
from ksefkit.testing import RunningEmulator, run_emulator

# The operations of the slice: each must be exercised at least once.
SLICE = (
    "GET /security/public-key-certificates",
    "POST /auth/challenge",
    "POST /auth/ksef-token",
    "GET /auth/{referenceNumber}",
    "POST /auth/token/redeem",
    "POST /auth/token/refresh",
    "POST /sessions/online",
    "POST /sessions/online/{referenceNumber}/invoices",
    "POST /sessions/online/{referenceNumber}/close",
    "GET /sessions",
    "GET /sessions/{referenceNumber}",
    "GET /sessions/{referenceNumber}/invoices",
    "GET /sessions/{referenceNumber}/invoices/failed",
    "GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
    "GET /sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
    "GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
    "GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}",
    # Read by the client's rate limiter (rate_limits="auto") after authentication.
    "GET /rate-limits",
)

# Problems the emulator shares with KSeF itself, where the spec contradicts its own example:
# (operation regex, problem regex) -> why it is tolerated. Everything else fails the test.
KNOWN_SPEC_CONFLICTS: dict[tuple[str, str], str] = {}

PAGE_SIZE = 10  # the spec's minimum for the session lists
UNKNOWN_SESSION = "20250625-SO-2C3E6C8000-B675CF5D68-07"
UNKNOWN_UPO = "20250625-EU-2C3E6C8000-B675CF5D68-07"

_counter = itertools.count(1)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass
class Invoices:
    seller_nip: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6].upper())

    def __call__(self, *, issue_date: dt.date | None = None) -> bytes:
        return generate_fa3(
            seller_nip=self.seller_nip,
            buyer_nip=random_nip(),
            invoice_number=f"C/{self.run}/{next(_counter):05d}",
            issue_date=issue_date or _today(),
        )


@dataclass
class SliceRun:
    """What the drive produced: the recording and the facts the tests compare it to."""

    emulator: RunningEmulator
    recorder: Recorder
    spec: OpenApiSpec
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def reports(self) -> list[ContractReport]:
        return self.spec.check_all(self.recorder.exchanges)


def _drive(emulator: RunningEmulator, recorder: Recorder) -> dict[str, object]:
    notes: dict[str, object] = {}
    subject = emulator.create_subject()
    make = Invoices(subject.nip)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with recorder.http_client() as http, emulator.client(http_client=http) as client:
        assert client.security.public_key_certificates()
        auth = client.authenticate(subject.token, nip=subject.nip)
        refreshed = client.auth.refresh()
        assert refreshed.access_token.token

        # Session A: UPO v4-3 requested, pre-flight on; 11 valid + 1 duplicate + 1 future.
        with client.online_session(upo_v43=True) as a:
            valid = [a.send(make()) for _ in range(PAGE_SIZE + 1)]
            first_xml = make()
            first = a.send(first_xml)
            ksef_number = a.wait_for_ksef_number(first.reference_number)
            duplicate = a.send(first_xml)
            assert a.wait_for_invoice(duplicate.reference_number, raise_on_error=False)
            future = a.send(make(issue_date=_today() + dt.timedelta(days=3)))
            rejected = a.wait_for_invoice(future.reference_number, raise_on_error=False)
            assert rejected.status.code == 450
            assert a.status().status.code == 100
        a.wait_until_processed()
        listed_a = list(client.sessions.invoices(a.reference_number, page_size=PAGE_SIZE))
        assert len(listed_a) == len(valid) + 3
        failed_a = list(client.sessions.failed_invoices(a.reference_number, page_size=PAGE_SIZE))
        assert {f.status.code for f in failed_a} == {440, 450}
        assert a.invoice_upo(first.reference_number).startswith(b"<")
        assert a.invoice_upo_by_ksef_number(ksef_number).startswith(b"<")
        assert all(page.startswith(b"<") for page in a.session_upo())

        # Session B: default UPO, pre-flight off; 1 valid + 11 broken (430) to page failures.
        with client.online_session(preflight=False) as b:
            b.send(make())
            broken = [
                b.send(make().replace(b"<P_2>", b"<P_2_X>", 1).replace(b"</P_2>", b"</P_2_X>", 1))
                for _ in range(PAGE_SIZE + 1)
            ]
            with pytest.raises(InvoiceRejected) as info:
                b.wait_for_invoice(broken[0].reference_number)
            assert info.value.code == 430
        b.wait_until_processed()
        failed_b = list(client.sessions.failed_invoices(b.reference_number, page_size=PAGE_SIZE))
        assert len(failed_b) == len(broken)

        # Lists with filters.
        mine = list(
            client.sessions.list(
                "Online",
                statuses=["Succeeded", "InProgress"],
                date_created_from=started,
                date_created_to=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
                page_size=PAGE_SIZE,
            )
        )
        assert {a.reference_number, b.reference_number} <= {s.reference_number for s in mine}
        one = list(client.sessions.list("Online", reference_number=a.reference_number))
        assert [s.reference_number for s in one] == [a.reference_number]

        # Error answers: KSeF exception JSON (default) ...
        with pytest.raises(BadRequest) as info:
            client.sessions.status(UNKNOWN_SESSION)
        notes["unknown_session_code"] = info.value.code
        with pytest.raises(BadRequest):
            client.sessions.upo(a.reference_number, UNKNOWN_UPO)
        with pytest.raises(BadRequest):
            client.sessions.close_online(a.reference_number)  # already closed: 21180

        # ... and problem details, on the same tokens.
        with emulator.client(
            http_client=http,
            problem_details=True,
            access_token=auth.access_token,
            refresh_token=auth.refresh_token,
        ) as pd:
            with pytest.raises(BadRequest) as info:
                pd.sessions.status(UNKNOWN_SESSION)
            notes["problem_details_code"] = info.value.code
            with pytest.raises(BadRequest):
                pd.sessions.upo(a.reference_number, UNKNOWN_UPO)

        # 401 with a token the emulator never issued.
        bogus = TokenInfo(token="not-a-jwt", valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(1))
        with (
            emulator.client(http_client=http, access_token=bogus) as stranger,
            pytest.raises(Unauthorized),
        ):
            stranger.sessions.status(a.reference_number)
    return notes


@pytest.fixture(scope="module")
def slice_run(oas_spec: OpenApiSpec) -> Iterator[SliceRun]:
    recorder = Recorder()
    with run_emulator() as emulator:
        notes = _drive(emulator, recorder)
        yield SliceRun(emulator, recorder, oas_spec, notes)


def _tolerated(report: ContractReport, problem: str) -> str | None:
    for (op_re, problem_re), why in KNOWN_SPEC_CONFLICTS.items():
        if re.search(op_re, report.operation or "") and re.search(problem_re, problem):
            return why
    return None


def _operations(run: SliceRun) -> list[str]:
    return [r.operation or "?" for r in run.reports]


def test_nothing_went_unanswered(slice_run: SliceRun) -> None:
    assert slice_run.recorder.exchanges
    assert slice_run.recorder.unanswered() == []


def test_every_exchange_conforms_to_the_spec(slice_run: SliceRun) -> None:
    failing = []
    for report in slice_run.reports:
        report.problems = [p for p in report.problems if not _tolerated(report, p)]
        if not report.ok:
            failing.append(report)
    if failing:
        pytest.fail(
            f"{len(failing)} of {len(slice_run.reports)} exchanges break open-api.json:\n"
            + "\n".join(str(r) for r in failing),
            pytrace=False,
        )


def test_every_operation_of_the_slice_was_exercised(slice_run: SliceRun) -> None:
    seen = set(_operations(slice_run))
    missing = [op for op in SLICE if op not in seen]
    assert missing == []
    outside = sorted(seen - set(SLICE))
    assert outside == [], f"requests outside the slice: {outside}"


def test_each_operation_has_a_success_and_the_errors_are_covered(slice_run: SliceRun) -> None:
    statuses: dict[str, set[int]] = {}
    for report in slice_run.reports:
        statuses.setdefault(report.operation or "?", set()).add(report.status or 0)
    no_success = [op for op in SLICE if not any(200 <= s < 300 for s in statuses.get(op, ()))]
    assert no_success == []
    assert 400 in statuses["GET /sessions/{referenceNumber}"]
    assert 401 in statuses["GET /sessions/{referenceNumber}"]
    assert 400 in statuses["GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}"]
    assert 400 in statuses["POST /sessions/online/{referenceNumber}/close"]
    assert slice_run.notes["unknown_session_code"] == 21173
    assert slice_run.notes["problem_details_code"] == 21173


def test_both_error_formats_were_exchanged(slice_run: SliceRun) -> None:
    kinds = {
        (
            resp.status_code,
            req.headers.get("x-error-format"),
            resp.headers.get("content-type", "").split(";")[0],
        )
        for req, resp in slice_run.recorder.exchanges
        if resp is not None and resp.status_code >= 400
    }
    assert (400, None, "application/json") in kinds
    assert (400, "problem-details", "application/problem+json") in kinds
    assert (401, None, "application/problem+json") in kinds


def test_lists_were_paged_with_continuation_tokens(slice_run: SliceRun) -> None:
    paged = {
        r.operation
        for r, (req, _) in zip(slice_run.reports, slice_run.recorder.exchanges, strict=True)
        if req.headers.get("x-continuation-token")
    }
    assert {
        "GET /sessions/{referenceNumber}/invoices",
        "GET /sessions/{referenceNumber}/invoices/failed",
    } <= paged
    page_sizes = {
        req.url.params.get("pageSize")
        for req, _ in slice_run.recorder.exchanges
        if req.method == "GET" and req.url.path.endswith(("/invoices", "/failed"))
    }
    assert page_sizes == {str(PAGE_SIZE)}


def test_upo_v43_feature_header_sent_only_when_asked(slice_run: SliceRun) -> None:
    opens = [
        req
        for req, resp in slice_run.recorder.exchanges
        if req.method == "POST" and req.url.path.endswith("/sessions/online")
    ]
    assert [req.headers.get("x-ksef-feature") for req in opens] == ["upo-v4-3", None]


def test_upo_answers_are_xml_with_a_hash(slice_run: SliceRun) -> None:
    upo_ops = {op for op in SLICE if op.endswith("/upo") or "/upo/" in op}
    upos = [
        resp
        for report, (_, resp) in zip(slice_run.reports, slice_run.recorder.exchanges, strict=True)
        if report.operation in upo_ops and resp is not None and resp.status_code == 200
    ]
    assert len(upos) >= len(upo_ops)
    for resp in upos:
        assert resp.headers["content-type"].startswith("application/xml")
        assert resp.headers.get("x-ms-meta-hash")


def test_recorder_keeps_bodies_readable(slice_run: SliceRun) -> None:
    req, resp = slice_run.recorder.exchanges[0]
    assert isinstance(req, httpx.Request)
    assert resp is not None
    assert resp.json()


@pytest.mark.anyio
async def test_the_async_client_sends_conforming_requests(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    with run_emulator() as emulator:
        subject = emulator.create_subject()
        make = Invoices(subject.nip)
        async with (
            recorder.async_http_client() as http,
            emulator.async_client(http_client=http) as client,
        ):
            await client.authenticate(subject.token, nip=subject.nip)
            await client.auth.refresh()
            async with client.online_session(upo_v43=True) as session:
                sent = await session.send(make())
                ksef_number = await session.wait_for_ksef_number(sent.reference_number)
            await session.wait_until_processed()
            assert await session.invoice_upo_by_ksef_number(ksef_number)
            assert await session.invoice_upo(sent.reference_number)
            assert await session.session_upo()
            assert [i async for i in client.sessions.invoices(session.reference_number)]
            assert [
                i async for i in client.sessions.failed_invoices(session.reference_number)
            ] == []
            listed = [s async for s in client.sessions.list("Online", statuses=["Succeeded"])]
            assert [s.reference_number for s in listed] == [session.reference_number]
    reports = oas_spec.check_all(recorder.exchanges)
    assert sorted(set(SLICE) - {r.operation for r in reports}) == []
    failing = []
    for report in reports:
        report.problems = [p for p in report.problems if not _tolerated(report, p)]
        if not report.ok:
            failing.append(str(report))
    assert failing == []
