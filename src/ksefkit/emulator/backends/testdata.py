"""Test subjects and persons: ``/testdata/subject*`` and ``/testdata/person*`` (KSEF_API.md §14.1).

Rules (open-api.json; the emulator's decisions where KSeF is silent):

* ``POST /testdata/subject`` registers an entity and the roles its type implies, visible to
  ``GET /permissions/query/entities/roles`` (:meth:`TestData.entity_roles`) and
  ``POST /permissions/query/subordinate-entities/roles`` (:meth:`TestData.subordinate_roles`):
  ``EnforcementAuthority`` → role ``EnforcementAuthority``; ``VatGroup`` → ``VatGroupUnit``
  and each subunit ``VatGroupSubUnit`` of it; ``JST`` → ``LocalGovernmentUnit`` and each
  subunit ``LocalGovernmentSubUnit`` of it. Only VAT groups and JSTs have subunits (21405
  otherwise). A NIP already registered as a subject or subunit is 30001.
* ``POST /testdata/person`` links a PESEL to a NIP: with a PESEL certificate (or a KSeF token
  it created) the person then holds the owner's permissions in ``Nip:<nip>`` (and its
  ``InternalId`` sub-units, like a NIP owner), except ``EnforcementOperations``, which only a
  bailiff (``isBailiff``) holds — the NIP then also has the role ``CourtBailiff``. A NIP or PESEL
  already registered is 30001.
* ``isDeceased``: every authentication whose subject is the person — their PESEL (certificate
  or a KSeF token they created), or their NIP in a personal signature (``TINPL-<nip>``; a
  company seal of the NIP is not the person) — ends with status 470; refresh (and redeem) of an
  earlier authentication answer 21308.
* ``POST /testdata/person/remove`` deletes the person and takes away every permission granted
  to their PESEL; KSeF tokens they created are revoked. ``POST /testdata/subject/remove``
  deletes the subject with its subunits and roles. **Decision:** removing what does not exist
  is 21405 (the only code the spec lists), so a typo does not pass silently.
* ``createdDate`` (default: now) is the ``startDate`` of the roles; re-creating an identifier
  needs a ``createdDate`` later than the previous creation's (21405 otherwise, as the schema
  description says), remembered across removals.
* Peppol providers (``PeppolId`` subject = the context's PeppolId, see :mod:`.peppol`) hold
  ``PefInvoiceWrite`` in their own context.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ...identifiers import NIP_RE, PESEL_RE
from ..clock import isoformat, parse_datetime
from ..errors import bad_request, validation_error
from . import parse_body
from .rights import OWNER_PERMISSIONS, owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["PERSON_PERMISSIONS", "TestData"]

#: What a test person holds in the context of the NIP they own (bailiffs add
#: ``EnforcementOperations``).
PERSON_PERMISSIONS = tuple(p for p in OWNER_PERMISSIONS if p != "EnforcementOperations")
_ROLES = {
    "EnforcementAuthority": ("EnforcementAuthority", None),
    "VatGroup": ("VatGroupUnit", "VatGroupSubUnit"),
    "JST": ("LocalGovernmentUnit", "LocalGovernmentSubUnit"),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS test_subjects (
    nip TEXT PRIMARY KEY, subject_type TEXT NOT NULL, description TEXT NOT NULL,
    created_date TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS test_persons (
    nip TEXT PRIMARY KEY, pesel TEXT NOT NULL UNIQUE, is_bailiff INTEGER NOT NULL,
    is_deceased INTEGER NOT NULL, description TEXT NOT NULL, created_date TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entity_roles (
    nip TEXT NOT NULL, role TEXT NOT NULL, parent_nip TEXT, description TEXT NOT NULL,
    start_date TEXT NOT NULL, origin TEXT NOT NULL, PRIMARY KEY (nip, role));
CREATE INDEX IF NOT EXISTS entity_roles_parent ON entity_roles (parent_nip);
CREATE TABLE IF NOT EXISTS test_data_created (
    kind TEXT NOT NULL, identifier TEXT NOT NULL, created_date TEXT NOT NULL,
    PRIMARY KEY (kind, identifier));
"""


class _Subunit(BaseModel):
    subjectNip: str
    description: str = Field(min_length=5, max_length=256)


class _SubjectCreate(BaseModel):
    subjectNip: str
    subjectType: Literal["EnforcementAuthority", "VatGroup", "JST"]
    subunits: list[_Subunit] | None = None
    description: str = Field(min_length=5, max_length=256)
    createdDate: str | None = None


class _SubjectRemove(BaseModel):
    subjectNip: str


class _PersonCreate(BaseModel):
    nip: str
    pesel: str
    isBailiff: bool
    description: str = Field(min_length=5, max_length=256)
    isDeceased: bool = False
    createdDate: str | None = None


class _PersonRemove(BaseModel):
    nip: str


def _nip(value: str, field: str) -> str:
    if not (value.isascii() and NIP_RE.match(value)):
        raise validation_error(f"{field}: {value!r} nie jest poprawnym numerem NIP.")
    return value


class TestData:
    """Test subjects, persons and the entity roles they imply, over the store."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    # -- subjects --------------------------------------------------------------------------

    def create_subject(self, body: object) -> None:
        """``POST /testdata/subject``."""
        req = parse_body(_SubjectCreate, body)
        nip = _nip(req.subjectNip, "subjectNip")
        units = req.subunits or []
        subunit_role = _ROLES[req.subjectType][1]
        if units and subunit_role is None:
            raise validation_error(f"subunits: podmiot typu {req.subjectType} nie ma jednostek.")
        unit_nips = [_nip(u.subjectNip, f"subunits[{i}].subjectNip") for i, u in enumerate(units)]
        if nip in unit_nips or len(set(unit_nips)) != len(unit_nips):
            raise validation_error("subunits: numery NIP jednostek muszą być różne.")
        created = self._created(req.createdDate)
        with self._store.tx():
            for taken in (nip, *unit_nips):
                if self._registered(taken):
                    raise bad_request(30001, f"Podmiot o numerze NIP {taken} już istnieje.")
            self._remember("subject", nip, created)
            self._store.run(
                "INSERT INTO test_subjects VALUES (?, ?, ?, ?)",
                (nip, req.subjectType, req.description, isoformat(created)),
            )
            origin = f"subject:{nip}"
            self._role(nip, _ROLES[req.subjectType][0], None, req.description, created, origin)
            for unit, unit_nip in zip(units, unit_nips, strict=True):
                assert subunit_role is not None
                self._role(unit_nip, subunit_role, nip, unit.description, created, origin)

    def remove_subject(self, body: object) -> None:
        """``POST /testdata/subject/remove``: the subject, its subunits and their roles."""
        nip = _nip(parse_body(_SubjectRemove, body).subjectNip, "subjectNip")
        with self._store.tx():
            if not self._store.run("DELETE FROM test_subjects WHERE nip = ?", (nip,)):
                raise validation_error(
                    f"subjectNip: podmiot testowy o numerze NIP {nip} nie istnieje."
                )
            self._store.run("DELETE FROM entity_roles WHERE origin = ?", (f"subject:{nip}",))

    # -- persons ---------------------------------------------------------------------------

    def create_person(self, body: object) -> None:
        """``POST /testdata/person``."""
        req = parse_body(_PersonCreate, body)
        nip = _nip(req.nip, "nip")
        if not (req.pesel.isascii() and PESEL_RE.match(req.pesel)):
            raise validation_error(f"pesel: {req.pesel!r} nie jest poprawnym numerem PESEL.")
        created = self._created(req.createdDate)
        with self._store.tx():
            taken = self._store.one(
                "SELECT nip, pesel FROM test_persons WHERE nip = ? OR pesel = ?", (nip, req.pesel)
            )
            if taken is not None:
                raise bad_request(
                    30001,
                    f"Osoba o numerze NIP {taken['nip']} / PESEL {taken['pesel']} już istnieje.",
                )
            self._remember("person", nip, created)
            self._store.run(
                "INSERT INTO test_persons VALUES (?, ?, ?, ?, ?, ?)",
                (
                    nip,
                    req.pesel,
                    int(req.isBailiff),
                    int(req.isDeceased),
                    req.description,
                    isoformat(created),
                ),
            )
            if req.isBailiff:
                self._role(nip, "CourtBailiff", None, req.description, created, f"person:{nip}")

    def remove_person(self, body: object) -> None:
        """``POST /testdata/person/remove``: the person, their grants and their tokens."""
        nip = _nip(parse_body(_PersonRemove, body).nip, "nip")
        with self._store.tx():
            row = self._store.one("SELECT pesel FROM test_persons WHERE nip = ?", (nip,))
            if row is None:
                raise validation_error(f"nip: osoba testowa o numerze NIP {nip} nie istnieje.")
            self._store.run("DELETE FROM test_persons WHERE nip = ?", (nip,))
            self._store.run("DELETE FROM entity_roles WHERE origin = ?", (f"person:{nip}",))
            self._state.rights.revoke_everywhere("Pesel", row["pesel"])
        # Outside the transaction: revoking kicks the processor, which takes its own lock.
        self._state.tokens.revoke_authored_by("Pesel", row["pesel"])

    # -- what other backends ask -----------------------------------------------------------

    def implied_permissions(
        self, context_type: str, context_value: str, subject_type: str, subject_value: str
    ) -> set[str]:
        """Permissions test data gives ``subject`` in the context (a person owning its NIP, a
        Peppol provider in its own context)."""
        if subject_type == "PeppolId":
            same = context_type == "PeppolId" and context_value == subject_value
            return {"PefInvoiceWrite"} if same else set()
        nip = owner_nip(context_type, context_value)
        if subject_type != "Pesel" or nip is None:
            return set()
        row = self._store.one(
            "SELECT is_bailiff FROM test_persons WHERE nip = ? AND pesel = ?", (nip, subject_value)
        )
        if row is None:
            return set()
        return {*PERSON_PERMISSIONS, *(["EnforcementOperations"] if row["is_bailiff"] else [])}

    def linked_nips(self, pesel: str) -> list[str]:
        """The NIPs a test person (``pesel``) owns."""
        rows = self._store.all("SELECT nip FROM test_persons WHERE pesel = ?", (pesel,))
        return sorted(r["nip"] for r in rows)

    def is_deceased(
        self, subject_type: str | None, subject_value: str | None, *, personal: bool = False
    ) -> bool:
        """Whether ``subject`` is a test person created with ``isDeceased``: their PESEL, or
        their NIP when the credential is ``personal`` (a person's signature, not a seal)."""
        columns = {"Pesel": "pesel", "Nip": "nip"} if personal else {"Pesel": "pesel"}
        column = columns.get(subject_type or "")
        if column is None or not subject_value:
            return False
        row = self._store.one(
            f"SELECT 1 FROM test_persons WHERE {column} = ? AND is_deceased = 1",  # noqa: S608
            (subject_value,),
        )
        return row is not None

    def entity_roles(self, nip: str) -> list[dict[str, Any]]:
        """``EntityRole`` objects of ``nip`` (newest first), for the roles query."""
        rows = self._store.all(
            "SELECT * FROM entity_roles WHERE nip = ? ORDER BY start_date DESC, role", (nip,)
        )
        out = []
        for r in rows:
            item: dict[str, Any] = {
                "role": r["role"],
                "description": r["description"],
                "startDate": r["start_date"],
            }
            if r["parent_nip"]:
                item["parentEntityIdentifier"] = {"type": "Nip", "value": r["parent_nip"]}
            out.append(item)
        return out

    def subordinate_roles(
        self, parent_nip: str, subordinate_nip: str | None = None
    ) -> list[dict[str, Any]]:
        """``SubordinateEntityRole`` objects of ``parent_nip``'s subunits (newest first)."""
        sql = "SELECT * FROM entity_roles WHERE parent_nip = ?"
        params = [parent_nip]
        if subordinate_nip is not None:
            sql += " AND nip = ?"
            params.append(subordinate_nip)
        rows = self._store.all(sql + " ORDER BY start_date DESC, nip", params)
        return [
            {
                "subordinateEntityIdentifier": {"type": "Nip", "value": r["nip"]},
                "role": r["role"],
                "description": r["description"],
                "startDate": r["start_date"],
            }
            for r in rows
        ]

    # -- helpers ---------------------------------------------------------------------------

    def _created(self, text: str | None) -> dt.datetime:
        if text is None:
            return self._state.clock.now()
        try:
            return parse_datetime(text)
        except (ValueError, TypeError):
            raise validation_error(f"createdDate: nieprawidłowa data {text[:40]!r}.") from None

    def _registered(self, nip: str) -> bool:
        return (
            self._store.one("SELECT 1 FROM test_subjects WHERE nip = ?", (nip,)) is not None
            or self._store.one(
                "SELECT 1 FROM entity_roles WHERE nip = ? AND parent_nip IS NOT NULL", (nip,)
            )
            is not None
        )

    def _remember(self, kind: str, identifier: str, created: dt.datetime) -> None:
        """Record a creation; 21405 unless it is later than the previous one of the same id."""
        row = self._store.one(
            "SELECT created_date FROM test_data_created WHERE kind = ? AND identifier = ?",
            (kind, identifier),
        )
        if row is not None and created <= parse_datetime(row["created_date"]):
            raise validation_error(
                f"createdDate: {isoformat(created)} nie jest późniejsza niż data poprzedniego"
                f" utworzenia {row['created_date']}."
            )
        self._store.run(
            "INSERT OR REPLACE INTO test_data_created VALUES (?, ?, ?)",
            (kind, identifier, isoformat(created)),
        )

    def _role(
        self,
        nip: str,
        role: str,
        parent: str | None,
        description: str,
        start: dt.datetime,
        origin: str,
    ) -> None:
        self._store.run(
            "INSERT OR REPLACE INTO entity_roles VALUES (?, ?, ?, ?, ?, ?)",
            (nip, role, parent, description, isoformat(start), origin),
        )
