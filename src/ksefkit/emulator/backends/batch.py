"""Batch sessions: open, pre-signed part uploads, close, unpack, finish, timeouts (§6).

Rules only (no HTTP). The lifecycle of a batch session row (``sessions.session_type =
'Batch'``) and its ``batch_sessions.stage``:

* open → status 100, stage ``open``; one ``batch_parts`` row per declared part. Upload links
  are valid for ``batch_upload_window_per_part`` × parts from the open (each part gets the
  whole window); ``validUntil`` = open + ``session_lifetime`` (12 h).
* part upload (``PUT /storage/batch/{ref}/batch-parts/{n}?sv&se&sr&sp&sig``, no bearer):
  :mod:`.batch_storage` (``state.batch.storage``) — streamed to disk, size and SHA-256
  checked against the declaration, Azure-style :class:`StorageError` otherwise.
* close → 21173 / 21180 / 21208 (after the upload window: the session is cancelled, 440) /
  21205 (part not uploaded) / 21157 (stored size ≠ declared) → status 150, stage ``closed``.
* unpack (a work item of the processor): key unwrap failed → 415; decrypt parts → 435;
  archive size/hash → 405; unpack → 430 / 420; no files → 440 "Nie przesłano faktur";
  otherwise one invoice row per file (status 100, ``invoiceFileName``, ``invoicingDate`` =
  session open time, ``offlineMode`` of the session) and stage ``unpacked``. Each invoice then
  runs through the online pipeline (:mod:`.processing`) with attachments allowed.
  An unexpected exception ends the session with 500 "Nieznany błąd (500)" and details.
* finish (no invoice left at 100): 200 with session UPO pages if any invoice succeeded, else 445.
* 12 h without close → 440 "Przekroczono czas wysyłki" (lazily on every session lookup and in
  the worker). Files of a session are removed once it reaches a final status.

Restarts: the stage says what is left to do. A package interrupted while unpacking (stage still
``closed``) is decrypted and unpacked again from its parts, which are kept until the invoices
are queued; the invoice rows and the stage ``unpacked`` commit together, the unpacked files
having been fsynced first. Finishing writes the UPO pages and the final status in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ...crypto import SymmetricKey, encrypted_size
from ...formcodes import FormCode
from ..clock import isoformat, parse_datetime
from ..crash import crash_point
from ..errors import bad_request, validation_error
from ..keys import SYMMETRIC_KEY
from ..store import fsync_dir
from . import Base64Str, Sha256Base64, b64decode_strict, dumps, parse_body
from .auth import Claims
from .batch_storage import BatchStorage, PartUpload, StorageError
from .unpack import PackageError, UnpackLimits, decrypt_parts, unpack

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["BATCH_FORMS", "BATCH_WRITE", "BatchBackend", "PartUpload", "StorageError"]

BATCH_WRITE = ("InvoiceWrite", "EnforcementOperations")
#: Form codes a batch session accepts (no PEF).
BATCH_FORMS = (FormCode.FA2, FormCode.FA3, FormCode.FA_RR1)
_MAX_PARTS = 50
_MAX_PACKAGE = 5_000_000_000
_CANCELLED = "Sesja anulowana"
_UPLOAD_TIMEOUT = "Przekroczono czas wysyłki"


class _FormCodeBody(BaseModel):
    systemCode: str
    schemaVersion: str
    value: str


class _EncryptionBody(BaseModel):
    encryptedSymmetricKey: Base64Str
    initializationVector: Base64Str
    publicKeyId: Sha256Base64 | None = None


class _PartBody(BaseModel):
    ordinalNumber: int = Field(ge=1)
    fileSize: int = Field(ge=1)
    fileHash: Sha256Base64


class _BatchFileBody(BaseModel):
    fileSize: int = Field(ge=1, le=_MAX_PACKAGE)
    fileHash: Sha256Base64
    compressionType: Literal["Zip", "TarGz"] | None = None
    fileParts: list[_PartBody] = Field(min_length=1)


class _OpenBatchBody(BaseModel):
    formCode: _FormCodeBody
    batchFile: _BatchFileBody
    encryption: _EncryptionBody
    offlineMode: bool = False


class BatchBackend:
    """Batch-session state over the store and the storage directory."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self.storage = BatchStorage(state)

    # -- storage (delegated) ---------------------------------------------------------------

    def session_dir(self, reference: str) -> Path:
        """The directory of one batch session's files."""
        return self.storage.session_dir(reference)

    def wipe_files(self) -> None:
        """Remove every stored part and unpacked package (``reset``)."""
        self.storage.wipe_files()

    def close(self) -> None:
        """Remove the temporary storage of an in-memory emulator (idempotent)."""
        self.storage.close()

    def _drop_files(self, reference: str) -> None:
        self.storage.drop_files(reference)

    # -- open ------------------------------------------------------------------------------

    def open_batch(self, claims: Claims, body: object, base_url: str) -> dict[str, Any]:
        """``POST /sessions/batch`` → 201 ``{referenceNumber, partUploadRequests}``."""
        req = parse_body(_OpenBatchBody, body)
        fc = req.formCode
        form = FormCode.from_wire(fc.systemCode, fc.schemaVersion, fc.value)
        if form not in BATCH_FORMS:
            raise validation_error("Wskazany kod formularza nie jest wspierany w sesji wsadowej.")
        parts = req.batchFile.fileParts
        self._check_parts(parts)
        b64decode_strict(req.batchFile.fileHash, "batchFile.fileHash")
        for p in parts:
            b64decode_strict(p.fileHash, f"fileParts[{p.ordinalNumber}].fileHash")
        wrapped = b64decode_strict(req.encryption.encryptedSymmetricKey, "encryptedSymmetricKey")
        iv = b64decode_strict(req.encryption.initializationVector, "initializationVector")
        private = self._state.keys.private_key(SYMMETRIC_KEY, req.encryption.publicKeyId)
        key = self._state.sessions.unwrap_key(private, wrapped, iv)
        window = dt.timedelta(seconds=self._state.config.batch_upload_window_per_part * len(parts))
        with self._store.tx():
            reference, now = self._state.sessions.create_session(
                claims, "Batch", form, key, iv, (100, "Sesja wsadowa rozpoczęta")
            )
            upload_until = now + window
            self._store.run(
                "INSERT INTO batch_sessions VALUES (?, ?, ?, ?, ?, ?, 'open')",
                (
                    reference,
                    req.batchFile.fileSize,
                    req.batchFile.fileHash,
                    req.batchFile.compressionType or "Zip",
                    int(req.offlineMode),
                    isoformat(upload_until),
                ),
            )
            for part in parts:
                self._store.run(
                    "INSERT INTO batch_parts (session_reference, ordinal_number, file_size,"
                    " file_hash) VALUES (?, ?, ?, ?)",
                    (reference, part.ordinalNumber, part.fileSize, part.fileHash),
                )
        base = (self._state.config.public_url or base_url).rstrip("/")
        requests = [
            {
                "ordinalNumber": p.ordinalNumber,
                "method": "PUT",
                "url": base + self.storage.part_url(reference, p.ordinalNumber, upload_until),
                "headers": {"x-ms-blob-type": "BlockBlob"},
            }
            for p in sorted(parts, key=lambda p: p.ordinalNumber)
        ]
        return {"referenceNumber": reference, "partUploadRequests": requests}

    def _check_parts(self, parts: list[_PartBody]) -> None:
        if len(parts) > _MAX_PARTS:
            raise bad_request(
                21161, f"Zadeklarowano {len(parts)} części, dozwolone jest {_MAX_PARTS}."
            )
        ordinals = sorted(p.ordinalNumber for p in parts)
        if ordinals != list(range(1, len(parts) + 1)):
            raise validation_error(
                "fileParts: numery porządkowe części muszą być unikalne i kolejne od 1"
                f" do {len(parts)}."
            )
        plain_max = self._state.config.batch_max_part_size
        limit = encrypted_size(plain_max)
        too_big = [p for p in parts if p.fileSize > limit]
        if too_big:
            raise bad_request(
                21157,
                *(
                    f"Część {p.ordinalNumber} przekracza {plain_max // 1_000_000}MB"
                    f" (rozmiar po zaszyfrowaniu {p.fileSize} B > {limit} B)."
                    for p in too_big
                ),
            )

    # -- close -----------------------------------------------------------------------------

    def close_batch(self, claims: Claims, reference: str) -> None:
        """``POST /sessions/batch/{ref}/close`` → 204; the session goes to 150."""
        with self._store.tx():
            session = self._state.sessions.session_row(claims, reference)
            batch = self._store.one(
                "SELECT * FROM batch_sessions WHERE reference_number = ?", (reference,)
            )
            if session["session_type"] != "Batch" or batch is None:
                raise bad_request(
                    21173,
                    f"Sesja wsadowa o numerze referencyjnym {reference} nie została znaleziona.",
                )
            if session["status_code"] == 440 and _UPLOAD_TIMEOUT in (
                session["status_details"] or ""
            ):
                raise bad_request(21208, "Sesja anulowana, przekroczony czas wysyłki.")
            if session["status_code"] != 100:
                raise bad_request(
                    21180, f"Status sesji {session['status_code']} uniemożliwia jej zamknięcie."
                )
            now = self._state.clock.now()
            if now >= parse_datetime(batch["upload_until"]):
                self._cancel(reference, now)
                cancelled = True
            else:
                cancelled = False
                self._check_uploaded(reference)
                stamp = isoformat(now)
                self._store.run(
                    "UPDATE sessions SET status_code = 150, status_description = ?,"
                    " date_closed = ?, date_updated = ? WHERE reference_number = ?",
                    ("Trwa przetwarzanie", stamp, stamp, reference),
                )
                self._store.run(
                    "UPDATE batch_sessions SET stage = 'closed' WHERE reference_number = ?",
                    (reference,),
                )
        if cancelled:
            self._drop_files(reference)
            raise bad_request(21208, "Sesja anulowana, przekroczony czas wysyłki.")
        self._state.processor.kick()

    def _check_uploaded(self, reference: str) -> None:
        parts = self._store.all(
            "SELECT * FROM batch_parts WHERE session_reference = ? ORDER BY ordinal_number",
            (reference,),
        )
        missing = [p for p in parts if p["path"] is None or not Path(p["path"]).is_file()]
        if missing:
            raise bad_request(
                21205,
                *(
                    f"Nie przesłano zadeklarowanej '{p['ordinal_number']}' części pliku."
                    for p in missing
                ),
            )
        wrong = [
            p
            for p in parts
            if p["uploaded_size"] != p["file_size"]
            or Path(p["path"]).stat().st_size != p["file_size"]
        ]
        if wrong:
            raise bad_request(
                21157,
                *(
                    f"Zadeklarowany rozmiar części '{p['ordinal_number']}' nie zgadza się"
                    " z rzeczywistym."
                    for p in wrong
                ),
            )

    # -- timeouts --------------------------------------------------------------------------

    def expire_due(self) -> int:
        """Cancel open batch sessions past ``validUntil`` (→ 440); returns how many."""
        now = self._state.clock.now()
        rows = self._store.all(
            "SELECT reference_number, valid_until FROM sessions"
            " WHERE session_type = 'Batch' AND status_code = 100"
        )
        due = [r["reference_number"] for r in rows if parse_datetime(r["valid_until"]) <= now]
        with self._store.tx():
            for reference in due:
                self._cancel(reference, now)
        for reference in due:
            self._drop_files(reference)
        return len(due)

    def _cancel(self, reference: str, now: dt.datetime) -> None:
        stamp = isoformat(now)
        self._store.run(
            "UPDATE sessions SET status_code = 440, status_description = ?, status_details = ?,"
            " date_closed = COALESCE(date_closed, ?), date_updated = ?, sym_key = NULL, iv = NULL"
            " WHERE reference_number = ? AND status_code = 100",
            (_CANCELLED, dumps([_UPLOAD_TIMEOUT]), stamp, stamp, reference),
        )
        self._store.run(
            "UPDATE batch_sessions SET stage = 'done' WHERE reference_number = ?", (reference,)
        )

    # -- processing (work items of the Processor) ------------------------------------------

    def work(self, cutoff: dt.datetime) -> list[Callable[[], None]]:
        """Due batch work: packages to unpack (closed before ``cutoff``), sessions to finish."""
        items: list[Callable[[], None]] = []
        rows = self._store.all(
            "SELECT s.reference_number, s.date_closed, b.stage FROM sessions s"
            " JOIN batch_sessions b ON b.reference_number = s.reference_number"
            " WHERE s.status_code = 150 AND b.stage IN ('closed', 'unpacked')"
            " AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.session_reference ="
            " s.reference_number AND i.status_code = 100)"
        )
        for row in rows:
            if parse_datetime(row["date_closed"]) > cutoff:
                continue
            ref = row["reference_number"]
            step = self._unpack if row["stage"] == "closed" else self._finish
            items.append(functools.partial(self._guarded, ref, step))
        return items

    def _guarded(self, reference: str, step: Callable[[str], None]) -> None:
        try:
            step(reference)
        except Exception as exc:  # an emulator bug must not leave the session at 150
            self._end(reference, 500, "Nieznany błąd (500)", [f"{type(exc).__name__}: {exc}"])

    def _unpack(self, reference: str) -> None:
        session = self._store.one(
            "SELECT * FROM sessions WHERE reference_number = ? AND status_code = 150",
            (reference,),
        )
        batch = self._store.one(
            "SELECT * FROM batch_sessions WHERE reference_number = ? AND stage = 'closed'",
            (reference,),
        )
        if session is None or batch is None:
            return
        if session["sym_key"] is None:
            self._end(reference, 415, "Błąd odszyfrowania dostarczonego klucza")
            return
        try:
            entries = self._extract(session, batch)
        except PackageError as exc:
            self._end(reference, exc.code, _PACKAGE_DESCRIPTIONS[exc.code], exc.details)
            return
        if not entries:
            self._end(reference, 440, _CANCELLED, ["Nie przesłano faktur"])
            return
        self._queue_invoices(session, batch, entries)

    def _extract(self, session: Any, batch: Any) -> list[Any]:
        reference = session["reference_number"]
        directory = self.session_dir(reference)
        directory.mkdir(parents=True, exist_ok=True)
        parts = self._store.all(
            "SELECT path FROM batch_parts WHERE session_reference = ? ORDER BY ordinal_number",
            (reference,),
        )
        key = SymmetricKey(bytes(session["sym_key"]), bytes(session["iv"]))
        archive = directory / "package.bin"
        size, digest = decrypt_parts([Path(p["path"]) for p in parts], key, archive)
        if size != batch["file_size"] or digest != batch["file_hash"]:
            raise PackageError(
                405,
                f"Rozmiar lub skrót odszyfrowanej paczki ({size} B, {digest}) nie zgadza się"
                f" z zadeklarowanym ({batch['file_size']} B, {batch['file_hash']}).",
            )
        config = self._state.config
        limits = UnpackLimits(
            max_entries=self._state.session_limits.for_session(session).max_invoices,
            max_entry_size=config.batch_max_entry_size,
            max_total_size=config.batch_max_unpacked_size,
            max_ratio=config.batch_max_compression_ratio,
        )
        entries_dir = directory / "invoices"
        shutil.rmtree(entries_dir, ignore_errors=True)  # a restarted unpack starts afresh
        entries = unpack(archive, batch["compression"], entries_dir, limits)
        archive.unlink(missing_ok=True)
        _fsync_entries(entries, entries_dir)
        return entries

    def _queue_invoices(self, session: Any, batch: Any, entries: list[Any]) -> None:
        reference = session["reference_number"]
        with self._store.tx():
            if not self._store.run(
                "UPDATE batch_sessions SET stage = 'unpacked' WHERE reference_number = ?"
                " AND stage = 'closed'",
                (reference,),
            ):
                return  # queued already: never insert the package's invoices twice
            for ordinal, entry in enumerate(entries, start=1):
                self._store.run(
                    "INSERT INTO invoices (reference_number, session_reference, ordinal_number,"
                    " invoice_hash, invoice_size, offline_mode, invoicing_date, status_code,"
                    " status_description, form_code, file_name, source_path)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 100, ?, ?, ?, ?)",
                    (
                        self._state.ids.reference("EE", self._state.today()),
                        reference,
                        ordinal,
                        entry.sha256,
                        entry.size,
                        batch["offline_mode"],
                        session["date_created"],
                        "Faktura przyjęta do dalszego przetwarzania",
                        session["form_code"],
                        _file_name(entry.name),
                        str(entry.path),
                    ),
                )
            crash_point("batch-unpack")
            self._touch(reference)
        for part in self._store.all(
            "SELECT path FROM batch_parts WHERE session_reference = ?", (reference,)
        ):
            if part["path"]:
                Path(part["path"]).unlink(missing_ok=True)

    def _finish(self, reference: str) -> None:
        # UPO pages and the final status commit together (re-checked inside the transaction);
        # the files go only after the commit.
        with self._store.tx():
            session = self._store.one(
                "SELECT * FROM sessions WHERE reference_number = ? AND status_code = 150",
                (reference,),
            )
            if session is None:
                return
            accepted = self._store.all(
                "SELECT * FROM invoices WHERE session_reference = ? AND status_code = 200"
                " ORDER BY ordinal_number",
                (reference,),
            )
            injected = self._state.faults.session_failure()
            if injected is not None:  # an injected fault decides the outcome
                self._set_end(
                    reference, injected.code, injected.description, list(injected.details)
                )
            elif accepted:
                self._state.processor.write_upo_pages(session, accepted)
                crash_point("batch-upo")
                self._set_end(reference, 200, "Sesja wsadowa przetworzona pomyślnie")
            else:
                self._set_end(reference, 445, "Błąd weryfikacji, brak poprawnych faktur")
        self._drop_files(reference)

    def _end(
        self, reference: str, code: int, description: str, details: list[str] | None = None
    ) -> None:
        with self._store.tx():
            self._set_end(reference, code, description, details)
        self._drop_files(reference)

    def _set_end(
        self, reference: str, code: int, description: str, details: list[str] | None = None
    ) -> None:
        self._state.processor.set_session_status(reference, code, description, details)
        self._store.run(
            "UPDATE batch_sessions SET stage = 'done' WHERE reference_number = ?", (reference,)
        )
        # Invoices still waiting when the package failed are cancelled with the session.
        self._store.run(
            "UPDATE invoices SET status_code = 405, status_description = ?"
            " WHERE session_reference = ? AND status_code = 100",
            ("Przetwarzanie anulowane z powodu błędu sesji", reference),
        )

    def _touch(self, reference: str) -> None:
        self._store.run(
            "UPDATE sessions SET date_updated = ? WHERE reference_number = ?",
            (isoformat(self._state.clock.now()), reference),
        )


_PACKAGE_DESCRIPTIONS = {
    405: "Błąd weryfikacji poprawności dostarczonych elementów paczki",
    420: "Przekroczony limit faktur w sesji",
    430: "Błąd dekompresji pierwotnego archiwum",
    435: "Błąd odszyfrowania zaszyfrowanych części archiwum",
}


def _fsync_entries(entries: list[Any], directory: Path) -> None:
    """Unpacked invoices reach the disk before the rows that point to them commit."""
    for entry in entries:
        with open(entry.path, "rb") as f:
            os.fsync(f.fileno())
    for folder in {Path(e.path).parent for e in entries} | {directory, directory.parent}:
        fsync_dir(folder)


def _file_name(name: str) -> str:
    """``invoiceFileName`` (at most 128 characters: the end of a longer path is kept).

    >>> _file_name("a/b.xml"), len(_file_name("x" * 200 + ".xml"))
    ('a/b.xml', 128)
    """
    return name if len(name) <= 128 else name[-128:]
