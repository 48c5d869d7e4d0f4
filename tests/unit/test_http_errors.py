"""The one HTTP -> exception mapping, for every body shape KSeF and its gateway send."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from ksefkit._http import Operation, check_meta_hash, map_error, parse_retry_after
from ksefkit.errors import (
    BadRequest,
    Forbidden,
    Gone,
    IntegrityError,
    RateLimited,
    ServerError,
    Unauthorized,
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
