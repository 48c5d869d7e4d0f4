"""Wire models of ``/certificates/*``: KSeF certificate limits, enrollment, retrieval, query and
revocation. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the
``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel
from ksefkit.models.common import StatusInfo

__all__ = [
    "CertificateEnrollmentDataResponse",
    "CertificateEnrollmentStatusResponse",
    "CertificateLimit",
    "CertificateLimitsResponse",
    "CertificateListItem",
    "CertificateListItemStatus",
    "CertificateRevocationReason",
    "CertificateSubjectIdentifier",
    "CertificateSubjectIdentifierType",
    "EnrollCertificateRequest",
    "EnrollCertificateResponse",
    "KsefCertificateType",
    "QueryCertificatesRequest",
    "QueryCertificatesResponse",
    "RetrieveCertificatesListItem",
    "RetrieveCertificatesRequest",
    "RetrieveCertificatesResponse",
    "RevokeCertificateRequest",
]


class CertificateListItemStatus(StrEnum):
    """Known values of KSeF ``CertificateListItemStatus``."""

    ACTIVE = "Active"
    BLOCKED = "Blocked"
    REVOKED = "Revoked"
    EXPIRED = "Expired"


class CertificateRevocationReason(StrEnum):
    """Known values of KSeF ``CertificateRevocationReason``."""

    UNSPECIFIED = "Unspecified"
    SUPERSEDED = "Superseded"
    KEY_COMPROMISE = "KeyCompromise"


class CertificateSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``CertificateSubjectIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class KsefCertificateType(StrEnum):
    """Known values of KSeF ``KsefCertificateType``."""

    AUTHENTICATION = "Authentication"
    OFFLINE = "Offline"


class CertificateEnrollmentDataResponse(KsefModel):
    """Response body of ``GET /certificates/enrollments/data`` (200)."""

    common_name: str
    country_name: str
    given_name: str | None = None
    surname: str | None = None
    serial_number: str | None = None
    unique_identifier: str | None = None
    organization_name: str | None = None
    organization_identifier: str | None = None


class CertificateEnrollmentStatusResponse(KsefModel):
    """Response body of ``GET /certificates/enrollments/{referenceNumber}`` (200)."""

    request_date: datetime
    status: StatusInfo
    certificate_serial_number: str | None = None


class CertificateLimit(KsefModel):
    """Nested in ``CertificateLimitsResponse``."""

    remaining: int
    limit: int


class CertificateLimitsResponse(KsefModel):
    """Response body of ``GET /certificates/limits`` (200)."""

    can_request: bool
    enrollment: CertificateLimit
    certificate: CertificateLimit


class CertificateSubjectIdentifier(KsefModel):
    """Nested in ``CertificateListItem``."""

    type: str  # CertificateSubjectIdentifierType
    value: str


class CertificateListItem(KsefModel):
    """Nested in ``QueryCertificatesResponse``."""

    certificate_serial_number: str
    name: str
    type: str  # KsefCertificateType
    common_name: str
    status: str  # CertificateListItemStatus
    subject_identifier: CertificateSubjectIdentifier
    valid_from: datetime
    valid_to: datetime
    last_use_date: datetime | None = None
    request_date: datetime


class EnrollCertificateRequest(KsefModel):
    """Request body of ``POST /certificates/enrollments``."""

    certificate_name: str
    certificate_type: str  # KsefCertificateType
    csr: str
    valid_from: datetime | None = None


class EnrollCertificateResponse(KsefModel):
    """Response body of ``POST /certificates/enrollments`` (202)."""

    reference_number: str
    timestamp: datetime


class QueryCertificatesRequest(KsefModel):
    """Request body of ``POST /certificates/query``."""

    certificate_serial_number: str | None = None
    name: str | None = None
    type: str | None = None  # KsefCertificateType
    status: str | None = None  # CertificateListItemStatus
    expires_after: datetime | None = None


class QueryCertificatesResponse(KsefModel):
    """Response body of ``POST /certificates/query`` (200)."""

    certificates: list[CertificateListItem]
    has_more: bool


class RetrieveCertificatesListItem(KsefModel):
    """Nested in ``RetrieveCertificatesResponse``."""

    certificate: str
    certificate_name: str
    certificate_serial_number: str
    certificate_type: str  # KsefCertificateType


class RetrieveCertificatesRequest(KsefModel):
    """Request body of ``POST /certificates/retrieve``."""

    certificate_serial_numbers: list[str]


class RetrieveCertificatesResponse(KsefModel):
    """Response body of ``POST /certificates/retrieve`` (200)."""

    certificates: list[RetrieveCertificatesListItem]


class RevokeCertificateRequest(KsefModel):
    """Request body of ``POST /certificates/{certificateSerialNumber}/revoke``."""

    revocation_reason: str | None = None  # CertificateRevocationReason
