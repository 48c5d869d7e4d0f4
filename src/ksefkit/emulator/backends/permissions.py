"""Permission grants, revocations and their asynchronous operations (KSEF_API.md §12.2).

Every grant is a row of ``permission_grants`` with a ``permissionId`` (UUID), its kind, the
context it was given in, the authorized identifier, the author, the context the author acted
from, a description, the subject details and a start date. One row holds one permission (a
grant of three permissions makes three rows, each revocable by its own id, as KSeF's queries
list them one by one).

=================  =====================================  ============================
kind               ``context`` of the row                 permission(s)
=================  =====================================  ============================
``person``         the grantor's context                  the requested ones
``entity``         the grantor's context                  InvoiceRead/Write (+canDelegate)
``authorization``  the authorizing entity (Nip)           SelfInvoicing, RRInvoicing,
                                                          TaxRepresentative, PefInvoicing
``indirect``       the intermediary's context (Nip)       InvoiceRead/Write; ``target`` is
                                                          the client (or ``AllPartners``)
``subunit``        the sub-unit (InternalId or Nip)       CredentialsManage
``eu_admin``       the ``NipVatUe`` context               VatUeManage, InvoiceWrite,
                                                          InvoiceRead, Introspection
``eu_rep``         the ``NipVatUe`` context               InvoiceRead/Write
``system``         any (ZAW-FA test data, admin API)      the requested ones
=================  =====================================  ============================

Grants and both revocations are operations: ``202 {referenceNumber}`` at once (after the
request-time checks: 403 ``missing-permissions`` for the permission the OAS requires, 400/21405
for malformed input), then status ``100`` until processed (``immediate``: in the request,
``background``: by the worker, ``manual``: ``state.step()``) and ``200`` or a failure code:

* 410 identifiers in the wrong relation (granting to the context itself, an ``InternalId`` or
  ``NipVatUe`` of another NIP, a NIP that is not a subordinate entity of the context);
* 420 the caller may not revoke that grant (another context, or the wrong permission for its
  kind);
* 430 the context lacks the role (``EnforcementOperations`` without ``EnforcementAuthority`` /
  ``CourtBailiff``; a subordinate NIP without ``LocalGovernmentUnit`` / ``VatGroupUnit``);
* 440 a selective indirect grant for a client that gave the intermediary no delegable
  permission;
* 450 the operation does not suit the identifier or context type (``PefInvoicing`` to a NIP or
  another authorization to a Peppol id, a grant kind in a context type it cannot be made from,
  revoking an entity authorization through the common endpoint or the reverse);
* 400 anything else (a ``permissionId`` whose grant was revoked after the request).

A revocation of a ``permissionId`` no grant has is refused at once (400/21405), like an unknown
reference number.

Decisions where KSeF is silent: granting a permission the subject already holds the same way
succeeds without a second row (an entity grant updates ``canDelegate``); statuses are kept 30
days (then 410 Gone) and are visible to callers authenticated in the operation's context;
an unknown reference number is 400/21405.

The effective permissions of a subject in a context (:meth:`held`) follow from the rows: direct
rows of the context (entity rows reach a subject authenticated with that NIP); indirect rows
whose target is the context (or all partners) while the client still gives the intermediary
that permission with ``canDelegate`` (otherwise the row is ``Inactive``). Owner rules and test
persons live in :mod:`.rights` and :mod:`.testdata`; entity roles (``/testdata/subject``,
bailiffs) are read from :mod:`.testdata`. Sub-units created by ``/permissions/subunits/grants``
are kept in ``subunits``; the attachment consent register (``/testdata/attachment*``) is here
too.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..clock import isoformat, parse_datetime
from ..errors import gone, validation_error
from . import dumps, parse_body
from . import permission_requests as rq
from .attachments import AttachmentConsents
from .auth import Claims
from .permission_operations import (
    EU_ADMIN_PERMISSIONS,
    GrantOperations,
    OperationFailed,
    row_context,
)
from .permission_queries import PermissionQueries
from .rights import normalise_subject, owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = [
    "ALLOWS_ISSUING",
    "EU_ADMIN_PERMISSIONS",
    "OPERATION_STATUSES",
    "SUBORDINATE_ROLES",
    "PermissionsBackend",
    "check_permission_id",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS permission_grants (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, permission TEXT NOT NULL,
    context_type TEXT NOT NULL, context_value TEXT NOT NULL,
    subject_type TEXT NOT NULL, subject_value TEXT NOT NULL,
    target_type TEXT, target_value TEXT,
    author_type TEXT NOT NULL, author_value TEXT,
    grantor_context_type TEXT, grantor_context_value TEXT,
    can_delegate INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL, details TEXT,
    start_date TEXT NOT NULL, operation TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS permission_grants_once ON permission_grants (
    kind, permission, context_type, context_value, subject_type, subject_value,
    COALESCE(target_type, ''), COALESCE(target_value, ''));
CREATE INDEX IF NOT EXISTS permission_grants_subject
    ON permission_grants (subject_type, subject_value);
CREATE INDEX IF NOT EXISTS permission_grants_context
    ON permission_grants (context_type, context_value);
CREATE TABLE IF NOT EXISTS permission_operations (
    reference_number TEXT PRIMARY KEY, action TEXT NOT NULL, payload TEXT NOT NULL,
    context_type TEXT NOT NULL, context_value TEXT NOT NULL,
    author_type TEXT NOT NULL, author_value TEXT NOT NULL, author_permissions TEXT NOT NULL,
    status_code INTEGER NOT NULL, status_description TEXT NOT NULL, status_details TEXT,
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS permission_operations_pending
    ON permission_operations (status_code, created);
CREATE TABLE IF NOT EXISTS subunits (
    internal_id TEXT PRIMARY KEY, parent_nip TEXT NOT NULL, name TEXT NOT NULL,
    created TEXT NOT NULL);
"""

#: ``PermissionsOperationStatusResponse.status`` codes and their descriptions (open-api.json).
OPERATION_STATUSES: dict[int, str] = {
    100: "Operacja przyjęta do realizacji",
    200: "Operacja zakończona sukcesem",
    400: "Operacja zakończona niepowodzeniem",
    410: "Podane identyfikatory są niezgodne lub pozostają w niewłaściwej relacji",
    420: "Użyte poświadczenia nie mają uprawnień do wykonania tej operacji",
    430: "Kontekst identyfikatora nie odpowiada wymaganej roli lub uprawnieniom",
    440: "Operacja niedozwolona dla wskazanych powiązań identyfikatorów",
    450: "Operacja niedozwolona dla wskazanego identyfikatora lub jego typu",
    500: "Nieznany błąd",
    550: "Operacja została anulowana przez system",
}
#: Entity authorizations that let the authorized entity issue invoices in the seller's name.
ALLOWS_ISSUING = ("SelfInvoicing", "RRInvoicing", "TaxRepresentative")
#: Roles of subordinate entities (their ``parent_nip`` is the superior unit).
SUBORDINATE_ROLES = ("LocalGovernmentSubUnit", "VatGroupSubUnit")
_DIRECT_KINDS = ("person", "system", "subunit", "eu_admin", "eu_rep", "entity")
_RETENTION = dt.timedelta(days=30)


class PermissionsBackend(GrantOperations):
    """Grants, revocations and their operations, effective permissions, test-data grants."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)
        self.attachments = AttachmentConsents(state)
        self.queries = PermissionQueries(state, self)
        self._actions: dict[str, Callable[[Any, dict[str, Any]], None]] = {
            "person": self._do_person,
            "entity": self._do_entity,
            "authorization": self._do_authorization,
            "indirect": self._do_indirect,
            "subunit": self._do_subunit,
            "eu_admin": self._do_eu_admin,
            "eu_rep": self._do_eu_rep,
            "revoke": self._do_revoke,
            "revoke_authorization": self._do_revoke_authorization,
        }

    # -- grant requests (request time) -----------------------------------------------------

    def grant_persons(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/persons/grants``."""
        req = rq.parse_person(body)
        return self._submit(claims, "person", req)

    def grant_entities(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/entities/grants``."""
        return self._submit(claims, "entity", rq.parse_entity(body))

    def grant_authorization(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/authorizations/grants``."""
        return self._submit(claims, "authorization", rq.parse_authorization(body))

    def grant_indirect(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/indirect/grants``."""
        return self._submit(claims, "indirect", rq.parse_indirect(body))

    def grant_subunit(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/subunits/grants``."""
        return self._submit(claims, "subunit", rq.parse_subunit(body))

    def grant_eu_admin(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/eu-entities/administration/grants``."""
        return self._submit(claims, "eu_admin", rq.parse_eu_admin(body))

    def grant_eu_representative(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /permissions/eu-entities/grants``."""
        return self._submit(claims, "eu_rep", rq.parse_eu_representative(body))

    def revoke(self, claims: Claims, permission_id: str) -> dict[str, str]:
        """``DELETE /permissions/common/grants/{permissionId}``."""
        self._require_grant(permission_id)
        return self._submit(claims, "revoke", {"permissionId": permission_id})

    def revoke_authorization(self, claims: Claims, permission_id: str) -> dict[str, str]:
        """``DELETE /permissions/authorizations/grants/{permissionId}``."""
        self._require_grant(permission_id)
        payload = {"permissionId": permission_id}
        return self._submit(claims, "revoke_authorization", payload)

    def _require_grant(self, permission_id: str) -> None:
        """An id no grant has is refused at once (400/21405), as an unknown reference is;
        whether the caller may revoke it is the operation's verdict (420/450)."""
        row = self._store.one("SELECT 1 FROM permission_grants WHERE id = ?", (permission_id,))
        if row is None:
            raise validation_error(f"permissionId: uprawnienie {permission_id} nie istnieje.")

    def _submit(self, claims: Claims, action: str, payload: dict[str, Any]) -> dict[str, str]:
        now = isoformat(self._state.clock.now())
        reference = self._state.ids.reference("EG", self._state.today())
        with self._store.tx():
            self._store.run(
                "INSERT INTO permission_operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, 100, ?, NULL,"
                " ?, ?)",
                (
                    reference,
                    action,
                    dumps(payload),
                    claims.context_type,
                    claims.context_value,
                    claims.subject_type,
                    _author_value(claims),
                    dumps(list(claims.permissions)),
                    OPERATION_STATUSES[100],
                    now,
                    now,
                ),
            )
        self._state.processor.kick()
        return {"referenceNumber": reference}

    # -- operation status ------------------------------------------------------------------

    def operation_status(self, claims: Claims, reference: str) -> dict[str, Any]:
        """``GET /permissions/operations/{referenceNumber}``."""
        row = self._store.one(
            "SELECT * FROM permission_operations WHERE reference_number = ?", (reference,)
        )
        if row is None or (row["context_type"], row["context_value"]) != (
            claims.context_type,
            claims.context_value,
        ):
            raise validation_error(
                f"Operacja o numerze referencyjnym {reference} nie została znaleziona."
            )
        if self._state.clock.now() - parse_datetime(row["created"]) > _RETENTION:
            raise gone(f"Status operacji {reference} nie jest już przechowywany.")
        status: dict[str, Any] = {
            "code": row["status_code"],
            "description": row["status_description"],
        }
        if row["status_details"]:
            status["details"] = json.loads(row["status_details"])
        return {"status": status}

    # -- processing ------------------------------------------------------------------------

    def work(self, cutoff: dt.datetime) -> list[Callable[[], None]]:
        """The pending operations due at ``cutoff`` (for the processor)."""
        rows = self._store.all(
            "SELECT reference_number, created FROM permission_operations WHERE status_code = 100"
            " ORDER BY created, reference_number"
        )
        return [
            _bind(self.complete, r["reference_number"])
            for r in rows
            if parse_datetime(r["created"]) <= cutoff
        ]

    def complete(self, reference: str) -> None:
        """Carry out one pending operation: its grants/revocation and final status, at once."""
        with self._store.tx():
            op = self._store.one(
                "SELECT * FROM permission_operations WHERE reference_number = ?"
                " AND status_code = 100",
                (reference,),
            )
            if op is None:
                return
            try:
                self._actions[op["action"]](op, json.loads(op["payload"]))
            except OperationFailed as failure:
                self._finish(reference, failure.code, [failure.detail])
            else:
                self._finish(reference, 200, None)

    def _finish(self, reference: str, code: int, details: list[str] | None) -> None:
        self._store.run(
            "UPDATE permission_operations SET status_code = ?, status_description = ?,"
            " status_details = ?, updated = ? WHERE reference_number = ?",
            (
                code,
                OPERATION_STATUSES[code],
                None if details is None else dumps(details),
                isoformat(self._state.clock.now()),
                reference,
            ),
        )

    # -- effective permissions -------------------------------------------------------------

    def held(
        self, context_type: str, context_value: str, subject_type: str, subject_value: str
    ) -> set[str]:
        """What the grants give ``subject`` in the context (owner rules live in :mod:`.rights`)."""
        if subject_type == "Fingerprint":
            subject_value = subject_value.upper()
        rows = self._store.all(
            "SELECT kind, permission, context_type, context_value, target_type, target_value"
            " FROM permission_grants WHERE subject_type = ? AND subject_value = ?",
            (subject_type, subject_value),
        )
        context = (context_type, context_value)
        return {row["permission"] for row in rows if self._applies(row, context)}

    def _applies(self, row: Any, context: tuple[str, str]) -> bool:
        if row["kind"] in _DIRECT_KINDS:
            return row_context(row) == context
        if row["kind"] != "indirect":
            return False
        return self.indirect_active(row, context)

    def indirect_active(self, row: Any, context: tuple[str, str] | None = None) -> bool:
        """Whether an indirect grant works in ``context`` (default: its own target).

        It does while the client still gives the intermediary the permission with
        ``canDelegate``; a general grant (``AllPartners``) works for every such client.
        """
        intermediary = row["context_value"]
        if row["target_type"] == "AllPartners":
            if context is None:
                return self._delegated_by_anyone(intermediary, row["permission"])
            return owner_nip(*context) != intermediary and self._delegates(
                context, intermediary, row["permission"]
            )
        target = (row["target_type"], row["target_value"])
        if context is not None and context != target:
            return False
        return self._delegates(target, intermediary, row["permission"])

    def _delegated_by_anyone(self, intermediary: str, permission: str) -> bool:
        row = self._store.one(
            "SELECT 1 FROM permission_grants WHERE kind = 'entity' AND subject_type = 'Nip'"
            " AND subject_value = ? AND permission = ? AND can_delegate = 1",
            (intermediary, permission),
        )
        return row is not None

    def may_issue_for(self, seller_nip: str, context: tuple[str, str]) -> bool:
        """Whether the context may send invoices whose seller is ``seller_nip``: its own NIP,
        or a seller that gave it ``SelfInvoicing``, ``RRInvoicing`` or ``TaxRepresentative``.
        """
        nip = owner_nip(*context)
        if nip is None or seller_nip == nip:
            return seller_nip == nip
        row = self._store.one(
            "SELECT 1 FROM permission_grants WHERE kind = 'authorization' AND context_type = 'Nip'"
            " AND context_value = ? AND subject_type = 'Nip' AND subject_value = ?"
            " AND permission IN ('SelfInvoicing', 'RRInvoicing', 'TaxRepresentative')",
            (seller_nip, nip),
        )
        return row is not None

    # -- system grants (ZAW-FA test data, the emulator's admin API) -------------------------

    def grant_system(
        self,
        context: tuple[str, str],
        subject: tuple[str, str],
        permissions: Iterable[tuple[str, str]],
    ) -> None:
        """Grant ``(permission, description)`` pairs with author ``System``, synchronously."""
        now = isoformat(self._state.clock.now())
        with self._store.tx():
            for permission, description in permissions:
                self._upsert(
                    {
                        "id": str(uuid.uuid4()),
                        "kind": "system",
                        "permission": permission,
                        "context_type": context[0],
                        "context_value": context[1],
                        "subject_type": subject[0],
                        "subject_value": subject[1],
                        "author_type": "System",
                        "description": description,
                        "start_date": now,
                    }
                )

    def revoke_direct(
        self,
        context: tuple[str, str],
        subject: tuple[str, str],
        permissions: Iterable[str] | None = None,
    ) -> int:
        """Delete the subject's direct grants (system and person) in the context."""
        where = (
            "kind IN ('system', 'person') AND context_type = ? AND context_value = ?"
            " AND subject_type = ? AND subject_value = ?"
        )
        params = [*context, *subject]
        with self._store.tx():
            if permissions is None:
                return self._store.run(f"DELETE FROM permission_grants WHERE {where}", params)  # noqa: S608
            return sum(
                self._store.run(
                    f"DELETE FROM permission_grants WHERE {where} AND permission = ?",  # noqa: S608
                    (*params, perm),
                )
                for perm in permissions
            )

    def revoke_everything(self, subject_type: str, subject_value: str) -> int:
        """Delete every grant given to a subject (a removed test person or entity)."""
        return self._store.run(
            "DELETE FROM permission_grants WHERE subject_type = ? AND subject_value = ?",
            (subject_type, subject_value),
        )

    def testdata_grant(self, body: object) -> None:
        """``POST /testdata/permissions``: ZAW-FA grants (author ``System``)."""
        req = parse_body(rq.ZawFaGrant, body)
        context = ("Nip", _nip(req.contextIdentifier.value, "contextIdentifier"))
        subject = _subject(req.authorizedIdentifier.type, req.authorizedIdentifier.value)
        types = rq.unique([p.permissionType for p in req.permissions], "permissions")
        descriptions: dict[str, str] = {p.permissionType: p.description for p in req.permissions}
        self.grant_system(context, subject, [(t, descriptions[t]) for t in types])

    def testdata_revoke(self, body: object) -> None:
        """``POST /testdata/permissions/revoke``: the subject's direct grants in the context."""
        req = parse_body(rq.ZawFaRevoke, body)
        context = ("Nip", _nip(req.contextIdentifier.value, "contextIdentifier"))
        self.revoke_direct(
            context, _subject(req.authorizedIdentifier.type, req.authorizedIdentifier.value)
        )


def _bind(fn: Callable[[str], None], reference: str) -> Callable[[], None]:
    return lambda: fn(reference)


def check_permission_id(value: str, field: str) -> str:
    """``value`` if it has the shape of a ``PermissionId`` (36 characters), else 21405.

    >>> check_permission_id("0c9a72e8-f344-457f-9c16-7c640eb60242", "permissionId")
    '0c9a72e8-f344-457f-9c16-7c640eb60242'
    """
    if len(value) != 36:
        raise validation_error(
            f"{field}: wartość {value[:64]!r} nie jest identyfikatorem uprawnienia (36 znaków)."
        )
    return value


def _nip(value: str, field: str) -> str:
    normalised = rq.check_identifier("Nip", value, field)
    assert normalised is not None
    return normalised


def _subject(kind: str, value: str) -> tuple[str, str]:
    return kind, normalise_subject(kind, value, "authorizedIdentifier")


def _author_value(claims: Claims) -> str:
    if claims.subject_type == "Fingerprint":
        return claims.subject_value.upper()
    return claims.subject_value
