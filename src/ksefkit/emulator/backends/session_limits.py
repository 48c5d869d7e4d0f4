"""Per-context session limits: ``GET /limits/context`` and the TEST overrides of
``POST/DELETE /testdata/limits/context/session`` (KSEF_API.md §11.1).

Rules:

* Without an override a context gets the emulator's configuration: invoice size
  ``max_invoice_size``, with attachments ``max_invoice_size_with_attachment``, invoices per
  session ``session_invoice_limit`` (online) and ``batch_max_invoices`` (batch).
* An override (sizes in whole MB, 1 MB = 10^6 B as KSeF counts invoice sizes; online and batch
  ranges per open-api.json: 0-5 MB, 0-10 MB with attachments, 0-100 000 invoices) replaces all
  six values for the caller's context until ``DELETE`` restores the defaults.
* **Decision:** limits are read when they are applied, not frozen at session opening: an
  override changes open sessions too (KSeF does not say). Online sessions check the invoice
  count when an invoice is sent (21155) and the size when it is processed (status 430); batch
  sessions check the count when the package is unpacked (session status 420) and each
  invoice's size when it is processed (430).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ..clock import isoformat
from . import parse_body

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["MB", "Limits", "SessionLimits"]

#: Bytes in one of KSeF's invoice-size megabytes.
MB = 1_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS session_limits (
    context_type TEXT NOT NULL, context_value TEXT NOT NULL,
    online_size_mb INTEGER NOT NULL, online_attachment_mb INTEGER NOT NULL,
    online_invoices INTEGER NOT NULL, batch_size_mb INTEGER NOT NULL,
    batch_attachment_mb INTEGER NOT NULL, batch_invoices INTEGER NOT NULL, set_at TEXT NOT NULL,
    PRIMARY KEY (context_type, context_value));
"""


@dataclass(frozen=True)
class Limits:
    """The limits of one session kind, in bytes and invoices."""

    max_invoice_size: int
    max_invoice_with_attachment_size: int
    max_invoices: int

    def wire(self) -> dict[str, int]:
        """The ``*EffectiveContextLimits`` object (sizes in whole MB, rounded down).

        >>> Limits(1_000_000, 3_000_000, 10).wire()["maxInvoiceWithAttachmentSizeInMB"]
        3
        """
        return {
            "maxInvoiceSizeInMB": self.max_invoice_size // MB,
            "maxInvoiceWithAttachmentSizeInMB": self.max_invoice_with_attachment_size // MB,
            "maxInvoices": self.max_invoices,
        }


class _Override(BaseModel):
    maxInvoiceSizeInMB: int = Field(ge=0, le=5)
    maxInvoiceWithAttachmentSizeInMB: int = Field(ge=0, le=10)
    maxInvoices: int = Field(ge=0, le=100_000)


class _SetSessionLimits(BaseModel):
    onlineSession: _Override
    batchSession: _Override


class SessionLimits:
    """Effective session limits per context, with the TEST overrides."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    def online(self, context_type: str, context_value: str) -> Limits:
        """The limits of online sessions in the context."""
        return self._effective(context_type, context_value)[0]

    def batch(self, context_type: str, context_value: str) -> Limits:
        """The limits of batch sessions in the context."""
        return self._effective(context_type, context_value)[1]

    def for_session(self, session: Any) -> Limits:
        """The limits that apply to a ``sessions`` row (by its kind and context)."""
        online, batch = self._effective(session["context_type"], session["context_value"])
        return batch if session["session_type"] == "Batch" else online

    def effective(self, context_type: str, context_value: str) -> dict[str, dict[str, int]]:
        """``EffectiveContextLimits`` of the context (``GET /limits/context``)."""
        online, batch = self._effective(context_type, context_value)
        return {"onlineSession": online.wire(), "batchSession": batch.wire()}

    def set(self, context_type: str, context_value: str, body: object) -> None:
        """``POST /testdata/limits/context/session``: override all six values (21405 if bad)."""
        req = parse_body(_SetSessionLimits, body)
        on, ba = req.onlineSession, req.batchSession
        self._store.run(
            "INSERT OR REPLACE INTO session_limits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                context_type,
                context_value,
                on.maxInvoiceSizeInMB,
                on.maxInvoiceWithAttachmentSizeInMB,
                on.maxInvoices,
                ba.maxInvoiceSizeInMB,
                ba.maxInvoiceWithAttachmentSizeInMB,
                ba.maxInvoices,
                isoformat(self._state.clock.now()),
            ),
        )

    def reset(self, context_type: str, context_value: str) -> None:
        """``DELETE /testdata/limits/context/session``: the defaults apply again."""
        self._store.run(
            "DELETE FROM session_limits WHERE context_type = ? AND context_value = ?",
            (context_type, context_value),
        )

    def _effective(self, context_type: str, context_value: str) -> tuple[Limits, Limits]:
        row = self._store.one(
            "SELECT * FROM session_limits WHERE context_type = ? AND context_value = ?",
            (context_type, context_value),
        )
        if row is not None:
            return (
                Limits(
                    row["online_size_mb"] * MB,
                    row["online_attachment_mb"] * MB,
                    row["online_invoices"],
                ),
                Limits(
                    row["batch_size_mb"] * MB,
                    row["batch_attachment_mb"] * MB,
                    row["batch_invoices"],
                ),
            )
        cfg = self._state.config
        size, with_attachment = cfg.max_invoice_size, cfg.max_invoice_size_with_attachment
        return (
            Limits(size, with_attachment, cfg.session_invoice_limit),
            Limits(size, with_attachment, cfg.batch_max_invoices),
        )
