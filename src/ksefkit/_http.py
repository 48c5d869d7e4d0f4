"""The pure half of the HTTP layer, shared by the sync and async clients.

This module owns the two decisions every request needs and that must not differ between
the sync and async shells:

* :func:`map_error` — the one place that turns an HTTP error answer into an exception,
  understanding KSeF's ``ExceptionResponse`` JSON, problem-details bodies (400/401/403/410/429)
  and the HTML pages a gateway sends on 5xx;
* :func:`map_storage_error` — the same for pre-signed storage links (batch part uploads,
  export parts, UPO links): those failures are :class:`~ksefkit.errors.StorageError`, never
  an API error, and their text never carries the link's signature;
* :func:`check_meta_hash` — documents served with ``x-ms-meta-hash`` are verified here.

It performs no I/O.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    StorageError,
    Unauthorized,
    ksef_code,
)

__all__ = [
    "AuthKind",
    "Operation",
    "check_meta_hash",
    "map_error",
    "map_storage_error",
    "parse_retry_after",
    "redact_url",
    "storage_error_detail",
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

    ``idempotent`` operations (reads, polls, and writes whose repetition is harmless) are
    retried on 429/5xx/transport errors; ``reconcile`` ones (sending an invoice) must be
    looked up before they are sent again; the others are retried only when the request surely
    never reached KSeF, or after a 429. :mod:`ksefkit._retry` decides; see there.

    >>> Operation("GET", "/sessions/{ref}").path(ref="20250625-SO-2C3E6C8000-B675CF5D68-07")
    '/sessions/20250625-SO-2C3E6C8000-B675CF5D68-07'
    """

    method: str
    template: str
    auth: AuthKind = AuthKind.ACCESS
    idempotent: bool | None = None
    #: One-shot operations (token redeem) are never retried, whatever the error.
    one_shot: bool = False
    #: After an ambiguous failure the caller must look the result up before resending.
    reconcile: bool = False

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
    >>> type(err).__name__, err.code == 21173, err.code.name
    ('BadRequest', True, 'SESSION_NOT_FOUND')
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
    if status == 429 or status >= 500:
        now = datetime.now(UTC)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if retry_after is not None:
            kwargs["retry_after"] = retry_after
            kwargs["retry_at"] = now + timedelta(seconds=retry_after)
    return cls(status, **kwargs)


def redact_url(url: str) -> str:
    """``url`` without its query string (where a pre-signed link keeps its signature).

    >>> redact_url("https://blob.example/c/part1?sv=2024&sig=SECRET")
    'https://blob.example/c/part1?…'
    """
    base, sep, _ = url.partition("?")
    return base + ("?…" if sep else "")


def map_storage_error(
    response: httpx.Response,
    what: str,
    *,
    ordinal_number: int | None = None,
    expired: bool | None = None,
) -> StorageError:
    """The :class:`~ksefkit.errors.StorageError` for a pre-signed link's error answer.

    ``what`` names the transfer without the link's secret part (e.g. ``"download of the
    UPO from https://host/path?…"``). A 403 is taken as an expired link unless ``expired``
    says otherwise (storage refuses a signature past its expiry time with 403).

    >>> r = httpx.Response(404, text="<Error><Code>BlobNotFound</Code></Error>")
    >>> e = map_storage_error(r, "download of the UPO")
    >>> e.status_code, e.error_code, str(e)
    (404, 'BlobNotFound', 'download of the UPO failed (HTTP 404) [BlobNotFound]')
    """
    status = response.status_code
    code, message = storage_error_detail(response)
    if expired is None:
        expired = status == 403
    text = f"{what} failed (HTTP {status})" + (": the link expired" if expired else "")
    if code or message:
        text += f" [{': '.join(x for x in (code, message) if x)}]"
    return StorageError(
        text,
        status_code=status,
        ordinal_number=ordinal_number,
        expired=expired,
        error_code=code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def storage_error_detail(response: httpx.Response) -> tuple[str | None, str | None]:
    """Storage's error code and message (Azure XML, KSeF-style JSON or plain text)."""
    text = _safe_text(response)[:4000]
    code = re.search(r"<Code>([^<]{1,100})</Code>", text)
    message = re.search(r"<Message>([^<\n]{1,300})", text)
    # Azure explains a refused signature (e.g. an expired link) in a separate element.
    detail = re.search(r"<AuthenticationErrorDetail>([^<]{1,300})<", text)
    if code or message:
        said = [m.group(1).strip() for m in (detail or message,) if m]
        return (code.group(1) if code else None, said[0] if said else None)
    header = response.headers.get("x-ms-error-code")
    described = map_error(response, "storage").description  # JSON error bodies
    if described:
        return header, described[:300]
    if text.lstrip().startswith("<"):
        return header, None  # an HTML page says nothing useful
    return header, text.strip()[:200] or None


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
        return ksef_code(int(value))
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
