"""Wire models of ``/permissions/*`` except queries: grants, revocations, operation status,
attachment status, and the identifiers and subject details the queries share. Enum-valued fields
are typed ``str`` (unknown values from KSeF still parse); the ``StrEnum`` classes list the known
values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel
from ksefkit.models.common import StatusInfo

__all__ = [
    "CheckAttachmentPermissionStatusResponse",
    "EntityAuthorizationPermissionType",
    "EntityAuthorizationPermissionsGrantRequest",
    "EntityAuthorizationPermissionsSubjectIdentifier",
    "EntityAuthorizationPermissionsSubjectIdentifierType",
    "EntityByFingerprintDetails",
    "EntityDetails",
    "EntityPermission",
    "EntityPermissionType",
    "EntityPermissionsGrantRequest",
    "EntityPermissionsSubjectIdentifier",
    "EntityPermissionsSubjectIdentifierType",
    "EuEntityAdministrationPermissionsContextIdentifier",
    "EuEntityAdministrationPermissionsContextIdentifierType",
    "EuEntityAdministrationPermissionsGrantRequest",
    "EuEntityAdministrationPermissionsSubjectIdentifier",
    "EuEntityAdministrationPermissionsSubjectIdentifierType",
    "EuEntityDetails",
    "EuEntityPermissionSubjectDetails",
    "EuEntityPermissionSubjectDetailsType",
    "EuEntityPermissionType",
    "EuEntityPermissionsGrantRequest",
    "EuEntityPermissionsSubjectIdentifier",
    "EuEntityPermissionsSubjectIdentifierType",
    "IdDocument",
    "IndirectPermissionType",
    "IndirectPermissionsGrantRequest",
    "IndirectPermissionsSubjectIdentifier",
    "IndirectPermissionsSubjectIdentifierType",
    "IndirectPermissionsTargetIdentifier",
    "IndirectPermissionsTargetIdentifierType",
    "PermissionsOperationResponse",
    "PermissionsOperationStatusResponse",
    "PersonByFingerprintWithIdentifierDetails",
    "PersonByFingerprintWithoutIdentifierDetails",
    "PersonDetails",
    "PersonIdentifier",
    "PersonIdentifierType",
    "PersonPermissionSubjectDetails",
    "PersonPermissionSubjectDetailsType",
    "PersonPermissionType",
    "PersonPermissionsGrantRequest",
    "PersonPermissionsSubjectIdentifier",
    "PersonPermissionsSubjectIdentifierType",
    "SubunitPermissionsContextIdentifier",
    "SubunitPermissionsContextIdentifierType",
    "SubunitPermissionsGrantRequest",
    "SubunitPermissionsSubjectIdentifier",
    "SubunitPermissionsSubjectIdentifierType",
]


class EntityAuthorizationPermissionType(StrEnum):
    """Known values of KSeF ``EntityAuthorizationPermissionType``."""

    SELF_INVOICING = "SelfInvoicing"
    RR_INVOICING = "RRInvoicing"
    TAX_REPRESENTATIVE = "TaxRepresentative"
    PEF_INVOICING = "PefInvoicing"


class EntityAuthorizationPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``EntityAuthorizationPermissionsSubjectIdentifierType``."""

    NIP = "Nip"
    PEPPOL_ID = "PeppolId"


class EntityPermissionType(StrEnum):
    """Known values of KSeF ``EntityPermissionType``."""

    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"


class EntityPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``EntityPermissionsSubjectIdentifierType``."""

    NIP = "Nip"


class EuEntityAdministrationPermissionsContextIdentifierType(StrEnum):
    """Known values of KSeF ``EuEntityAdministrationPermissionsContextIdentifierType``."""

    NIP_VAT_UE = "NipVatUe"


class EuEntityAdministrationPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``EuEntityAdministrationPermissionsSubjectIdentifierType``."""

    FINGERPRINT = "Fingerprint"


class EuEntityPermissionSubjectDetailsType(StrEnum):
    """Known values of KSeF ``EuEntityPermissionSubjectDetailsType``."""

    PERSON_BY_FINGERPRINT_WITH_IDENTIFIER = "PersonByFingerprintWithIdentifier"
    PERSON_BY_FINGERPRINT_WITHOUT_IDENTIFIER = "PersonByFingerprintWithoutIdentifier"
    ENTITY_BY_FINGERPRINT = "EntityByFingerprint"


class EuEntityPermissionType(StrEnum):
    """Known values of KSeF ``EuEntityPermissionType``."""

    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"


class EuEntityPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``EuEntityPermissionsSubjectIdentifierType``."""

    FINGERPRINT = "Fingerprint"


class IndirectPermissionType(StrEnum):
    """Known values of KSeF ``IndirectPermissionType``."""

    INVOICE_READ = "InvoiceRead"
    INVOICE_WRITE = "InvoiceWrite"


class IndirectPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``IndirectPermissionsSubjectIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class IndirectPermissionsTargetIdentifierType(StrEnum):
    """Known values of KSeF ``IndirectPermissionsTargetIdentifierType``."""

    NIP = "Nip"
    ALL_PARTNERS = "AllPartners"
    INTERNAL_ID = "InternalId"


class PersonIdentifierType(StrEnum):
    """Known values of KSeF ``PersonIdentifierType``."""

    PESEL = "Pesel"
    NIP = "Nip"


class PersonPermissionSubjectDetailsType(StrEnum):
    """Known values of KSeF ``PersonPermissionSubjectDetailsType``."""

    PERSON_BY_IDENTIFIER = "PersonByIdentifier"
    PERSON_BY_FINGERPRINT_WITH_IDENTIFIER = "PersonByFingerprintWithIdentifier"
    PERSON_BY_FINGERPRINT_WITHOUT_IDENTIFIER = "PersonByFingerprintWithoutIdentifier"


class PersonPermissionType(StrEnum):
    """Known values of KSeF ``PersonPermissionType``."""

    CREDENTIALS_MANAGE = "CredentialsManage"
    CREDENTIALS_READ = "CredentialsRead"
    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"
    INTROSPECTION = "Introspection"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class PersonPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``PersonPermissionsSubjectIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class SubunitPermissionsContextIdentifierType(StrEnum):
    """Known values of KSeF ``SubunitPermissionsContextIdentifierType``."""

    INTERNAL_ID = "InternalId"
    NIP = "Nip"


class SubunitPermissionsSubjectIdentifierType(StrEnum):
    """Known values of KSeF ``SubunitPermissionsSubjectIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class CheckAttachmentPermissionStatusResponse(KsefModel):
    """Response body of ``GET /permissions/attachments/status`` (200)."""

    is_attachment_allowed: bool | None = None
    revoked_date: datetime | None = None


class EntityAuthorizationPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``EntityAuthorizationPermissionsGrantRequest``."""

    type: str  # EntityAuthorizationPermissionsSubjectIdentifierType
    value: str


class EntityDetails(KsefModel):
    """Nested in ``EntityAuthorizationPermissionsGrantRequest``,
    ``EntityPermissionsGrantRequest``.
    """

    full_name: str


class EntityAuthorizationPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/authorizations/grants``."""

    subject_identifier: EntityAuthorizationPermissionsSubjectIdentifier
    permission: str  # EntityAuthorizationPermissionType
    description: str
    subject_details: EntityDetails


class EntityByFingerprintDetails(KsefModel):
    """Nested in ``EuEntityPermissionSubjectDetails``."""

    full_name: str
    address: str


class EntityPermission(KsefModel):
    """Nested in ``EntityPermissionsGrantRequest``."""

    type: str  # EntityPermissionType
    can_delegate: bool | None = None


class EntityPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``EntityPermissionsGrantRequest``."""

    type: str  # EntityPermissionsSubjectIdentifierType
    value: str


class EntityPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/entities/grants``."""

    subject_identifier: EntityPermissionsSubjectIdentifier
    permissions: list[EntityPermission]
    description: str
    subject_details: EntityDetails


class EuEntityAdministrationPermissionsContextIdentifier(KsefModel):
    """Nested in ``EuEntityAdministrationPermissionsGrantRequest``."""

    type: str  # EuEntityAdministrationPermissionsContextIdentifierType
    value: str


class EuEntityAdministrationPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``EuEntityAdministrationPermissionsGrantRequest``."""

    type: str  # EuEntityAdministrationPermissionsSubjectIdentifierType
    value: str


class EuEntityDetails(KsefModel):
    """Nested in ``EuEntityAdministrationPermissionsGrantRequest``."""

    full_name: str
    address: str


class PersonIdentifier(KsefModel):
    """Nested in ``PermissionsSubjectPersonByFingerprintDetails``,
    ``PermissionsSubjectPersonDetails``, ``PersonByFingerprintWithIdentifierDetails``.
    """

    type: str  # PersonIdentifierType
    value: str


class PersonByFingerprintWithIdentifierDetails(KsefModel):
    """Nested in ``EuEntityPermissionSubjectDetails``, ``PersonPermissionSubjectDetails``."""

    first_name: str
    last_name: str
    identifier: PersonIdentifier


class IdDocument(KsefModel):
    """Nested in ``PermissionsSubjectPersonByFingerprintDetails``,
    ``PermissionsSubjectPersonDetails``, ``PersonByFingerprintWithoutIdentifierDetails``.
    """

    type: str
    number: str
    country: str


class PersonByFingerprintWithoutIdentifierDetails(KsefModel):
    """Nested in ``EuEntityPermissionSubjectDetails``, ``PersonPermissionSubjectDetails``."""

    first_name: str
    last_name: str
    birth_date: date
    id_document: IdDocument


class EuEntityPermissionSubjectDetails(KsefModel):
    """Nested in ``EuEntityAdministrationPermissionsGrantRequest``,
    ``EuEntityPermissionsGrantRequest``.
    """

    subject_details_type: str  # EuEntityPermissionSubjectDetailsType
    person_by_fp_with_id: PersonByFingerprintWithIdentifierDetails | None = None
    person_by_fp_no_id: PersonByFingerprintWithoutIdentifierDetails | None = None
    entity_by_fp: EntityByFingerprintDetails | None = None


class EuEntityAdministrationPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/eu-entities/administration/grants``."""

    subject_identifier: EuEntityAdministrationPermissionsSubjectIdentifier
    context_identifier: EuEntityAdministrationPermissionsContextIdentifier
    description: str
    eu_entity_name: str
    subject_details: EuEntityPermissionSubjectDetails
    eu_entity_details: EuEntityDetails


class EuEntityPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``EuEntityPermissionsGrantRequest``."""

    type: str  # EuEntityPermissionsSubjectIdentifierType
    value: str


class EuEntityPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/eu-entities/grants``."""

    subject_identifier: EuEntityPermissionsSubjectIdentifier
    permissions: list[str]  # EuEntityPermissionType
    description: str
    subject_details: EuEntityPermissionSubjectDetails


class IndirectPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``IndirectPermissionsGrantRequest``."""

    type: str  # IndirectPermissionsSubjectIdentifierType
    value: str


class IndirectPermissionsTargetIdentifier(KsefModel):
    """Nested in ``IndirectPermissionsGrantRequest``."""

    type: str  # IndirectPermissionsTargetIdentifierType
    value: str | None = None


class PersonDetails(KsefModel):
    """Nested in ``PersonPermissionSubjectDetails``."""

    first_name: str
    last_name: str


class PersonPermissionSubjectDetails(KsefModel):
    """Nested in ``IndirectPermissionsGrantRequest``, ``PersonPermissionsGrantRequest``,
    ``SubunitPermissionsGrantRequest``.
    """

    subject_details_type: str  # PersonPermissionSubjectDetailsType
    person_by_id: PersonDetails | None = None
    person_by_fp_with_id: PersonByFingerprintWithIdentifierDetails | None = None
    person_by_fp_no_id: PersonByFingerprintWithoutIdentifierDetails | None = None


class IndirectPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/indirect/grants``."""

    subject_identifier: IndirectPermissionsSubjectIdentifier
    target_identifier: IndirectPermissionsTargetIdentifier | None = None
    permissions: list[str]  # IndirectPermissionType
    description: str
    subject_details: PersonPermissionSubjectDetails


class PermissionsOperationResponse(KsefModel):
    """Response body of: ``POST /permissions/persons/grants`` (202); ``POST
    /permissions/entities/grants`` (202); ``POST /permissions/authorizations/grants`` (202);
    ``POST /permissions/indirect/grants`` (202); ``POST /permissions/subunits/grants`` (202);
    ``POST /permissions/eu-entities/administration/grants`` (202); ``POST /permissions/eu-
    entities/grants`` (202); ``DELETE /permissions/common/grants/{permissionId}`` (202);
    ``DELETE /permissions/authorizations/grants/{permissionId}`` (202).
    """

    reference_number: str


class PermissionsOperationStatusResponse(KsefModel):
    """Response body of ``GET /permissions/operations/{referenceNumber}`` (200)."""

    status: StatusInfo


class PersonPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``PersonPermissionsGrantRequest``."""

    type: str  # PersonPermissionsSubjectIdentifierType
    value: str


class PersonPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/persons/grants``."""

    subject_identifier: PersonPermissionsSubjectIdentifier
    permissions: list[str]  # PersonPermissionType
    description: str
    subject_details: PersonPermissionSubjectDetails


class SubunitPermissionsContextIdentifier(KsefModel):
    """Nested in ``SubunitPermissionsGrantRequest``."""

    type: str  # SubunitPermissionsContextIdentifierType
    value: str


class SubunitPermissionsSubjectIdentifier(KsefModel):
    """Nested in ``SubunitPermissionsGrantRequest``."""

    type: str  # SubunitPermissionsSubjectIdentifierType
    value: str


class SubunitPermissionsGrantRequest(KsefModel):
    """Request body of ``POST /permissions/subunits/grants``."""

    subject_identifier: SubunitPermissionsSubjectIdentifier
    context_identifier: SubunitPermissionsContextIdentifier
    description: str
    subunit_name: str | None = None
    subject_details: PersonPermissionSubjectDetails
