"""Building blocks of the permission calls: typed identifiers and subject details.

Shared by ``client.permissions`` (sync and async), ``client.testdata`` and the CLI. KSeF names
who gets a permission, where, and for whom with ``{type, value}`` identifiers; the grant
bodies also carry the grantee's identity data (``subjectDetails``), whose shape depends on how
the grantee authenticates.

>>> Identifier.pesel("90010112345").to_wire()
{'type': 'Pesel', 'value': '90010112345'}
>>> Identifier.all_partners().to_wire()
{'type': 'AllPartners'}
>>> person_details("Anna", "Nowak").subject_details_type
'PersonByIdentifier'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import ConfigurationError
from .models.permissions import (
    EntityByFingerprintDetails,
    EuEntityPermissionSubjectDetails,
    IdDocument,
    PersonByFingerprintWithIdentifierDetails,
    PersonByFingerprintWithoutIdentifierDetails,
    PersonDetails,
    PersonIdentifier,
    PersonPermissionSubjectDetails,
)

__all__ = ["IdDocument", "Identifier", "eu_subject_details", "person_details"]


@dataclass(frozen=True)
class Identifier:
    """A KSeF identifier: ``type`` (``Nip``, ``Pesel``, ``Fingerprint``, ``InternalId``,
    ``NipVatUe``, ``PeppolId``, ``AllPartners``, ``System``) and its ``value`` (none for
    ``AllPartners`` and ``System``). Build one with the class methods.

    >>> Identifier.fingerprint("ab" * 32).value == "AB" * 32
    True
    """

    type: str
    value: str | None = None

    @classmethod
    def nip(cls, value: str) -> Identifier:
        """A 10-digit NIP (a company, or a person's tax number)."""
        return cls("Nip", value.strip())

    @classmethod
    def pesel(cls, value: str) -> Identifier:
        """An 11-digit PESEL (a person)."""
        return cls("Pesel", value.strip())

    @classmethod
    def fingerprint(cls, value: str) -> Identifier:
        """The SHA-256 fingerprint of a certificate (64 hex characters, kept upper-case)."""
        return cls("Fingerprint", value.strip().upper())

    @classmethod
    def internal_id(cls, value: str) -> Identifier:
        """A sub-unit: ``<nip>-<5 digits>`` (see :func:`ksefkit.identifiers.make_internal_id`)."""
        return cls("InternalId", value.strip())

    @classmethod
    def nip_vat_ue(cls, value: str) -> Identifier:
        """The composite context of a Polish NIP and an EU VAT number: ``<nip>-<vat ue>``."""
        return cls("NipVatUe", value.strip())

    @classmethod
    def peppol_id(cls, value: str) -> Identifier:
        """A Peppol service provider (``P`` + 2 letters + 6 digits)."""
        return cls("PeppolId", value.strip())

    @classmethod
    def all_partners(cls) -> Identifier:
        """Every client of an intermediary (a general indirect permission)."""
        return cls("AllPartners")

    @classmethod
    def system(cls) -> Identifier:
        """KSeF itself, as the author of permissions filed on the ZAW-FA form."""
        return cls("System")

    def to_wire(self) -> dict[str, str]:
        """``{"type": ..., "value": ...}`` (no ``value`` when there is none)."""
        return (
            {"type": self.type} if self.value is None else {"type": self.type, "value": self.value}
        )

    def __str__(self) -> str:
        return self.type if self.value is None else f"{self.type}:{self.value}"


def person_details(
    first_name: str,
    last_name: str,
    *,
    by_fingerprint: bool = False,
    identifier: Identifier | None = None,
    birth_date: dt.date | None = None,
    id_document: IdDocument | None = None,
) -> PersonPermissionSubjectDetails:
    """``subjectDetails`` of a person: ``PersonByIdentifier`` for a grantee named by NIP or
    PESEL; for a certificate fingerprint, ``identifier`` (the person's PESEL or NIP) or, for a
    person without either, ``birth_date`` and ``id_document``.

    >>> d = person_details("Hans", "Muster", by_fingerprint=True,
    ...                    identifier=Identifier.pesel("90010112345"))
    >>> d.subject_details_type, d.person_by_fp_with_id.identifier.type
    ('PersonByFingerprintWithIdentifier', 'Pesel')
    """
    if not by_fingerprint:
        return PersonPermissionSubjectDetails(
            subject_details_type="PersonByIdentifier",
            person_by_id=PersonDetails(first_name=first_name, last_name=last_name),
        )
    with_id, without_id = _fingerprint_person(
        first_name, last_name, identifier, birth_date, id_document
    )
    return PersonPermissionSubjectDetails(
        subject_details_type=_fingerprint_kind(with_id),
        person_by_fp_with_id=with_id,
        person_by_fp_no_id=without_id,
    )


def eu_subject_details(
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    identifier: Identifier | None = None,
    birth_date: dt.date | None = None,
    id_document: IdDocument | None = None,
    entity_name: str | None = None,
    entity_address: str | None = None,
) -> EuEntityPermissionSubjectDetails:
    """``subjectDetails`` of an EU-entity administrator or representative (always named by a
    certificate fingerprint): a person (``first_name``, ``last_name`` and ``identifier`` or
    ``birth_date`` + ``id_document``) or an entity sealing with a qualified seal
    (``entity_name``, ``entity_address``).

    >>> eu_subject_details(entity_name="Muster GmbH", entity_address="Berlin").subject_details_type
    'EntityByFingerprint'
    """
    if entity_name is not None:
        if entity_address is None or first_name is not None:
            raise ConfigurationError("an entity needs entity_name and entity_address, no names")
        return EuEntityPermissionSubjectDetails(
            subject_details_type="EntityByFingerprint",
            entity_by_fp=EntityByFingerprintDetails(full_name=entity_name, address=entity_address),
        )
    if first_name is None or last_name is None:
        raise ConfigurationError("give first_name and last_name, or entity_name and entity_address")
    with_id, without_id = _fingerprint_person(
        first_name, last_name, identifier, birth_date, id_document
    )
    return EuEntityPermissionSubjectDetails(
        subject_details_type=_fingerprint_kind(with_id),
        person_by_fp_with_id=with_id,
        person_by_fp_no_id=without_id,
    )


def _fingerprint_person(
    first_name: str,
    last_name: str,
    identifier: Identifier | None,
    birth_date: dt.date | None,
    id_document: IdDocument | None,
) -> tuple[
    PersonByFingerprintWithIdentifierDetails | None,
    PersonByFingerprintWithoutIdentifierDetails | None,
]:
    if identifier is not None:
        if identifier.type not in ("Pesel", "Nip") or identifier.value is None:
            raise ConfigurationError("a person's identifier is a PESEL or a NIP")
        ident = PersonIdentifier(type=identifier.type, value=identifier.value)
        return (
            PersonByFingerprintWithIdentifierDetails(
                first_name=first_name, last_name=last_name, identifier=ident
            ),
            None,
        )
    if birth_date is None or id_document is None:
        raise ConfigurationError(
            "a person named by a fingerprint needs identifier= (PESEL/NIP)"
            " or birth_date= and id_document="
        )
    return None, PersonByFingerprintWithoutIdentifierDetails(
        first_name=first_name, last_name=last_name, birth_date=birth_date, id_document=id_document
    )


def _fingerprint_kind(with_id: object) -> str:
    if with_id is not None:
        return "PersonByFingerprintWithIdentifier"
    return "PersonByFingerprintWithoutIdentifier"
