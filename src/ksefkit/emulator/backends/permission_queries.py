"""The eight ``/permissions/query/*`` operations over the grants of :mod:`.permissions`.

All of them page with ``pageOffset`` (a page index from 0) and ``pageSize`` (10-100, default
10), answer ``hasMore``, and sort by ``startDate`` descending, then ``id`` ascending (the
``x-sort`` of open-api.json). What each one lists (the OAS descriptions):

* ``personal`` — the caller's own permissions in the current context: direct ones (including a
  sub-unit administrator's and an EU entity's), indirect ones whose intermediary or target is
  the context (``Inactive`` while the client gives the intermediary no delegable permission),
  and — for the context's owner — invoice permissions other entities gave the context;
* ``persons`` — ``PermissionsInCurrentContext``: everyone who may work in the context (direct
  and entity grants, administrators of the context if it is a sub-unit) plus the indirect
  grants the context made as an intermediary; ``PermissionsGrantedInCurrentContext``: what the
  caller granted from this context (directly, to sub-unit administrators, indirectly);
* ``subunits`` — administrators of sub-units and subordinate entities granted from here;
* ``entities`` — invoice permissions other entities gave the current context;
* ``entities/roles`` and ``subordinate-entities/roles`` — the test-data roles
  (:mod:`.testdata`);
* ``authorizations`` — entity authorizations ``Granted`` by or ``Received`` by the context;
* ``eu-entities`` — from a ``Nip`` context the EU-entity administrators it appointed, from a
  ``NipVatUe`` context every administrator and representative of it.

Items only carry values the response schemas allow (e.g. ``PefInvoiceWrite`` grants of the
admin API appear in no list, a ``NipVatUe`` context is not a ``contextIdentifier``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ...models.permission_queries import (
    EuEntityPermissionsQueryPermissionType,
    PersonalPermissionScope,
    PersonPermissionScope,
)
from . import int_query, parse_body
from . import permission_requests as rq
from .auth import Claims
from .permission_operations import grantor_context, row_context
from .rights import owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState
    from .permissions import PermissionsBackend

__all__ = ["PermissionQueries", "newest_first", "page"]

_PERSONAL_SCOPES = frozenset(PersonalPermissionScope)
_PERSON_SCOPES = frozenset(PersonPermissionScope)
_EU_SCOPES = frozenset(EuEntityPermissionsQueryPermissionType)
_UNIT_TYPES = ("Nip", "InternalId")
Item = dict[str, Any]


def page(items: Sequence[Item], params: dict[str, Any]) -> Item:
    """One page of ``items``, newest first, as ``{"items", "hasMore"}``; 21405 for a bad
    ``pageOffset``/``pageSize``.

    >>> page([{"startDate": "2025-01-01T00:00:00Z"}], {"pageSize": "10"})["hasMore"]
    False
    """
    size = int_query(params.get("pageSize"), "pageSize", default=10, low=10, high=100)
    offset = int_query(params.get("pageOffset"), "pageOffset", default=0, low=0, high=None)
    ordered = newest_first(items)
    chunk = ordered[offset * size : (offset + 1) * size]
    return {"items": chunk, "hasMore": (offset + 1) * size < len(ordered)}


def newest_first(items: Iterable[Item]) -> list[Item]:
    """``startDate`` descending, then ``id`` (or the subordinate NIP and role) ascending."""
    ordered = sorted(items, key=_tie_break)
    ordered.sort(key=lambda item: item["startDate"], reverse=True)
    return ordered


def _tie_break(item: Item) -> tuple[str, str]:
    if "id" in item:
        return (str(item["id"]), "")
    who = item.get("subordinateEntityIdentifier", {}).get("value", "")
    return (str(who), str(item.get("role", "")))


class PermissionQueries:
    """The query operations (views over ``permission_grants``)."""

    def __init__(self, state: EmulatorState, backend: PermissionsBackend) -> None:
        self._state = state
        self._store = state.store
        self._backend = backend

    # -- personal ----------------------------------------------------------------------------

    def personal(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/personal/grants`` (``QueryPersonalPermissionsResponse``)."""
        req = parse_body(rq.PersonalQuery, body)
        context = _context(claims)
        me = _subject(claims)
        items = [
            self._personal_item(row, context, me)
            for row in self._rows("subject_type = ? AND subject_value = ?", me)
            if row["kind"] not in ("authorization",) and self._personal_applies(row, context)
        ]
        if self._is_owner(claims) and context[0] == "Nip":
            received = self._rows(
                "kind = 'entity' AND subject_type = 'Nip' AND subject_value = ?", (context[1],)
            )
            items += [self._personal_item(row, context, me) for row in received]
        items = [i for i in items if i["permissionScope"] in _PERSONAL_SCOPES]
        items = _filter(
            items,
            context=_id_filter(req.contextIdentifier),
            target=_id_filter(req.targetIdentifier),
            types=req.permissionTypes,
            state=req.permissionState,
        )
        result = page(_unique(items), params)
        return {"permissions": result["items"], "hasMore": result["hasMore"]}

    def _personal_applies(self, row: Any, context: tuple[str, str]) -> bool:
        if row["kind"] == "indirect":
            target = (row["target_type"], row["target_value"])
            return (
                row_context(row) == context
                or target == context
                or (
                    row["target_type"] == "AllPartners"
                    and self._backend.indirect_active(row, context)
                )
            )
        return row_context(row) == context

    def _personal_item(self, row: Any, context: tuple[str, str], me: tuple[str, str]) -> Item:
        item = self._base_item(row)
        shown = grantor_context(row) if row["kind"] == "entity" else row_context(row)
        if shown[0] in _UNIT_TYPES:
            item["contextIdentifier"] = _ident(shown)
        if (row["subject_type"], row["subject_value"]) != me:
            item["authorizedIdentifier"] = _ident((row["subject_type"], row["subject_value"]))
        if row["target_type"]:
            item["targetIdentifier"] = _ident((row["target_type"], row["target_value"]))
        item["permissionState"] = self._state_of(row)
        item["canDelegate"] = bool(row["can_delegate"])
        return item

    # -- persons -----------------------------------------------------------------------------

    def persons(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/persons/grants`` (``QueryPersonPermissionsResponse``)."""
        req = parse_body(rq.PersonsQuery, body)
        context = _context(claims)
        if req.queryType == "PermissionsInCurrentContext":
            rows = self._rows(
                "kind IN ('person', 'system', 'entity', 'subunit', 'indirect')"
                " AND context_type = ? AND context_value = ?",
                context,
            )
        else:
            rows = self._rows(
                "kind IN ('person', 'entity', 'subunit', 'indirect') AND author_type = ?"
                " AND author_value = ? AND grantor_context_type = ? AND grantor_context_value = ?",
                (*_subject(claims), *context),
            )
        items = [self._person_item(r, context) for r in rows if r["subject_type"] != "PeppolId"]
        items = [i for i in items if i["permissionScope"] in _PERSON_SCOPES]
        author = req.authorIdentifier
        if author is not None:
            wanted = _normal(author.type, author.value)
            items = [i for i in items if _matches(i["authorIdentifier"], wanted)]
        items = _filter(
            items,
            authorized=_id_filter(req.authorizedIdentifier),
            context=_id_filter(req.contextIdentifier),
            target=_id_filter(req.targetIdentifier),
            types=req.permissionTypes,
            state=req.permissionState,
        )
        result = page(items, params)
        return {"permissions": result["items"], "hasMore": result["hasMore"]}

    def _person_item(self, row: Any, context: tuple[str, str]) -> Item:
        item = self._base_item(row)
        item["authorizedIdentifier"] = _ident((row["subject_type"], row["subject_value"]))
        if row_context(row) != context and row["kind"] != "indirect":
            item["contextIdentifier"] = _ident(row_context(row))
        if row["target_type"]:
            item["targetIdentifier"] = _ident((row["target_type"], row["target_value"]))
        item["authorIdentifier"] = _author(row)
        item["permissionState"] = self._state_of(row)
        item["canDelegate"] = bool(row["can_delegate"])
        return item

    # -- subunits, entities, roles -----------------------------------------------------------

    def subunits(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/subunits/grants`` (``QuerySubunitPermissionsResponse``)."""
        req = parse_body(rq.SubunitsQuery, body)
        context = _context(claims)
        rows = self._rows(
            "kind = 'subunit' AND grantor_context_type = ? AND grantor_context_value = ?", context
        )
        unit = _id_filter(req.subunitIdentifier)
        items = []
        for row in rows:
            if unit is not None and row_context(row) != unit:
                continue
            item = self._base_item(row)
            item.pop("subjectEntityDetails", None)
            item["authorizedIdentifier"] = _ident((row["subject_type"], row["subject_value"]))
            item["subunitIdentifier"] = _ident(row_context(row))
            item["authorIdentifier"] = _author(row)
            name = _details(row).get("subunitName") or self._subunit_name(row["context_value"])
            if name:
                item["subunitName"] = name
            items.append(item)
        result = page(items, params)
        return {"permissions": result["items"], "hasMore": result["hasMore"]}

    def entities(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/entities/grants`` (``QueryEntityPermissionsResponse``)."""
        req = parse_body(rq.EntityQuery, body)
        context = _context(claims)
        rows = []
        if context[0] == "Nip":
            rows = self._rows(
                "kind = 'entity' AND subject_type = 'Nip' AND subject_value = ?", (context[1],)
            )
        grantor = _id_filter(req.contextIdentifier)
        items = [
            {
                "id": row["id"],
                "contextIdentifier": _ident(row_context(row)),
                "permissionScope": row["permission"],
                "description": row["description"],
                "startDate": row["start_date"],
                "canDelegate": bool(row["can_delegate"]),
            }
            for row in rows
            if grantor is None or row_context(row) == grantor
        ]
        result = page(items, params)
        return {"permissions": result["items"], "hasMore": result["hasMore"]}

    def entity_roles(self, claims: Claims, params: dict[str, Any]) -> Item:
        """``GET /permissions/query/entities/roles`` (``QueryEntityRolesResponse``)."""
        nip = claims.context_value if claims.context_type == "Nip" else None
        roles = self._state.testdata.entity_roles(nip) if nip else []
        result = page(roles, params)
        return {"roles": result["items"], "hasMore": result["hasMore"]}

    def subordinate_roles(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/subordinate-entities/roles``."""
        req = parse_body(rq.SubordinateQuery, body)
        wanted = req.subordinateEntityIdentifier
        sub = None if wanted is None else _normal(wanted.type, wanted.value)[1]
        roles = []
        if claims.context_type == "Nip":
            roles = self._state.testdata.subordinate_roles(claims.context_value, sub)
        result = page(roles, params)
        return {"roles": result["items"], "hasMore": result["hasMore"]}

    # -- authorizations, EU entities ---------------------------------------------------------

    def authorizations(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/authorizations/grants``."""
        req = parse_body(rq.AuthorizationsQuery, body)
        context = _context(claims)
        if req.queryType == "Granted":
            rows = self._rows(
                "kind = 'authorization' AND context_type = ? AND context_value = ?", context
            )
            wanted = _id_filter(req.authorizedIdentifier)
            rows = [
                r
                for r in rows
                if wanted is None or (r["subject_type"], r["subject_value"]) == wanted
            ]
        else:
            rows = self._rows(
                "kind = 'authorization' AND subject_type = ? AND subject_value = ?", context
            )
            wanted = _id_filter(req.authorizingIdentifier)
            rows = [r for r in rows if wanted is None or row_context(r) == wanted]
        types = req.permissionTypes
        items = [self._authorization_item(r) for r in rows if not types or r["permission"] in types]
        result = page(items, params)
        return {"authorizationGrants": result["items"], "hasMore": result["hasMore"]}

    def _authorization_item(self, row: Any) -> Item:
        item: Item = {
            "id": row["id"],
            "authorizedEntityIdentifier": _ident((row["subject_type"], row["subject_value"])),
            "authorizingEntityIdentifier": _ident(row_context(row)),
            "authorizationScope": row["permission"],
            "description": row["description"],
            "startDate": row["start_date"],
        }
        if row["author_type"] != "System":
            item["authorIdentifier"] = _ident((row["author_type"], row["author_value"]))
        full_name = _details(row).get("subjectDetails", {}).get("fullName")
        if full_name:
            item["subjectEntityDetails"] = {
                "subjectDetailsType": "EntityByIdentifier",
                "fullName": full_name,
            }
        return item

    def eu_entities(self, claims: Claims, body: object, params: dict[str, Any]) -> Item:
        """``POST /permissions/query/eu-entities/grants`` (``QueryEuEntityPermissionsResponse``)."""
        req = parse_body(rq.EuQuery, body)
        if req.vatUeIdentifier is not None:
            rq.check_vat_ue(req.vatUeIdentifier, "vatUeIdentifier")
        context = _context(claims)
        if context[0] == "NipVatUe":
            rows = self._rows(
                "kind IN ('eu_admin', 'eu_rep') AND context_type = ? AND context_value = ?",
                context,
            )
        else:
            rows = self._rows(
                "kind = 'eu_admin' AND grantor_context_type = ? AND grantor_context_value = ?",
                context,
            )
        fingerprint = (req.authorizedFingerprintIdentifier or "").upper()
        items = [
            self._eu_item(r)
            for r in rows
            if r["permission"] in _EU_SCOPES
            and (req.vatUeIdentifier is None or _vat_ue(r) == req.vatUeIdentifier)
            and fingerprint in r["subject_value"]
            and (not req.permissionTypes or r["permission"] in req.permissionTypes)
        ]
        result = page(items, params)
        return {"permissions": result["items"], "hasMore": result["hasMore"]}

    def _eu_item(self, row: Any) -> Item:
        details = _details(row)
        item = self._base_item(row)
        item["authorIdentifier"] = _ident((row["author_type"], row["author_value"]))
        item["vatUeIdentifier"] = _vat_ue(row)
        item["euEntityName"] = details.get("euEntityName") or f"Podmiot unijny {_vat_ue(row)}"
        item["authorizedFingerprintIdentifier"] = row["subject_value"]
        if details.get("euEntityDetails"):
            item["euEntityDetails"] = details["euEntityDetails"]
        return item

    # -- shared ------------------------------------------------------------------------------

    def _rows(self, where: str, params: Iterable[Any]) -> list[Any]:
        return self._store.all(f"SELECT * FROM permission_grants WHERE {where}", tuple(params))  # noqa: S608

    def _base_item(self, row: Any) -> Item:
        item: Item = {
            "id": row["id"],
            "permissionScope": row["permission"],
            "description": row["description"],
            "startDate": row["start_date"],
        }
        person, entity = _subject_details(_details(row).get("subjectDetails"))
        if person is not None:
            item["subjectPersonDetails"] = person
        if entity is not None:
            item["subjectEntityDetails"] = entity
        return item

    def _state_of(self, row: Any) -> str:
        if row["kind"] != "indirect":
            return "Active"
        return "Active" if self._backend.indirect_active(row) else "Inactive"

    def _is_owner(self, claims: Claims) -> bool:
        nip = owner_nip(claims.context_type, claims.context_value)
        if nip is None:
            return False
        if claims.subject_type == "Nip":
            return claims.subject_value == nip
        testdata = getattr(self._state, "testdata", None)
        implied = (
            testdata.implied_permissions(*_context(claims), *_subject(claims))
            if testdata
            else set()
        )
        return "CredentialsManage" in implied

    def _subunit_name(self, internal_id: str) -> str | None:
        row = self._store.one("SELECT name FROM subunits WHERE internal_id = ?", (internal_id,))
        return None if row is None else str(row["name"])


def _context(claims: Claims) -> tuple[str, str]:
    return (claims.context_type, claims.context_value)


def _subject(claims: Claims) -> tuple[str, str]:
    value = (
        claims.subject_value.upper()
        if claims.subject_type == "Fingerprint"
        else claims.subject_value
    )
    return (claims.subject_type, value)


def _ident(pair: tuple[str, str | None]) -> Item:
    kind, value = pair
    return {"type": kind} if value is None else {"type": kind, "value": value}


def _author(row: Any) -> Item:
    return _ident((row["author_type"], row["author_value"]))


def _details(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row["details"]) if row["details"] else {}
    return data


def _vat_ue(row: Any) -> str:
    return str(row["context_value"]).split("-", 1)[1]


def _normal(kind: str, value: str | None) -> tuple[str, str | None]:
    return (kind, rq.check_identifier(kind, value, "identifier"))


def _id_filter(ident: Any) -> tuple[str, str | None] | None:
    return None if ident is None else _normal(ident.type, ident.value)


def _matches(item_ident: Item | None, wanted: tuple[str, str | None]) -> bool:
    if item_ident is None or item_ident["type"] != wanted[0]:
        return False
    return wanted[1] is None or item_ident.get("value") == wanted[1]


def _filter(
    items: list[Item],
    *,
    authorized: tuple[str, str | None] | None = None,
    context: tuple[str, str | None] | None = None,
    target: tuple[str, str | None] | None = None,
    types: Sequence[str] | None = None,
    state: str | None = None,
) -> list[Item]:
    out = []
    for item in items:
        if authorized is not None and not _matches(item.get("authorizedIdentifier"), authorized):
            continue
        if context is not None and not _matches(item.get("contextIdentifier"), context):
            continue
        if target is not None and not _matches(item.get("targetIdentifier"), target):
            continue
        if types and item["permissionScope"] not in types:
            continue
        if state is not None and item["permissionState"] != state:
            continue
        out.append(item)
    return out


def _unique(items: list[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    for item in items:
        seen.setdefault(item["id"], item)
    return list(seen.values())


def _subject_details(data: dict[str, Any] | None) -> tuple[Item | None, Item | None]:
    """``(subjectPersonDetails, subjectEntityDetails)`` from stored grant details."""
    if not data:
        return None, None
    kind = data.get("subjectDetailsType")
    if kind is None:  # EntityDetails {fullName} of an entity grant
        return None, {"subjectDetailsType": "EntityByIdentifier", "fullName": data["fullName"]}
    if kind == "EntityByFingerprint":
        entity = data["entityByFp"]
        return None, {"subjectDetailsType": kind, **entity}
    if kind == "PersonByIdentifier":
        return {"subjectDetailsType": kind, **data["personById"]}, None
    if kind == "PersonByFingerprintWithIdentifier":
        person = data["personByFpWithId"]
        return {
            "subjectDetailsType": kind,
            "firstName": person["firstName"],
            "lastName": person["lastName"],
            "personIdentifier": person["identifier"],
        }, None
    return {"subjectDetailsType": kind, **data["personByFpNoId"]}, None
