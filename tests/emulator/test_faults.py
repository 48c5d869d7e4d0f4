"""Injected faults: every kind over HTTP (in process and over real TCP), rules, admin API."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from batch_helpers import Package, open_batch, send_package, upload, zip_bytes
from emulator_helpers import OAEP, START, Ksef, b64, invoice, send_body

from ksefkit.emulator.clock import isoformat
from ksefkit.emulator.faults import ConnectionDropped, Faults, parse_fault_spec
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.testing import run_emulator

pytestmark = pytest.mark.anyio

Key = tuple[bytes, bytes]
Headers = dict[str, str]


def _sessions(state: EmulatorState) -> int:
    row = state.store.one("SELECT COUNT(*) AS n FROM sessions")
    assert row is not None
    return int(row["n"])


async def _online(ksef: Ksef, subject: SeededSubject, key: Key) -> tuple[Headers, str]:
    headers = await ksef.bearer(subject)
    return headers, await ksef.open_session(headers, *key)


async def _send(ksef: Ksef, headers: Headers, ref: str, key: Key, xml: bytes) -> str:
    resp = await ksef.send(headers, ref, send_body(xml, *key))
    assert resp.status_code == 202, resp.text
    return str(resp.json()["referenceNumber"])


# -- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("explode", {}, "kind: one of"),
        ("latency", {}, "delay"),
        ("latency", {"delay": 1, "code": 440}, "unsupported field"),
        ("server_error", {"status": 404}, "status: an integer between 500 and 599"),
        ("rate_limit", {"rate": 1.5}, "rate: between 0 and 1"),
        ("rate_limit", {"count": 0}, "count: an integer"),
        ("invoice_failure", {"code": 200}, "code: one of"),
        ("invoice_failure", {"code": 440, "path": "/x"}, "unsupported field"),
        ("session_failure", {"code": 450}, "code: one of"),
        ("slow_processing", {"delay": 5, "count": 1}, "unsupported field"),
        ("drop_after", {"path": "(unclosed"}, "path: invalid regular expression"),
        ("drop_before", {"methods": ["GET", 7]}, "methods"),
    ],
)
def test_invalid_rules_are_refused(kind: str, fields: dict[str, Any], message: str) -> None:
    faults = Faults()
    with pytest.raises(ValueError, match=message):
        faults.add(kind, **fields)
    assert faults.rules() == []


def test_count_rate_and_seed_reproducibility() -> None:
    faults = Faults(seed=11)
    faults.add("server_error", count=2, methods=["post"], path="/sessions/.*")
    fired = [faults.before(m, p).rule is not None for m, p in [("GET", "/sessions/1")] * 2]
    assert fired == [False, False]  # methods filter
    assert faults.before("POST", "/sessionsX").rule is None  # the path must match whole
    fired = [faults.before("POST", "/sessions/1").rule is not None for _ in range(4)]
    assert fired == [True, True, False, False]
    assert (faults.rules()[0]["hits"], faults.rules()[0]["remaining"]) == (2, 0)

    def sequence(seed: int) -> list[bool]:
        f = Faults(seed=seed)
        f.add("drop_before", rate=0.3)
        return [f.before("GET", "/x").rule is not None for _ in range(1000)]

    first = sequence(5)
    assert first == sequence(5)
    assert first != sequence(6)
    assert 220 < sum(first) < 380  # ~30 %
    # reset() reseeds: the same decisions again.
    f = Faults(seed=5, rules=[{"kind": "drop_before", "rate": 0.3}])
    once = [f.before("GET", "/x").rule is not None for _ in range(50)]
    f.reset()
    assert [f.before("GET", "/x").rule is not None for _ in range(50)] == once == first[:50]


def test_latency_adds_up_before_the_first_answering_rule() -> None:
    faults = Faults()
    faults.add("latency", delay=0.25)
    faults.add("latency", delay=0.5, methods=["GET"])
    faults.add("rate_limit", retry_after=9)
    decided = faults.before("GET", "/sessions")
    assert decided.delay == 0.75
    assert decided.rule is not None and decided.rule.retry_after == 9
    assert faults.before("POST", "/sessions").delay == 0.25


def test_fault_spec_syntax() -> None:
    assert parse_fault_spec("server_error:rate=0.05:html=1") == {
        "kind": "server_error",
        "rate": 0.05,
        "html": True,
    }
    # A colon inside the regex does not split it.
    spec = parse_fault_spec("drop_after:path=/sessions/(?:online|batch)/.*:count=2")
    assert spec == {"kind": "drop_after", "path": "/sessions/(?:online|batch)/.*", "count": 2}
    assert parse_fault_spec("invoice_failure:code=440:details=Zdublowana")["details"] == [
        "Zdublowana"
    ]
    for bad, message in (
        ("rate=1", "starts with a kind"),
        ("rate_limit:retry_after=soon", "not a number"),
        ("server_error:html=maybe", "html: 1/0/true/false"),
        ("x:rate=1:rate=2", "rate given twice"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_fault_spec(bad)
    faults = Faults()
    rid = faults.add_spec("slow_processing:delay=2.5")
    assert faults.rules() == [{"id": rid, "kind": "slow_processing", "delay": 2.5, "hits": 0}]
    assert faults.processing_delay() == 2.5


# -- request kinds (in process) -------------------------------------------------------------


async def test_rate_limit_fault_answers_before_the_api(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers = await ksef.bearer(subject)
    state.faults.add("rate_limit", count=2, retry_after=30, path="/sessions/online")
    first = await ksef.http.post("/v2/sessions/online", json={}, headers=headers)
    second = await ksef.http.post(
        "/v2/sessions/online", json={}, headers={**headers, "X-Error-Format": "problem-details"}
    )
    assert first.status_code == second.status_code == 429
    assert first.headers["retry-after"] == second.headers["retry-after"] == "30"
    assert first.json()["status"]["code"] == 429
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["title"] == "Too Many Requests"
    assert _sessions(state) == 0  # never reached the API
    await ksef.open_session(headers, *session_key)  # the rule is spent
    assert _sessions(state) == 1


async def test_server_errors_problem_details_html_and_filters(
    ksef: Ksef, state: EmulatorState
) -> None:
    state.faults.add("server_error", count=1, methods=["GET"])
    state.faults.add("server_error", count=1, status=502, html=True, retry_after=7)
    json_error = await ksef.http.get("/v2/security/public-key-certificates")
    assert json_error.status_code == 503
    assert json_error.headers["content-type"].startswith("application/problem+json")
    assert json_error.json()["title"] == "Service Unavailable"
    page = await ksef.http.post("/v2/auth/challenge")
    assert page.status_code == 502 and page.headers["retry-after"] == "7"
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in page.text
    assert (await ksef.http.post("/v2/auth/challenge")).status_code == 200
    # The admin API is never faulted.
    state.faults.add("server_error")
    assert (await ksef.http.get("/_emulator/health")).status_code == 200
    assert (await ksef.http.get("/v2/security/public-key-certificates")).status_code == 503


async def test_latency_delays_then_answers(ksef: Ksef, state: EmulatorState) -> None:
    state.faults.add("latency", delay=0.2, count=1)
    started = time.monotonic()
    resp = await ksef.http.get("/v2/security/public-key-certificates")
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.2
    assert state.faults.rules()[0]["hits"] == 1


async def test_drop_before_in_process_never_reaches_the_api(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers = await ksef.bearer(subject)
    state.faults.add("drop_before", count=1, methods=["POST"], path="/sessions/online")
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        await ksef.open_session(headers, *session_key)
    assert isinstance(caught.value, ConnectionDropped)
    assert _sessions(state) == 0
    await ksef.open_session(headers, *session_key)
    assert _sessions(state) == 1


async def test_drop_after_in_process_processed_yet_unanswered(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _online(ksef, subject, session_key)
    state.faults.add("drop_after", count=1, path="/sessions/online/.*/invoices")
    xml = invoice(subject.nip, "FV/DROP/1")
    with pytest.raises(httpx.RemoteProtocolError):
        await ksef.send(headers, ref, send_body(xml, *session_key))
    listed = await ksef.http.get(f"/v2/sessions/{ref}/invoices", headers=headers)
    [sent] = listed.json()["invoices"]
    assert sent["status"]["code"] == 200 and sent["invoiceNumber"] == "FV/DROP/1"


# -- over real TCP --------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _uvicorn_log() -> Iterator[_Records]:
    """Records of ``uvicorn.error`` (attach after the server started: uvicorn's logging
    set-up removes handlers added before)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_drops_over_tcp_are_transport_errors_and_drop_after_commits() -> None:
    key = (os.urandom(32), os.urandom(16))
    with run_emulator() as emu, _uvicorn_log() as uvicorn_log:
        subject = emu.create_subject()
        async with httpx.AsyncClient(base_url=emu.base_url) as http:
            ksef = Ksef(http, emu.state)
            headers = await ksef.bearer(subject)
            emu.state.faults.add("drop_before", count=1, path="/sessions/online")
            with pytest.raises(httpx.RemoteProtocolError):
                await ksef.open_session(headers, *key)
            assert _sessions(emu.state) == 0
            ref = await ksef.open_session(headers, *key)
            emu.state.faults.add("drop_after", count=1, path="/sessions/online/.*/invoices")
            xml = invoice(subject.nip, "FV/TCP/1")
            with pytest.raises(httpx.TransportError):
                await ksef.send(headers, ref, send_body(xml, *key))
            # The connection is gone, the invoice is not: it was processed and committed.
            listed = (await http.get(f"/v2/sessions/{ref}/invoices", headers=headers)).json()
            assert [i["invoiceNumber"] for i in listed["invoices"]] == ["FV/TCP/1"]
            assert listed["invoices"][0]["status"]["code"] == 200
            # Deliberate drops are not logged as crashes; a real crash still is.
            assert not [r for r in uvicorn_log.records if r.levelno >= logging.ERROR]
            logging.getLogger("uvicorn.error").error("a crash", exc_info=RuntimeError("x"))
            assert [r.getMessage() for r in uvicorn_log.records] == ["a crash"]


# -- processing kinds -----------------------------------------------------------------------


async def test_invoice_failure_codes_then_normal(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _online(ksef, subject, session_key)
    state.faults.add("invoice_failure", count=1, code=440)
    state.faults.add(
        "invoice_failure", count=1, code=550, description="Anulowano", details=["Ponów."]
    )
    refs = [
        await _send(ksef, headers, ref, session_key, invoice(subject.nip, f"FV/F/{i}"))
        for i in range(3)
    ]
    statuses = [(await ksef.invoice_status(headers, ref, r))["status"] for r in refs]
    assert statuses[0]["code"] == 440 and statuses[0]["description"] == "Duplikat faktury"
    assert statuses[0]["details"] == ["Błąd wstrzyknięty przez emulator ksefkit."]
    assert statuses[1] == {"code": 550, "description": "Anulowano", "details": ["Ponów."]}
    assert statuses[2]["code"] == 200
    failed = await ksef.http.get(f"/v2/sessions/{ref}/invoices/failed", headers=headers)
    assert [i["invoiceNumber"] for i in failed.json()["invoices"]] == ["FV/F/0", "FV/F/1"]


async def test_session_failure_online_and_batch(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _online(ksef, subject, session_key)
    await _send(ksef, headers, ref, session_key, invoice(subject.nip, "FV/S/1"))
    state.faults.add("session_failure", count=2, code=445)
    await ksef.close(headers, ref)
    status = await ksef.session_status(headers, ref)
    assert status["status"]["code"] == 445
    assert status["status"]["description"] == "Błąd weryfikacji, brak poprawnych faktur"
    assert "upo" not in status or status["upo"] is None
    pkg = Package.build(zip_bytes({"a.xml": invoice(subject.nip, "FV/S/2")}), *session_key)
    _, batch = await send_package(ksef, headers, pkg)
    assert batch["status"]["code"] == 445
    # Spent: the next session ends naturally.
    headers, ref = await _online(ksef, subject, session_key)
    await _send(ksef, headers, ref, session_key, invoice(subject.nip, "FV/S/3"))
    await ksef.close(headers, ref)
    assert (await ksef.session_status(headers, ref))["status"]["code"] == 200


async def test_slow_processing_in_immediate_mode(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _online(ksef, subject, session_key)
    rid = state.faults.add("slow_processing", delay=30)
    inv = await _send(ksef, headers, ref, session_key, invoice(subject.nip, "FV/SLOW/1"))
    assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 100
    state.advance(29)
    assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 100
    state.advance(1)
    assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 200
    assert state.faults.remove(rid)
    inv = await _send(ksef, headers, ref, session_key, invoice(subject.nip, "FV/SLOW/2"))
    assert (await ksef.invoice_status(headers, ref, inv))["status"]["code"] == 200


async def test_expire_links_upo_batch_part_and_export(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _online(ksef, subject, session_key)
    inv = await _send(ksef, headers, ref, session_key, invoice(subject.nip, "FV/L/1"))
    url = (await ksef.invoice_status(headers, ref, inv))["upoDownloadUrl"]
    state.faults.add("expire_links", count=1)
    expired = await ksef.http.get(url)
    assert expired.status_code == 403 and expired.json()["detail"] == "Link wygasł."
    assert (await ksef.http.get(url)).status_code == 200
    # Batch part upload.
    pkg = Package.build(zip_bytes({"a.xml": invoice(subject.nip, "FV/L/2")}), *session_key)
    opened = await open_batch(ksef, headers, pkg)
    state.faults.add("expire_links", count=1, path="/storage/batch/.*")
    request = opened["partUploadRequests"][0]
    refused = await upload(ksef, request, pkg.parts[0])
    assert refused.status_code == 403
    assert refused.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert b"Signature not valid in the specified time frame" in refused.content
    assert (await upload(ksef, request, pkg.parts[0])).status_code == 201
    # Export part download.
    state.seed_invoices(
        2,
        seller_nip=subject.nip,
        buyer_nip="7740001454",
        start=START - dt.timedelta(hours=2),
        end=START - dt.timedelta(hours=1),
    )
    key, iv = session_key
    pub, kid = await ksef.certificates("SymmetricKeyEncryption")
    body = {
        "encryption": {
            "encryptedSymmetricKey": b64(pub.encrypt(key, OAEP)),
            "initializationVector": b64(iv),
            "publicKeyId": kid,
        },
        "filters": {
            "subjectType": "Subject1",
            "dateRange": {
                "dateType": "PermanentStorage",
                "from": isoformat(START - dt.timedelta(days=1)),
            },
        },
    }
    started = await ksef.http.post("/v2/invoices/exports", json=body, headers=headers)
    assert started.status_code == 201, started.text
    export = await ksef.http.get(
        f"/v2/invoices/exports/{started.json()['referenceNumber']}", headers=headers
    )
    part_url = export.json()["package"]["parts"][0]["url"]
    state.faults.add("expire_links", count=1)
    refused = await ksef.http.get(part_url)
    assert refused.status_code == 403
    assert refused.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert (await ksef.http.get(part_url)).status_code == 200


# -- admin API ------------------------------------------------------------------------------


async def test_admin_api_add_list_remove_clear_and_reset(ksef: Ksef, state: EmulatorState) -> None:
    http = ksef.http
    one = await http.post("/_emulator/faults", json={"kind": "server_error", "count": 1})
    assert one.status_code == 201 and one.json() == {"ids": ["f1"]}
    many = await http.post(
        "/_emulator/faults",
        json=[{"kind": "latency", "delay": 0.01}, "rate_limit:count=1:retry_after=5"],
    )
    assert many.json() == {"ids": ["f2", "f3"]}
    seeded = await http.post(
        "/_emulator/faults", json={"rules": [{"kind": "drop_before", "rate": 0.5}], "seed": 4}
    )
    assert seeded.json() == {"ids": ["f4"]}
    # All or nothing: the second rule is bad, the first is not kept.
    bad = await http.post(
        "/_emulator/faults", json=[{"kind": "latency", "delay": 1}, {"kind": "nope"}]
    )
    assert bad.status_code == 400
    detail = bad.json()["exception"]["exceptionDetailList"][0]
    assert detail["exceptionCode"] == 21405 and "faults[1]" in detail["details"][0]
    assert (await http.delete("/_emulator/faults/f4")).status_code == 204
    assert (await http.delete("/_emulator/faults/f4")).status_code == 404
    assert (await http.get("/v2/security/public-key-certificates")).status_code == 503
    assert (await http.get("/v2/security/public-key-certificates")).status_code == 429
    rules = (await http.get("/_emulator/faults")).json()["rules"]
    assert [(r["id"], r["kind"], r["hits"]) for r in rules] == [
        ("f1", "server_error", 1),
        ("f2", "latency", 2),
        ("f3", "rate_limit", 1),
    ]
    assert rules[2] == {
        "id": "f3",
        "kind": "rate_limit",
        "count": 1,
        "retry_after": 5,
        "hits": 1,
        "remaining": 0,
    }
    assert (await http.delete("/_emulator/faults")).status_code == 204
    assert (await http.get("/_emulator/faults")).json() == {"rules": []}
    state.faults.add("server_error")
    assert (await http.post("/_emulator/reset")).status_code == 204
    assert state.faults.rules() == []


def test_configured_faults_survive_reset() -> None:
    with EmulatorState(faults=["server_error:count=1", {"kind": "latency", "delay": 1}]) as state:
        assert state.faults.before("GET", "/x").rule is not None
        state.faults.add("drop_after")
        state.reset()
        assert [(r["kind"], r["hits"]) for r in state.faults.rules()] == [
            ("server_error", 0),
            ("latency", 0),
        ]
