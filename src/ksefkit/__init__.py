"""ksefkit — the Python toolkit for KSeF 2.0, Poland's national e-invoicing system.

>>> from ksefkit import Client, Environment, FormCode
>>> with Client(Environment.TEST) as client:  # doctest: +SKIP
...     client.authenticate(token, nip="5265877635")
...     with client.online_session(FormCode.FA3) as session:
...         sent = session.send(xml)
...         print(session.wait_for_ksef_number(sent.reference_number))
"""

from __future__ import annotations

from ._async.client import AsyncClient
from ._async.workflows.authenticate import AuthResult
from ._async.workflows.batch import AsyncBatchResult, AsyncBatchSession, BatchInvoiceResult
from ._async.workflows.export import ExportResult
from ._async.workflows.offline import AsyncOfflineSender, OfflineProgress, OfflineSendResult
from ._async.workflows.online import AsyncOnlineSession, SentInvoice
from ._async.workflows.sync import SyncProgress, SyncResult
from ._config import Environment
from ._ratelimit import GroupLimits, RateLimits
from ._retry import DEFAULT_RETRY, NO_RETRY, Decision, RetryPolicy
from ._sync.client import Client
from ._sync.workflows.batch import BatchResult, BatchSession
from ._sync.workflows.offline import OfflineSender
from ._sync.workflows.online import OnlineSession
from .batch_state import BatchSessionState
from .errors import (
    ApiError,
    AuthenticationFailed,
    AuthStatusCode,
    BadRequest,
    CertificateEnrollmentFailed,
    ConfigurationError,
    CorrectionNotAllowed,
    ExportStatusCode,
    Forbidden,
    Gone,
    IntegrityError,
    InvoiceRejected,
    InvoiceStatusCode,
    KsefCode,
    KsefError,
    NotFound,
    PermissionOperationFailed,
    PreflightError,
    ProcessingError,
    RateLimited,
    SchemaNotFoundError,
    ServerError,
    SessionFailed,
    SessionStatusCode,
    StorageError,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from .export_unpack import (
    ExportExpired,
    ExportFailed,
    InvoiceNotAvailableYet,
    UnsafePackageError,
)
from .formcodes import FormCode
from .state import OnlineSessionState

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "ApiError",
    "AsyncBatchResult",
    "AsyncBatchSession",
    "AsyncClient",
    "AsyncOfflineSender",
    "AsyncOnlineSession",
    "AuthResult",
    "AuthStatusCode",
    "AuthenticationFailed",
    "BadRequest",
    "BatchInvoiceResult",
    "BatchResult",
    "BatchSession",
    "BatchSessionState",
    "CertificateEnrollmentFailed",
    "Client",
    "ConfigurationError",
    "CorrectionNotAllowed",
    "Decision",
    "Environment",
    "ExportExpired",
    "ExportFailed",
    "ExportResult",
    "ExportStatusCode",
    "Forbidden",
    "FormCode",
    "Gone",
    "GroupLimits",
    "IntegrityError",
    "InvoiceNotAvailableYet",
    "InvoiceRejected",
    "InvoiceStatusCode",
    "KsefCode",
    "KsefError",
    "NotFound",
    "OfflineProgress",
    "OfflineSendResult",
    "OfflineSender",
    "OnlineSession",
    "OnlineSessionState",
    "PermissionOperationFailed",
    "PreflightError",
    "ProcessingError",
    "RateLimited",
    "RateLimits",
    "RetryPolicy",
    "SchemaNotFoundError",
    "SentInvoice",
    "ServerError",
    "SessionFailed",
    "SessionStatusCode",
    "StorageError",
    "SyncProgress",
    "SyncResult",
    "TransportError",
    "Unauthorized",
    "UnsafePackageError",
    "WaitTimeout",
    "__version__",
]
