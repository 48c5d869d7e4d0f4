"""Input the spec forbids and requests no route serves: KSeF-shaped 400 / 404 / 405 / 500.

* ``statuses`` of ``GET /sessions`` outside ``CommonSessionStatus`` is 400/21405;
* path parameters that break their schema (``ReferenceNumber``, ``KsefNumber``) are 400/21405
  on every route that takes one, while well-formed unknown ones stay 21173 / 21178;
* the legacy ``ExceptionResponse`` timestamp carries its UTC offset (date-time);
* unknown paths, wrong methods and crashes answer with problem details, never plain text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from emulator_helpers import Ksef

from ksefkit.emulator.app import create_app
from ksefkit.emulator.backends import check_ksef_number, check_reference_number
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.errors import KsefApiError, bad_request, render_error
from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]

UNKNOWN_REF = "20260210-SO-2C3E6C8000-B675CF5D68-07"
UNKNOWN_KSEF = "5265877635-20250826-0100001AF629-AF"
PROBLEM_KEYS = {"title", "status", "detail", "instance", "timestamp", "traceId"}


def _exception(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    entries = resp.json()["exception"]["exceptionDetailList"]
    assert len(entries) == 1
    return dict(entries[0])


async def _ready(ksef: Ksef, subject: SeededSubject, key: Key) -> tuple[dict[str, str], str]:
    headers = await ksef.bearer(subject)
    return headers, await ksef.open_session(headers, *key)


# -- 1. statuses -----------------------------------------------------------------------------


async def test_unknown_status_filter_is_21405(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    params = {"sessionType": "Online", "statuses": ["Done", "InProgress", "closed"]}
    entry = _exception(await ksef.http.get("/v2/sessions", params=params, headers=headers))
    assert entry["exceptionCode"] == 21405
    assert entry["exceptionDescription"] == "Błąd walidacji danych wejściowych."
    assert len(entry["details"]) == 2
    assert entry["details"][0].startswith("statuses: wartość 'Done' nie należy do dozwolonych")
    assert "InProgress, Succeeded, Failed, Cancelled" in entry["details"][0]
    assert "'closed'" in entry["details"][1]

    problem = await ksef.http.get(
        "/v2/sessions",
        params={"sessionType": "Online", "statuses": "Done"},
        headers={**headers, "X-Error-Format": "problem-details"},
    )
    assert problem.status_code == 400
    assert problem.headers["content-type"].startswith("application/problem+json")
    error = problem.json()["errors"][0]
    assert error["code"] == 21405
    assert "'Done'" in error["details"][0]

    # Every CommonSessionStatus is still a valid filter, alone or together.
    ok = await ksef.http.get(
        "/v2/sessions",
        params={"sessionType": "Online", "statuses": ["InProgress", "Succeeded"]},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert [s["referenceNumber"] for s in ok.json()["sessions"]] == [ref]
    for status in ("Failed", "Cancelled"):
        params = {"sessionType": "Online", "statuses": status}
        resp = await ksef.http.get("/v2/sessions", params=params, headers=headers)
        assert resp.status_code == 200
        assert resp.json()["sessions"] == []


async def test_other_list_filters_are_checked_even_without_sessions(
    ksef: Ksef, subject: SeededSubject
) -> None:
    headers = await ksef.bearer(subject)  # no session exists: nothing to filter
    bad_ref = {"sessionType": "Online", "referenceNumber": "short"}
    entry = _exception(await ksef.http.get("/v2/sessions", params=bad_ref, headers=headers))
    assert entry["exceptionCode"] == 21405
    assert entry["details"][0].startswith("referenceNumber: wartość 'short'")
    bad_date = {"sessionType": "Online", "dateClosedTo": "yesterday"}
    entry = _exception(await ksef.http.get("/v2/sessions", params=bad_date, headers=headers))
    assert entry["details"] == ["dateClosedTo: nieprawidłowa data."]


# -- 2. the legacy timestamp -------------------------------------------------------------------


async def test_exception_response_timestamp_has_utc_offset(
    ksef: Ksef, subject: SeededSubject, clock: ManualClock
) -> None:
    headers = await ksef.bearer(subject)
    resp = await ksef.http.get(f"/v2/sessions/{UNKNOWN_REF}", headers=headers)
    assert resp.status_code == 400
    stamp = resp.json()["exception"]["timestamp"]
    assert stamp.endswith("+00:00")
    parsed = dt.datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == dt.timedelta(0)
    assert parsed == clock.now()


def test_render_error_keeps_the_offset() -> None:
    now = dt.datetime(2026, 11, 21, 14, 15, 21, 189694, tzinfo=dt.UTC)
    rendered = render_error(bad_request(21173), problem_details=False, instance="/v2/x", now=now)
    assert rendered.body["exception"]["timestamp"] == "2026-11-21T14:15:21.1896940+00:00"


# -- 3. path identifiers -----------------------------------------------------------------------

BAD_REFS = [
    "short",
    "20260210-SO-2C3E6C8000-B675CF5D68-0",  # 35 characters
    "20260210-SO-2C3E6C8000-B675CF5D68-071",  # 37 characters
    "20260210-SO-2c3e6c8000-b675cf5d68-07",  # lower-case hex
    "2026021X-SO-2C3E6C8000-B675CF5D68-07",  # not a date
    "20261310-SO-2C3E6C8000-B675CF5D68-07",  # month 13
    "20260210_SO_2C3E6C8000_B675CF5D68_07",  # wrong separators
    "20260210-SO-2C3E6C8000-B675CF5D68-07\n",  # trailing newline
    "٢٠٢٦0210-SO-2C3E6C8000-B675CF5D68-07",  # non-ASCII digits
]


@pytest.mark.parametrize("value", BAD_REFS)
def test_check_reference_number_refuses(value: str) -> None:
    with pytest.raises(KsefApiError) as info:
        check_reference_number(value, "referenceNumber")
    assert (info.value.status, info.value.code) == (400, 21405)
    assert info.value.details[0].startswith("referenceNumber: wartość ")


@pytest.mark.parametrize(
    "value",
    [
        "notaksefnumber",
        "5265877635-20250826-0100001AF629",  # no checksum
        "0265877635-20250826-0100001AF629-AF",  # NIP with a leading zero
        "5265877635-20251326-0100001AF629-AF",  # month 13
        "5265877635-20250826-0100001af629-AF",  # lower-case hex
        "5265877635-20250826-0100001AF629-AF\n",
    ],
)
def test_check_ksef_number_refuses(value: str) -> None:
    with pytest.raises(KsefApiError) as info:
        check_ksef_number(value, "ksefNumber")
    assert info.value.code == 21405
    assert info.value.details[0].startswith("ksefNumber: wartość ")


@pytest.mark.parametrize(
    "value",
    [
        UNKNOWN_KSEF,
        "5265877635-20250826-0100001AF629-00",  # wrong CRC: the schema does not check it
        "5265877635-20250826-010000-1AF629-AF",  # the 36-character KSeF 1.0 form
    ],
)
def test_check_ksef_number_accepts_the_spec_pattern(value: str) -> None:
    assert check_ksef_number(value, "ksefNumber") == value


def _routes(ref: str, inv: str) -> list[tuple[str, str, str]]:
    """(method, path, parameter name expected in the detail) with one malformed id each."""
    return [
        ("GET", "/v2/sessions/short", "referenceNumber"),
        ("GET", "/v2/sessions/short/invoices", "referenceNumber"),
        ("GET", "/v2/sessions/short/invoices/failed", "referenceNumber"),
        ("GET", f"/v2/sessions/short/invoices/{inv}", "referenceNumber"),
        ("GET", f"/v2/sessions/{ref}/invoices/short", "invoiceReferenceNumber"),
        ("GET", f"/v2/sessions/{ref}/invoices/short/upo", "invoiceReferenceNumber"),
        ("GET", f"/v2/sessions/short/invoices/{inv}/upo", "referenceNumber"),
        ("GET", f"/v2/sessions/{ref}/invoices/ksef/notaksefnumber/upo", "ksefNumber"),
        ("GET", f"/v2/sessions/short/invoices/ksef/{UNKNOWN_KSEF}/upo", "referenceNumber"),
        ("GET", f"/v2/sessions/{ref}/upo/short", "upoReferenceNumber"),
        ("GET", f"/v2/sessions/short/upo/{UNKNOWN_REF}", "referenceNumber"),
        ("POST", "/v2/sessions/online/short/invoices", "referenceNumber"),
        ("POST", "/v2/sessions/online/short/close", "referenceNumber"),
    ]


async def test_malformed_path_ids_are_21405_on_every_route(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    for method, path, name in _routes(ref, UNKNOWN_REF):
        resp = await ksef.http.request(method, path, headers=headers, json={})
        entry = _exception(resp)
        assert entry["exceptionCode"] == 21405, (path, entry)
        assert entry["exceptionDescription"] == "Błąd walidacji danych wejściowych."
        assert len(entry["details"]) == 1, (path, entry)
        assert entry["details"][0].startswith(f"{name}: wartość "), (path, entry)
        # Problem details carry the same validator message.
        pd = await ksef.http.request(
            method, path, headers={**headers, "X-Error-Format": "problem-details"}, json={}
        )
        assert pd.status_code == 400
        assert pd.json()["errors"][0]["details"] == entry["details"]


async def test_every_malformed_path_id_is_reported(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, _ref = await _ready(ksef, subject, session_key)
    resp = await ksef.http.get("/v2/sessions/short/invoices/ksef/bad/upo", headers=headers)
    details = _exception(resp)["details"]
    assert [d.split(":")[0] for d in details] == ["referenceNumber", "ksefNumber"]


async def test_well_formed_unknown_ids_are_still_not_found(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    missing_session = await ksef.http.get(f"/v2/sessions/{UNKNOWN_REF}", headers=headers)
    assert _exception(missing_session)["exceptionCode"] == 21173
    missing_upo = await ksef.http.get(
        f"/v2/sessions/{ref}/invoices/ksef/{UNKNOWN_KSEF}/upo", headers=headers
    )
    assert _exception(missing_upo)["exceptionCode"] == 21178
    missing_page = await ksef.http.get(f"/v2/sessions/{ref}/upo/{UNKNOWN_REF}", headers=headers)
    assert _exception(missing_page)["exceptionCode"] == 21178


async def test_auth_status_checks_its_reference_number(ksef: Ksef, subject: SeededSubject) -> None:
    init = await ksef.start_auth(subject.nip, subject.token)
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    entry = _exception(await ksef.http.get("/v2/auth/short", headers=bearer))
    assert entry["exceptionCode"] == 21405
    assert entry["details"][0].startswith("referenceNumber: wartość 'short'")
    ok = await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)
    assert ok.status_code == 200, ok.text


async def test_authentication_comes_before_path_validation(ksef: Ksef) -> None:
    resp = await ksef.http.get("/v2/sessions/short")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


# -- 4. unknown routes, wrong methods, crashes -------------------------------------------------


def _problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = dict(resp.json())
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    assert dt.datetime.fromisoformat(body["timestamp"]).utcoffset() == dt.timedelta(0)
    assert len(body["traceId"]) == 32
    return body


@pytest.mark.parametrize(
    "path", ["/v2/nope", "/v2/sessions/online/x/y/z", "/v2/auth/a/b/c", "/elsewhere"]
)
@pytest.mark.parametrize("error_format", [None, "problem-details"])
async def test_unknown_route_is_a_problem_details_404(
    ksef: Ksef, path: str, error_format: str | None
) -> None:
    headers = {"X-Error-Format": error_format} if error_format else {}
    body = _problem(await ksef.http.get(path, headers=headers), 404)
    assert body["title"] == "Not Found"
    assert body["instance"] == path
    assert path in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"/v2/sessions/{UNKNOWN_REF}", {"GET", "HEAD"}),
        ("PATCH", "/v2/sessions/online", {"POST"}),
        ("PUT", "/v2/auth/challenge", {"POST"}),
        ("POST", "/v2/security/public-key-certificates", {"GET", "HEAD"}),
    ],
)
async def test_unsupported_method_is_a_problem_details_405(
    ksef: Ksef, method: str, path: str, allowed: set[str]
) -> None:
    body = _problem(await ksef.http.request(method, path), 405)
    assert body["title"] == "Method Not Allowed"
    assert body["instance"] == path
    assert method in body["detail"]
    resp_allow = (await ksef.http.request(method, path)).headers["allow"]
    assert {m.strip() for m in resp_allow.split(",")} == allowed


async def test_a_crash_is_a_problem_details_500(
    state: EmulatorState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(state.keys, "certificates", boom)
    transport = httpx.ASGITransport(app=create_app(state), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
        resp = await http.get("/v2/security/public-key-certificates")
    body = _problem(resp, 500)
    assert body["title"] == "Internal Server Error"
    assert "boom" not in body["detail"]


def test_context_limits_from_config() -> None:
    from ksefkit.testing import run_emulator

    with run_emulator(session_invoice_limit=77, batch_max_invoices=88) as emu:
        subject = emu.create_subject()
        with emu.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            token = client.tokens.access_info
            assert token is not None
        answer = httpx.get(
            emu.api_url + "/limits/context", headers={"Authorization": f"Bearer {token.token}"}
        )
        unauthenticated = httpx.get(emu.api_url + "/limits/context")
    assert answer.status_code == 200
    body = answer.json()
    assert body["onlineSession"] == {
        "maxInvoiceSizeInMB": 1,
        "maxInvoiceWithAttachmentSizeInMB": 3,
        "maxInvoices": 77,
    }
    assert body["batchSession"]["maxInvoices"] == 88
    assert unauthenticated.status_code == 401
