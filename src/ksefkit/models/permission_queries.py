"""Wire models of ``/permissions/query/*``: query filters and the pages of permissions and roles
they return. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the
``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel
from ksefkit.models.permissions import IdDocument, PersonIdentifier

__all__ = [
    "EntityAuthorizationGrant",
    "EntityAuthorizationPermissionsQueryRequest",
    "EntityAuthorizationsAuthorIdentifier",
    "EntityAuthorizationsAuthorIdentifierType",
    "EntityAuthorizationsAuthorizedEntityIdentifier",
    "EntityAuthorizationsAuthorizedEntityIdentifierType",
    "EntityAuthorizationsAuthorizingEntityIdentifier",
    "EntityAuthorizationsAuthorizingEntityIdentifierType",
    "EntityPermissionItem",
    "EntityPermissionItemScope",
    "EntityPermissionsContextIdentifier",
    "EntityPermissionsContextIdentifierType",
    "EntityPermissionsQueryRequest",
    "EntityPermissionsSubordinateEntityIdentifier",
    "EntityPermissionsSubordinateEntityIdentifierType",
    "EntityRole",
    "EntityRoleType",
    "EntityRolesParentEntityIdentifier",
    "EntityRolesParentEntityIdentifierType",
    "EntitySubjectByFingerprintDetailsType",
    "EntitySubjectByIdentifierDetailsType",
    "EntitySubjectDetailsType",
    "EuEntityPermission",
    "EuEntityPermissionsAuthorIdentifier",
    "EuEntityPermissionsAuthorIdentifierType",
    "EuEntityPermissionsQueryPermissionType",
    "EuEntityPermissionsQueryRequest",
    "InvoicePermissionType",
    "PermissionState",
    "PermissionsEuEntityDetails",
    "PermissionsSubjectEntityByFingerprintDetails",
    "PermissionsSubjectEntityByIdentifierDetails",
    "PermissionsSubjectEntityDetails",
    "PermissionsSubjectPersonByFingerprintDetails",
    "PermissionsSubjectPersonDetails",
    "PersonPermission",
    "PersonPermissionScope",
    "PersonPermissionsAuthorIdentifier",
    "PersonPermissionsAuthorIdentifierType",
    "PersonPermissionsAuthorizedIdentifier",
    "PersonPermissionsAuthorizedIdentifierType",
    "PersonPermissionsContextIdentifier",
    "PersonPermissionsContextIdentifierType",
    "PersonPermissionsQueryRequest",
    "PersonPermissionsQueryType",
    "PersonPermissionsTargetIdentifier",
    "PersonPermissionsTargetIdentifierType",
    "PersonSubjectByFingerprintDetailsType",
    "PersonSubjectDetailsType",
    "PersonalPermission",
    "PersonalPermissionScope",
    "PersonalPermissionType",
    "PersonalPermissionsAuthorizedIdentifier",
    "PersonalPermissionsAuthorizedIdentifierType",
    "PersonalPermissionsContextIdentifier",
    "PersonalPermissionsContextIdentifierType",
    "PersonalPermissionsQueryRequest",
    "PersonalPermissionsTargetIdentifier",
    "PersonalPermissionsTargetIdentifierType",
    "QueryEntityAuthorizationPermissionsResponse",
    "QueryEntityPermissionsResponse",
    "QueryEntityRolesResponse",
    "QueryEuEntityPermissionsResponse",
    "QueryPersonPermissionsResponse",
    "QueryPersonalPermissionsResponse",
    "QuerySubordinateEntityRolesResponse",
    "QuerySubunitPermissionsResponse",
    "QueryType",
    "SubordinateEntityRole",
    "SubordinateEntityRoleType",
    "SubordinateEntityRolesQueryRequest",
    "SubordinateRoleSubordinateEntityIdentifier",
    "SubordinateRoleSubordinateEntityIdentifierType",
    "SubunitPermission",
    "SubunitPermissionScope",
    "SubunitPermissionsAuthorIdentifier",
    "SubunitPermissionsAuthorIdentifierType",
    "SubunitPermissionsAuthorizedIdentifier",
    "SubunitPermissionsQueryRequest",
    "SubunitPermissionsSubunitIdentifier",
    "SubunitPermissionsSubunitIdentifierType",
]


class EntityAuthorizationsAuthorIdentifierType(StrEnum):
    """Known values of KSeF ``EntityAuthorizationsAuthorIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class EntityAuthorizationsAuthorizedEntityIdentifierType(StrEnum):
    """Known values of KSeF ``EntityAuthorizationsAuthorizedEntityIdentifierType``."""

    NIP = "Nip"
    PEPPOL_ID = "PeppolId"


class EntityAuthorizationsAuthorizingEntityIdentifierType(StrEnum):
    """Known values of KSeF ``EntityAuthorizationsAuthorizingEntityIdentifierType``."""

    NIP = "Nip"


class EntityPermissionItemScope(StrEnum):
    """Known values of KSeF ``EntityPermissionItemScope``."""

    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"


class EntityPermissionsContextIdentifierType(StrEnum):
    """Known values of KSeF ``EntityPermissionsContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"


class EntityPermissionsSubordinateEntityIdentifierType(StrEnum):
    """Known values of KSeF ``EntityPermissionsSubordinateEntityIdentifierType``."""

    NIP = "Nip"


class EntityRoleType(StrEnum):
    """Known values of KSeF ``EntityRoleType``."""

    COURT_BAILIFF = "CourtBailiff"
    ENFORCEMENT_AUTHORITY = "EnforcementAuthority"
    LOCAL_GOVERNMENT_UNIT = "LocalGovernmentUnit"
    LOCAL_GOVERNMENT_SUB_UNIT = "LocalGovernmentSubUnit"
    VAT_GROUP_UNIT = "VatGroupUnit"
    VAT_GROUP_SUB_UNIT = "VatGroupSubUnit"


class EntityRolesParentEntityIdentifierType(StrEnum):
    """Known values of KSeF ``EntityRolesParentEntityIdentifierType``."""

    NIP = "Nip"


class EntitySubjectByFingerprintDetailsType(StrEnum):
    """Known values of KSeF ``EntitySubjectByFingerprintDetailsType``."""

    ENTITY_BY_FINGERPRINT = "EntityByFingerprint"


class EntitySubjectByIdentifierDetailsType(StrEnum):
    """Known values of KSeF ``EntitySubjectByIdentifierDetailsType``."""

    ENTITY_BY_IDENTIFIER = "EntityByIdentifier"


class EntitySubjectDetailsType(StrEnum):
    """Known values of KSeF ``EntitySubjectDetailsType``."""

    ENTITY_BY_IDENTIFIER = "EntityByIdentifier"
    ENTITY_BY_FINGERPRINT = "EntityByFingerprint"


class EuEntityPermissionsAuthorIdentifierType(StrEnum):
    """Known values of KSeF ``EuEntityPermissionsAuthorIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class EuEntityPermissionsQueryPermissionType(StrEnum):
    """Known values of KSeF ``EuEntityPermissionsQueryPermissionType``."""

    VAT_UE_MANAGE = "VatUeManage"
    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"
    INTROSPECTION = "Introspection"


class InvoicePermissionType(StrEnum):
    """Known values of KSeF ``InvoicePermissionType``."""

    SELF_INVOICING = "SelfInvoicing"
    TAX_REPRESENTATIVE = "TaxRepresentative"
    RR_INVOICING = "RRInvoicing"
    PEF_INVOICING = "PefInvoicing"


class PermissionState(StrEnum):
    """Known values of KSeF ``PermissionState``."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


class PersonPermissionScope(StrEnum):
    """Known values of KSeF ``PersonPermissionScope``."""

    CREDENTIALS_MANAGE = "CredentialsManage"
    CREDENTIALS_READ = "CredentialsRead"
    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"
    INTROSPECTION = "Introspection"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class PersonPermissionsAuthorIdentifierType(StrEnum):
    """Known values of KSeF ``PersonPermissionsAuthorIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"
    SYSTEM = "System"


class PersonPermissionsAuthorizedIdentifierType(StrEnum):
    """Known values of KSeF ``PersonPermissionsAuthorizedIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class PersonPermissionsContextIdentifierType(StrEnum):
    """Known values of KSeF ``PersonPermissionsContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"


class PersonPermissionsQueryType(StrEnum):
    """Known values of KSeF ``PersonPermissionsQueryType``."""

    PERMISSIONS_IN_CURRENT_CONTEXT = "PermissionsInCurrentContext"
    PERMISSIONS_GRANTED_IN_CURRENT_CONTEXT = "PermissionsGrantedInCurrentContext"


class PersonPermissionsTargetIdentifierType(StrEnum):
    """Known values of KSeF ``PersonPermissionsTargetIdentifierType``."""

    NIP = "Nip"
    ALL_PARTNERS = "AllPartners"
    INTERNAL_ID = "InternalId"


class PersonSubjectByFingerprintDetailsType(StrEnum):
    """Known values of KSeF ``PersonSubjectByFingerprintDetailsType``."""

    PERSON_BY_FINGERPRINT_WITH_IDENTIFIER = "PersonByFingerprintWithIdentifier"
    PERSON_BY_FINGERPRINT_WITHOUT_IDENTIFIER = "PersonByFingerprintWithoutIdentifier"


class PersonSubjectDetailsType(StrEnum):
    """Known values of KSeF ``PersonSubjectDetailsType``."""

    PERSON_BY_IDENTIFIER = "PersonByIdentifier"
    PERSON_BY_FINGERPRINT_WITH_IDENTIFIER = "PersonByFingerprintWithIdentifier"
    PERSON_BY_FINGERPRINT_WITHOUT_IDENTIFIER = "PersonByFingerprintWithoutIdentifier"


class PersonalPermissionScope(StrEnum):
    """Known values of KSeF ``PersonalPermissionScope``."""

    CREDENTIALS_MANAGE = "CredentialsManage"
    CREDENTIALS_READ = "CredentialsRead"
    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"
    INTROSPECTION = "Introspection"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    VAT_UE_MANAGE = "VatUeManage"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class PersonalPermissionType(StrEnum):
    """Known values of KSeF ``PersonalPermissionType``."""

    CREDENTIALS_MANAGE = "CredentialsManage"
    CREDENTIALS_READ = "CredentialsRead"
    INVOICE_WRITE = "InvoiceWrite"
    INVOICE_READ = "InvoiceRead"
    INTROSPECTION = "Introspection"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    VAT_UE_MANAGE = "VatUeManage"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class PersonalPermissionsAuthorizedIdentifierType(StrEnum):
    """Known values of KSeF ``PersonalPermissionsAuthorizedIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class PersonalPermissionsContextIdentifierType(StrEnum):
    """Known values of KSeF ``PersonalPermissionsContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"


class PersonalPermissionsTargetIdentifierType(StrEnum):
    """Known values of KSeF ``PersonalPermissionsTargetIdentifierType``."""

    NIP = "Nip"
    ALL_PARTNERS = "AllPartners"
    INTERNAL_ID = "InternalId"


class QueryType(StrEnum):
    """Known values of KSeF ``QueryType``."""

    GRANTED = "Granted"
    RECEIVED = "Received"


class SubordinateEntityRoleType(StrEnum):
    """Known values of KSeF ``SubordinateEntityRoleType``."""

    LOCAL_GOVERNMENT_SUB_UNIT = "LocalGovernmentSubUnit"
    VAT_GROUP_SUB_UNIT = "VatGroupSubUnit"


class SubordinateRoleSubordinateEntityIdentifierType(StrEnum):
    """Known values of KSeF ``SubordinateRoleSubordinateEntityIdentifierType``."""

    NIP = "Nip"


class SubunitPermissionScope(StrEnum):
    """Known values of KSeF ``SubunitPermissionScope``."""

    CREDENTIALS_MANAGE = "CredentialsManage"


class SubunitPermissionsAuthorIdentifierType(StrEnum):
    """Known values of KSeF ``SubunitPermissionsAuthorIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class SubunitPermissionsSubunitIdentifierType(StrEnum):
    """Known values of KSeF ``SubunitPermissionsSubunitIdentifierType``."""

    INTERNAL_ID = "InternalId"
    NIP = "Nip"


class EntityAuthorizationsAuthorIdentifier(KsefModel):
    """Nested in ``EntityAuthorizationGrant``."""

    type: str  # EntityAuthorizationsAuthorIdentifierType
    value: str


class EntityAuthorizationsAuthorizedEntityIdentifier(KsefModel):
    """Nested in ``EntityAuthorizationGrant``, ``EntityAuthorizationPermissionsQueryRequest``."""

    type: str  # EntityAuthorizationsAuthorizedEntityIdentifierType
    value: str


class EntityAuthorizationsAuthorizingEntityIdentifier(KsefModel):
    """Nested in ``EntityAuthorizationGrant``, ``EntityAuthorizationPermissionsQueryRequest``."""

    type: str  # EntityAuthorizationsAuthorizingEntityIdentifierType
    value: str


class PermissionsSubjectEntityByIdentifierDetails(KsefModel):
    """Nested in ``EntityAuthorizationGrant``."""

    subject_details_type: str  # EntitySubjectByIdentifierDetailsType
    full_name: str


class EntityAuthorizationGrant(KsefModel):
    """Nested in ``QueryEntityAuthorizationPermissionsResponse``."""

    id: str
    author_identifier: EntityAuthorizationsAuthorIdentifier | None = None
    authorized_entity_identifier: EntityAuthorizationsAuthorizedEntityIdentifier
    authorizing_entity_identifier: EntityAuthorizationsAuthorizingEntityIdentifier
    authorization_scope: str  # InvoicePermissionType
    description: str
    subject_entity_details: PermissionsSubjectEntityByIdentifierDetails | None = None
    start_date: datetime


class EntityAuthorizationPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/authorizations/grants``."""

    authorizing_identifier: EntityAuthorizationsAuthorizingEntityIdentifier | None = None
    authorized_identifier: EntityAuthorizationsAuthorizedEntityIdentifier | None = None
    query_type: str  # QueryType
    permission_types: list[str] | None = None  # InvoicePermissionType


class EntityPermissionsContextIdentifier(KsefModel):
    """Nested in ``EntityPermissionItem``, ``EntityPermissionsQueryRequest``."""

    type: str  # EntityPermissionsContextIdentifierType
    value: str


class EntityPermissionItem(KsefModel):
    """Nested in ``QueryEntityPermissionsResponse``."""

    id: str
    context_identifier: EntityPermissionsContextIdentifier
    permission_scope: str  # EntityPermissionItemScope
    description: str
    start_date: datetime
    can_delegate: bool


class EntityPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/entities/grants``."""

    context_identifier: EntityPermissionsContextIdentifier | None = None


class EntityPermissionsSubordinateEntityIdentifier(KsefModel):
    """Nested in ``SubordinateEntityRolesQueryRequest``."""

    type: str  # EntityPermissionsSubordinateEntityIdentifierType
    value: str


class EntityRolesParentEntityIdentifier(KsefModel):
    """Nested in ``EntityRole``."""

    type: str  # EntityRolesParentEntityIdentifierType
    value: str


class EntityRole(KsefModel):
    """Nested in ``QueryEntityRolesResponse``."""

    parent_entity_identifier: EntityRolesParentEntityIdentifier | None = None
    role: str  # EntityRoleType
    description: str
    start_date: datetime


class EuEntityPermissionsAuthorIdentifier(KsefModel):
    """Nested in ``EuEntityPermission``."""

    type: str  # EuEntityPermissionsAuthorIdentifierType
    value: str


class PermissionsEuEntityDetails(KsefModel):
    """Nested in ``EuEntityPermission``."""

    full_name: str
    address: str


class PermissionsSubjectEntityByFingerprintDetails(KsefModel):
    """Nested in ``EuEntityPermission``."""

    subject_details_type: str  # EntitySubjectByFingerprintDetailsType
    full_name: str
    address: str | None = None


class PermissionsSubjectPersonByFingerprintDetails(KsefModel):
    """Nested in ``EuEntityPermission``."""

    subject_details_type: str  # PersonSubjectByFingerprintDetailsType
    first_name: str
    last_name: str
    person_identifier: PersonIdentifier | None = None
    birth_date: date | None = None
    id_document: IdDocument | None = None


class EuEntityPermission(KsefModel):
    """Nested in ``QueryEuEntityPermissionsResponse``."""

    id: str
    author_identifier: EuEntityPermissionsAuthorIdentifier
    vat_ue_identifier: str
    eu_entity_name: str
    authorized_fingerprint_identifier: str
    permission_scope: str  # EuEntityPermissionsQueryPermissionType
    description: str
    subject_person_details: PermissionsSubjectPersonByFingerprintDetails | None = None
    subject_entity_details: PermissionsSubjectEntityByFingerprintDetails | None = None
    eu_entity_details: PermissionsEuEntityDetails | None = None
    start_date: datetime


class EuEntityPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/eu-entities/grants``."""

    vat_ue_identifier: str | None = None
    authorized_fingerprint_identifier: str | None = None
    permission_types: list[str] | None = None  # EuEntityPermissionsQueryPermissionType


class PermissionsSubjectEntityDetails(KsefModel):
    """Nested in ``PersonPermission``, ``PersonalPermission``."""

    subject_details_type: str  # EntitySubjectDetailsType
    full_name: str
    address: str | None = None


class PermissionsSubjectPersonDetails(KsefModel):
    """Nested in ``PersonPermission``, ``PersonalPermission``, ``SubunitPermission``."""

    subject_details_type: str  # PersonSubjectDetailsType
    first_name: str
    last_name: str
    person_identifier: PersonIdentifier | None = None
    birth_date: date | None = None
    id_document: IdDocument | None = None


class PersonPermissionsAuthorIdentifier(KsefModel):
    """Nested in ``PersonPermission``, ``PersonPermissionsQueryRequest``."""

    type: str  # PersonPermissionsAuthorIdentifierType
    value: str | None = None


class PersonPermissionsAuthorizedIdentifier(KsefModel):
    """Nested in ``PersonPermission``, ``PersonPermissionsQueryRequest``."""

    type: str  # PersonPermissionsAuthorizedIdentifierType
    value: str


class PersonPermissionsContextIdentifier(KsefModel):
    """Nested in ``PersonPermission``, ``PersonPermissionsQueryRequest``."""

    type: str  # PersonPermissionsContextIdentifierType
    value: str


class PersonPermissionsTargetIdentifier(KsefModel):
    """Nested in ``PersonPermission``, ``PersonPermissionsQueryRequest``."""

    type: str  # PersonPermissionsTargetIdentifierType
    value: str | None = None


class PersonPermission(KsefModel):
    """Nested in ``QueryPersonPermissionsResponse``."""

    id: str
    authorized_identifier: PersonPermissionsAuthorizedIdentifier
    context_identifier: PersonPermissionsContextIdentifier | None = None
    target_identifier: PersonPermissionsTargetIdentifier | None = None
    author_identifier: PersonPermissionsAuthorIdentifier
    permission_scope: str  # PersonPermissionScope
    description: str
    subject_person_details: PermissionsSubjectPersonDetails | None = None
    subject_entity_details: PermissionsSubjectEntityDetails | None = None
    permission_state: str  # PermissionState
    start_date: datetime
    can_delegate: bool


class PersonPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/persons/grants``."""

    author_identifier: PersonPermissionsAuthorIdentifier | None = None
    authorized_identifier: PersonPermissionsAuthorizedIdentifier | None = None
    context_identifier: PersonPermissionsContextIdentifier | None = None
    target_identifier: PersonPermissionsTargetIdentifier | None = None
    permission_types: list[str] | None = None  # PersonPermissionType
    permission_state: str | None = None  # PermissionState
    query_type: str  # PersonPermissionsQueryType


class PersonalPermissionsAuthorizedIdentifier(KsefModel):
    """Nested in ``PersonalPermission``."""

    type: str  # PersonalPermissionsAuthorizedIdentifierType
    value: str


class PersonalPermissionsContextIdentifier(KsefModel):
    """Nested in ``PersonalPermission``, ``PersonalPermissionsQueryRequest``."""

    type: str  # PersonalPermissionsContextIdentifierType
    value: str


class PersonalPermissionsTargetIdentifier(KsefModel):
    """Nested in ``PersonalPermission``, ``PersonalPermissionsQueryRequest``."""

    type: str  # PersonalPermissionsTargetIdentifierType
    value: str | None = None


class PersonalPermission(KsefModel):
    """Nested in ``QueryPersonalPermissionsResponse``."""

    id: str
    context_identifier: PersonalPermissionsContextIdentifier | None = None
    authorized_identifier: PersonalPermissionsAuthorizedIdentifier | None = None
    target_identifier: PersonalPermissionsTargetIdentifier | None = None
    permission_scope: str  # PersonalPermissionScope
    description: str
    subject_person_details: PermissionsSubjectPersonDetails | None = None
    subject_entity_details: PermissionsSubjectEntityDetails | None = None
    permission_state: str  # PermissionState
    start_date: datetime
    can_delegate: bool


class PersonalPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/personal/grants``."""

    context_identifier: PersonalPermissionsContextIdentifier | None = None
    target_identifier: PersonalPermissionsTargetIdentifier | None = None
    permission_types: list[str] | None = None  # PersonalPermissionType
    permission_state: str | None = None  # PermissionState


class QueryEntityAuthorizationPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/authorizations/grants`` (200)."""

    authorization_grants: list[EntityAuthorizationGrant]
    has_more: bool


class QueryEntityPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/entities/grants`` (200)."""

    permissions: list[EntityPermissionItem]
    has_more: bool


class QueryEntityRolesResponse(KsefModel):
    """Response body of ``GET /permissions/query/entities/roles`` (200)."""

    roles: list[EntityRole]
    has_more: bool


class QueryEuEntityPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/eu-entities/grants`` (200)."""

    permissions: list[EuEntityPermission]
    has_more: bool


class QueryPersonPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/persons/grants`` (200)."""

    permissions: list[PersonPermission]
    has_more: bool


class QueryPersonalPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/personal/grants`` (200)."""

    permissions: list[PersonalPermission]
    has_more: bool


class SubordinateRoleSubordinateEntityIdentifier(KsefModel):
    """Nested in ``SubordinateEntityRole``."""

    type: str  # SubordinateRoleSubordinateEntityIdentifierType
    value: str


class SubordinateEntityRole(KsefModel):
    """Nested in ``QuerySubordinateEntityRolesResponse``."""

    subordinate_entity_identifier: SubordinateRoleSubordinateEntityIdentifier
    role: str  # SubordinateEntityRoleType
    description: str
    start_date: datetime


class QuerySubordinateEntityRolesResponse(KsefModel):
    """Response body of ``POST /permissions/query/subordinate-entities/roles`` (200)."""

    roles: list[SubordinateEntityRole]
    has_more: bool


class SubunitPermissionsAuthorIdentifier(KsefModel):
    """Nested in ``SubunitPermission``."""

    type: str  # SubunitPermissionsAuthorIdentifierType
    value: str


class SubunitPermissionsAuthorizedIdentifier(KsefModel):
    """Nested in ``SubunitPermission``."""

    type: str  # SubunitPermissionsSubjectIdentifierType
    value: str


class SubunitPermissionsSubunitIdentifier(KsefModel):
    """Nested in ``SubunitPermission``, ``SubunitPermissionsQueryRequest``."""

    type: str  # SubunitPermissionsSubunitIdentifierType
    value: str


class SubunitPermission(KsefModel):
    """Nested in ``QuerySubunitPermissionsResponse``."""

    id: str
    authorized_identifier: SubunitPermissionsAuthorizedIdentifier
    subunit_identifier: SubunitPermissionsSubunitIdentifier
    author_identifier: SubunitPermissionsAuthorIdentifier
    permission_scope: str  # SubunitPermissionScope
    description: str
    subject_person_details: PermissionsSubjectPersonDetails | None = None
    subunit_name: str | None = None
    start_date: datetime


class QuerySubunitPermissionsResponse(KsefModel):
    """Response body of ``POST /permissions/query/subunits/grants`` (200)."""

    permissions: list[SubunitPermission]
    has_more: bool


class SubordinateEntityRolesQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/subordinate-entities/roles``."""

    subordinate_entity_identifier: EntityPermissionsSubordinateEntityIdentifier | None = None


class SubunitPermissionsQueryRequest(KsefModel):
    """Request body of ``POST /permissions/query/subunits/grants``."""

    subunit_identifier: SubunitPermissionsSubunitIdentifier | None = None
