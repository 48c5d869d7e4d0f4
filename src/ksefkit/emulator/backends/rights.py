"""Who may act in which context: owner rules, granted permissions and blocked contexts.

Rules (KSEF_API.md §4.1, §12.2; the emulator's decisions where KSeF is silent):

* The owner of a NIP — a company seal ``VATPL-<nip>`` or a person ``TINPL-<nip>``, both seen as
  subject ``("Nip", nip)`` — holds every permission in the context ``Nip:<nip>`` without any
  seeding.
* **Decision:** the owner of the NIP part of an ``InternalId`` (``<nip>-<5 digits>``) owns that
  sub-unit context too. Real KSeF needs the sub-unit to be created and its administrator
  granted; the emulator has no sub-unit registry, so the parent's owner stands in for it.
* ``NipVatUe`` and ``PeppolId`` contexts have no owner: only grants count (plus test data:
  a Peppol provider holds ``PefInvoiceWrite`` in its own ``PeppolId`` context, and a person
  created with ``/testdata/person`` owns its NIP through its PESEL — :mod:`.testdata`).
* Anyone else (a PESEL person, a certificate fingerprint, another NIP) holds what the grants
  of :mod:`.permissions` give in the context (``/permissions/*/grants``, ZAW-FA test data
  ``/testdata/permissions``, and the admin API ``POST /_emulator/permissions``, which writes
  through the same register as ``System`` grants).
* A blocked context (``/testdata/context/block``) refuses every authentication (status 480).

These permissions are read when a subject authenticates (auth status 415 without any) and when
a KSeF token is activated or used; an access token then carries them until it expires, as KSeF
documents, so a revocation shows at the next authentication.

Fingerprints are stored upper-case and compared case-insensitively (§17.8).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ...identifiers import INTERNAL_ID_RE, NIP_RE, NIP_VAT_UE_RE, PEPPOL_ID_RE, PESEL_RE
from ..clock import isoformat
from ..errors import validation_error

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = [
    "ADMIN_GRANT_DESCRIPTION",
    "ALL_PERMISSIONS",
    "CONTEXT_TYPES",
    "OWNER_PERMISSIONS",
    "SUBJECT_TYPES",
    "Rights",
    "check_context",
    "normalise_subject",
]

#: The permissions a NIP owner holds in its own context (the token permission set).
OWNER_PERMISSIONS = (
    "InvoiceRead",
    "InvoiceWrite",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
    "EnforcementOperations",
    "Introspection",
    "CollectiveIdentifierManage",
)
#: Description of the grants made through the emulator's admin API.
ADMIN_GRANT_DESCRIPTION = "Nadane przez administratora emulatora"
#: Every permission name the emulator knows (grants may also give ``PefInvoiceWrite``).
ALL_PERMISSIONS = (*OWNER_PERMISSIONS, "PefInvoiceWrite")
CONTEXT_TYPES = ("Nip", "InternalId", "NipVatUe", "PeppolId")
SUBJECT_TYPES = ("Nip", "Pesel", "Fingerprint")

_CONTEXT_RES = {
    "Nip": NIP_RE,
    "InternalId": INTERNAL_ID_RE,
    "NipVatUe": NIP_VAT_UE_RE,
    "PeppolId": PEPPOL_ID_RE,
}


def check_context(context_type: str, value: str, field: str = "contextIdentifier") -> None:
    """400/21405 unless ``value`` has the format of ``context_type``.

    >>> check_context("Nip", "5265877635")
    >>> check_context("InternalId", "5265877635")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    pattern = _CONTEXT_RES.get(context_type)
    if pattern is None:
        raise validation_error(f"{field}.type: nieznany typ kontekstu {context_type!r}.")
    if not (value.isascii() and pattern.match(value)):
        raise validation_error(f"{field}.value: {value!r} nie jest poprawnym {context_type}.")


def normalise_subject(subject_type: str, value: str, field: str = "subject") -> str:
    """The stored form of a subject identifier (fingerprints upper-case); 21405 if malformed.

    >>> normalise_subject("Fingerprint", "ab" * 32) == "AB" * 32
    True
    """
    if subject_type == "Fingerprint":
        upper = value.upper()
        if len(upper) != 64 or not all(c in "0123456789ABCDEF" for c in upper):
            raise validation_error(f"{field}.value: odcisk palca to 64 znaki szesnastkowe.")
        return upper
    pattern = {"Nip": NIP_RE, "Pesel": PESEL_RE}.get(subject_type)
    if pattern is None:
        raise validation_error(f"{field}.type: nieznany typ identyfikatora {subject_type!r}.")
    if not (value.isascii() and pattern.match(value)):
        raise validation_error(f"{field}.value: {value!r} nie jest poprawnym {subject_type}.")
    return value


def owner_nip(context_type: str, context_value: str) -> str | None:
    """The NIP whose owner owns the context (None for NipVatUe / PeppolId).

    >>> owner_nip("InternalId", "5265877635-00001"), owner_nip("PeppolId", "PPL123456")
    ('5265877635', None)
    """
    if context_type == "Nip":
        return context_value
    if context_type == "InternalId":
        return context_value.split("-", 1)[0]
    return None


class Rights:
    """Grants and blocks over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    def permissions(
        self, context_type: str, context_value: str, subject_type: str, subject_value: str
    ) -> tuple[str, ...]:
        """The permissions ``subject`` holds in the context (owner rule plus grants), sorted."""
        held: set[str] = set()
        if subject_type == "Nip" and owner_nip(context_type, context_value) == subject_value:
            held.update(OWNER_PERMISSIONS)
        if subject_type == "Fingerprint":
            subject_value = subject_value.upper()
        rows = self._store.all(
            "SELECT permission FROM permissions WHERE context_type = ? AND context_value = ?"
            " AND subject_type = ? AND subject_value = ?",
            (context_type, context_value, subject_type, subject_value),
        )
        held.update(r["permission"] for r in rows)
        ident = (context_type, context_value, subject_type, subject_value)
        held.update(self._state.permissions.held(*ident))
        # The test-data backend may be absent from a trimmed state; nothing is implied then.
        testdata = getattr(self._state, "testdata", None)
        if testdata is not None:
            held.update(testdata.implied_permissions(*ident))
        return tuple(sorted(held))

    def grant(
        self,
        context_type: str,
        context_value: str,
        subject_type: str,
        subject_value: str,
        permissions: Iterable[str],
    ) -> None:
        """Give ``subject`` the ``permissions`` in the context (idempotent; 21405 if invalid).

        The grants are ``System`` grants of :mod:`.permissions`, so the permission queries and
        revocations see them like any other.
        """
        perms = list(permissions)
        check_context(context_type, context_value, "context")
        subject_value = normalise_subject(subject_type, subject_value)
        unknown = sorted(set(perms) - set(ALL_PERMISSIONS))
        if unknown or not perms:
            raise validation_error(f"permissions: oczekiwano uprawnień z {list(ALL_PERMISSIONS)}.")
        self._state.permissions.grant_system(
            (context_type, context_value),
            (subject_type, subject_value),
            [(perm, ADMIN_GRANT_DESCRIPTION) for perm in dict.fromkeys(perms)],
        )

    def revoke(
        self,
        context_type: str,
        context_value: str,
        subject_type: str,
        subject_value: str,
        permissions: Iterable[str] | None = None,
    ) -> int:
        """Take direct grants back (all of the subject's in the context when ``permissions`` is
        None); returns how many were removed."""
        if subject_type == "Fingerprint":
            subject_value = subject_value.upper()
        perms = None if permissions is None else list(permissions)
        where = "context_type = ? AND context_value = ? AND subject_type = ? AND subject_value = ?"
        params: list[str] = [context_type, context_value, subject_type, subject_value]
        with self._store.tx():
            if perms is None:
                removed = self._store.run(f"DELETE FROM permissions WHERE {where}", params)  # noqa: S608
            else:
                removed = sum(
                    self._store.run(
                        f"DELETE FROM permissions WHERE {where} AND permission = ?",  # noqa: S608
                        (*params, perm),
                    )
                    for perm in perms
                )
            return removed + self._state.permissions.revoke_direct(
                (context_type, context_value), (subject_type, subject_value), perms
            )

    def revoke_everywhere(self, subject_type: str, subject_value: str) -> int:
        """Take every grant away from a subject, in every context (a removed test person)."""
        if subject_type == "Fingerprint":
            subject_value = subject_value.upper()
        with self._store.tx():
            removed = self._store.run(
                "DELETE FROM permissions WHERE subject_type = ? AND subject_value = ?",
                (subject_type, subject_value),
            )
            return removed + self._state.permissions.revoke_everything(subject_type, subject_value)

    # -- blocking --------------------------------------------------------------------------

    def block(self, context_type: str, context_value: str) -> None:
        """Refuse authentication into the context (status 480) until :meth:`unblock`."""
        check_context(context_type, context_value)
        self._store.run(
            "INSERT OR REPLACE INTO blocked_contexts VALUES (?, ?, ?)",
            (context_type, context_value, isoformat(self._state.clock.now())),
        )

    def unblock(self, context_type: str, context_value: str) -> None:
        """Allow authentication into the context again (no-op if it was not blocked)."""
        check_context(context_type, context_value)
        self._store.run(
            "DELETE FROM blocked_contexts WHERE context_type = ? AND context_value = ?",
            (context_type, context_value),
        )

    def is_blocked(self, context_type: str, context_value: str) -> bool:
        """Whether authentication into the context is blocked."""
        row = self._store.one(
            "SELECT 1 FROM blocked_contexts WHERE context_type = ? AND context_value = ?",
            (context_type, context_value),
        )
        return row is not None
