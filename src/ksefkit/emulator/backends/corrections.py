"""Technical corrections of offline invoices (KSEF_API.md §13.2): the rules behind 21166 and
21167, the content check while processing, and the link from an original to its correction.

A correction is an invoice sent in an online session with ``hashOfCorrectedInvoice`` (the
SHA-256 of the rejected original). Checked synchronously, inside the send's transaction, in
this order (the OAS documents the first two details; the others are emulator decisions,
``docs/offline.md``):

* ``hashOfCorrectedInvoice`` not a Base64 SHA-256, or ``offlineMode`` not true → 21405;
* an invoice with that hash in the context was accepted → 21167 "Nie można wysłać korekty
  technicznej do prawidłowo przetworzonej faktury."; one still being processed → 21167;
* an accepted correction of that original exists → 21166 "Faktura posiada już przetworzoną
  prawidłowo korektę techniczną."; one still being processed → 21166;
* no invoice with that hash in the context, the hash is the correction's own, the hash names
  a correction rather than an original, the original was not an offline invoice (declared
  ``offlineMode`` or the auto-offline rule), or it was rejected for missing permissions
  (410: "korekta techniczna nie dotyczy") → 21166.

While processing, a correction may carry attachments (``Zalacznik``) in an online session
and must have the original's seller (Podmiot1 NIP) when the original's is known (else 450).
Once accepted, :meth:`TechnicalCorrections.corrected_by` leads from the original's hash to
it (the KOD I page of the original points there).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...invoices.facts import InvoiceFacts
from ..clock import parse_datetime, warsaw_date
from ..errors import KsefApiError, bad_request, validation_error

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["NOT_TECHNICAL", "CorrectionLink", "TechnicalCorrections"]

#: Rejections a technical correction cannot fix: missing permissions of the parties.
NOT_TECHNICAL = frozenset({410})
_PENDING = (100, 150)

_ALREADY_CORRECTED = "Faktura posiada już przetworzoną prawidłowo korektę techniczną."
_ACCEPTED = "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."


@dataclass(frozen=True)
class CorrectionLink:
    """An accepted technical correction and the original it corrects."""

    original_hash: str
    invoice_hash: str
    ksef_number: str
    reference_number: str
    session_reference: str
    seller_nip: str | None
    issue_date: dt.date | None
    acquisition_date: str | None


class TechnicalCorrections:
    """The technical-correction rules over the invoice store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    def check(
        self, session: Any, *, offline_mode: bool, invoice_hash: str, original_hash: str
    ) -> None:
        """The synchronous rules for a send with ``hashOfCorrectedInvoice`` (raises a 400)."""
        if not _is_sha256_b64(original_hash):
            raise validation_error("hashOfCorrectedInvoice: wymagany skrót SHA-256 w Base64.")
        if not offline_mode:
            raise validation_error("Korekta techniczna faktury offline wymaga offlineMode: true.")
        rows = self._with_hash(session, original_hash)
        _check_original_status(rows)
        self._check_existing_corrections(session, original_hash)
        _check_original(rows, invoice_hash, original_hash)

    def verify(self, row: Any, session: Any, facts: InvoiceFacts) -> str | None:
        """Processing: why this correction cannot be accepted (None when it can)."""
        original = row["hash_of_corrected"]
        if original is None:
            return None
        sellers = {r["seller_nip"] for r in self._with_hash(session, original) if r["seller_nip"]}
        if sellers and facts.seller_nip not in sellers:
            return (
                f"Sprzedawca korekty technicznej ({facts.seller_nip}) jest inny niż sprzedawca"
                f" faktury korygowanej ({', '.join(sorted(sellers))})."
            )
        return None

    def corrected_by(self, invoice_hash: str) -> CorrectionLink | None:
        """The accepted technical correction of the original with this hash, if any."""
        row = self._store.one(
            "SELECT * FROM invoices WHERE hash_of_corrected = ? AND status_code = 200"
            " ORDER BY acquisition_date LIMIT 1",
            (invoice_hash,),
        )
        return None if row is None else _link(row)

    def correction(self, invoice_hash: str) -> CorrectionLink | None:
        """The link of an accepted correction by its own hash (None if it is no correction)."""
        row = self._store.one(
            "SELECT * FROM invoices WHERE invoice_hash = ? AND status_code = 200"
            " AND hash_of_corrected IS NOT NULL LIMIT 1",
            (invoice_hash,),
        )
        return None if row is None else _link(row)

    # -- internals ---------------------------------------------------------------------------

    def _with_hash(self, session: Any, invoice_hash: str) -> list[Any]:
        """The invoices with this hash sent in the session's context (any session type)."""
        return self._store.all(
            "SELECT i.* FROM invoices i JOIN sessions s ON s.reference_number ="
            " i.session_reference WHERE i.invoice_hash = ? AND s.context_type = ?"
            " AND s.context_value = ? ORDER BY i.invoicing_date",
            (invoice_hash, session["context_type"], session["context_value"]),
        )

    def _check_existing_corrections(self, session: Any, original_hash: str) -> None:
        corrections = self._store.all(
            "SELECT i.status_code, i.ksef_number FROM invoices i JOIN sessions s"
            " ON s.reference_number = i.session_reference WHERE i.hash_of_corrected = ?"
            " AND s.context_type = ? AND s.context_value = ?",
            (original_hash, session["context_type"], session["context_value"]),
        )
        accepted = [c["ksef_number"] for c in corrections if c["status_code"] == 200]
        if accepted:
            raise _unavailable(f"{_ALREADY_CORRECTED} Numer KSeF korekty: {accepted[0]}.")
        if any(c["status_code"] in _PENDING for c in corrections):
            raise _unavailable("Korekta techniczna tej faktury jest w trakcie przetwarzania.")


def _check_original_status(rows: list[Any]) -> None:
    accepted = [r for r in rows if r["status_code"] == 200]
    if accepted:
        raise bad_request(21167, f"{_ACCEPTED} Numer KSeF faktury: {accepted[0]['ksef_number']}.")
    if any(r["status_code"] in _PENDING for r in rows):
        raise bad_request(21167, "Faktura korygowana jest w trakcie przetwarzania.")


def _check_original(rows: list[Any], invoice_hash: str, original_hash: str) -> None:
    if invoice_hash == original_hash:
        raise _unavailable("Skrót korekty technicznej jest równy skrótowi faktury korygowanej.")
    if not rows:
        raise _unavailable(f"Nie odnaleziono odrzuconej faktury o skrócie {original_hash}.")
    originals = [r for r in rows if r["hash_of_corrected"] is None]
    if not originals:
        raise _unavailable(
            "Wskazana faktura jest korektą techniczną: wskaż skrót faktury pierwotnej."
        )
    offline = [r for r in originals if _was_offline(r)]
    if not offline:
        raise _unavailable("Korekta techniczna dotyczy wyłącznie faktur wystawionych offline.")
    if all(r["status_code"] in NOT_TECHNICAL for r in offline):
        raise _unavailable(
            "Faktura została odrzucona z powodu braku uprawnień: korekta techniczna nie dotyczy."
        )


def _was_offline(row: Any) -> bool:
    """Declared offline, or issued on an earlier day than KSeF took it (auto-offline, §9)."""
    if row["offline_mode"]:
        return True
    if not row["issue_date"]:
        return False
    issued = dt.date.fromisoformat(row["issue_date"])
    return issued < warsaw_date(parse_datetime(row["invoicing_date"]))


def _unavailable(detail: str) -> KsefApiError:
    return bad_request(21166, detail)


def _is_sha256_b64(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _link(row: Any) -> CorrectionLink:
    return CorrectionLink(
        original_hash=row["hash_of_corrected"],
        invoice_hash=row["invoice_hash"],
        ksef_number=row["ksef_number"],
        reference_number=row["reference_number"],
        session_reference=row["session_reference"],
        seller_nip=row["seller_nip"],
        issue_date=dt.date.fromisoformat(row["issue_date"]) if row["issue_date"] else None,
        acquisition_date=row["acquisition_date"],
    )
