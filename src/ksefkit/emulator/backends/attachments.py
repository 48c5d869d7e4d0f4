"""Consent to send invoices with attachments (``Zalacznik``): the register behind
``/testdata/attachment``, ``/testdata/attachment/revoke`` and
``GET /permissions/attachments/status`` (KSEF_API.md §9, §12.2, §14.1).

On KSeF the consent is filed in e-Urząd Skarbowy; TEST simulates it per NIP. Rules:

* ``POST /testdata/attachment {nip}`` gives consent from now on (again, after a revocation);
* ``POST /testdata/attachment/revoke {nip, expectedEndDate?}`` ends it at the start (Europe/
  Warsaw) of ``expectedEndDate``, or now; the status then carries ``revokedDate``;
* the status of a context is its NIP's (an ``InternalId`` sub-unit's parent NIP; ``NipVatUe``
  and ``PeppolId`` contexts have none, so they may not);
* batch invoices with attachments from a context without consent end with status 415.

**Decision:** a NIP with no record follows ``EmulatorConfig.require_attachment_consent``:
``False`` (the default, and the emulator's behaviour before this register existed) lets it send
attachments; ``True`` refuses them until ``/testdata/attachment``, as KSeF TEST does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..clock import isoformat, parse_datetime
from ..errors import validation_error
from . import parse_body
from . import permission_requests as rq
from .auth import Claims
from .rights import owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["AttachmentConsents"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS attachment_consents (
    nip TEXT PRIMARY KEY, granted TEXT NOT NULL, revoked_date TEXT);
"""
_WARSAW = ZoneInfo("Europe/Warsaw")


class AttachmentConsents:
    """The per-NIP consent register over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    def allow(self, body: object) -> None:
        """``POST /testdata/attachment``: the NIP may send invoices with attachments."""
        nip = _nip(parse_body(rq.AttachmentGrant, body).nip)
        self._store.run(
            "INSERT OR REPLACE INTO attachment_consents VALUES (?, ?, NULL)",
            (nip, isoformat(self._state.clock.now())),
        )

    def revoke(self, body: object) -> None:
        """``POST /testdata/attachment/revoke``: consent ends at ``expectedEndDate`` or now."""
        req = parse_body(rq.AttachmentRevoke, body)
        nip = _nip(req.nip)
        now = self._state.clock.now()
        end = now
        if req.expectedEndDate is not None:
            day = dt.date.fromisoformat(req.expectedEndDate)
            try:
                end = dt.datetime.combine(day, dt.time(), _WARSAW).astimezone(dt.UTC)
            except OverflowError:  # 0001-01-01 in Warsaw is still year 0 in UTC
                raise validation_error(
                    f"expectedEndDate: data {req.expectedEndDate} poza zakresem."
                ) from None
        self._store.run(
            "INSERT INTO attachment_consents VALUES (?, ?, ?) ON CONFLICT (nip)"
            " DO UPDATE SET revoked_date = excluded.revoked_date",
            (nip, isoformat(now), isoformat(end)),
        )

    def allowed(self, nip: str | None) -> bool:
        """Whether ``nip`` may send invoices with attachments now."""
        return bool(self._status(nip)["isAttachmentAllowed"])

    def status(self, claims: Claims) -> dict[str, Any]:
        """``GET /permissions/attachments/status`` (``CheckAttachmentPermissionStatusResponse``)."""
        return self._status(owner_nip(claims.context_type, claims.context_value))

    def _status(self, nip: str | None) -> dict[str, Any]:
        row = None
        if nip is not None:
            row = self._store.one("SELECT * FROM attachment_consents WHERE nip = ?", (nip,))
        if row is None:
            allowed = nip is not None and not self._state.config.require_attachment_consent
            return {"isAttachmentAllowed": allowed}
        revoked = row["revoked_date"]
        if revoked is None:
            return {"isAttachmentAllowed": True}
        allowed = self._state.clock.now() < parse_datetime(revoked)
        return {"isAttachmentAllowed": allowed, "revokedDate": revoked}


def _nip(value: str) -> str:
    checked = rq.check_identifier("Nip", value, "nip")
    assert checked is not None
    return checked
