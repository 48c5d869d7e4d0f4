"""Authentication sessions (``/auth/sessions``): list them, revoke the current one or another.

* Scope (**decision**, KSEF_API.md §17.16): the sessions of the caller's subject in the
  caller's context — successful operations (status 200) of the same subject type and value
  in the same context whose refresh token has not expired, newest first, ``isCurrent`` for
  the one the calling token belongs to. Continuation-token paging, ``pageSize`` 10–100.
* Revoking sets the operation's status to 425 "Uwierzytelnienie unieważnione". Its refresh
  token then fails with **400/21301** ("Brak autoryzacji": the status does not allow a
  refresh — the code the spec lists for refresh), while access tokens already issued stay
  valid until ``exp`` (as the spec says). Revoking an already revoked session is a no-op;
  a reference outside the scope is 400/21405 (the only code the OAS lists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clock import isoformat
from ..errors import validation_error
from . import dumps, paginate
from .auth import Claims, status_body

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["AuthSessions"]

_REVOKED = "Uwierzytelnienie unieważnione"
_REVOKED_DETAIL = (
    "Uwierzytelnienie i powiązane refresh tokeny zostały unieważnione przez użytkownika"
)


class AuthSessions:
    """Listing and revocation of authentication sessions."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    def list_sessions(
        self, claims: Claims, page_size: str | None, continuation_token: str | None
    ) -> dict[str, Any]:
        """``GET /auth/sessions`` (``AuthenticationListResponse``)."""
        size = 10
        if page_size is not None:
            try:
                size = int(page_size)
            except ValueError:
                raise validation_error("pageSize: oczekiwano liczby całkowitej.") from None
            if not 10 <= size <= 100:
                raise validation_error("pageSize: dozwolone wartości 10–100.")
        now = isoformat(self._state.clock.now())
        rows = [
            r
            for r in self._scope(claims)
            if r["status_code"] == 200
            and (r["refresh_valid_until"] is None or r["refresh_valid_until"] > now)
        ]
        page, token = paginate(rows, continuation_token, size)
        items = []
        for row in page:
            item = {"referenceNumber": row["reference_number"], **status_body(row)}
            item["isCurrent"] = row["reference_number"] == claims.reference_number
            items.append(item)
        body: dict[str, Any] = {"items": items}
        if token is not None:
            body["continuationToken"] = token
        return body

    def revoke_current(self, claims: Claims) -> None:
        """``DELETE /auth/sessions/current`` (access or refresh token of that session)."""
        self._revoke(claims.reference_number)

    def revoke(self, claims: Claims, reference: str) -> None:
        """``DELETE /auth/sessions/{referenceNumber}`` within the caller's scope."""
        if not any(r["reference_number"] == reference for r in self._scope(claims)):
            raise validation_error(
                f"Sesja uwierzytelnienia o numerze referencyjnym {reference} nie została"
                " znaleziona."
            )
        self._revoke(reference)

    def _scope(self, claims: Claims) -> list[Any]:
        return self._store.all(
            "SELECT * FROM auth_operations WHERE context_type = ? AND context_value = ?"
            " AND subject_type = ? AND subject_value = ? AND status_code IN (200, 425)"
            " ORDER BY start_date DESC, reference_number DESC",
            (
                claims.context_type,
                claims.context_value,
                claims.subject_type,
                claims.subject_value,
            ),
        )

    def _revoke(self, reference: str) -> None:
        self._store.run(
            "UPDATE auth_operations SET status_code = 425, status_description = ?,"
            " status_details = ? WHERE reference_number = ? AND status_code = 200",
            (_REVOKED, dumps([_REVOKED_DETAIL]), reference),
        )
