"""The request bodies of ``/permissions/*`` and ``/testdata/permissions|attachment*`` as the
emulator parses them (strict pydantic, camelCase as on the wire), and the checks a schema alone
cannot express — all of them 400/21405 at request time, as KSeF validates input before it
accepts an operation:

* identifier values have the format of their type (NIP, PESEL, 64-hex fingerprint,
  ``InternalId`` with its check digit, ``NipVatUe``, ``PeppolId``);
* each permission appears at most once in a list; a grant lists at least one;
* ``subjectDetails`` carries the object its ``subjectDetailsType`` names, and that type suits
  the subject identifier (``PersonByIdentifier`` for NIP/PESEL, the fingerprint kinds for a
  fingerprint);
* ``targetIdentifier``/``authorIdentifier`` carry a value unless they are ``AllPartners`` /
  ``System``; ``subunitName`` is given for an ``InternalId`` sub-unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from ...identifiers import NIP_VAT_UE_RE, VAT_UE_RE, is_valid_internal_id
from ..errors import validation_error
from . import parse_body
from .rights import check_context, normalise_subject

__all__ = [
    "AttachmentGrant",
    "AttachmentRevoke",
    "AuthorizationsQuery",
    "EntityQuery",
    "EuQuery",
    "PersonalQuery",
    "PersonsQuery",
    "SubordinateQuery",
    "SubunitsQuery",
    "ZawFaGrant",
    "ZawFaRevoke",
    "check_details",
    "check_identifier",
    "check_nip_vat_ue",
    "check_vat_ue",
    "parse_authorization",
    "parse_entity",
    "parse_eu_admin",
    "parse_eu_representative",
    "parse_indirect",
    "parse_person",
    "parse_subunit",
    "unique",
]

PersonPermission = Literal[
    "CredentialsManage",
    "CredentialsRead",
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "SubunitManage",
    "EnforcementOperations",
    "CollectiveIdentifierManage",
]
InvoicePermission = Literal["InvoiceWrite", "InvoiceRead"]
AuthorizationPermission = Literal[
    "SelfInvoicing", "RRInvoicing", "TaxRepresentative", "PefInvoicing"
]
PersonalPermission = Literal[
    "CredentialsManage",
    "CredentialsRead",
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "SubunitManage",
    "EnforcementOperations",
    "VatUeManage",
    "CollectiveIdentifierManage",
]
EuQueryPermission = Literal["VatUeManage", "InvoiceWrite", "InvoiceRead", "Introspection"]
State = Literal["Active", "Inactive"]
Description = Field(min_length=5, max_length=256)


def _iso_date(value: str) -> str:
    dt.date.fromisoformat(value)  # ValueError -> a validation error naming the field
    if len(value) != 10:
        raise ValueError("oczekiwano daty w formacie RRRR-MM-DD")
    return value


#: A ``format: date`` string (kept as text; strict parsing takes no date objects from JSON).
IsoDate = Annotated[str, AfterValidator(_iso_date)]


class _Id(BaseModel):
    type: str
    value: str


class _OptionalId(BaseModel):
    type: str
    value: str | None = None


class PersonSubjectId(_Id):
    type: Literal["Nip", "Pesel", "Fingerprint"]
    value: str = Field(min_length=10, max_length=64)


class NipId(_Id):
    type: Literal["Nip"]
    value: str = Field(min_length=10, max_length=10)


class FingerprintId(_Id):
    type: Literal["Fingerprint"]
    value: str = Field(min_length=64, max_length=64)


class AuthorizedEntityId(_Id):
    type: Literal["Nip", "PeppolId"]
    value: str = Field(min_length=9, max_length=10)


class TargetId(_OptionalId):
    type: Literal["Nip", "AllPartners", "InternalId"]
    value: str | None = Field(default=None, min_length=10, max_length=16)


class UnitContextId(_Id):
    type: Literal["Nip", "InternalId"]
    value: str = Field(min_length=10, max_length=16)


class NipVatUeId(_Id):
    type: Literal["NipVatUe"]
    value: str = Field(min_length=15, max_length=25)


class AuthorId(_OptionalId):
    type: Literal["Nip", "Pesel", "Fingerprint", "System"]
    value: str | None = Field(default=None, min_length=10, max_length=64)


class _PersonName(BaseModel):
    firstName: str = Field(min_length=2, max_length=30)
    lastName: str = Field(min_length=2, max_length=81)


class _PersonIdentifier(BaseModel):
    type: Literal["Pesel", "Nip"]
    value: str = Field(min_length=10, max_length=11)


class _PersonWithId(_PersonName):
    identifier: _PersonIdentifier


class _IdDocument(BaseModel):
    type: str = Field(max_length=20)
    number: str = Field(max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")


class _PersonWithoutId(_PersonName):
    birthDate: IsoDate
    idDocument: _IdDocument


class _EntityByFingerprint(BaseModel):
    fullName: str = Field(max_length=100)
    address: str = Field(max_length=512)


class PersonDetails(BaseModel):
    """``PersonPermissionSubjectDetails``."""

    subjectDetailsType: Literal[
        "PersonByIdentifier",
        "PersonByFingerprintWithIdentifier",
        "PersonByFingerprintWithoutIdentifier",
    ]
    personById: _PersonName | None = None
    personByFpWithId: _PersonWithId | None = None
    personByFpNoId: _PersonWithoutId | None = None


class EuSubjectDetails(BaseModel):
    """``EuEntityPermissionSubjectDetails``."""

    subjectDetailsType: Literal[
        "PersonByFingerprintWithIdentifier",
        "PersonByFingerprintWithoutIdentifier",
        "EntityByFingerprint",
    ]
    personByFpWithId: _PersonWithId | None = None
    personByFpNoId: _PersonWithoutId | None = None
    entityByFp: _EntityByFingerprint | None = None


class EntityDetails(BaseModel):
    fullName: str = Field(min_length=5, max_length=90)


class PersonGrant(BaseModel):
    subjectIdentifier: PersonSubjectId
    permissions: list[PersonPermission]
    description: str = Description
    subjectDetails: PersonDetails


class _EntityPermission(BaseModel):
    type: InvoicePermission
    canDelegate: bool = False


class EntityGrant(BaseModel):
    subjectIdentifier: NipId
    permissions: list[_EntityPermission]
    description: str = Description
    subjectDetails: EntityDetails


class AuthorizationGrant(BaseModel):
    subjectIdentifier: AuthorizedEntityId
    permission: AuthorizationPermission
    description: str = Description
    subjectDetails: EntityDetails


class IndirectGrant(BaseModel):
    subjectIdentifier: PersonSubjectId
    targetIdentifier: TargetId | None = None
    permissions: list[InvoicePermission]
    description: str = Description
    subjectDetails: PersonDetails


class SubunitGrant(BaseModel):
    subjectIdentifier: PersonSubjectId
    contextIdentifier: UnitContextId
    description: str = Description
    subunitName: str | None = Field(default=None, min_length=5, max_length=256)
    subjectDetails: PersonDetails


class _EuEntityDetails(BaseModel):
    fullName: str = Field(max_length=100)
    address: str = Field(max_length=512)


class EuAdminGrant(BaseModel):
    subjectIdentifier: FingerprintId
    contextIdentifier: NipVatUeId
    description: str = Description
    euEntityName: str = Field(min_length=5, max_length=256)
    subjectDetails: EuSubjectDetails
    euEntityDetails: _EuEntityDetails


class EuRepresentativeGrant(BaseModel):
    subjectIdentifier: FingerprintId
    permissions: list[InvoicePermission]
    description: str = Description
    subjectDetails: EuSubjectDetails


# -- queries ---------------------------------------------------------------------------------


class PersonalQuery(BaseModel):
    contextIdentifier: UnitContextId | None = None
    targetIdentifier: TargetId | None = None
    permissionTypes: list[PersonalPermission] | None = None
    permissionState: State | None = None


class PersonsQuery(BaseModel):
    authorIdentifier: AuthorId | None = None
    authorizedIdentifier: PersonSubjectId | None = None
    contextIdentifier: UnitContextId | None = None
    targetIdentifier: TargetId | None = None
    permissionTypes: list[PersonPermission] | None = None
    permissionState: State | None = None
    queryType: Literal["PermissionsInCurrentContext", "PermissionsGrantedInCurrentContext"]


class SubunitsQuery(BaseModel):
    subunitIdentifier: UnitContextId | None = None


class EntityQuery(BaseModel):
    contextIdentifier: UnitContextId | None = None


class SubordinateQuery(BaseModel):
    subordinateEntityIdentifier: NipId | None = None


class _AuthorizingId(_Id):
    type: Literal["Nip"]
    value: str = Field(min_length=10, max_length=10)


class AuthorizationsQuery(BaseModel):
    authorizingIdentifier: _AuthorizingId | None = None
    authorizedIdentifier: AuthorizedEntityId | None = None
    queryType: Literal["Granted", "Received"]
    permissionTypes: list[AuthorizationPermission] | None = None


class EuQuery(BaseModel):
    vatUeIdentifier: str | None = None
    authorizedFingerprintIdentifier: str | None = None
    permissionTypes: list[EuQueryPermission] | None = None


# -- test data -------------------------------------------------------------------------------


class _TestDataPermission(BaseModel):
    description: str = Description
    permissionType: PersonPermission


class ZawFaGrant(BaseModel):
    contextIdentifier: NipId
    authorizedIdentifier: PersonSubjectId
    permissions: list[_TestDataPermission]


class ZawFaRevoke(BaseModel):
    contextIdentifier: NipId
    authorizedIdentifier: PersonSubjectId


class AttachmentGrant(BaseModel):
    nip: str = Field(min_length=10, max_length=10)


class AttachmentRevoke(BaseModel):
    nip: str = Field(min_length=10, max_length=10)
    expectedEndDate: IsoDate | None = None


# -- checks beyond the schema ----------------------------------------------------------------


def check_identifier(kind: str, value: str | None, field: str) -> str | None:
    """The stored form of an identifier of any type (21405 when the value does not fit).

    >>> check_identifier("Fingerprint", "ab" * 32, "subjectIdentifier") == "AB" * 32
    True
    >>> check_identifier("InternalId", "6824515772-12344", "contextIdentifier")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if kind in ("AllPartners", "System"):
        if value:
            raise validation_error(f"{field}.value: dla typu {kind} pole musi być puste.")
        return None
    if value is None:
        raise validation_error(f"{field}.value: pole jest wymagane dla typu {kind}.")
    if kind in ("Nip", "Pesel", "Fingerprint"):
        return normalise_subject(kind, value, field)
    if kind == "InternalId" and not is_valid_internal_id(value):
        raise validation_error(
            f"{field}.value: {value!r} nie jest poprawnym identyfikatorem wewnętrznym"
            " (NIP-5 cyfr, ostatnia cyfra kontrolna)."
        )
    check_context(kind, value, field)
    return value


def check_vat_ue(value: str, field: str) -> str:
    """``value`` if it is an EU VAT number (``vatUeIdentifier``), else 21405."""
    if not (value.isascii() and VAT_UE_RE.match(value)):
        raise validation_error(f"{field}: {value!r} nie jest numerem VAT UE.")
    return value


def check_nip_vat_ue(value: str, field: str) -> tuple[str, str]:
    """``(nip, vat_ue)`` of a ``NipVatUe`` value, else 21405.

    >>> check_nip_vat_ue("7762811692-DE123456789", "contextIdentifier")
    ('7762811692', 'DE123456789')
    """
    if not (value.isascii() and NIP_VAT_UE_RE.match(value)):
        raise validation_error(f"{field}.value: {value!r} nie jest poprawnym NipVatUe.")
    nip, _, vat = value.partition("-")
    return nip, vat


def unique(values: Sequence[str], field: str) -> list[str]:
    """``values`` if non-empty and without repetitions (KSeF: each value at most once)."""
    if not values:
        raise validation_error(f"{field}: lista nie może być pusta.")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise validation_error(f"{field}: wartości {repeated} występują więcej niż raz.")
    return list(values)


_DETAIL_FIELDS = {
    "PersonByIdentifier": "personById",
    "PersonByFingerprintWithIdentifier": "personByFpWithId",
    "PersonByFingerprintWithoutIdentifier": "personByFpNoId",
    "EntityByFingerprint": "entityByFp",
}


def check_details(details: PersonDetails | EuSubjectDetails, subject_type: str) -> dict[str, Any]:
    """The details as stored JSON; 21405 when the named object is missing or does not suit
    the subject (``PersonByIdentifier`` needs a NIP/PESEL subject, the others a fingerprint).
    """
    kind = details.subjectDetailsType
    name = _DETAIL_FIELDS[kind]
    if getattr(details, name, None) is None:
        raise validation_error(f"subjectDetails.{name}: wymagane dla subjectDetailsType={kind}.")
    by_fingerprint = kind != "PersonByIdentifier"
    if by_fingerprint != (subject_type == "Fingerprint"):
        raise validation_error(
            f"subjectDetails.subjectDetailsType: {kind} nie pasuje do identyfikatora typu"
            f" {subject_type}."
        )
    data: dict[str, Any] = details.model_dump(mode="json", exclude_none=True)
    return data


# -- parsed, checked payloads (what an operation stores) -------------------------------------


def _subject(ident: PersonSubjectId | NipId | FingerprintId | AuthorizedEntityId) -> dict[str, Any]:
    return {
        "type": ident.type,
        "value": check_identifier(ident.type, ident.value, "subjectIdentifier"),
    }


def parse_person(body: object) -> dict[str, Any]:
    """``PersonPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(PersonGrant, body)
    return {
        "subject": _subject(req.subjectIdentifier),
        "permissions": unique(list(req.permissions), "permissions"),
        "description": req.description,
        "subjectDetails": check_details(req.subjectDetails, req.subjectIdentifier.type),
    }


def parse_entity(body: object) -> dict[str, Any]:
    """``EntityPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(EntityGrant, body)
    unique([p.type for p in req.permissions], "permissions")
    return {
        "subject": _subject(req.subjectIdentifier),
        "permissions": [p.model_dump() for p in req.permissions],
        "description": req.description,
        "subjectDetails": req.subjectDetails.model_dump(),
    }


def parse_authorization(body: object) -> dict[str, Any]:
    """``EntityAuthorizationPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(AuthorizationGrant, body)
    return {
        "subject": _subject(req.subjectIdentifier),
        "permission": req.permission,
        "description": req.description,
        "subjectDetails": req.subjectDetails.model_dump(),
    }


def parse_indirect(body: object) -> dict[str, Any]:
    """``IndirectPermissionsGrantRequest`` as a checked payload (no target: general)."""
    req = parse_body(IndirectGrant, body)
    target = None
    if req.targetIdentifier is not None:
        t = req.targetIdentifier
        target = {"type": t.type, "value": check_identifier(t.type, t.value, "targetIdentifier")}
    return {
        "subject": _subject(req.subjectIdentifier),
        "target": target,
        "permissions": unique(list(req.permissions), "permissions"),
        "description": req.description,
        "subjectDetails": check_details(req.subjectDetails, req.subjectIdentifier.type),
    }


def parse_subunit(body: object) -> dict[str, Any]:
    """``SubunitPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(SubunitGrant, body)
    unit = req.contextIdentifier
    if unit.type == "InternalId" and req.subunitName is None:
        raise validation_error("subunitName: wymagane dla jednostki z identyfikatorem wewnętrznym.")
    return {
        "subject": _subject(req.subjectIdentifier),
        "unit": {
            "type": unit.type,
            "value": check_identifier(unit.type, unit.value, "contextIdentifier"),
        },
        "subunitName": req.subunitName,
        "description": req.description,
        "subjectDetails": check_details(req.subjectDetails, req.subjectIdentifier.type),
    }


def parse_eu_admin(body: object) -> dict[str, Any]:
    """``EuEntityAdministrationPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(EuAdminGrant, body)
    check_nip_vat_ue(req.contextIdentifier.value, "contextIdentifier")
    return {
        "subject": _subject(req.subjectIdentifier),
        "context": {"type": "NipVatUe", "value": req.contextIdentifier.value},
        "description": req.description,
        "euEntityName": req.euEntityName,
        "subjectDetails": check_details(req.subjectDetails, "Fingerprint"),
        "euEntityDetails": req.euEntityDetails.model_dump(),
    }


def parse_eu_representative(body: object) -> dict[str, Any]:
    """``EuEntityPermissionsGrantRequest`` as a checked payload."""
    req = parse_body(EuRepresentativeGrant, body)
    return {
        "subject": _subject(req.subjectIdentifier),
        "permissions": unique(list(req.permissions), "permissions"),
        "description": req.description,
        "subjectDetails": check_details(req.subjectDetails, "Fingerprint"),
    }
