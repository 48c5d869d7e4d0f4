"""The result of a send, online or batch: one row per file, a table or one JSON document.

``send`` (online and batch) and ``session resume`` print the same shape, so a script reads
either the same way; a failed file makes the run end with exit code 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import SessionStatusResponse
from ._errors import SomeInvoicesFailed
from ._output import Output

__all__ = ["FileResult", "report"]


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    reference_number: str | None = None
    status_code: int | None = None
    ksef_number: str | None = None
    error: str | None = None
    upo: Path | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "invoiceReferenceNumber": self.reference_number,
            "statusCode": self.status_code,
            "ksefNumber": self.ksef_number,
            "error": self.error,
            "upo": str(self.upo) if self.upo else None,
        }


def report(
    out: Output,
    session_ref: str | None,
    results: Sequence[FileResult],
    session_status: SessionStatusResponse | None,
    session_upos: Sequence[Path],
    *,
    no_wait: bool = False,
    extra: dict[str, Any] | None = None,
    failure: str | None = None,
) -> None:
    """The table (or JSON document) of a send; SomeInvoicesFailed if any file failed
    (``failure`` replaces its message)."""
    out.table(
        f"session {session_ref}" if session_ref else "nothing sent",
        ["file", "invoice ref", "status", "KSeF number / error"],
        [
            [
                r.path.name,
                r.reference_number or "-",
                "-" if r.status_code is None else str(r.status_code),
                r.ksef_number or r.error or ("sent" if no_wait else "-"),
            ]
            for r in results
        ],
    )
    for path in session_upos:
        out.line(f"session UPO: {path}", markup=False)
    if out.json_mode:
        out.emit_json(
            {
                "sessionReferenceNumber": session_ref,
                **(extra or {}),
                "sessionStatus": session_status.status.to_wire() if session_status else None,
                "invoices": [r.to_json() for r in results],
                "sessionUpo": [str(p) for p in session_upos],
                "steps": [s.to_json() for s in out.steps],
            }
        )
    failed = [r for r in results if r.failed]
    if failed:
        raise SomeInvoicesFailed(failure or f"{len(failed)} of {len(results)} invoice(s) failed")
