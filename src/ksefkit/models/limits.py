"""Wire models of ``/limits/*``, ``/rate-limits`` and the TEST-only limit overrides under
``/testdata/limits`` and ``/testdata/rate-limits``. Enum-valued fields are typed ``str`` (unknown
values from KSeF still parse); the ``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ksefkit.models._base import KsefModel

__all__ = [
    "ApiRateLimitValuesOverride",
    "ApiRateLimitsOverride",
    "BatchSessionContextLimitsOverride",
    "BatchSessionEffectiveContextLimits",
    "CertificateEffectiveSubjectLimits",
    "CertificateSubjectLimitsOverride",
    "EffectiveApiRateLimitValues",
    "EffectiveApiRateLimits",
    "EffectiveContextLimits",
    "EffectiveSubjectLimits",
    "EnrollmentEffectiveSubjectLimits",
    "EnrollmentSubjectLimitsOverride",
    "OnlineSessionContextLimitsOverride",
    "OnlineSessionEffectiveContextLimits",
    "SetRateLimitsRequest",
    "SetSessionLimitsRequest",
    "SetSubjectLimitsRequest",
    "SubjectIdentifierType",
]


class SubjectIdentifierType(StrEnum):
    """Known values of KSeF ``SubjectIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class ApiRateLimitValuesOverride(KsefModel):
    """Nested in ``ApiRateLimitsOverride``."""

    per_second: int
    per_minute: int
    per_hour: int


class ApiRateLimitsOverride(KsefModel):
    """Nested in ``SetRateLimitsRequest``."""

    online_session: ApiRateLimitValuesOverride
    batch_session: ApiRateLimitValuesOverride
    invoice_send: ApiRateLimitValuesOverride
    invoice_status: ApiRateLimitValuesOverride
    session_list: ApiRateLimitValuesOverride
    session_invoice_list: ApiRateLimitValuesOverride
    session_misc: ApiRateLimitValuesOverride
    invoice_metadata: ApiRateLimitValuesOverride
    invoice_export: ApiRateLimitValuesOverride
    invoice_export_status: ApiRateLimitValuesOverride
    invoice_download: ApiRateLimitValuesOverride
    collective_identifier: ApiRateLimitValuesOverride
    other: ApiRateLimitValuesOverride


class BatchSessionContextLimitsOverride(KsefModel):
    """Nested in ``SetSessionLimitsRequest``."""

    max_invoice_size_in_mb: int = Field(alias="maxInvoiceSizeInMB")
    max_invoice_with_attachment_size_in_mb: int = Field(alias="maxInvoiceWithAttachmentSizeInMB")
    max_invoices: int


class BatchSessionEffectiveContextLimits(KsefModel):
    """Nested in ``EffectiveContextLimits``."""

    max_invoice_size_in_mb: int = Field(alias="maxInvoiceSizeInMB")
    max_invoice_with_attachment_size_in_mb: int = Field(alias="maxInvoiceWithAttachmentSizeInMB")
    max_invoices: int


class CertificateEffectiveSubjectLimits(KsefModel):
    """Nested in ``EffectiveSubjectLimits``."""

    max_certificates: int | None = None


class CertificateSubjectLimitsOverride(KsefModel):
    """Nested in ``SetSubjectLimitsRequest``."""

    max_certificates: int | None = None


class EffectiveApiRateLimitValues(KsefModel):
    """Nested in ``EffectiveApiRateLimits``."""

    per_second: int
    per_minute: int
    per_hour: int


class EffectiveApiRateLimits(KsefModel):
    """Response body of ``GET /rate-limits`` (200)."""

    online_session: EffectiveApiRateLimitValues
    batch_session: EffectiveApiRateLimitValues
    invoice_send: EffectiveApiRateLimitValues
    invoice_status: EffectiveApiRateLimitValues
    session_list: EffectiveApiRateLimitValues
    session_invoice_list: EffectiveApiRateLimitValues
    session_misc: EffectiveApiRateLimitValues
    invoice_metadata: EffectiveApiRateLimitValues
    invoice_export: EffectiveApiRateLimitValues
    invoice_export_status: EffectiveApiRateLimitValues
    invoice_download: EffectiveApiRateLimitValues
    collective_identifier: EffectiveApiRateLimitValues
    other: EffectiveApiRateLimitValues


class OnlineSessionEffectiveContextLimits(KsefModel):
    """Nested in ``EffectiveContextLimits``."""

    max_invoice_size_in_mb: int = Field(alias="maxInvoiceSizeInMB")
    max_invoice_with_attachment_size_in_mb: int = Field(alias="maxInvoiceWithAttachmentSizeInMB")
    max_invoices: int


class EffectiveContextLimits(KsefModel):
    """Response body of ``GET /limits/context`` (200)."""

    online_session: OnlineSessionEffectiveContextLimits
    batch_session: BatchSessionEffectiveContextLimits


class EnrollmentEffectiveSubjectLimits(KsefModel):
    """Nested in ``EffectiveSubjectLimits``."""

    max_enrollments: int | None = None


class EffectiveSubjectLimits(KsefModel):
    """Response body of ``GET /limits/subject`` (200)."""

    enrollment: EnrollmentEffectiveSubjectLimits | None = None
    certificate: CertificateEffectiveSubjectLimits | None = None


class EnrollmentSubjectLimitsOverride(KsefModel):
    """Nested in ``SetSubjectLimitsRequest``."""

    max_enrollments: int | None = None


class OnlineSessionContextLimitsOverride(KsefModel):
    """Nested in ``SetSessionLimitsRequest``."""

    max_invoice_size_in_mb: int = Field(alias="maxInvoiceSizeInMB")
    max_invoice_with_attachment_size_in_mb: int = Field(alias="maxInvoiceWithAttachmentSizeInMB")
    max_invoices: int


class SetRateLimitsRequest(KsefModel):
    """Request body of ``POST /testdata/rate-limits``."""

    rate_limits: ApiRateLimitsOverride


class SetSessionLimitsRequest(KsefModel):
    """Request body of ``POST /testdata/limits/context/session``."""

    online_session: OnlineSessionContextLimitsOverride
    batch_session: BatchSessionContextLimitsOverride


class SetSubjectLimitsRequest(KsefModel):
    """Request body of ``POST /testdata/limits/subject/certificate``."""

    subject_identifier_type: str | None = None  # SubjectIdentifierType
    enrollment: EnrollmentSubjectLimitsOverride | None = None
    certificate: CertificateSubjectLimitsOverride | None = None
