"""Wire models of the TEST-only ``/testdata/*`` API: subjects, persons, permissions, attachments,
context blocking. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse);
the ``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel

__all__ = [
    "AttachmentPermissionGrantRequest",
    "AttachmentPermissionRevokeRequest",
    "BlockContextAuthenticationRequest",
    "PersonCreateRequest",
    "PersonRemoveRequest",
    "SubjectCreateRequest",
    "SubjectRemoveRequest",
    "SubjectType",
    "Subunit",
    "TestDataAuthenticationContextIdentifier",
    "TestDataAuthenticationContextIdentifierType",
    "TestDataAuthorizedIdentifier",
    "TestDataAuthorizedIdentifierType",
    "TestDataContextIdentifier",
    "TestDataContextIdentifierType",
    "TestDataPermission",
    "TestDataPermissionType",
    "TestDataPermissionsGrantRequest",
    "TestDataPermissionsRevokeRequest",
    "TestDataUpdateCertificateRequest",
    "UnblockContextAuthenticationRequest",
]


class SubjectType(StrEnum):
    """Known values of KSeF ``SubjectType``."""

    ENFORCEMENT_AUTHORITY = "EnforcementAuthority"
    VAT_GROUP = "VatGroup"
    JST = "JST"


class TestDataAuthenticationContextIdentifierType(StrEnum):
    """Known values of KSeF ``TestDataAuthenticationContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"
    NIP_VAT_UE = "NipVatUe"
    PEPPOL_ID = "PeppolId"


class TestDataAuthorizedIdentifierType(StrEnum):
    """Known values of KSeF ``TestDataAuthorizedIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class TestDataContextIdentifierType(StrEnum):
    """Known values of KSeF ``TestDataContextIdentifierType``."""

    NIP = "Nip"


class TestDataPermissionType(StrEnum):
    """Known values of KSeF ``TestDataPermissionType``."""

    INVOICE_READ = "InvoiceRead"
    INVOICE_WRITE = "InvoiceWrite"
    INTROSPECTION = "Introspection"
    CREDENTIALS_READ = "CredentialsRead"
    CREDENTIALS_MANAGE = "CredentialsManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    SUBUNIT_MANAGE = "SubunitManage"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class AttachmentPermissionGrantRequest(KsefModel):
    """Request body of ``POST /testdata/attachment``."""

    nip: str


class AttachmentPermissionRevokeRequest(KsefModel):
    """Request body of ``POST /testdata/attachment/revoke``."""

    nip: str
    expected_end_date: date | None = None


class TestDataAuthenticationContextIdentifier(KsefModel):
    """Nested in ``BlockContextAuthenticationRequest``, ``UnblockContextAuthenticationRequest``."""

    value: str
    type: str  # TestDataAuthenticationContextIdentifierType


class BlockContextAuthenticationRequest(KsefModel):
    """Request body of ``POST /testdata/context/block``."""

    context_identifier: TestDataAuthenticationContextIdentifier | None = None


class PersonCreateRequest(KsefModel):
    """Request body of ``POST /testdata/person``."""

    nip: str
    pesel: str
    is_bailiff: bool
    description: str
    is_deceased: bool | None = None
    created_date: datetime | None = None


class PersonRemoveRequest(KsefModel):
    """Request body of ``POST /testdata/person/remove``."""

    nip: str


class Subunit(KsefModel):
    """Nested in ``SubjectCreateRequest``."""

    subject_nip: str
    description: str


class SubjectCreateRequest(KsefModel):
    """Request body of ``POST /testdata/subject``."""

    subject_nip: str
    subject_type: str  # SubjectType
    subunits: list[Subunit] | None = None
    description: str
    created_date: datetime | None = None


class SubjectRemoveRequest(KsefModel):
    """Request body of ``POST /testdata/subject/remove``."""

    subject_nip: str


class TestDataAuthorizedIdentifier(KsefModel):
    """Nested in ``TestDataPermissionsGrantRequest``, ``TestDataPermissionsRevokeRequest``."""

    type: str  # TestDataAuthorizedIdentifierType
    value: str


class TestDataContextIdentifier(KsefModel):
    """Nested in ``TestDataPermissionsGrantRequest``, ``TestDataPermissionsRevokeRequest``."""

    type: str  # TestDataContextIdentifierType
    value: str


class TestDataPermission(KsefModel):
    """Nested in ``TestDataPermissionsGrantRequest``."""

    description: str
    permission_type: str  # TestDataPermissionType


class TestDataPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /testdata/permissions``."""

    context_identifier: TestDataContextIdentifier
    authorized_identifier: TestDataAuthorizedIdentifier
    permissions: list[TestDataPermission]


class TestDataPermissionsRevokeRequest(KsefModel):
    """Request body of ``POST /testdata/permissions/revoke``."""

    context_identifier: TestDataContextIdentifier
    authorized_identifier: TestDataAuthorizedIdentifier


class TestDataUpdateCertificateRequest(KsefModel):
    """Request body of ``PUT /testdata/certificates/{serialNumber}``."""

    valid_to: datetime


class UnblockContextAuthenticationRequest(KsefModel):
    """Request body of ``POST /testdata/context/unblock``."""

    context_identifier: TestDataAuthenticationContextIdentifier | None = None
