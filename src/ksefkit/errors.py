"""The exception hierarchy of ksefkit.

Every error ksefkit raises derives from :class:`KsefError`::

    KsefError
    ├── ConfigurationError          bad arguments, missing schemas, unusable settings
    ├── DecryptionError             ciphertext that cannot be decrypted (bad length, padding, key)
    ├── PreflightError              an invoice that KSeF would reject, caught before sending
    │   └── CorrectionNotAllowed    a technical correction KSeF would refuse (21166/21167)
    ├── BatchPreflightError         every problem of every file of a batch package, by file name
    ├── InvoiceParseError           FA(3) XML the typed model cannot hold (``path`` = element)
    ├── SchemaNotFoundError         no XSD available (see ``KSEFKIT_SCHEMA_DIR``)
    ├── TransportError              the request never got an HTTP answer (DNS, TLS, timeout, reset)
    ├── IntegrityError              a downloaded document does not match its ``x-ms-meta-hash``
    │   └── UnsafePackageError      an export package that cannot be unpacked safely
    ├── StorageError                a pre-signed storage link (batch part upload) failed
    ├── XadesError                  a XAdES signature that does not verify (``code`` = KSeF code)
    ├── ApiError                    KSeF answered with an HTTP error status
    │   ├── BadRequest              400 (KSeF exception JSON or problem details)
    │   │   └── InvoiceNotAvailableYet  21165: invoice not yet in permanent storage
    │   ├── Unauthorized            401
    │   ├── Forbidden               403 (``reason_code`` says why)
    │   ├── NotFound                404
    │   ├── Gone                    410 (status record expired)
    │   ├── RateLimited             429 (``retry_after`` in seconds)
    │   └── ServerError             5xx
    ├── ProcessingError             a failed status inside a 200 (session, invoice, auth)
    │   ├── AuthenticationFailed    authentication operation ended with 4xx/5xx status
    │   ├── CertificateEnrollmentFailed  KSeF certificate enrollment rejected (400, 500, 550)
    │   ├── InvoiceRejected         invoice status other than 200
    │   ├── PermissionOperationFailed  a permission grant/revocation ended with 400-550
    │   ├── ExportFailed            invoice export ended with a failure status
    │   │   └── ExportExpired       export package no longer downloadable (210 / 410)
    │   └── SessionFailed           session ended with a failure status
    └── WaitTimeout                 a ``wait_for_*`` deadline passed

API errors keep everything KSeF said as data: ``status_code``, ``code`` (the
``exceptionCode`` of the first entry), ``description``, ``details``, every entry in
``errors`` and the ``reference_number`` of the failed request, so callers can match
on codes instead of parsing messages::

    try:
        client.sessions.status("20250625-SO-2C3E6C8000-B675CF5D68-07")
    except BadRequest as e:
        if e.code == 21173:
            ...  # no such session
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "ApiError",
    "AuthenticationFailed",
    "BadRequest",
    "BatchPreflightError",
    "CertificateEnrollmentFailed",
    "ConfigurationError",
    "CorrectionNotAllowed",
    "DecryptionError",
    "ErrorEntry",
    "ExportExpired",
    "ExportFailed",
    "Forbidden",
    "Gone",
    "IntegrityError",
    "InvoiceNotAvailableYet",
    "InvoiceParseError",
    "InvoiceRejected",
    "KsefError",
    "NotFound",
    "PermissionOperationFailed",
    "PreflightError",
    "ProcessingError",
    "RateLimited",
    "SchemaNotFoundError",
    "ServerError",
    "SessionFailed",
    "StorageError",
    "TransportError",
    "Unauthorized",
    "UnsafePackageError",
    "WaitTimeout",
    "XadesError",
]


class KsefError(Exception):
    """Base class of every ksefkit error."""


class ConfigurationError(KsefError, ValueError):
    """Arguments or settings that cannot work (bad environment, bad key, bad state)."""


class DecryptionError(KsefError, ValueError):
    """Ciphertext that cannot be decrypted: wrong length, bad padding or the wrong key."""


class SchemaNotFoundError(KsefError):
    """No XSD could be found locally, in the cache, or downloaded."""


class PreflightError(KsefError, ValueError):
    """An invoice failed the checks KSeF would apply, before anything was sent.

    ``problems`` lists every problem found, each a short English sentence.
    """

    def __init__(self, problems: Sequence[str], *, file_name: str | None = None) -> None:
        self.problems = list(problems)
        self.file_name = file_name
        where = f"{file_name}: " if file_name else ""
        super().__init__(where + "; ".join(self.problems))


class CorrectionNotAllowed(PreflightError):
    """A technical correction the rules forbid, caught before sending (KSeF would answer
    21166 or 21167): the original is not a rejected offline invoice, was rejected for a
    reason a correction cannot fix, is corrected already, or the fix is the same document.
    """


class BatchPreflightError(KsefError, ValueError):
    """Files of a batch package that KSeF would reject (or that cannot be packed at all).

    ``problems`` maps each file name to every problem found in it; all files are checked
    before this is raised, so one run lists everything to fix.
    """

    _SHOWN = 5

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = {name: list(found) for name, found in problems.items()}
        shown = [f"{name}: {'; '.join(found)}" for name, found in self.problems.items()]
        text = f"{len(shown)} file(s) of the batch would be rejected: " + " | ".join(
            shown[: self._SHOWN]
        )
        if len(shown) > self._SHOWN:
            text += f" | ... and {len(shown) - self._SHOWN} more"
        super().__init__(text)


class InvoiceParseError(KsefError, ValueError):
    """FA(3) XML that :func:`ksefkit.fa3.parse` cannot turn into the typed model.

    ``path`` names the offending element (``Faktura/Fa/FaWiersz[2]/P_12``, attributes as
    ``.../@Typ``; empty when the document is not well-formed), ``reason`` says what is wrong.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class TransportError(KsefError):
    """The request got no HTTP answer: connection refused, TLS failure, timeout, reset.

    ``sent`` is False when the request surely never reached the server (connect phase),
    which is what decides whether a non-idempotent call may be retried.
    """

    def __init__(self, message: str, *, operation: str = "", sent: bool = True) -> None:
        self.operation = operation
        self.sent = sent
        super().__init__(f"{operation}: {message}" if operation else message)


class IntegrityError(KsefError):
    """A downloaded document's SHA-256 does not match the hash KSeF declared."""


class StorageError(KsefError):
    """A pre-signed storage link failed (a batch part upload), not KSeF's API.

    ``ordinal_number`` is the batch part; ``status_code`` the storage's HTTP status (None
    when no answer came after every retry); ``expired`` is True when the link's time window
    has passed (batch uploads: 20 min x number of parts after opening), which no retry can
    fix; ``error_code`` is the storage's own code (e.g. Azure's ``AuthenticationFailed``);
    ``retry_after`` the seconds storage asked to wait (429/503), if it said.
    The message never carries the link's signature.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        ordinal_number: int | None = None,
        expired: bool = False,
        error_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.ordinal_number = ordinal_number
        self.expired = expired
        self.error_code = error_code
        self.retry_after = retry_after
        super().__init__(message)


class XadesError(KsefError, ValueError):
    """A signed XML document (e.g. ``AuthTokenRequest``) whose XAdES signature does not verify.

    ``code`` follows KSeF's catalogue: 9101 invalid document, 9102 no signature, 9103 too
    many signatures, 9105 invalid signature, 21115 invalid certificate.
    """

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ErrorEntry:
    """One entry of KSeF's ``exceptionDetailList`` / problem-details ``errors``."""

    code: int | None
    description: str
    details: tuple[str, ...] = field(default=())


class ApiError(KsefError):
    """KSeF answered with an HTTP error status.

    Attributes: ``status_code``, ``code`` (KSeF ``exceptionCode`` of the first entry, if
    any), ``description``, ``details``, ``errors`` (all entries), ``reference_number``,
    ``operation`` (e.g. ``"POST /sessions/online"``) and ``body`` (the raw text).
    """

    def __init__(
        self,
        status_code: int,
        *,
        operation: str = "",
        errors: Sequence[ErrorEntry] = (),
        title: str = "",
        detail: str = "",
        reference_number: str | None = None,
        body: str = "",
        reason_code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.operation = operation
        self.errors = tuple(errors)
        self.title = title
        self.detail = detail
        self.reference_number = reference_number
        self.body = body
        self.reason_code = reason_code
        first = self.errors[0] if self.errors else None
        self.code: int | None = first.code if first else None
        self.description: str = first.description if first else (detail or title)
        self.details: tuple[str, ...] = first.details if first else ()
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.operation or "request", f"HTTP {self.status_code}"]
        if self.code is not None:
            parts.append(f"KSeF {self.code}")
        text = " ".join(parts)
        if self.description:
            text += f": {self.description}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        if self.reason_code:
            text += f" [reason: {self.reason_code}]"
        if self.reference_number:
            text += f" [ref {self.reference_number}]"
        return text

    def has_code(self, code: int) -> bool:
        """True if any entry of the error carries KSeF exception ``code``."""
        return any(e.code == code for e in self.errors)


class BadRequest(ApiError):
    """HTTP 400."""


class Unauthorized(ApiError):
    """HTTP 401: missing, expired or wrong kind of token."""


class Forbidden(ApiError):
    """HTTP 403: see ``reason_code`` (e.g. ``missing-permissions``, ``ip-not-allowed``)."""


class NotFound(ApiError):
    """HTTP 404."""


class Gone(ApiError):
    """HTTP 410: the status record expired."""


class RateLimited(ApiError):
    """HTTP 429. ``retry_after`` is the number of seconds KSeF asked to wait (or None)."""

    def __init__(self, status_code: int, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(status_code, **kw)  # type: ignore[arg-type]

    def _message(self) -> str:
        text = super()._message()
        if self.retry_after is not None:
            text += f" [retry after {self.retry_after:g} s]"
        return text


class ServerError(ApiError):
    """HTTP 5xx."""


class ProcessingError(KsefError):
    """An asynchronous operation ended with a failure status inside a 200 answer."""

    def __init__(
        self,
        code: int,
        description: str,
        details: Sequence[str] = (),
        *,
        reference_number: str | None = None,
        extensions: dict[str, str | None] | None = None,
    ) -> None:
        self.code = code
        self.description = description
        self.details = tuple(details)
        self.reference_number = reference_number
        self.extensions = dict(extensions or {})
        text = f"status {code}: {description}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        if reference_number:
            text += f" [ref {reference_number}]"
        super().__init__(text)


class AuthenticationFailed(ProcessingError):
    """The authentication operation ended with a failure status (415, 425, 450, 460, ...)."""


class CertificateEnrollmentFailed(ProcessingError):
    """A KSeF certificate enrollment ended without a certificate: 400 (the public key is
    already certified for another subject, or the certificate limit was reached), 500, 550."""


class InvoiceRejected(ProcessingError):
    """An invoice ended with a status other than 200 (e.g. 430 XSD, 440 duplicate)."""


class PermissionOperationFailed(ProcessingError):
    """A permission grant or revocation ended with a failure status: 400 failed, 410
    identifiers in the wrong relation, 420 the credentials may not do it, 430 the context lacks
    the role, 440 not allowed for these relations, 450 not for this identifier type, 500, 550."""


class SessionFailed(ProcessingError):
    """A session ended with a failure status (415, 440, 445, ...)."""


class WaitTimeout(KsefError, TimeoutError):
    """A ``wait_for_*`` helper reached its deadline. ``last`` holds the last status seen."""

    def __init__(self, message: str, *, last: object = None) -> None:
        self.last = last
        super().__init__(message)


class InvoiceNotAvailableYet(BadRequest):
    """``GET /invoices/ksef/{n}`` answered 21165: the invoice is processed but not yet in
    permanent storage. Retry later (or sync by ``PermanentStorage`` date, which only sees
    stored invoices)."""


class ExportFailed(ProcessingError):
    """An invoice export ended with a failure status: 415 (the export key could not be
    decrypted), 420 (``dateRange.from`` after the HWM with the restrict flag), 500, 550
    (cancelled by KSeF: export again)."""


class ExportExpired(ExportFailed):
    """The export's package is no longer downloadable (status 210, or its status record is
    gone, HTTP 410): start a new export with the same filters."""


class UnsafePackageError(IntegrityError):
    """A decrypted export package that cannot be unpacked safely (bad names, links, sizes)."""
