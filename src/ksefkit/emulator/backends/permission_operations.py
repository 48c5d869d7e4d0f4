"""What the permission operations do when processed: the grants and revocations themselves.

:class:`GrantOperations` is mixed into :class:`~.permissions.PermissionsBackend`; each
``_do_<action>`` runs inside the transaction that also records the operation's final status,
and raises :class:`OperationFailed` for a failure status (the codes are described in
:mod:`.permissions`). ``payload`` is what :mod:`.permission_requests` checked at request time;
``op`` is the ``permission_operations`` row (context, author and the author's permissions
when the request was made).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from ..clock import isoformat
from . import dumps
from .rights import owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState
    from ..store import Store

__all__ = [
    "EU_ADMIN_PERMISSIONS",
    "GrantOperations",
    "OperationFailed",
    "grantor_context",
    "row_context",
]

#: Permissions an EU-entity administrator gets in the ``NipVatUe`` context.
EU_ADMIN_PERMISSIONS = ("VatUeManage", "InvoiceWrite", "InvoiceRead", "Introspection")
_SUPERIOR_ROLES = ("LocalGovernmentUnit", "VatGroupUnit")
_ENFORCEMENT_ROLES = ("EnforcementAuthority", "CourtBailiff")
_DETAIL_KEYS = ("subjectDetails", "euEntityName", "euEntityDetails", "subunitName")


class OperationFailed(Exception):
    """A permission operation ends with a failure status (raised inside processing)."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class GrantOperations:
    """The ``_do_<action>`` handlers of :class:`~.permissions.PermissionsBackend`, and the
    facts they check (entity roles, subordinate entities, delegable grants)."""

    _state: EmulatorState
    _store: Store

    def roles(self, nip: str) -> list[str]:
        """The roles of the entity ``nip`` (``/testdata/subject``, bailiffs)."""
        return sorted(r["role"] for r in self._state.testdata.entity_roles(nip))

    def subordinates(self, nip: str) -> list[str]:
        """NIPs of the subordinate entities (JST sub-units, VAT-group members) of ``nip``."""
        rows = self._state.testdata.subordinate_roles(nip)
        found = {r["subordinateEntityIdentifier"]["value"] for r in rows}
        return sorted(found)

    def _delegates(self, client: tuple[str, str], intermediary: str, permission: str) -> bool:
        """Whether ``client`` gives ``intermediary`` (a NIP) ``permission`` with canDelegate."""
        row = self._store.one(
            "SELECT 1 FROM permission_grants WHERE kind = 'entity' AND context_type = ?"
            " AND context_value = ? AND subject_type = 'Nip' AND subject_value = ?"
            " AND permission = ? AND can_delegate = 1",
            (*client, intermediary, permission),
        )
        return row is not None

    def _do_person(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip", "InternalId"), "nadanie uprawnień osobom")
        if "EnforcementOperations" in p["permissions"]:
            nip = owner_nip(*context)
            if not (nip and set(self.roles(nip)) & set(_ENFORCEMENT_ROLES)):
                raise OperationFailed(
                    430,
                    "Uprawnienie EnforcementOperations może nadać wyłącznie podmiot z rolą"
                    " EnforcementAuthority lub CourtBailiff.",
                )
        for perm in p["permissions"]:
            self._insert(op, "person", perm, context, p["subject"], p)

    def _do_entity(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip", "InternalId"), "nadanie uprawnień podmiotom")
        if p["subject"]["value"] == owner_nip(*context):
            raise OperationFailed(410, "Podmiot nie może nadać uprawnień samemu sobie.")
        for item in p["permissions"]:
            self._insert(
                op,
                "entity",
                item["type"],
                context,
                p["subject"],
                p,
                can_delegate=item["canDelegate"],
            )

    def _do_authorization(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip",), "nadanie uprawnień podmiotowych")
        subject = p["subject"]
        if subject["value"] == context[1]:
            raise OperationFailed(410, "Podmiot nie może nadać uprawnień samemu sobie.")
        if (p["permission"] == "PefInvoicing") != (subject["type"] == "PeppolId"):
            raise OperationFailed(
                450,
                "Uprawnienie PefInvoicing nadaje się wyłącznie dostawcy usług Peppol (PeppolId),"
                " pozostałe uprawnienia podmiotowe wyłącznie podmiotom z NIP.",
            )
        self._insert(op, "authorization", p["permission"], context, subject, p)

    def _do_indirect(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip",), "nadanie uprawnień w sposób pośredni")
        target = p.get("target") or {"type": "AllPartners", "value": None}
        if target["type"] != "AllPartners":
            client = (target["type"], target["value"])
            if owner_nip(*client) == context[1]:
                raise OperationFailed(410, "Podmiot docelowy nie może być pośrednikiem.")
            lacking = [
                perm for perm in p["permissions"] if not self._delegates(client, context[1], perm)
            ]
            if lacking:
                raise OperationFailed(
                    440,
                    f"Klient {client[1]} nie nadał podmiotowi {context[1]} uprawnień {lacking}"
                    " z prawem do dalszego przekazywania.",
                )
        for perm in p["permissions"]:
            self._insert(op, "indirect", perm, context, p["subject"], p, target=target)

    def _do_subunit(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip",), "nadanie uprawnień administratora jednostki")
        unit = p["unit"]
        if unit["type"] == "Nip":
            if not set(self.roles(context[1])) & set(_SUPERIOR_ROLES):
                raise OperationFailed(
                    430,
                    "Podmiot kontekstu nie ma roli LocalGovernmentUnit ani VatGroupUnit.",
                )
            if unit["value"] not in self.subordinates(context[1]):
                raise OperationFailed(
                    410, f"Podmiot {unit['value']} nie jest podmiotem podrzędnym {context[1]}."
                )
        else:
            if unit["value"].split("-", 1)[0] != context[1]:
                raise OperationFailed(
                    410,
                    f"Identyfikator wewnętrzny {unit['value']} nie należy do podmiotu"
                    f" {context[1]}.",
                )
            self._store.run(
                "INSERT INTO subunits VALUES (?, ?, ?, ?) ON CONFLICT (internal_id)"
                " DO UPDATE SET name = excluded.name",
                (unit["value"], context[1], p["subunitName"], isoformat(self._state.clock.now())),
            )
        target = (unit["type"], unit["value"])
        self._insert(op, "subunit", "CredentialsManage", target, p["subject"], p)

    def _do_eu_admin(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("Nip",), "nadanie uprawnień administratora UE")
        eu_context = ("NipVatUe", p["context"]["value"])
        if eu_context[1].split("-", 1)[0] != context[1]:
            raise OperationFailed(
                410, f"Kontekst {eu_context[1]} nie zaczyna się od NIP {context[1]}."
            )
        for perm in EU_ADMIN_PERMISSIONS:
            self._insert(op, "eu_admin", perm, eu_context, p["subject"], p)

    def _do_eu_rep(self, op: Any, p: dict[str, Any]) -> None:
        context = _op_context(op)
        _require_context_type(context, ("NipVatUe",), "nadanie uprawnień reprezentanta UE")
        admin = self._store.one(
            "SELECT details FROM permission_grants WHERE kind = 'eu_admin' AND context_type = ?"
            " AND context_value = ? ORDER BY start_date LIMIT 1",
            context,
        )
        entity = json.loads(admin["details"]) if admin is not None else {}
        details = {
            **p,
            "euEntityName": entity.get("euEntityName"),
            "euEntityDetails": entity.get("euEntityDetails"),
        }
        for perm in p["permissions"]:
            self._insert(op, "eu_rep", perm, context, p["subject"], details)

    def _do_revoke(self, op: Any, p: dict[str, Any]) -> None:
        row = self._grant_row(p["permissionId"])
        if row["kind"] == "authorization":
            raise OperationFailed(
                450,
                "Uprawnienia podmiotowe odbiera się przez DELETE"
                " /permissions/authorizations/grants/{permissionId}.",
            )
        if not self._may_revoke(op, row):
            raise OperationFailed(
                420, f"Brak uprawnień do odebrania uprawnienia {p['permissionId']}."
            )
        self._delete(p["permissionId"])

    def _do_revoke_authorization(self, op: Any, p: dict[str, Any]) -> None:
        row = self._grant_row(p["permissionId"])
        if row["kind"] != "authorization":
            raise OperationFailed(
                450, f"Uprawnienie {p['permissionId']} nie jest uprawnieniem podmiotowym."
            )
        held = set(json.loads(op["author_permissions"]))
        if _op_context(op) != row_context(row) or "CredentialsManage" not in held:
            raise OperationFailed(
                420, f"Brak uprawnień do odebrania uprawnienia {p['permissionId']}."
            )
        self._delete(p["permissionId"])

    def _grant_row(self, permission_id: str) -> Any:
        row = self._store.one("SELECT * FROM permission_grants WHERE id = ?", (permission_id,))
        if row is None:
            raise OperationFailed(400, f"Uprawnienie {permission_id} nie istnieje.")
        return row

    def _may_revoke(self, op: Any, row: Any) -> bool:
        """Whether the operation's author may take ``row`` back from the operation's context."""
        held = set(json.loads(op["author_permissions"]))
        here = _op_context(op)
        grantor = grantor_context(row)
        if row["kind"] == "subunit":
            return grantor == here and bool(held & {"SubunitManage", "CredentialsManage"})
        if row["kind"] == "eu_admin":
            if grantor == here:
                return "CredentialsManage" in held
            return row_context(row) == here and "VatUeManage" in held
        if row["kind"] == "eu_rep":
            return row_context(row) == here and "VatUeManage" in held
        return grantor == here and "CredentialsManage" in held

    def _delete(self, permission_id: str) -> None:
        self._store.run("DELETE FROM permission_grants WHERE id = ?", (permission_id,))

    def _insert(
        self,
        op: Any,
        kind: str,
        permission: str,
        context: tuple[str, str],
        subject: dict[str, str],
        details: dict[str, Any],
        *,
        target: dict[str, Any] | None = None,
        can_delegate: bool = False,
    ) -> None:
        """One grant row (or, for a grant that already exists, its flag and description)."""
        stored = {k: details[k] for k in _DETAIL_KEYS if details.get(k) is not None}
        values = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "permission": permission,
            "context_type": context[0],
            "context_value": context[1],
            "subject_type": subject["type"],
            "subject_value": subject["value"],
            "target_type": None if target is None else target["type"],
            "target_value": None if target is None else target.get("value"),
            "author_type": op["author_type"],
            "author_value": op["author_value"],
            "grantor_context_type": op["context_type"],
            "grantor_context_value": op["context_value"],
            "can_delegate": int(can_delegate),
            "description": details["description"],
            "details": dumps(stored) if stored else None,
            "start_date": isoformat(self._state.clock.now()),
            "operation": op["reference_number"],
        }
        self._upsert(values)

    def _upsert(self, values: dict[str, Any]) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self._store.run(
            f"INSERT INTO permission_grants ({columns}) VALUES ({marks})"  # noqa: S608
            " ON CONFLICT DO UPDATE SET can_delegate = excluded.can_delegate,"
            " description = excluded.description",
            list(values.values()),
        )


def _op_context(op: Any) -> tuple[str, str]:
    return (op["context_type"], op["context_value"])


def row_context(row: Any) -> tuple[str, str]:
    """The context a grant row applies in."""
    return (row["context_type"], row["context_value"])


def grantor_context(row: Any) -> tuple[str, str]:
    """The context a grant was made from (system grants: the context itself)."""
    if row["grantor_context_type"] is None:
        return row_context(row)
    return (row["grantor_context_type"], row["grantor_context_value"])


def _require_context_type(context: tuple[str, str], allowed: tuple[str, ...], what: str) -> None:
    if context[0] not in allowed:
        raise OperationFailed(
            450, f"Operacja {what} jest niedostępna w kontekście typu {context[0]}."
        )
