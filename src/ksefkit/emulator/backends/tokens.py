"""KSeF tokens (``/tokens``): generate, list, status, revoke, and their state machine.

Lifecycle (KSEF_API.md §12.1): ``Pending`` → ``Active`` once processed (``immediate``: inside
the request; ``background``: by the worker; ``manual``: ``state.step()``), or ``Failed`` when
the author no longer holds every requested permission at that moment; ``DELETE`` moves an
``Active``/``Pending`` token to ``Revoking`` and processing to ``Revoked``. Only ``Active``
tokens authenticate (otherwise status 450 "Token nieaktywny" / "Token unieważniony").

Rules:

* generation only in ``Nip``/``InternalId`` contexts (26002) and only with permissions the
  caller's access token holds (26001); the token keeps exactly those permissions;
* the token string is ``<reference>|<nip-NIP | internalId-ID>|<64 hex secret>`` (the observed
  format, §17.13); only its SHA-256 is stored;
* visibility (§12.1, changelog 2.4.0): with ``CredentialsManage`` or ``CredentialsRead`` every
  token of the context; a caller authenticated with a KSeF token sees its own token; others
  see the tokens they authored. Revocation: ``CredentialsManage`` any token of the context,
  otherwise the same "own / authored" rule. A token outside that scope is 403
  ``insufficient-resource-access``; an unknown reference number is 400/21405.
* **Decision:** a token-authenticated caller may generate tokens too (KSeF's docs hint at
  XAdES but do not say what happens otherwise); revoking a token that is already revoked,
  revoking or failed is a no-op 204.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ..clock import isoformat
from ..errors import bad_request, forbidden, validation_error
from . import dumps, loads_list, paginate, parse_body
from .auth import Claims, token_hash

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["TOKEN_STATUSES", "TokensBackend"]

TOKEN_STATUSES = ("Pending", "Active", "Revoking", "Revoked", "Failed")
_TokenPermission = Literal[
    "InvoiceRead",
    "InvoiceWrite",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
    "EnforcementOperations",
    "Introspection",
    "CollectiveIdentifierManage",
]
_CONTEXT_PREFIX = {"Nip": "nip", "InternalId": "internalId"}


class _GenerateTokenRequest(BaseModel):
    permissions: list[_TokenPermission]
    description: str = Field(min_length=5, max_length=256)


class TokensBackend:
    """KSeF tokens over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    def generate(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /tokens`` → 202 ``{referenceNumber, token}`` (the token is shown once)."""
        req = parse_body(_GenerateTokenRequest, body)
        prefix = _CONTEXT_PREFIX.get(claims.context_type)
        if prefix is None:
            raise bad_request(
                26002,
                f"Bieżący typ kontekstu: {claims.context_type}; dozwolone: Nip, InternalId.",
            )
        missing = sorted(set(req.permissions) - set(claims.permissions))
        if missing:
            raise bad_request(26001, f"Brakujące uprawnienia: {', '.join(missing)}.")
        perms = list(dict.fromkeys(req.permissions))
        reference = self._state.ids.reference("EC", self._state.today())
        token = f"{reference}|{prefix}-{claims.context_value}|{self._state.ids.secret()}"
        now = isoformat(self._state.clock.now())
        self._store.run(
            "INSERT INTO ksef_tokens (reference_number, token_hash, context_type, context_value,"
            " subject_type, subject_value, permissions, description, status, created,"
            " status_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Pending', ?, ?)",
            (
                reference,
                token_hash(token),
                claims.context_type,
                claims.context_value,
                claims.subject_type,
                claims.subject_value,
                dumps(perms),
                req.description,
                now,
                now,
            ),
        )
        self._state.processor.kick()
        return {"referenceNumber": reference, "token": token}

    # -- processing ------------------------------------------------------------------------

    def pending(self) -> list[tuple[str, str]]:
        """``(referenceNumber, since)`` of tokens waiting in ``Pending`` or ``Revoking``."""
        rows = self._store.all(
            "SELECT reference_number, status_changed FROM ksef_tokens"
            " WHERE status IN ('Pending', 'Revoking') ORDER BY status_changed"
        )
        return [(r["reference_number"], r["status_changed"] or "") for r in rows]

    def advance(self, reference: str) -> None:
        """One processing step: Pending → Active (or Failed), Revoking → Revoked."""
        row = self._store.one("SELECT * FROM ksef_tokens WHERE reference_number = ?", (reference,))
        if row is None:
            return
        if row["status"] == "Revoking":
            self._set(reference, "Revoked")
        elif row["status"] == "Pending":
            held = self._state.rights.permissions(
                row["context_type"], row["context_value"], row["subject_type"], row["subject_value"]
            )
            lacking = sorted(set(json.loads(row["permissions"])) - set(held))
            if lacking:
                self._set(reference, "Failed", [f"Autor tokena nie posiada uprawnień: {lacking}."])
            else:
                self._set(reference, "Active")

    def revoke_authored_by(self, subject_type: str, subject_value: str) -> int:
        """Revoke every live token a subject created (it lost its permissions: a removed test
        person); they go through ``Revoking`` like a ``DELETE /tokens/{ref}``."""
        changed = self._store.run(
            "UPDATE ksef_tokens SET status = 'Revoking', status_changed = ?"
            " WHERE subject_type = ? AND subject_value = ? AND status IN ('Pending', 'Active')",
            (isoformat(self._state.clock.now()), subject_type, subject_value),
        )
        if changed:
            self._state.processor.kick()
        return changed

    def _set(self, reference: str, status: str, details: list[str] | None = None) -> None:
        self._store.run(
            "UPDATE ksef_tokens SET status = ?, status_details = ?, status_changed = ?"
            " WHERE reference_number = ?",
            (
                status,
                None if details is None else dumps(details),
                isoformat(self._state.clock.now()),
                reference,
            ),
        )

    # -- queries ---------------------------------------------------------------------------

    def status(self, claims: Claims, reference: str) -> dict[str, Any]:
        """``GET /tokens/{referenceNumber}`` (``TokenStatusResponse``)."""
        row = self._visible(claims, reference, revoke=False)
        return _item(row)

    def list_tokens(
        self, claims: Claims, query: dict[str, Any], continuation_token: str | None
    ) -> dict[str, Any]:
        """``GET /tokens`` with the OAS filters, newest first, continuation-token paging."""
        statuses = list(query.get("status") or [])
        bad = sorted(set(statuses) - set(TOKEN_STATUSES))
        if bad:
            raise validation_error(f"status: nieznane wartości {bad}; dozwolone {TOKEN_STATUSES}.")
        description = _min3(query.get("description"), "description")
        author = _min3(query.get("authorIdentifier"), "authorIdentifier")
        author_type = query.get("authorIdentifierType")
        if author_type is not None and author_type not in ("Nip", "Pesel", "Fingerprint"):
            raise validation_error("authorIdentifierType: dozwolone Nip, Pesel, Fingerprint.")
        page_size = _page_size(query.get("pageSize"))
        rows = self._store.all(
            "SELECT * FROM ksef_tokens WHERE context_type = ? AND context_value = ?"
            " ORDER BY created DESC, reference_number DESC",
            (claims.context_type, claims.context_value),
        )
        items = [
            r
            for r in rows
            if self._may_see(claims, r, revoke=False)
            and (not statuses or r["status"] in statuses)
            and (description is None or description.lower() in r["description"].lower())
            and (author_type is None or r["subject_type"] == author_type)
            and (author is None or author.lower() in r["subject_value"].lower())
        ]
        page, token = paginate(items, continuation_token, page_size)
        body: dict[str, Any] = {"tokens": [_item(r) for r in page]}
        if token is not None:
            body["continuationToken"] = token
        return body

    def revoke(self, claims: Claims, reference: str) -> None:
        """``DELETE /tokens/{referenceNumber}``: Active/Pending → Revoking (→ Revoked)."""
        row = self._visible(claims, reference, revoke=True)
        if row["status"] in ("Active", "Pending"):
            self._set(reference, "Revoking")
            self._state.processor.kick()

    def _visible(self, claims: Claims, reference: str, *, revoke: bool) -> Any:
        row = self._store.one("SELECT * FROM ksef_tokens WHERE reference_number = ?", (reference,))
        if row is None or (row["context_type"], row["context_value"]) != (
            claims.context_type,
            claims.context_value,
        ):
            raise validation_error(
                f"Token KSeF o numerze referencyjnym {reference} nie został znaleziony."
            )
        if not self._may_see(claims, row, revoke=revoke):
            raise forbidden("insufficient-resource-access", "Brak dostępu do wskazanego tokena.")
        return row

    def _may_see(self, claims: Claims, row: Any, *, revoke: bool) -> bool:
        wide = {"CredentialsManage"} if revoke else {"CredentialsManage", "CredentialsRead"}
        if wide & set(claims.permissions):
            return True
        if claims.method_category == "Token":
            return bool(row["reference_number"] == self._auth_token_reference(claims))
        return (row["subject_type"], row["subject_value"]) == (
            claims.subject_type,
            claims.subject_value,
        )

    def _auth_token_reference(self, claims: Claims) -> str | None:
        op = self._store.one(
            "SELECT token_reference FROM auth_operations WHERE reference_number = ?",
            (claims.reference_number,),
        )
        return None if op is None else op["token_reference"]


def _item(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "referenceNumber": row["reference_number"],
        "authorIdentifier": {"type": row["subject_type"], "value": row["subject_value"]},
        "contextIdentifier": {"type": row["context_type"], "value": row["context_value"]},
        "description": row["description"],
        "requestedPermissions": json.loads(row["permissions"]),
        "dateCreated": row["created"],
        "status": row["status"],
        "statusDetails": loads_list(row["status_details"]) or [],
    }
    if row["last_use"]:
        item["lastUseDate"] = row["last_use"]
    return item


def _min3(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < 3:
        raise validation_error(f"{field}: należy podać co najmniej 3 znaki.")
    return value


def _page_size(value: object) -> int:
    if value is None:
        return 10
    try:
        size = int(str(value))
    except ValueError:
        raise validation_error("pageSize: oczekiwano liczby całkowitej.") from None
    if not 10 <= size <= 100:
        raise validation_error("pageSize: dozwolone wartości 10–100.")
    return size
