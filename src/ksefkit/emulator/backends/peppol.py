"""The registry of Peppol service providers behind ``GET /peppol/query`` (KSEF_API.md §14.2).

How providers appear (KSeF: "the first successful authentication of a provider with its
dedicated certificate registers it"; the official C# client's E2E test signs with a company
seal whose ``CN`` is the PeppolId and ``O`` the organisation name):

* **auto-registration** — the first successful XAdES authentication into a ``PeppolId``
  context, signed with a seal whose ``CN`` equals that PeppolId, registers the provider; its
  name is the certificate's ``O`` (``CN`` when there is none). Later authentications change
  nothing (the first name and date stay);
* **seeding** — ``POST /_emulator/peppol/providers {id, name}`` registers one directly (also
  idempotent), for tests that only need the registry.

The list is sorted ``dateCreated`` descending, then ``id`` ascending, and paged with
``pageOffset`` (a page number) and ``pageSize`` (10-100, default 10), as open-api.json says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from ...identifiers import PEPPOL_ID_RE
from ..clock import isoformat
from ..errors import validation_error
from . import int_query

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["PeppolRegistry", "provider_id", "provider_name"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS peppol_providers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, date_created TEXT NOT NULL);
"""


def _attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def provider_id(cert: x509.Certificate) -> str | None:
    """The PeppolId a provider seal carries in its ``CN`` (None when it is not one)."""
    common_name = _attribute(cert, NameOID.COMMON_NAME)
    if common_name and PEPPOL_ID_RE.fullmatch(common_name):
        return common_name
    return None


def provider_name(cert: x509.Certificate) -> str:
    """The provider's name: the seal's ``O``, else its ``CN`` (at most 256 characters)."""
    name = _attribute(cert, NameOID.ORGANIZATION_NAME) or _attribute(cert, NameOID.COMMON_NAME)
    return (name or "Dostawca usług Peppol")[:256]


class PeppolRegistry:
    """Registered Peppol service providers over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    def register(self, peppol_id: str, name: str) -> dict[str, Any]:
        """Register a provider (once: a known id keeps its name and date); its wire view."""
        if not (peppol_id.isascii() and PEPPOL_ID_RE.fullmatch(peppol_id)):
            raise validation_error(f"id: {peppol_id!r} nie jest poprawnym PeppolId.")
        if not 1 <= len(name) <= 256:
            raise validation_error("name: od 1 do 256 znaków.")
        self._store.run(
            "INSERT OR IGNORE INTO peppol_providers VALUES (?, ?, ?)",
            (peppol_id, name, isoformat(self._state.clock.now())),
        )
        row = self._store.one("SELECT * FROM peppol_providers WHERE id = ?", (peppol_id,))
        assert row is not None
        return _wire(row)

    def register_certificate(self, peppol_id: str, certificate_der: bytes) -> None:
        """Auto-registration: the provider whose seal just authenticated in its context."""
        cert = x509.load_der_x509_certificate(certificate_der)
        if provider_id(cert) == peppol_id:
            self.register(peppol_id, provider_name(cert))

    def is_registered(self, peppol_id: str) -> bool:
        """Whether the provider is in the registry."""
        return (
            self._store.one("SELECT 1 FROM peppol_providers WHERE id = ?", (peppol_id,)) is not None
        )

    def query(self, page_offset: object, page_size: object) -> dict[str, Any]:
        """``GET /peppol/query``: one page of ``QueryPeppolProvidersResponse``."""
        offset = int_query(page_offset, "pageOffset", default=0, low=0, high=2**31 - 1)
        size = int_query(page_size, "pageSize", default=10, low=10, high=100)
        rows = self._store.all(
            "SELECT * FROM peppol_providers ORDER BY date_created DESC, id ASC LIMIT ? OFFSET ?",
            (size + 1, offset * size),
        )
        return {
            "peppolProviders": [_wire(r) for r in rows[:size]],
            "hasMore": len(rows) > size,
        }


def _wire(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "dateCreated": row["date_created"]}
