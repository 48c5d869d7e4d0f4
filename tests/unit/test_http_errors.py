"""The one HTTP -> exception mapping, for every body shape KSeF and its gateway send."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from ksefkit._http import (
    Operation,
    check_meta_hash,
    map_error,
    map_storage_error,
    parse_retry_after,
)
from ksefkit.errors import (
    ApiError,
    AuthenticationFailed,
    AuthStatusCode,
    BadRequest,
    ExportFailed,
    ExportStatusCode,
    Forbidden,
    Gone,
    IntegrityError,
    InvoiceRejected,
    InvoiceStatusCode,
    KsefCode,
    RateLimited,
    ServerError,
    SessionFailed,
    SessionStatusCode,
    StorageError,
    Unauthorized,
    XadesError,
    ksef_code,
)


def test_exception_response_json() -> None:
    body = {
        "exception": {
            "exceptionDetailList": [
                {
                    "exceptionCode": 21405,
                    "exceptionDescription": "Błąd walidacji danych wejściowych.",
                    "details": ["formCode is required"],
                },
                {"exceptionCode": 21470, "exceptionDescription": "Klucz", "details": None},
            ],
            "referenceNumber": "a1b2c3d4",
            "serviceCode": "00-x-00",
            "timestamp": "2025-10-11T12:23:56.0154302",
        }
    }
    err = map_error(httpx.Response(400, json=body), "POST /sessions/online")
    assert isinstance(err, BadRequest)
    assert err.status_code == 400
    assert err.code == 21405
    assert err.details == ("formCode is required",)
    assert err.has_code(21470) and not err.has_code(21173)
    assert err.reference_number == "a1b2c3d4"
    text = str(err)
    assert "POST /sessions/online" in text and "21405" in text and "formCode is required" in text


def test_problem_details_400() -> None:
    body = {
        "title": "Bad Request",
        "status": 400,
        "instance": "/v2/sessions/online",
        "detail": "Invalid request",
        "errors": [{"code": 21173, "description": "Brak sesji", "details": ["x"]}],
        "timestamp": "2025-10-11T12:23:56Z",
        "traceId": "trace-1",
    }
    response = httpx.Response(400, json=body, headers={"content-type": "application/problem+json"})
    err = map_error(response)
    assert isinstance(err, BadRequest)
    assert (err.code, err.description, err.reference_number) == (21173, "Brak sesji", "trace-1")


def test_401_and_403_problem_details() -> None:
    unauthorized = map_error(
        httpx.Response(401, json={"title": "Unauthorized", "status": 401, "detail": "expired"})
    )
    assert isinstance(unauthorized, Unauthorized)
    assert unauthorized.code is None and unauthorized.description == "expired"
    forbidden = map_error(
        httpx.Response(
            403,
            json={
                "title": "Forbidden",
                "status": 403,
                "detail": "no rights",
                "reasonCode": "missing-permissions",
            },
        )
    )
    assert isinstance(forbidden, Forbidden)
    assert forbidden.reason_code == "missing-permissions"
    assert "missing-permissions" in str(forbidden)


def test_410_gone() -> None:
    assert isinstance(map_error(httpx.Response(410, json={"title": "Gone"})), Gone)


def test_429_legacy_body_and_retry_after() -> None:
    body = {"status": {"code": 429, "description": "Too Many Requests", "details": ["wait"]}}
    err = map_error(httpx.Response(429, json=body, headers={"Retry-After": "3600"}))
    assert isinstance(err, RateLimited)
    assert err.retry_after == 3600.0
    assert err.description == "Too Many Requests"
    assert "retry after 3600" in str(err)


def test_5xx_html_gateway_page() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    err = map_error(httpx.Response(502, text=html, headers={"content-type": "text/html"}))
    assert isinstance(err, ServerError)
    assert err.description == "502 Bad Gateway"


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(90.0)
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("-5") == 0.0


def test_meta_hash() -> None:
    content = b"<Potwierdzenie/>"
    good = base64.b64encode(hashlib.sha256(content).digest()).decode()
    check_meta_hash(content, good)
    check_meta_hash(content, None)
    with pytest.raises(IntegrityError):
        check_meta_hash(content + b" ", good)


def test_operation_path_quotes_parameters() -> None:
    op = Operation("GET", "/sessions/{ref}")
    assert op.path(ref="20250625-SO-2C3E6C8000-B675CF5D68-07").endswith("-07")
    assert op.path(ref="a/b") == "/sessions/a%2Fb"
    assert op.path(ref="../x") == "/sessions/..%2Fx"


# -- the code catalogue ------------------------------------------------------------------

CATALOGUE = [
    *(9101, 9102, 9103, 9105, 21001, 21111, 21115, 21117, 21155, 21157, 21161, 21164, 21165),
    *(21166, 21167, 21173, 21175, 21178, 21180, 21181, 21182, 21183, 21205, 21208, 21217),
    *(21301, 21304, 21308, 21401, 21402, 21403, 21405, 21406, 21418, 21470),
    *range(25001, 25012),
    *(26001, 26002, 30001),
]


def test_every_catalogue_code_has_a_name_and_a_meaning() -> None:
    for code in CATALOGUE:
        member = KsefCode(code)
        assert (
            member.name.isupper() and len(member.meaning) > 10 and not member.meaning.endswith(".")
        )
    assert len({KsefCode(c).name for c in CATALOGUE}) == len(CATALOGUE)


def test_every_code_in_the_spec_and_the_emulator_is_named(spec_dir) -> None:
    from ksefkit.emulator.errors import DESCRIPTIONS

    spec = json.loads((spec_dir / "open-api.json").read_text("utf-8"))
    documented = {
        int(m.group(1))
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for response in op.get("responses", {}).values()
        for m in re.finditer(r"^\|\s*(\d{4,5})\s*\|", response.get("description", ""), re.M)
    }
    assert documented >= {21173, 25011, 71002}  # the parse found the tables
    assert not documented - set(KsefCode), documented - set(KsefCode)
    assert not set(DESCRIPTIONS) - set(KsefCode)


def test_api_error_code_is_the_named_member_when_known() -> None:
    known = map_error(_exception_response(21173, "Brak sesji"), "GET /sessions/{ref}")
    assert known.code is KsefCode.SESSION_NOT_FOUND
    assert known.has_code(KsefCode.SESSION_NOT_FOUND) and known.has_code(21173)
    unknown = map_error(_exception_response(12345, "?"))
    assert unknown.code == 12345 and not isinstance(unknown.code, KsefCode)

    match known.code:
        case KsefCode.SESSION_NOT_FOUND:
            matched = True
        case _:
            matched = False
    assert matched
    assert ksef_code(21470) is KsefCode.UNKNOWN_KEY_ID


def test_message_names_operation_status_code_description_details_and_reference() -> None:
    body = {
        "exception": {
            "exceptionDetailList": [
                {
                    "exceptionCode": 21180,
                    "exceptionDescription": "Status sesji nie pozwala na wykonanie operacji.",
                    "details": ["Status sesji 170 uniemożliwia wysyłkę faktur."],
                },
                {"exceptionCode": 21405, "exceptionDescription": "Błąd walidacji", "details": []},
            ],
            "referenceNumber": "20251011-EX-1234567890-ABCDEF1234-01",
        }
    }
    error = map_error(httpx.Response(400, json=body), "POST /sessions/online/{ref}/invoices")
    text = str(error)
    for part in (
        "POST /sessions/online/{ref}/invoices",
        "HTTP 400",
        "KSeF 21180 SESSION_STATUS_FORBIDS",
        "Status sesji nie pozwala na wykonanie operacji.",
        "Status sesji 170 uniemożliwia wysyłkę faktur.",
        "KSeF 21405 VALIDATION_ERROR: Błąd walidacji",
        "20251011-EX-1234567890-ABCDEF1234-01",
    ):
        assert part in text, (part, text)


def test_rate_limited_says_when_to_come_back() -> None:
    before = datetime.now(UTC)
    err = map_error(
        httpx.Response(429, json={"title": "Too Many Requests"}, headers={"Retry-After": "600"})
    )
    assert isinstance(err, RateLimited) and err.retry_after == 600
    assert err.retry_at is not None
    assert (
        before + timedelta(seconds=599)
        <= err.retry_at
        <= datetime.now(UTC) + timedelta(seconds=601)
    )
    assert f"at {err.retry_at.isoformat(timespec='seconds')}" in str(err)
    assert map_error(httpx.Response(429)).retry_at is None  # no Retry-After: nothing invented


def test_status_codes_are_named_per_kind() -> None:
    rejected = InvoiceRejected(440, "Duplikat faktury")
    failed = SessionFailed(440, "Sesja anulowana")
    assert rejected.code is InvoiceStatusCode.DUPLICATE
    assert failed.code is SessionStatusCode.CANCELLED
    assert AuthenticationFailed(450, "x").code is AuthStatusCode.INVALID_TOKEN
    assert ExportFailed(210, "x").code is ExportStatusCode.EXPIRED
    assert InvoiceRejected(499, "new").code == 499  # an unknown status stays a number
    assert XadesError(9105, "bad").code is KsefCode.INVALID_SIGNATURE


def test_storage_errors_are_not_api_errors() -> None:
    azure = (
        "<?xml version='1.0'?><Error><Code>AuthenticationFailed</Code><Message>Server failed"
        "</Message><AuthenticationErrorDetail>Signed expiry time has passed"
        "</AuthenticationErrorDetail></Error>"
    )
    error = map_storage_error(
        httpx.Response(403, text=azure), "download of the UPO from https://b/x?…"
    )
    assert isinstance(error, StorageError) and not isinstance(error, ApiError)
    assert error.expired and error.error_code == "AuthenticationFailed"
    assert "Signed expiry time has passed" in str(error)
    throttled = map_storage_error(httpx.Response(503, headers={"Retry-After": "5"}), "upload")
    assert throttled.retry_after == 5 and not throttled.expired


def _exception_response(code: int, description: str) -> httpx.Response:
    item = {"exceptionCode": code, "exceptionDescription": description, "details": []}
    return httpx.Response(400, json={"exception": {"exceptionDetailList": [item]}})
