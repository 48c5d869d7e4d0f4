"""Wire models of KSeF error bodies: ``ExceptionResponse`` (400 JSON) and the problem-details bodies
(400/401/403/410/429). Enum-valued fields are typed ``str`` (unknown values from KSeF still
parse); the ``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ksefkit.models._base import KsefModel

__all__ = [
    "ApiErrorInfo",
    "BadRequestProblemDetails",
    "ExceptionDetails",
    "ExceptionInfo",
    "ExceptionResponse",
    "ForbiddenProblemDetails",
    "GoneProblemDetails",
    "TooManyRequestsProblemDetails",
    "TooManyRequestsResponse",
    "TooManyRequestsResponseStatus",
    "UnauthorizedProblemDetails",
]


class ApiErrorInfo(KsefModel):
    """One entry of ``BadRequestProblemDetails.errors``: KSeF exception code, description and
    details.
    """

    code: int
    description: str
    details: list[str] | None = None


class BadRequestProblemDetails(KsefModel):
    """HTTP 400 body in ``application/problem+json`` form (sent when the request had ``X-Error-
    Format: problem-details``).
    """

    title: str
    status: int
    instance: str
    detail: str
    errors: list[ApiErrorInfo]
    timestamp: datetime
    trace_id: str


class ExceptionDetails(KsefModel):
    """One KSeF exception: ``exceptionCode`` (e.g. 21405), description and details."""

    exception_code: int | None = None
    exception_description: str | None = None
    details: list[str] | None = None


class ExceptionInfo(KsefModel):
    """The ``exception`` object of ``ExceptionResponse``: the list of exceptions plus service data
    and the reference number.
    """

    exception_detail_list: list[ExceptionDetails] | None = None
    reference_number: str | None = None
    service_code: str | None = None
    service_ctx: str | None = None
    service_name: str | None = None
    timestamp: datetime | None = None


class ExceptionResponse(KsefModel):
    """HTTP 400 body in KSeF's classic JSON form (``{"exception": {...}}``)."""

    exception: ExceptionInfo | None = None


class ForbiddenProblemDetails(KsefModel):
    """HTTP 403 body (``application/problem+json``); ``reasonCode`` says why and ``security``
    carries reason-specific data.
    """

    title: str
    status: int
    detail: str
    instance: str | None = None
    reason_code: str
    security: dict[str, Any] | None = None
    trace_id: str | None = None
    timestamp: datetime


class GoneProblemDetails(KsefModel):
    """HTTP 410 body (``application/problem+json``): the status record of an operation has
    expired.
    """

    title: str
    status: int
    instance: str
    detail: str
    timestamp: datetime
    trace_id: str


class TooManyRequestsProblemDetails(KsefModel):
    """HTTP 429 body in ``application/problem+json`` form; the wait is in the ``Retry-After``
    header.
    """

    title: str
    status: int
    instance: str
    detail: str
    timestamp: datetime
    trace_id: str


class TooManyRequestsResponseStatus(KsefModel):
    """The ``status`` object of ``TooManyRequestsResponse`` (code 429, description, details)."""

    code: int
    description: str
    details: list[str]


class TooManyRequestsResponse(KsefModel):
    """HTTP 429 body in KSeF's classic JSON form; the wait is in the ``Retry-After`` header."""

    status: TooManyRequestsResponseStatus


class UnauthorizedProblemDetails(KsefModel):
    """HTTP 401 body (``application/problem+json``): missing, invalid or expired token."""

    title: str
    status: int
    detail: str
    instance: str | None = None
    trace_id: str | None = None
    timestamp: datetime
