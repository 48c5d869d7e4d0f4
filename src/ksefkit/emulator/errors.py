"""Emulator-side API errors and the one place that renders them as KSeF does.

Backends raise :class:`KsefApiError`; :func:`render_error` turns it into the body KSeF would
send: ``ExceptionResponse`` for 400 (or ``BadRequestProblemDetails`` when the request asked for
``X-Error-Format: problem-details``), problem details for 401/403/410 always, and
``TooManyRequestsResponse`` / ``TooManyRequestsProblemDetails`` plus ``Retry-After`` for 429.
Descriptions are KSeF's own Polish texts (open-api.json).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from .clock import isoformat

__all__ = [
    "DESCRIPTIONS",
    "KsefApiError",
    "RenderedError",
    "bad_request",
    "forbidden",
    "gone",
    "render_error",
    "too_many_requests",
    "unauthorized",
    "validation_error",
]

#: exceptionCode -> exceptionDescription, copied from open-api.json.
DESCRIPTIONS: dict[int, str] = {
    9101: "Nieprawidłowy dokument.",
    9102: "Brak podpisu.",
    9103: "Przekroczona liczba dozwolonych podpisów.",
    9105: "Nieprawidłowy podpis.",
    21001: "Nieczytelna treść.",
    21111: "Nieprawidłowe wyzwanie autoryzacyjne.",
    21115: "Nieprawidłowy certyfikat.",
    21117: "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.",
    21155: "Przekroczono dozwoloną liczbę faktur w sesji.",
    21166: "Korekta techniczna niedostępna.",
    21167: "Status faktury nie pozwala na korektę techniczną.",
    21173: "Brak sesji o wskazanym numerze referencyjnym.",
    21178: "Nie znaleziono UPO dla podanych kryteriów.",
    21180: "Status sesji nie pozwala na wykonanie operacji.",
    21217: "Nieprawidłowe kodowanie znaków.",
    21301: "Brak autoryzacji.",
    21304: "Brak uwierzytelnienia.",
    21308: "Próba wykorzystania metod autoryzacyjnych osoby zmarłej.",
    21401: "Dokument nie jest zgodny ze schemą (xsd).",
    21402: "Nieprawidłowy rozmiar pliku.",
    21403: "Nieprawidłowy skrót pliku.",
    21405: "Błąd walidacji danych wejściowych.",
    21406: "Konflikt podpisu i typu uwierzytelnienia.",
    21418: "Przekazany token kontynuacji ma nieprawidłowy format.",
    21470: "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
    25001: "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.",
    25002: "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu"
    " uwierzytelnienia.",
    25003: "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
    25004: "Niepoprawny format CSR lub niepoprawny podpis CSR.",
    25005: "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje.",
    25006: "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
    25007: "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
    25008: "Certyfikat o podanym numerze seryjnym nie istnieje.",
    25009: "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany"
    " lub nieważny.",
    25010: "Nieprawidłowy typ lub długość klucza.",
    25011: "Nieprawidłowy algorytm podpisu CSR.",
    26001: "Nie można nadać tokenowi uprawnień których nie posiadasz.",
    26002: "Nie można wygenerować tokena dla obecnego typu kontekstu.",
    30001: "Podmiot lub uprawnienie już istnieje.",
    71001: "Faktura nie może zostac przypisana do Identyfikatora Zbiorczego.",
    71002: "Faktura jest już przypisana do maksymalnej liczby Identyfikatorów Zbiorczych.",
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class KsefApiError(Exception):
    """An HTTP error answer, described the way KSeF describes it.

    >>> e = bad_request(21173, "Sesja o numerze referencyjnym X nie została znaleziona.")
    >>> e.status, e.code, e.description
    (400, 21173, 'Brak sesji o wskazanym numerze referencyjnym.')
    """

    status: int
    code: int | None
    description: str
    details: list[str] = field(default_factory=list)
    reason_code: str | None = None
    extensions: dict[str, Any] | None = None
    retry_after: int | None = None

    def __post_init__(self) -> None:
        super().__init__(f"HTTP {self.status} {self.code}: {self.description}")


def bad_request(code: int, *details: str) -> KsefApiError:
    """A 400 with KSeF's description for ``code``.

    >>> bad_request(21111).description
    'Nieprawidłowe wyzwanie autoryzacyjne.'
    """
    return KsefApiError(400, code, DESCRIPTIONS.get(code, "Błąd."), list(details))


def validation_error(*details: str) -> KsefApiError:
    """The universal 400 / 21405 with the validator's message(s) as details.

    >>> validation_error("formCode: field required").details
    ['formCode: field required']
    """
    return bad_request(21405, *details)


def unauthorized(detail: str = "Wymagane jest uwierzytelnienie.") -> KsefApiError:
    """401 (always problem details)."""
    return KsefApiError(401, None, detail)


def forbidden(
    reason_code: str, detail: str, security: dict[str, Any] | None = None
) -> KsefApiError:
    """403 with a ``reasonCode`` such as ``missing-permissions``.

    >>> forbidden("missing-permissions", "Brak uprawnień.").reason_code
    'missing-permissions'
    """
    return KsefApiError(403, None, detail, reason_code=reason_code, extensions=security)


def gone(detail: str) -> KsefApiError:
    """410: the status record expired."""
    return KsefApiError(410, None, detail)


def too_many_requests(retry_after: int, detail: str) -> KsefApiError:
    """429 with ``Retry-After`` seconds."""
    return KsefApiError(429, None, detail, retry_after=retry_after)


@dataclass(frozen=True)
class RenderedError:
    """Status, JSON body, media type and extra headers of an error answer."""

    status: int
    body: dict[str, Any]
    media_type: str
    headers: dict[str, str]


def render_error(
    error: KsefApiError,
    *,
    problem_details: bool,
    instance: str,
    now: dt.datetime,
    reference_number: str | None = None,
) -> RenderedError:
    """Render ``error`` in the shape KSeF uses for its HTTP status.

    >>> r = render_error(bad_request(21405, "x"), problem_details=False, instance="/v2/a",
    ...                  now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    >>> r.body["exception"]["exceptionDetailList"][0]["exceptionCode"]
    21405
    """
    trace_id = secrets.token_hex(16)
    stamp = isoformat(now)
    if error.status == 400 and not problem_details:
        return RenderedError(400, _exception_response(error, stamp, reference_number), _JSON, {})
    if error.status == 429:
        return _render_429(error, problem_details, instance, stamp, trace_id)
    body: dict[str, Any] = {
        "title": _TITLES.get(error.status, "Error"),
        "status": error.status,
        "instance": instance,
        "detail": _detail(error),
        "timestamp": stamp,
        "traceId": trace_id,
    }
    if error.status == 400:
        body["detail"] = "Żądanie jest nieprawidłowe."
        body["errors"] = [
            {"code": error.code, "description": error.description, "details": error.details}
        ]
    if error.status == 403:
        body["reasonCode"] = error.reason_code or "insufficient-resource-access"
        if error.extensions is not None:
            body["security"] = error.extensions
    return RenderedError(error.status, body, _PROBLEM, {})


_JSON = "application/json"
_PROBLEM = "application/problem+json"


def _detail(error: KsefApiError) -> str:
    if error.details and error.status not in (401, 403):
        return f"{error.description} {' '.join(error.details)}"
    return error.description


def _exception_response(
    error: KsefApiError, stamp: str, reference_number: str | None
) -> dict[str, Any]:
    return {
        "exception": {
            "exceptionDetailList": [
                {
                    "exceptionCode": error.code,
                    "exceptionDescription": error.description,
                    "details": error.details,
                }
            ],
            "referenceNumber": reference_number,
            "serviceCode": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
            "serviceCtx": "srvKSEFKIT",
            "serviceName": "ksefkit-emulator",
            # KSeF itself writes local time without an offset here; the spec types it
            # date-time (RFC 3339, offset required), so the emulator keeps the offset.
            "timestamp": stamp,
        }
    }


def _render_429(
    error: KsefApiError, problem_details: bool, instance: str, stamp: str, trace_id: str
) -> RenderedError:
    headers = {"Retry-After": str(error.retry_after or 1)}
    if not problem_details:
        body: dict[str, Any] = {
            "status": {
                "code": 429,
                "description": "Too Many Requests",
                "details": [error.description],
            }
        }
        return RenderedError(429, body, _JSON, headers)
    body = {
        "title": "Too Many Requests",
        "status": 429,
        "instance": instance,
        "detail": error.description,
        "timestamp": stamp,
        "traceId": trace_id,
    }
    return RenderedError(429, body, _PROBLEM, headers)
