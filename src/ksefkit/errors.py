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
        if e.has_code(KsefCode.SESSION_NOT_FOUND):  # 21173
            ...  # no such session

Every exception code of KSeF's catalogue has a name in :class:`KsefCode` (``ApiError.code``
is the member when the code is known, a plain ``int`` otherwise, so ``match e.code:`` works
with either); the status codes reported inside 200 answers are named per kind in
:class:`AuthStatusCode`, :class:`SessionStatusCode`, :class:`InvoiceStatusCode` and
:class:`ExportStatusCode` (the same number means different things in each: 440 is "no
invoices" for a session but "duplicate" for an invoice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum

__all__ = [
    "ApiError",
    "AuthStatusCode",
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
    "ExportStatusCode",
    "Forbidden",
    "Gone",
    "IntegrityError",
    "InvoiceNotAvailableYet",
    "InvoiceParseError",
    "InvoiceRejected",
    "InvoiceStatusCode",
    "KsefCode",
    "KsefError",
    "NotFound",
    "PermissionOperationFailed",
    "PreflightError",
    "ProcessingError",
    "RateLimited",
    "SchemaNotFoundError",
    "ServerError",
    "SessionFailed",
    "SessionStatusCode",
    "StorageError",
    "TransportError",
    "Unauthorized",
    "UnsafePackageError",
    "WaitTimeout",
    "XadesError",
    "ksef_code",
]


class KsefCode(IntEnum):
    """KSeF's exception codes (``exceptionCode`` of HTTP 400 answers), by name.

    Each member's :attr:`meaning` is a one-line English description. ``ApiError.code`` and
    every ``ErrorEntry.code`` are members when KSeF sends a code listed here (``int`` compares
    equal either way).

    >>> KsefCode(21173).name, KsefCode.SESSION_NOT_FOUND.meaning
    ('SESSION_NOT_FOUND', 'no session with this reference number')
    >>> ksef_code(21173) is KsefCode.SESSION_NOT_FOUND, ksef_code(12345)
    (True, 12345)
    """

    # XAdES document checks (POST /auth/xades-signature)
    INVALID_DOCUMENT = 9101
    NO_SIGNATURE = 9102
    TOO_MANY_SIGNATURES = 9103
    INVALID_SIGNATURE = 9105
    # Authentication
    UNREADABLE_CONTENT = 21001
    INVALID_CHALLENGE = 21111
    INVALID_CERTIFICATE = 21115
    INVALID_SUBJECT_FOR_CONTEXT = 21117
    # Sessions and invoices
    SESSION_INVOICE_LIMIT = 21155
    INVALID_PART_SIZE = 21157
    TOO_MANY_PARTS = 21161
    INVOICE_NOT_FOUND = 21164
    INVOICE_NOT_AVAILABLE_YET = 21165
    TECHNICAL_CORRECTION_UNAVAILABLE = 21166
    TECHNICAL_CORRECTION_NOT_ALLOWED = 21167
    SESSION_NOT_FOUND = 21173
    EXPORT_NOT_FOUND = 21175
    UPO_NOT_FOUND = 21178
    SESSION_STATUS_FORBIDS = 21180
    INVALID_EXPORT_REQUEST = 21181
    EXPORT_LIMIT = 21182
    DATE_RANGE_BEYOND_HWM = 21183
    EMPTY_PACKAGE = 21205
    UPLOAD_TIME_EXCEEDED = 21208
    INVALID_ENCODING = 21217
    # Tokens
    NOT_AUTHORIZED = 21301
    AUTHENTICATION_NOT_FOUND = 21304
    DECEASED_PERSON = 21308
    # Input
    SCHEMA_INVALID = 21401
    SIZE_MISMATCH = 21402
    HASH_MISMATCH = 21403
    VALIDATION_ERROR = 21405
    SIGNATURE_AUTH_CONFLICT = 21406
    INVALID_CONTINUATION_TOKEN = 21418
    UNKNOWN_KEY_ID = 21470
    # KSeF certificates
    ENROLLMENT_DATA_UNAVAILABLE = 25001
    ENROLLMENT_NOT_ALLOWED = 25002
    CSR_DATA_MISMATCH = 25003
    INVALID_CSR = 25004
    ENROLLMENT_NOT_FOUND = 25005
    ENROLLMENT_LIMIT = 25006
    CERTIFICATE_LIMIT = 25007
    CERTIFICATE_NOT_FOUND = 25008
    CERTIFICATE_NOT_REVOCABLE = 25009
    INVALID_KEY = 25010
    INVALID_CSR_SIGNATURE_ALGORITHM = 25011
    # KSeF tokens
    TOKEN_PERMISSIONS_NOT_HELD = 26001
    TOKEN_CONTEXT_NOT_ALLOWED = 26002
    # Test data
    ALREADY_EXISTS = 30001
    # Collective identifiers (API 2.7.0)
    INVOICE_NOT_ASSIGNABLE = 71001
    COLLECTIVE_IDENTIFIER_LIMIT = 71002

    @property
    def meaning(self) -> str:
        """What KSeF means by this code, in one English line."""
        return _MEANINGS[self]


_MEANINGS: dict[int, str] = {
    9101: "invalid document",
    9102: "the document has no signature",
    9103: "the document has more signatures than allowed",
    9105: "invalid signature",
    21001: "unreadable content",
    21111: "invalid authorisation challenge",
    21115: "invalid certificate",
    21117: "the subject identifier is invalid for the context type",
    21155: "the session reached its invoice count limit",
    21157: "invalid package part size",
    21161: "too many package parts",
    21164: "no invoice with this identifier",
    21165: "the invoice is processed but not yet available for download",
    21166: "technical correction unavailable (the invoice already has a processed one)",
    21167: "the invoice's status does not allow a technical correction",
    21173: "no session with this reference number",
    21175: "no export result with this reference number",
    21178: "no UPO for these criteria",
    21180: "the session's status does not allow the operation",
    21181: "invalid export request (subject type vs context type)",
    21182: "the limit of concurrent exports is reached",
    21183: "dateRange.from is later than the permanent-storage HWM (restrict flag set)",
    21205: "the package cannot be empty (a declared part was not uploaded)",
    21208: "the upload/finish wait time was exceeded; the session is cancelled",
    21217: "invalid character encoding",
    21301: "not authorised (already redeemed, status forbids it, or KSeF token revoked)",
    21304: "no authentication operation with this reference number",
    21308: "attempt to use the credentials of a deceased person",
    21401: "the document is not valid against its XSD",
    21402: "the content length differs from the declared size",
    21403: "the content hash differs from the declared hash",
    21405: "input validation error (the validator's message is in the details)",
    21406: "the signature conflicts with the authentication type",
    21418: "malformed continuation token",
    21470: "unknown or withdrawn public key id",
    25001: "CSR data is not available for this authentication method",
    25002: "certificate enrollment is not allowed for this authentication method",
    25003: "the CSR data differs from the authentication data",
    25004: "invalid CSR format or CSR signature",
    25005: "no certificate enrollment with this reference number",
    25006: "the limit of certificate enrollments is reached",
    25007: "the limit of active certificates is reached",
    25008: "no certificate with this serial number",
    25009: "the certificate is already revoked, blocked or invalid",
    25010: "invalid key type or length",
    25011: "invalid CSR signature algorithm",
    26001: "a token cannot get permissions its creator does not have",
    26002: "tokens cannot be generated for the current context type",
    30001: "the subject or permission already exists",
    71001: "the invoice cannot be assigned to a collective identifier",
    71002: "the invoice is already assigned to the maximum number of collective identifiers",
}


def ksef_code(value: int) -> int:
    """The :class:`KsefCode` member for ``value`` when the catalogue names it, else ``value``."""
    try:
        return KsefCode(value)
    except ValueError:
        return value


class AuthStatusCode(IntEnum):
    """``status.code`` of an authentication operation (``GET /auth/{ref}``)."""

    IN_PROGRESS = 100
    SUCCEEDED = 200
    NO_PERMISSIONS = 415
    REVOKED = 425
    INVALID_TOKEN = 450
    CERTIFICATE_ERROR = 460
    DECEASED_PERSON = 470
    BLOCKED = 480
    UNKNOWN_ERROR = 500
    CANCELLED_BY_SYSTEM = 550


class SessionStatusCode(IntEnum):
    """``status.code`` of an online or batch session (``GET /sessions/{ref}``)."""

    OPEN = 100
    PROCESSING = 150  # batch
    CLOSED_PROCESSING = 170  # online
    SUCCEEDED = 200
    PACKAGE_VERIFICATION_ERROR = 405
    KEY_DECRYPTION_ERROR = 415
    INVOICE_LIMIT_EXCEEDED = 420
    DECOMPRESSION_FAILED = 430
    PART_DECRYPTION_FAILED = 435
    CANCELLED = 440  # no invoices sent, or the batch upload time passed
    NO_VALID_INVOICES = 445
    UNKNOWN_ERROR = 500


class InvoiceStatusCode(IntEnum):
    """``status.code`` of one invoice in a session."""

    ACCEPTED = 100
    PROCESSING = 150
    SUCCEEDED = 200
    CANCELLED_BY_SESSION_ERROR = 405
    INVALID_PERMISSION_SCOPE = 410
    ATTACHMENTS_NOT_ALLOWED = 415
    VERIFICATION_ERROR = 430
    DECRYPTION_ERROR = 435
    DUPLICATE = 440
    SEMANTIC_ERROR = 450
    UNKNOWN_ERROR = 500
    CANCELLED_BY_SYSTEM = 550


class ExportStatusCode(IntEnum):
    """``status.code`` of an invoice export (``GET /invoices/exports/{ref}``)."""

    IN_PROGRESS = 100
    SUCCEEDED = 200
    EXPIRED = 210
    KEY_DECRYPTION_ERROR = 415
    DATE_RANGE_BEYOND_HWM = 420
    UNKNOWN_ERROR = 500
    CANCELLED_BY_SYSTEM = 550


def _status_code(codes: type[IntEnum] | None, value: int) -> int:
    if codes is None:
        return value
    try:
        return codes(value)
    except ValueError:
        return value


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
        self.code = ksef_code(code)
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class ErrorEntry:
    """One entry of KSeF's ``exceptionDetailList`` / problem-details ``errors``.

    ``code`` is a :class:`KsefCode` member when the catalogue names it.
    """

    code: int | None
    description: str
    details: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.code is not None:
            object.__setattr__(self, "code", ksef_code(self.code))

    def __str__(self) -> str:
        text = _code_label(self.code)
        if self.description:
            text += f": {self.description}" if text else self.description
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        return text


def _code_label(code: int | None) -> str:
    if code is None:
        return ""
    if isinstance(code, KsefCode):
        return f"KSeF {int(code)} {code.name}"
    return f"KSeF {code}"


class ApiError(KsefError):
    """KSeF answered with an HTTP error status.

    Attributes: ``status_code``, ``code`` (KSeF ``exceptionCode`` of the first entry, if
    any), ``description``, ``details``, ``errors`` (all entries), ``reference_number``,
    ``operation`` (e.g. ``"POST /sessions/online"``), ``body`` (the raw text), and
    ``retry_after`` (seconds) / ``retry_at`` (aware UTC datetime) when the answer carried
    ``Retry-After`` (429, 503).
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
        retry_after: float | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        self.retry_after = retry_after
        if retry_at is None and retry_after is not None:
            retry_at = datetime.now(UTC) + timedelta(seconds=retry_after)
        self.retry_at = retry_at
        self.status_code = status_code
        self.operation = operation
        self.errors = tuple(errors)
        self.title = title
        self.detail = detail
        self.reference_number = reference_number
        self.body = body
        self.reason_code = reason_code
        first = self.errors[0] if self.errors else None
        #: KSeF's exception code: a :class:`KsefCode` member when known, else a plain int.
        self.code: int | None = first.code if first else None
        self.description: str = first.description if first else (detail or title)
        self.details: tuple[str, ...] = first.details if first else ()
        super().__init__(self._message())

    def _message(self) -> str:
        # Everything a log line needs to act on: which call, HTTP status, KSeF's code and
        # its name, description, details, every further entry and the reference number.
        parts = [self.operation or "request", f"HTTP {self.status_code}"]
        if self.code is not None:
            parts.append(_code_label(self.code))
        text = " ".join(parts)
        if self.description:
            text += f": {self.description}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        for entry in self.errors[1:]:
            text += f"; {entry}"
        if self.reason_code:
            text += f" [reason: {self.reason_code}]"
        if self.reference_number:
            text += f" [ref {self.reference_number}]"
        if self.retry_after is not None:
            text += f" [retry after {self.retry_after:g} s"
            if self.retry_at is not None:
                text += f", at {self.retry_at.isoformat(timespec='seconds')}"
            text += "]"
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
    """HTTP 429, or a request the client-side rate limiter would have to hold too long.

    ``retry_after`` is the number of seconds to wait (None when KSeF did not say) and
    ``retry_at`` the moment (aware UTC datetime) to come back. ``local`` is True when the
    client's own limiter (not KSeF) refused to wait longer than the retry policy's
    ``max_wait``; ``group`` names the KSeF rate-limit group when known.

    >>> e = RateLimited(429, retry_after=90, operation="GET /sessions",
    ...                 retry_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    >>> str(e)
    'GET /sessions HTTP 429 [retry after 90 s, at 2026-01-01T12:00:00+00:00]'
    """

    def __init__(
        self,
        status_code: int = 429,
        *,
        local: bool = False,
        group: str | None = None,
        **kw: object,
    ) -> None:
        self.local = local
        self.group = group
        super().__init__(status_code, **kw)  # type: ignore[arg-type]

    def _message(self) -> str:
        if not self.local:
            return super()._message()
        # Said before the "retry after" part, which ApiError appends last.
        said = " [client-side rate limit" + (f" of group {self.group}" if self.group else "") + "]"
        text = super()._message()
        marker = " [retry after"
        head, sep, tail = text.partition(marker)
        return head + said + sep + tail


class ServerError(ApiError):
    """HTTP 5xx (``retry_after`` when a 503 said how long to wait)."""


class ProcessingError(KsefError):
    """An asynchronous operation ended with a failure status inside a 200 answer.

    ``code`` is the status code: a member of the subclass's status enum
    (:class:`InvoiceStatusCode` for :class:`InvoiceRejected`, ...) when it names it.
    """

    #: The enum naming this kind of operation's status codes.
    status_codes: type[IntEnum] | None = None

    def __init__(
        self,
        code: int,
        description: str,
        details: Sequence[str] = (),
        *,
        reference_number: str | None = None,
        extensions: dict[str, str | None] | None = None,
    ) -> None:
        self.code = _status_code(self.status_codes, code)
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

    status_codes = AuthStatusCode


class CertificateEnrollmentFailed(ProcessingError):
    """A KSeF certificate enrollment ended without a certificate: 400 (the public key is
    already certified for another subject, or the certificate limit was reached), 500, 550."""


class InvoiceRejected(ProcessingError):
    """An invoice ended with a status other than 200 (e.g. 430 XSD, 440 duplicate)."""

    status_codes = InvoiceStatusCode


class PermissionOperationFailed(ProcessingError):
    """A permission grant or revocation ended with a failure status: 400 failed, 410
    identifiers in the wrong relation, 420 the credentials may not do it, 430 the context lacks
    the role, 440 not allowed for these relations, 450 not for this identifier type, 500, 550."""


class SessionFailed(ProcessingError):
    """A session ended with a failure status (415, 440, 445, ...)."""

    status_codes = SessionStatusCode


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

    status_codes = ExportStatusCode


class ExportExpired(ExportFailed):
    """The export's package is no longer downloadable (status 210, or its status record is
    gone, HTTP 410): start a new export with the same filters."""


class UnsafePackageError(IntegrityError):
    """A decrypted export package that cannot be unpacked safely (bad names, links, sizes)."""
