"""Exit codes and the one mapping from exceptions to them.

==== ===========================================================================
code meaning
==== ===========================================================================
0    success
1    unexpected error (a bug, or an OS error such as a file that cannot be written)
2    usage error (bad option or argument; typer's own)
3    authentication error (AuthenticationFailed, Unauthorized, not logged in, refresh refused)
4    API error (any other HTTP error from KSeF, transport failures, bad downloads, a batch
     part upload the storage refused)
5    processing error (rejected invoice, failed session, pre-flight failure, wait timeout)
6    configuration error (bad settings, missing XSD schemas)
==== ===========================================================================
"""

from __future__ import annotations

import enum

from ..errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    BatchPreflightError,
    ConfigurationError,
    DecryptionError,
    IntegrityError,
    KsefError,
    PreflightError,
    ProcessingError,
    SchemaNotFoundError,
    StorageError,
    TransportError,
    Unauthorized,
    WaitTimeout,
)

__all__ = [
    "EXIT_CODES_HELP",
    "ExitCode",
    "NotLoggedIn",
    "SomeInvoicesFailed",
    "exit_code_for",
    "message_for",
    "refresh_refused",
]


class ExitCode(enum.IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    API = 4
    PROCESSING = 5
    CONFIG = 6


EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 unexpected error, 2 usage error, 3 authentication error "
    "(failed login, 401, not logged in), 4 API error (other HTTP errors, network, storage), "
    "5 processing error (invoice rejected, session failed, pre-flight, wait timeout), "
    "6 configuration error (settings, missing XSD schemas)."
)


class NotLoggedIn(KsefError):
    """No usable credentials: neither a stored login nor KSEF_TOKEN plus a context."""


class SomeInvoicesFailed(KsefError):
    """``send`` finished but at least one file failed pre-flight or was rejected."""


# Order matters: AuthenticationFailed is a ProcessingError, WaitTimeout is no ApiError.
_MAPPING: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode], ...] = (
    ((AuthenticationFailed, Unauthorized, NotLoggedIn), ExitCode.AUTH),
    ((ApiError, TransportError, IntegrityError, DecryptionError, StorageError), ExitCode.API),
    (
        (ProcessingError, PreflightError, BatchPreflightError, WaitTimeout, SomeInvoicesFailed),
        ExitCode.PROCESSING,
    ),
    ((ConfigurationError, SchemaNotFoundError), ExitCode.CONFIG),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of an exception (1 for anything unexpected).

    >>> exit_code_for(NotLoggedIn("run ksefkit auth login")).value
    3
    """
    if refresh_refused(error):
        return ExitCode.AUTH
    for kinds, code in _MAPPING:
        if isinstance(error, kinds):
            return code
    return ExitCode.UNEXPECTED


def refresh_refused(error: BaseException) -> bool:
    """KSeF refused to refresh the access token: the login was revoked, or the KSeF token it
    was made with (400 21301 on ``POST /auth/token/refresh``) — an authentication problem.

    >>> refresh_refused(BadRequest(400, operation="POST /auth/token/refresh"))
    True
    """
    return isinstance(error, BadRequest) and error.operation.endswith("/auth/token/refresh")


def message_for(error: BaseException) -> str:
    """The one-line message printed after ``error:`` (never a traceback)."""
    text = " ".join(str(error).split())
    if isinstance(error, Unauthorized) or refresh_refused(error):
        text += " - log in again: ksefkit auth login"
    for note in getattr(error, "__notes__", ()):  # e.g. how to resume a batch send
        text += f" - {' '.join(str(note).split())}"
    if exit_code_for(error) is ExitCode.UNEXPECTED or not isinstance(error, KsefError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text or type(error).__name__
