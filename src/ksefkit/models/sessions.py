"""Wire models of ``/sessions/*``: online and batch sessions, invoice sending, session and invoice
statuses, UPO links. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse);
the ``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel
from ksefkit.models.common import EncryptionInfo, InvoiceStatusInfo, StatusInfo, WireFormCode

__all__ = [
    "BatchFileInfo",
    "BatchFilePartInfo",
    "OpenBatchSessionRequest",
    "OpenBatchSessionResponse",
    "OpenOnlineSessionRequest",
    "OpenOnlineSessionResponse",
    "PartUploadRequest",
    "SendInvoiceRequest",
    "SendInvoiceResponse",
    "SessionInvoiceStatusResponse",
    "SessionInvoicesResponse",
    "SessionStatusResponse",
    "SessionType",
    "SessionsQueryResponse",
    "SessionsQueryResponseItem",
    "UpoPageResponse",
    "UpoResponse",
]


class SessionType(StrEnum):
    """Known values of KSeF ``SessionType``."""

    ONLINE = "Online"
    BATCH = "Batch"


class BatchFilePartInfo(KsefModel):
    """One encrypted part of a batch package: ordinal number, size and SHA-256 (Base64)."""

    ordinal_number: int
    file_size: int
    file_hash: str


class BatchFileInfo(KsefModel):
    """The batch ZIP package before encryption (size, SHA-256) and its encrypted parts."""

    file_size: int
    file_hash: str
    compression_type: str | None = None  # CompressionType
    file_parts: list[BatchFilePartInfo]


class OpenBatchSessionRequest(KsefModel):
    """Body of ``POST /sessions/batch``: form code, package description and encryption key."""

    form_code: WireFormCode
    batch_file: BatchFileInfo
    encryption: EncryptionInfo
    offline_mode: bool | None = None


class PartUploadRequest(KsefModel):
    """Where and how to upload one batch part: HTTP method, pre-signed URL and headers to send."""

    ordinal_number: int
    method: str
    url: str
    headers: dict[str, str | None]


class OpenBatchSessionResponse(KsefModel):
    """Answer of ``POST /sessions/batch``: the session reference number and one upload request per
    part.
    """

    reference_number: str
    part_upload_requests: list[PartUploadRequest]


class OpenOnlineSessionRequest(KsefModel):
    """Body of ``POST /sessions/online``: form code and encryption key."""

    form_code: WireFormCode
    encryption: EncryptionInfo


class OpenOnlineSessionResponse(KsefModel):
    """Answer of ``POST /sessions/online``: the session reference number and its expiry."""

    reference_number: str
    valid_until: datetime


class SendInvoiceRequest(KsefModel):
    """Body of ``POST /sessions/online/{referenceNumber}/invoices``: hashes and sizes of the plain
    and encrypted invoice and the encrypted content (Base64).
    """

    invoice_hash: str
    invoice_size: int
    encrypted_invoice_hash: str
    encrypted_invoice_size: int
    encrypted_invoice_content: str
    offline_mode: bool | None = None
    hash_of_corrected_invoice: str | None = None


class SendInvoiceResponse(KsefModel):
    """Answer of ``POST /sessions/online/{referenceNumber}/invoices``: the invoice reference
    number within the session.
    """

    reference_number: str


class SessionInvoiceStatusResponse(KsefModel):
    """The status of one invoice in a session (also an item of ``SessionInvoicesResponse``): KSeF
    number once accepted, UPO link, status.
    """

    ordinal_number: int
    invoice_number: str | None = None
    ksef_number: str | None = None
    reference_number: str
    #: Spec: required, but the spec's example of a rejected duplicate (440) omits it.
    invoice_hash: str | None = None
    invoice_file_name: str | None = None
    acquisition_date: datetime | None = None
    invoicing_date: datetime
    permanent_storage_date: datetime | None = None
    upo_download_url: str | None = None
    upo_download_url_expiration_date: datetime | None = None
    invoicing_mode: str | None = None  # InvoicingMode
    status: InvoiceStatusInfo


class SessionInvoicesResponse(KsefModel):
    """Answer of ``GET /sessions/{referenceNumber}/invoices`` (and ``.../invoices/failed``): one
    page of invoice statuses.
    """

    continuation_token: str | None = None
    invoices: list[SessionInvoiceStatusResponse]


class UpoPageResponse(KsefModel):
    """A link to one UPO page (collective acknowledgement of receipt) and its expiry."""

    reference_number: str
    download_url: str
    download_url_expiration_date: datetime


class UpoResponse(KsefModel):
    """The UPO pages of a closed session."""

    pages: list[UpoPageResponse]


class SessionStatusResponse(KsefModel):
    """Answer of ``GET /sessions/{referenceNumber}``: session status, invoice counters and, once
    processed, the UPO pages.
    """

    status: StatusInfo
    date_created: datetime
    date_updated: datetime
    valid_until: datetime | None = None
    upo: UpoResponse | None = None
    invoice_count: int | None = None
    successful_invoice_count: int | None = None
    failed_invoice_count: int | None = None


class SessionsQueryResponseItem(KsefModel):
    """One session in ``GET /sessions``."""

    reference_number: str
    status: StatusInfo
    date_created: datetime
    date_updated: datetime
    valid_until: datetime | None = None
    total_invoice_count: int
    successful_invoice_count: int
    failed_invoice_count: int


class SessionsQueryResponse(KsefModel):
    """Answer of ``GET /sessions``: one page of sessions and the continuation token."""

    continuation_token: str | None = None
    sessions: list[SessionsQueryResponseItem]
