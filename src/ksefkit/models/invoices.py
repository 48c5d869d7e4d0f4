"""Wire models of ``/invoices/*``: invoice metadata queries and asynchronous encrypted exports.
Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the ``StrEnum``
classes list the known values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from ksefkit.models._base import KsefModel
from ksefkit.models.common import EncryptionInfo, StatusInfo, WireFormCode

__all__ = [
    "AmountType",
    "BuyerIdentifierType",
    "ExportInvoicesResponse",
    "InvoiceExportRequest",
    "InvoiceExportStatusResponse",
    "InvoiceMetadata",
    "InvoiceMetadataAuthorizedSubject",
    "InvoiceMetadataBuyer",
    "InvoiceMetadataBuyerIdentifier",
    "InvoiceMetadataSeller",
    "InvoiceMetadataThirdSubject",
    "InvoiceMetadataThirdSubjectIdentifier",
    "InvoicePackage",
    "InvoicePackagePart",
    "InvoiceQueryAmount",
    "InvoiceQueryBuyerIdentifier",
    "InvoiceQueryDateRange",
    "InvoiceQueryDateType",
    "InvoiceQueryFilters",
    "InvoiceQueryFormType",
    "InvoiceQuerySubjectType",
    "InvoiceType",
    "QueryInvoicesMetadataResponse",
    "ThirdSubjectIdentifierType",
]


class AmountType(StrEnum):
    """Known values of KSeF ``AmountType``."""

    BRUTTO = "Brutto"
    NETTO = "Netto"
    VAT = "Vat"


class BuyerIdentifierType(StrEnum):
    """Known values of KSeF ``BuyerIdentifierType``."""

    NIP = "Nip"
    VAT_UE = "VatUe"
    OTHER = "Other"
    NONE = "None"


class InvoiceQueryDateType(StrEnum):
    """Known values of KSeF ``InvoiceQueryDateType``."""

    ISSUE = "Issue"
    INVOICING = "Invoicing"
    PERMANENT_STORAGE = "PermanentStorage"


class InvoiceQueryFormType(StrEnum):
    """Known values of KSeF ``InvoiceQueryFormType``."""

    FA = "FA"
    PEF = "PEF"
    FA_RR = "FA_RR"


class InvoiceQuerySubjectType(StrEnum):
    """Known values of KSeF ``InvoiceQuerySubjectType``."""

    SUBJECT_1 = "Subject1"
    SUBJECT_2 = "Subject2"
    SUBJECT_3 = "Subject3"
    SUBJECT_AUTHORIZED = "SubjectAuthorized"


class InvoiceType(StrEnum):
    """Known values of KSeF ``InvoiceType``."""

    VAT = "Vat"
    ZAL = "Zal"
    KOR = "Kor"
    ROZ = "Roz"
    UPR = "Upr"
    KOR_ZAL = "KorZal"
    KOR_ROZ = "KorRoz"
    VAT_PEF = "VatPef"
    VAT_PEF_SP = "VatPefSp"
    KOR_PEF = "KorPef"
    VAT_RR = "VatRr"
    KOR_VAT_RR = "KorVatRr"


class ThirdSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``ThirdSubjectIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"
    VAT_UE = "VatUe"
    OTHER = "Other"
    NONE = "None"


class ExportInvoicesResponse(KsefModel):
    """Response body of ``POST /invoices/exports`` (201)."""

    reference_number: str


class InvoiceQueryAmount(KsefModel):
    """Nested in ``InvoiceQueryFilters``."""

    type: str  # AmountType
    from_: float | None = Field(default=None, alias="from")
    to: float | None = None


class InvoiceQueryBuyerIdentifier(KsefModel):
    """Nested in ``InvoiceQueryFilters``."""

    type: str  # BuyerIdentifierType
    value: str | None = None


class InvoiceQueryDateRange(KsefModel):
    """The date range of an invoice query; ``from``/``to`` without an offset are Europe/Warsaw
    local time.
    """

    date_type: str  # InvoiceQueryDateType
    from_: datetime = Field(alias="from")
    to: datetime | None = None
    restrict_to_permanent_storage_hwm_date: bool | None = None


class InvoiceQueryFilters(KsefModel):
    """Invoice query / export filters: subject role, date range (required) and optional number,
    amount, party, currency, mode, form and type filters.
    """

    subject_type: str  # InvoiceQuerySubjectType
    date_range: InvoiceQueryDateRange
    ksef_number: str | None = None
    invoice_number: str | None = None
    amount: InvoiceQueryAmount | None = None
    seller_nip: str | None = None
    buyer_identifier: InvoiceQueryBuyerIdentifier | None = None
    currency_codes: list[str] | None = None  # CurrencyCode
    invoicing_mode: str | None = None  # InvoicingMode
    is_self_invoicing: bool | None = None
    form_type: str | None = None  # InvoiceQueryFormType
    invoice_types: list[str] | None = None  # InvoiceType
    has_attachment: bool | None = None


class InvoiceExportRequest(KsefModel):
    """Request body of ``POST /invoices/exports``."""

    encryption: EncryptionInfo
    only_metadata: bool | None = None
    filters: InvoiceQueryFilters
    compression_type: str | None = None  # CompressionType


class InvoicePackagePart(KsefModel):
    """One encrypted part of an export package: pre-signed download URL, plain and encrypted sizes
    and SHA-256 hashes, link expiry.
    """

    ordinal_number: int
    part_name: str
    method: str
    url: str
    part_size: int
    part_hash: str
    encrypted_part_size: int
    encrypted_part_hash: str
    expiration_date: datetime


class InvoicePackage(KsefModel):
    """A finished export: invoice count, size, parts to download and the dates to continue an
    incremental (HWM) sync from.
    """

    invoice_count: int
    size: int
    parts: list[InvoicePackagePart]
    is_truncated: bool
    last_issue_date: date | None = None
    last_invoicing_date: datetime | None = None
    last_permanent_storage_date: datetime | None = None
    permanent_storage_hwm_date: datetime | None = None


class InvoiceExportStatusResponse(KsefModel):
    """Response body of ``GET /invoices/exports/{referenceNumber}`` (200)."""

    status: StatusInfo
    completed_date: datetime | None = None
    package_expiration_date: datetime | None = None
    package: InvoicePackage | None = None


class InvoiceMetadataAuthorizedSubject(KsefModel):
    """Nested in ``InvoiceMetadata``."""

    nip: str
    name: str | None = None
    role: int


class InvoiceMetadataBuyerIdentifier(KsefModel):
    """Nested in ``InvoiceMetadataBuyer``."""

    type: str  # BuyerIdentifierType
    value: str | None = None


class InvoiceMetadataBuyer(KsefModel):
    """Nested in ``InvoiceMetadata``."""

    identifier: InvoiceMetadataBuyerIdentifier
    name: str | None = None


class InvoiceMetadataSeller(KsefModel):
    """Nested in ``InvoiceMetadata``."""

    nip: str
    name: str | None = None


class InvoiceMetadataThirdSubjectIdentifier(KsefModel):
    """Nested in ``InvoiceMetadataThirdSubject``."""

    type: str  # ThirdSubjectIdentifierType
    value: str | None = None


class InvoiceMetadataThirdSubject(KsefModel):
    """Nested in ``InvoiceMetadata``."""

    identifier: InvoiceMetadataThirdSubjectIdentifier
    name: str | None = None
    role: int


class InvoiceMetadata(KsefModel):
    """One invoice in a metadata query result: KSeF number, dates, parties, amounts, form code,
    hash.
    """

    ksef_number: str
    invoice_number: str
    issue_date: date
    invoicing_date: datetime
    acquisition_date: datetime
    permanent_storage_date: datetime
    seller: InvoiceMetadataSeller
    buyer: InvoiceMetadataBuyer
    net_amount: float
    gross_amount: float
    vat_amount: float
    currency: str
    invoicing_mode: str  # InvoicingMode
    invoice_type: str  # InvoiceType
    form_code: WireFormCode
    is_self_invoicing: bool
    has_attachment: bool
    invoice_hash: str
    hash_of_corrected_invoice: str | None = None
    third_subjects: list[InvoiceMetadataThirdSubject] | None = None
    authorized_subject: InvoiceMetadataAuthorizedSubject | None = None


class QueryInvoicesMetadataResponse(KsefModel):
    """Response body of ``POST /invoices/query/metadata`` (200)."""

    has_more: bool
    is_truncated: bool
    permanent_storage_hwm_date: datetime | None = None
    invoices: list[InvoiceMetadata]
