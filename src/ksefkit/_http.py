"""The pure half of the HTTP layer, shared by the sync and async clients.

This module owns the two decisions every request needs and that must not differ between
the sync and async shells:

* :func:`map_error` — the one place that turns an HTTP error answer into an exception,
  understanding KSeF's ``ExceptionResponse`` JSON, problem-details bodies (400/401/403/410/429)
  and the HTML pages a gateway sends on 5xx;
* :func:`check_meta_hash` — documents served with ``x-ms-meta-hash`` are verified here.

It performs no I/O.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx

from .errors import (
    ApiError,
    BadRequest,
    ErrorEntry,
    Forbidden,
    Gone,
    IntegrityError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)

__all__ = [
    "AuthKind",
    "Operation",
    "check_meta_hash",
    "map_error",
    "parse_retry_after",
]


class AuthKind(Enum):
    """Which token a request carries in ``Authorization: Bearer``."""

    NONE = "none"
    ACCESS = "access"
    AUTHENTICATION = "authentication"  # the operation token from /auth/ksef-token
    REFRESH = "refresh"


@dataclass(frozen=True)
class Operation:
    """One API operation: method, path template and how it may be retried.

    ``idempotent`` operations (reads, polls) are retried on 429/5xx/transport errors;
    the others only when the request surely never left the machine.

    >>> Operation("GET", "/sessions/{ref}").path(ref="20250625-SO-2C3E6C8000-B675CF5D68-07")
    '/sessions/20250625-SO-2C3E6C8000-B675CF5D68-07'
    """

    method: str
    template: str
    auth: AuthKind = AuthKind.ACCESS
    idempotent: bool | None = None
    #: One-shot operations (token redeem) are never retried, whatever the error.
    one_shot: bool = False

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in ("GET", "HEAD")

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, **params: str) -> str:
        # Reference numbers and KSeF numbers are [0-9A-Z-]; quote anyway so a bad
        # argument cannot change the path.
        quoted = {k: urllib.parse.quote(v, safe="") for k, v in params.items()}
        return self.template.format(**quoted)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after(None) is None
    True
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: Gone,
    429: RateLimited,
}


def map_error(response: httpx.Response, operation: str = "") -> ApiError:
    """The exception for an HTTP error answer (status >= 400).

    >>> r = httpx.Response(400, json={"exception": {"exceptionDetailList": [
    ...     {"exceptionCode": 21173, "exceptionDescription": "Brak sesji", "details": []}]}})
    >>> err = map_error(r, "GET /sessions/{ref}")
    >>> type(err).__name__, err.code
    ('BadRequest', 21173)
    """
    status = response.status_code
    text = _safe_text(response)
    body = _json_or_none(text, response)
    fields = _fields_from_body(body) if isinstance(body, dict) else {}
    if not fields and text and status >= 500:
        fields = {"title": _html_title(text) or response.reason_phrase}
    cls = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else ApiError)
    kwargs: dict[str, Any] = {
        "operation": operation,
        "body": text[:4000],
        **fields,
    }
    if cls is RateLimited:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(status, retry_after=retry_after, **kwargs)
    return cls(status, **kwargs)


def _safe_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""


def _json_or_none(text: str, response: httpx.Response) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type and not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _fields_from_body(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("exception"), dict):
        return _from_exception_response(body["exception"])
    if "status" in body and isinstance(body["status"], dict):
        # TooManyRequestsResponse (legacy): {"status": {"code", "description", "details"}}
        st = body["status"]
        entry = ErrorEntry(None, str(st.get("description", "")), _str_tuple(st.get("details")))
        return {"errors": [entry]}
    return _from_problem_details(body)


def _from_exception_response(exc: dict[str, Any]) -> dict[str, Any]:
    entries = [
        ErrorEntry(
            _int_or_none(item.get("exceptionCode")),
            str(item.get("exceptionDescription") or ""),
            _str_tuple(item.get("details")),
        )
        for item in exc.get("exceptionDetailList") or []
        if isinstance(item, dict)
    ]
    return {"errors": entries, "reference_number": exc.get("referenceNumber")}


def _from_problem_details(body: dict[str, Any]) -> dict[str, Any]:
    entries = [
        ErrorEntry(
            _int_or_none(item.get("code")),
            str(item.get("description") or ""),
            _str_tuple(item.get("details")),
        )
        for item in body.get("errors") or []
        if isinstance(item, dict)
    ]
    return {
        "errors": entries,
        "title": str(body.get("title") or ""),
        "detail": str(body.get("detail") or ""),
        "reason_code": body.get("reasonCode"),
        "reference_number": body.get("traceId"),
    }


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if v is not None)


def _html_title(text: str) -> str | None:
    lower = text.lower()
    start = lower.find("<title>")
    end = lower.find("</title>")
    if start < 0 or end <= start:
        return None
    return text[start + 7 : end].strip() or None


def check_meta_hash(content: bytes, declared: str | None, *, what: str = "document") -> None:
    """Raise :class:`IntegrityError` unless ``content`` hashes to the declared value.

    KSeF sends ``x-ms-meta-hash`` (Base64 SHA-256) with invoices and UPOs; a missing header
    is tolerated (older gateways omit it), a mismatch never is.

    >>> check_meta_hash(b"x", "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=")
    """
    if declared is None:
        return
    actual = base64.b64encode(hashlib.sha256(content).digest()).decode()
    if actual != declared.strip():
        raise IntegrityError(
            f"{what}: SHA-256 {actual} does not match x-ms-meta-hash {declared.strip()}"
        )
