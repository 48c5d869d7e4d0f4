# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""Nothing lost, nothing sent twice: the SDK against the emulator when exchanges break.

httpx event hooks break chosen exchanges on the client side: *before* (the request never
reaches the emulator, yet the client cannot tell: a read timeout) or *after* (the emulator
processed and committed the request, then the answer is lost to a timeout or replaced by a
gateway's 504). The online session must reconcile an ambiguous send by looking the invoice
up in the session, never sending it twice; sessions opened by a lost attempt stay empty;
pre-signed storage failures are StorageError and retried; and with KSeF's rate limits on,
a client pacing itself meets no 429.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from ksefkit import FormCode, RateLimited, RetryPolicy, StorageError, TransportError
from ksefkit._http import Operation
from ksefkit._ratelimit import DEFAULT_RATE_LIMITS as GROUPS
from ksefkit.errors import ApiError
from ksefkit.models import SetRateLimitsRequest
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import run_emulator

SEND = ("POST", r"/v2/sessions/online/[^/]+/invoices")
OPEN_ONLINE = ("POST", r"/v2/sessions/online")
OPEN_BATCH = ("POST", r"/v2/sessions/batch")
EXPORT_PART = ("GET", r"/storage/exports/.*")
#: Quick retries: the tests wait for nothing but the rules.
POLICY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


@dataclass
class Break:
    """Break the next ``times`` exchanges matching ``method`` + ``path`` (a full regex)."""

    method: str
    path: str
    when: str  # "before" or "after"
    times: int = 1
    status: int | None = None  # after: replace the answer's status instead of losing it

    def matches(self, request: httpx.Request) -> bool:
        return (
            self.times > 0
            and request.method == self.method
            and re.fullmatch(self.path, request.url.path) is not None
        )


class Breaker:
    """Event hooks that record every exchange and break the ones the rules name."""

    def __init__(self, *rules: Break) -> None:
        self.rules = list(rules)
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def count(self, method: str, path: str) -> int:
        return sum(
            1
            for r in self.requests
            if r.method == method and re.fullmatch(path, r.url.path) is not None
        )

    def _rule(self, request: httpx.Request, when: str) -> Break | None:
        for rule in self.rules:
            if rule.when == when and rule.matches(request):
                rule.times -= 1
                return rule
        return None

    def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)
        if self._rule(request, "before") is not None:
            raise httpx.ReadTimeout("injected: the request was lost on the way", request=request)

    def on_response(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)
        rule = self._rule(response.request, "after")
        if rule is None:
            return
        if rule.status is not None:
            response.status_code = rule.status  # a gateway gave up after KSeF processed it
            return
        raise httpx.ReadTimeout("injected: the answer was lost", request=response.request)


@contextmanager
def breakable_client(emulator, subject, breaker: Breaker, **options) -> Iterator:
    hooks = {"request": [breaker.on_request], "response": [breaker.on_response]}
    with httpx.Client(event_hooks=hooks) as http:
        with emulator.client(http_client=http, retry=POLICY, **options) as client:
            client.authenticate(subject.token, nip=subject.nip)
            yield client


def finished(session) -> tuple[list, list]:
    """Close, wait for the session, and return (every invoice, failed invoices)."""
    if session.is_open:
        session.close()
    status = session.wait_until_processed(raise_on_error=False)
    assert status.status.code in (200, 445), status.status
    return [i for i in session.invoices()], [i for i in session.failed_invoices()]


# -- the online send ---------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["answer lost", "gateway 504"])
def test_ambiguous_send_is_reconciled_not_sent_twice(
    ksef_emulator, ksef_subject, make_invoice, caplog, failure
) -> None:
    status = 504 if failure == "gateway 504" else None
    breaker = Breaker(Break(*SEND, when="after", status=status))
    caplog.set_level(logging.INFO, logger="ksefkit.online")
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            sent = session.send(make_invoice())
            accepted = session.wait_for_invoice(sent.reference_number)
        invoices, failed = finished(session)
    assert breaker.count(*SEND) == 1  # KSeF had it: looked up, never resent
    assert [i.reference_number for i in invoices] == [sent.reference_number]
    assert invoices[0].invoice_hash == sent.invoice_hash
    assert failed == []  # in particular no 440 duplicate
    assert accepted.status.code == 200 and accepted.ksef_number
    assert "reconciled" in caplog.text


def test_connection_dropped_by_the_server_after_commit_is_reconciled(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    # The emulator's own fault: it processes and commits the send, then closes the
    # connection without answering (no client-side trick involved).
    ksef_emulator.state.faults.add("drop_after", count=1, path="/sessions/online/.*/invoices")
    breaker = Breaker()
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            sent = session.send(make_invoice())
        invoices, failed = finished(session)
    assert [rule["hits"] for rule in ksef_emulator.state.faults.rules()] == [1]
    assert breaker.count(*SEND) == 1
    assert [i.reference_number for i in invoices] == [sent.reference_number]
    assert failed == [] and invoices[0].status.code == 200


def test_send_lost_before_kseF_is_sent_again_once(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    breaker = Breaker(Break(*SEND, when="before"))
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            sent = session.send(make_invoice())
        invoices, failed = finished(session)
    assert breaker.count(*SEND) == 2  # not in the session: sent again
    assert [i.reference_number for i in invoices] == [sent.reference_number]
    assert failed == [] and invoices[0].status.code == 200


def test_send_that_never_gets_through_gives_up_after_the_attempts(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    breaker = Breaker(Break(*SEND, when="before", times=99))
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        session = client.online_session().open()
        with pytest.raises(TransportError) as info:
            session.send(make_invoice())
        assert [i for i in session.invoices()] == []
        session.close()
    assert breaker.count(*SEND) == POLICY.max_attempts
    assert any("is not in session" in note for note in info.value.__notes__)


def test_a_failed_lookup_never_leads_to_a_resend(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    listing = ("GET", r"/v2/sessions/[^/]+/invoices")
    breaker = Breaker(Break(*SEND, when="after"), Break(*listing, when="before", times=99))
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        session = client.online_session().open()
        with pytest.raises(TransportError) as info:
            session.send(make_invoice())
        breaker.rules.clear()
        invoices = [i for i in session.invoices()]
        session.close()
    assert breaker.count(*SEND) == 1  # unknown is not "absent": nothing was resent
    assert len(invoices) == 1  # KSeF did have it
    assert any("looking the invoice up" in note for note in info.value.__notes__)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_reconciling_does_not_mistake_an_earlier_send_of_the_same_invoice(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    xml = make_invoice()
    breaker = Breaker()
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            first = session.send(xml)
            session.wait_for_invoice(first.reference_number)
            # The user sends the same invoice again, and this time the answer is lost.
            breaker.rules.append(Break(*SEND, when="after"))
            again = session.send(xml)
            status = session.wait_for_invoice(again.reference_number, raise_on_error=False)
        invoices, failed = finished(session)
    assert again.reference_number != first.reference_number
    assert breaker.count(*SEND) == 2
    assert status.status.code == 440  # KSeF's verdict on the second send, as it is
    assert {i.reference_number for i in invoices} == {
        first.reference_number,
        again.reference_number,
    }
    assert [f.reference_number for f in failed] == [again.reference_number]


def test_open_with_a_lost_answer_is_retried(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    breaker = Breaker(Break(*OPEN_ONLINE, when="after"))
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            session.send(make_invoice())
        invoices, failed = finished(session)
        opened = [s for s in client.sessions.list("Online")]
    assert breaker.count(*OPEN_ONLINE) == 2
    assert len(invoices) == 1 and failed == []
    # The session the lost answer named is ours only in KSeF's books: empty, harmless.
    orphans = [s for s in opened if s.reference_number != session.reference_number]
    assert len(orphans) == 1 and orphans[0].total_invoice_count == 0


def test_batch_open_with_a_lost_answer_is_retried(
    ksef_emulator, ksef_subject, make_invoice, tmp_path
) -> None:
    breaker = Breaker(Break(*OPEN_BATCH, when="after"))
    files = [(f"inv-{i}.xml", make_invoice()) for i in range(3)]
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        batch = client.batch_session(FormCode.FA3, state_path=tmp_path / "batch.json")
        result = batch.send(files)
        opened = [s for s in client.sessions.list("Batch")]
    assert breaker.count(*OPEN_BATCH) == 2
    assert len(result.accepted) == 3 and result.failed == ()
    orphans = [s for s in opened if s.reference_number != result.reference_number]
    assert len(orphans) == 1 and orphans[0].total_invoice_count == 0


# -- pre-signed storage links ------------------------------------------------------------


def test_upo_link_failures_are_storage_errors_and_retried(
    ksef_emulator, ksef_subject, make_invoice
) -> None:
    breaker = Breaker()
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        with client.online_session() as session:
            sent = session.send(make_invoice())
            status = session.wait_for_invoice(sent.reference_number)
            by_reference = session.invoice_upo(sent.reference_number)
        url = status.upo_download_url
        assert url is not None
        link = re.escape(httpx.URL(url).path)
        breaker.rules.append(Break("GET", link, when="after", status=503))
        assert client.sessions.download_upo(url) == by_reference
        assert breaker.count("GET", link) == 2  # retried once
        breaker.rules.append(Break("GET", link, when="after", status=404))
        with pytest.raises(StorageError) as info:
            client.sessions.download_upo(url)
    assert not isinstance(info.value, ApiError) and info.value.status_code == 404
    assert "download of the UPO" in str(info.value) and "HTTP 404" in str(info.value)


def test_export_part_failures_are_retried_by_the_policy(tmp_path) -> None:
    with run_emulator(export_part_size=3000) as emulator:
        subject = emulator.create_subject()
        end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        emulator.state.seed_invoices(8, seller_nip=subject.nip, buyer_nip="7740001454", end=end)
        breaker = Breaker(Break(*EXPORT_PART, when="after", status=503, times=2))
        with breakable_client(emulator, subject, breaker) as client:
            filters = InvoiceQueryFilters(
                subject_type="Subject1",
                date_range=InvoiceQueryDateRange(
                    date_type="PermanentStorage",
                    from_=end - dt.timedelta(days=30),
                    restrict_to_permanent_storage_hwm_date=True,
                ),
            )
            result = client.invoices.export(filters, into=tmp_path, parallelism=1)
    parts = len(result.package.parts)
    assert len(result.files) == 8
    assert breaker.count(*EXPORT_PART) == parts + 2


# -- rate limits ---------------------------------------------------------------------------

SET_RATE_LIMITS = Operation("POST", "/testdata/rate-limits")


def test_a_paced_client_meets_no_429_when_kseF_enforces_limits(
    ksef_emulator, ksef_subject
) -> None:
    # Limits of the context are set beforehand (as on TEST with /testdata/rate-limits).
    groups = {name: {"perSecond": 100, "perMinute": 1000, "perHour": 10000} for name in GROUPS}
    groups["sessionMisc"] = {"perSecond": 4, "perMinute": 1000, "perHour": 10000}
    body = SetRateLimitsRequest.model_validate({"rateLimits": groups})
    with ksef_emulator.client() as admin:
        admin.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        admin._http.request(SET_RATE_LIMITS, json=body.to_wire())
    breaker = Breaker()
    with breakable_client(ksef_emulator, ksef_subject, breaker) as client:
        session = client.online_session().open()
        for _ in range(9):
            session.status()
        session.close()
        limits = client.limits.rate_limits()
    assert limits.session_misc.per_second == 4
    assert 429 not in breaker.statuses
    assert breaker.count("GET", r"/v2/rate-limits") == 2  # the limiter's read + ours
    # The same calls without pacing are refused: the limits were really on.
    with breakable_client(ksef_emulator, ksef_subject, breaker, rate_limits=None) as raw:
        impatient = raw.with_options(retry=RetryPolicy(max_attempts=1))
        refused = []
        for _ in range(9):
            try:
                impatient.sessions.status(session.reference_number)
            except RateLimited as error:
                refused.append(error)
    assert refused and refused[0].status_code == 429 and not refused[0].local


def test_limits_resource(ksef_client, ksef_emulator) -> None:
    context = ksef_client.limits.context()
    assert context.batch_session.max_invoices == ksef_emulator.state.config.batch_max_invoices
    assert context.online_session.max_invoice_size_in_mb >= 1
    rates = ksef_client.limits.rate_limits()
    assert rates.invoice_send.per_second > 0 and rates.collective_identifier.per_hour > 0
