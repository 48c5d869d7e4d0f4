"""The asynchronous half of the emulator: auth verdicts, the invoice pipeline, session close.

Work items are rows in a pending state (auth operation 100, invoice 100, session 170), so a
restarted emulator resumes them. Each item commits its result in one transaction guarded by
that state: an item interrupted halfway (``kill -9``) is redone from the start, never applied
twice. :class:`Processor` runs them according to the processing
mode: ``immediate`` (inside the request that created them), ``background`` (a daemon worker
thread, after ``processing_delay``) or ``manual`` (``state.step()``).

Invoice pipeline, in order (KSEF_API.md §9, §18), shared by online and batch invoices:

1. online: decrypt with the session key (435); the plaintext must match the declared
   ``invoiceSize``/``invoiceHash`` — also 435, because a wrong key that happens to leave
   valid padding is indistinguishable from a wrong declaration. Batch: the file unpacked from
   the package (:mod:`.batch`; hash and size were measured while unpacking);
2. size ≤ ``max_invoice_size`` (≤ ``max_invoice_size_with_attachment`` for a batch invoice
   with ``Zalacznik``; the context's own limits when overridden, :mod:`.session_limits`),
   encoding rules, XSD of the session's form code (430, the problems in ``details``; XSD
   skipped with one warning when no schema is available);
3. attachment (``Zalacznik``) in an online session → 415; in a batch session too when the
   context's NIP has no consent (:mod:`.attachments`, ``/testdata/attachment``);
4. seller (Podmiot1 NIP) ≠ NIP context → 410 (``check_seller_context``) unless the seller gave
   the context ``SelfInvoicing``, ``RRInvoicing`` or ``TaxRepresentative`` (:mod:`.permissions`);
5. duplicate (seller NIP, RodzajFaktury, P_2) across all sessions → 440 with extensions;
6. P_1 later than the acceptance day (Europe/Warsaw) → 450;
   a technical correction with another seller than its original's → 450 (:mod:`.corrections`;
   a correction may also carry attachments in an online session);
7. success: KSeF number, acquisitionDate, permanentStorageDate (+lag), per-invoice UPO.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ...crypto import SymmetricKey, aes_cbc_decrypt, sha256_b64
from ...errors import DecryptionError, SchemaNotFoundError
from ...formcodes import FormCode
from ...identifiers import make_ksef_number
from ...invoices.facts import InvoiceFacts, extract_facts
from ...schemas import default_store
from ..clock import isoformat, parse_datetime, warsaw_date
from ..crash import crash_point
from ..upo import UpoAuth, UpoDocument, UpoPage, build_upo
from . import dumps
from .metadata import storage_floor
from .rights import owner_nip

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["InvoiceVerdict", "Processor", "encoding_problems"]

log = logging.getLogger("ksefkit.emulator")

_DESCRIPTIONS = {
    410: "Nieprawidłowy zakres uprawnień",
    415: "Brak możliwości wysyłania faktury z załącznikiem",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
    500: "Nieznany błąd (500)",
}


class InvoiceVerdict(Exception):
    """A failed invoice status raised inside the pipeline."""

    def __init__(
        self,
        code: int,
        details: list[str],
        extensions: dict[str, str] | None = None,
        facts: InvoiceFacts | None = None,
        issue_date: dt.date | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.details = details
        self.extensions = extensions
        self.facts = facts
        # P_1 even when the facts could not be trusted (an XSD failure): a rejected
        # invoice's offline status (auto-offline rule) decides if it may be corrected.
        self.issue_date = facts.issue_date if facts is not None else issue_date
        #: replaces KSeF's description of ``code`` (injected faults)
        self.description = description


def encoding_problems(xml: bytes) -> list[str]:
    """KSeF's encoding rules via :mod:`ksefkit.preflight` (a minimal check if it is absent)."""
    try:
        module = importlib.import_module("ksefkit.preflight")
    except ImportError:
        return ["Plik zawiera znacznik BOM."] if xml.startswith(b"\xef\xbb\xbf") else []
    check: Callable[[bytes], list[str]] = module.encoding_problems
    return list(check(xml))


class Processor:
    """Runs pending work in the configured mode."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._run_lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_xsd = False

    # -- scheduling ------------------------------------------------------------------------

    def kick(self) -> None:
        """New work exists: run it now (immediate), wake the worker (background) or wait."""
        mode = self._state.config.processing
        if mode == "immediate":
            # An injected slow_processing delay holds work back even here (faults.py).
            self.run_pending(respect_delay=self._state.faults.processing_delay() > 0)
        elif mode == "background":
            self._wake.set()

    def run_pending(self, *, respect_delay: bool = True) -> int:
        """Process every due work item; returns the number processed."""
        with self._run_lock:
            done = 0
            while True:
                batch = self._due(respect_delay)
                if not batch:
                    return done
                for item in batch:
                    item()
                done += len(batch)

    def _due(self, respect_delay: bool) -> list[Callable[[], None]]:
        cutoff = self._cutoff(respect_delay)
        self._state.sessions.expire_due()
        items: list[Callable[[], None]] = []
        for ref, started in self._state.auth.pending():
            if parse_datetime(started) <= cutoff:
                items.append(functools.partial(self._state.auth.complete, ref))
        for ref, since in self._state.tokens.pending():
            if parse_datetime(since) <= cutoff:
                items.append(functools.partial(self._state.tokens.advance, ref))
        for row in self._store.all(
            "SELECT reference_number, invoicing_date FROM invoices"
            " WHERE status_code = 100 ORDER BY invoicing_date"
        ):
            if parse_datetime(row["invoicing_date"]) <= cutoff:
                items.append(functools.partial(self._process_invoice, row["reference_number"]))
        if items:
            return items
        for row in self._closable_sessions():
            if parse_datetime(row["date_closed"]) <= cutoff:
                items.append(functools.partial(self._finish_session, row["reference_number"]))
        items.extend(self._state.permissions.work(cutoff))
        items.extend(self._state.batch.work(cutoff))
        items.extend(self._state.exports.work(cutoff))
        items.extend(self._state.certificates.work(cutoff))
        return items

    def _cutoff(self, respect_delay: bool) -> dt.datetime:
        now = self._state.clock.now()
        if not respect_delay:
            return now + dt.timedelta(days=36500)
        delay = max(self._state.config.processing_delay, self._state.faults.processing_delay())
        return now - dt.timedelta(seconds=delay)

    def _closable_sessions(self) -> list[Any]:
        return self._store.all(
            "SELECT reference_number, date_closed FROM sessions s WHERE status_code = 170"
            " AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.session_reference ="
            " s.reference_number AND i.status_code = 100)"
        )

    def start_worker(self, poll_interval: float = 0.05) -> None:
        """Start the background worker (daemon thread)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._worker, args=(poll_interval,), name="ksefkit-emulator", daemon=True
        )
        self._thread.start()

    def stop_worker(self) -> None:
        """Stop the worker and wait for it (idempotent)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._thread = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold off processing (e.g. while the store is wiped)."""
        with self._run_lock:
            yield

    def _worker(self, poll_interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_pending(respect_delay=True)
            except Exception:  # the worker must survive one bad item
                log.exception("emulator processing failed")

    # -- invoice pipeline ------------------------------------------------------------------

    def _process_invoice(self, reference: str) -> None:
        row = self._store.one(
            "SELECT * FROM invoices WHERE reference_number = ? AND status_code = 100", (reference,)
        )
        if row is None:
            return
        session = self._store.one(
            "SELECT * FROM sessions WHERE reference_number = ?", (row["session_reference"],)
        )
        assert session is not None
        try:
            xml, facts = self._verify(row, session)
        except InvoiceVerdict as verdict:
            self._fail(row, verdict)
            return
        injected = self._state.faults.invoice_failure()
        if injected is not None:  # an injected fault fails an invoice that would pass
            failure = InvoiceVerdict(
                injected.code, list(injected.details), facts=facts, description=injected.description
            )
            self._fail(row, failure)
            return
        self._accept(row, session, xml, facts)

    def _verify(self, row: Any, session: Any) -> tuple[bytes, InvoiceFacts]:
        batch = session["session_type"] == "Batch"
        xml = _read_entry(row) if batch else self._decrypt(row, session)
        # A technical correction may carry attachments in an online session (§13.2).
        corrects = row["hash_of_corrected"] is not None
        return xml, self.check_invoice(xml, row, session, attachments=batch or corrects)

    def check_invoice(
        self, xml: bytes, row: Any, session: Any, *, attachments: bool
    ) -> InvoiceFacts:
        """Steps 2-6 of the pipeline on a plaintext invoice (raises :class:`InvoiceVerdict`).

        ``attachments``: whether ``Zalacznik`` is allowed (batch sessions) — such invoices may
        then be up to ``max_invoice_size_with_attachment``.
        """
        # The session's context may have its own limits (/testdata/limits/context/session).
        limits = self._state.session_limits.for_session(session)
        form = FormCode[row["form_code"]]
        size = limits.max_invoice_size
        limit = limits.max_invoice_with_attachment_size if attachments else size
        problems = self._file_problems(xml, form, max(limit, size))
        if problems:
            raise InvoiceVerdict(430, problems, issue_date=_issue_date(xml))
        facts = _facts(xml)
        if facts.has_attachment and not attachments:
            raise InvoiceVerdict(
                415,
                ["Faktura z załącznikiem może zostać przesłana wyłącznie w sesji wsadowej."],
                facts=facts,
            )
        if facts.has_attachment and not self._attachments_allowed(session):
            raise InvoiceVerdict(
                415, ["Podmiot nie ma zgody na wystawianie faktur z załącznikiem."], facts=facts
            )
        if not facts.has_attachment and len(xml) > size:
            raise InvoiceVerdict(
                430,
                [f"Rozmiar faktury {len(xml)} B bez załącznika przekracza limit {size} B."],
                facts=facts,
            )
        self._check_seller(session, facts)
        self._check_duplicate(facts)
        self._check_issue_date(row, facts)
        problem = self._state.corrections.verify(row, session, facts)
        if problem is not None:
            raise InvoiceVerdict(450, [problem], facts=facts)
        return facts

    def _decrypt(self, row: Any, session: Any) -> bytes:
        try:
            key = SymmetricKey(bytes(session["sym_key"]), bytes(session["iv"]))
            xml = aes_cbc_decrypt(bytes(row["encrypted"]), key)
        except DecryptionError:
            raise InvoiceVerdict(
                435, ["Nie udało się odszyfrować faktury kluczem sesji."]
            ) from None
        if len(xml) != row["invoice_size"] or sha256_b64(xml) != row["invoice_hash"]:
            raise InvoiceVerdict(
                435,
                [
                    "Odszyfrowana treść nie zgadza się z zadeklarowanym"
                    " rozmiarem lub skrótem faktury."
                ],
            )
        return xml

    def _file_problems(self, xml: bytes, form: FormCode, limit: int) -> list[str]:
        if len(xml) > limit:
            return [f"Rozmiar faktury {len(xml)} B przekracza limit {limit} B."]
        problems = encoding_problems(xml)
        if problems:
            return problems
        return self._xsd_problems(xml, form)

    def _xsd_problems(self, xml: bytes, form: FormCode) -> list[str]:
        if not self._state.config.validate_xsd:
            return _well_formed(xml)
        try:
            return default_store().validate_invoice(xml, form)
        except SchemaNotFoundError as exc:
            if not self._warned_xsd:
                log.warning(
                    "no XSD for %s, invoices are not schema-validated: %s", form.system_code, exc
                )
                self._warned_xsd = True
            return _well_formed(xml)

    def _attachments_allowed(self, session: Any) -> bool:
        nip = owner_nip(session["context_type"], session["context_value"])
        return self._state.permissions.attachments.allowed(nip)

    def _check_seller(self, session: Any, facts: InvoiceFacts) -> None:
        if not self._state.config.check_seller_context or session["context_type"] != "Nip":
            return
        context = (session["context_type"], session["context_value"])
        # Another seller's invoice needs that seller's authorization of this context.
        if not self._state.permissions.may_issue_for(facts.seller_nip or "", context):
            raise InvoiceVerdict(
                410,
                [f"Brak uprawnień do wystawienia faktury w imieniu podmiotu {facts.seller_nip}."],
                facts=facts,
            )

    def _check_duplicate(self, facts: InvoiceFacts) -> None:
        original = self._store.one(
            "SELECT session_reference, ksef_number FROM invoices WHERE status_code = 200 AND"
            " seller_nip = ? AND invoice_type = ? AND invoice_number = ?",
            (facts.seller_nip, facts.invoice_type, facts.invoice_number),
        )
        if original is None:
            return
        session_ref, number = original["session_reference"], original["ksef_number"]
        raise InvoiceVerdict(
            440,
            [
                f"Duplikat faktury. Faktura o numerze KSeF: {number} została już prawidłowo"
                f" przesłana do systemu w sesji: {session_ref}"
            ],
            {"originalSessionReferenceNumber": session_ref, "originalKsefNumber": number},
            facts=facts,
        )

    def _check_issue_date(self, row: Any, facts: InvoiceFacts) -> None:
        accepted = warsaw_date(parse_datetime(row["invoicing_date"]))
        if facts.issue_date is not None and facts.issue_date > accepted:
            raise InvoiceVerdict(
                450,
                [
                    f"Data wystawienia faktury (P_1) {facts.issue_date} jest"
                    f" późniejsza niż data przyjęcia {accepted}."
                ],
                facts=facts,
            )

    def _fail(self, row: Any, verdict: InvoiceVerdict) -> None:
        facts = verdict.facts
        with self._store.tx():
            self._store.run(
                "UPDATE invoices SET status_code = ?, status_description = ?, status_details = ?,"
                " status_extensions = ?, invoice_number = ?, seller_nip = ?, invoice_type = ?,"
                " issue_date = ?, encrypted = NULL"
                " WHERE reference_number = ? AND status_code = 100",
                (
                    verdict.code,
                    verdict.description or _DESCRIPTIONS[verdict.code],
                    dumps(verdict.details),
                    dumps(verdict.extensions) if verdict.extensions else None,
                    facts.invoice_number if facts else None,
                    facts.seller_nip if facts else None,
                    facts.invoice_type if facts else None,
                    verdict.issue_date.isoformat() if verdict.issue_date else None,
                    row["reference_number"],
                ),
            )
            self._touch(row["session_reference"])

    def _accept(self, row: Any, session: Any, xml: bytes, facts: InvoiceFacts) -> None:
        invoicing = parse_datetime(row["invoicing_date"])
        acquired = max(self._state.clock.now(), invoicing)
        stored = acquired + dt.timedelta(
            seconds=max(self._state.config.permanent_storage_lag, 0.001)
        )
        stored = max(stored, storage_floor(self._state) or stored)  # never at or below an HWM
        assert facts.seller_nip is not None
        assert facts.issue_date is not None
        number = make_ksef_number(facts.seller_nip, warsaw_date(invoicing), self._state.ids.hex(12))
        offline = bool(row["offline_mode"]) or facts.issue_date < warsaw_date(invoicing)
        mode = "Offline" if offline else "Online"
        document = UpoDocument(
            facts.seller_nip,
            number,
            facts.invoice_number or "",
            facts.issue_date,
            invoicing,
            acquired,
            row["invoice_hash"],
            mode,
        )
        upo = self._sign_upo(session, [document], None)
        crash_point("invoice-accept")
        # One transaction guarded by status 100: an invoice interrupted before the commit is
        # redone with a fresh number and UPO; one that committed is never numbered again.
        with self._store.tx():
            self._store.run(
                "UPDATE invoices SET status_code = 200, status_description = 'Sukces', xml = ?,"
                " encrypted = NULL, ksef_number = ?, invoice_number = ?, seller_nip = ?,"
                " invoice_type = ?, issue_date = ?, acquisition_date = ?,"
                " permanent_storage_date = ?, invoicing_mode = ?, upo = ?"
                " WHERE reference_number = ? AND status_code = 100",
                (
                    xml,
                    number,
                    facts.invoice_number,
                    facts.seller_nip,
                    facts.invoice_type,
                    facts.issue_date.isoformat(),
                    isoformat(acquired),
                    isoformat(stored),
                    mode,
                    upo,
                    row["reference_number"],
                ),
            )
            self._touch(row["session_reference"])

    def _touch(self, session_reference: str) -> None:
        self._store.run(
            "UPDATE sessions SET date_updated = ? WHERE reference_number = ?",
            (isoformat(self._state.clock.now()), session_reference),
        )

    # -- session close ---------------------------------------------------------------------

    def _finish_session(self, reference: str) -> None:
        # Read and write in one transaction: UPO pages and the final status land together or
        # not at all, so a session interrupted here is finished again from scratch.
        with self._store.tx():
            session = self._store.one(
                "SELECT * FROM sessions WHERE reference_number = ? AND status_code = 170",
                (reference,),
            )
            if session is None:
                return
            injected = self._state.faults.session_failure()
            if injected is not None:  # an injected fault decides the outcome
                self.set_session_status(
                    reference, injected.code, injected.description, list(injected.details)
                )
                return
            total = self._store.one(
                "SELECT COUNT(*) AS n FROM invoices WHERE session_reference = ?", (reference,)
            )
            accepted = self._store.all(
                "SELECT * FROM invoices WHERE session_reference = ? AND status_code = 200"
                " ORDER BY ordinal_number",
                (reference,),
            )
            if not total or not total["n"]:
                self.set_session_status(reference, 440, "Sesja anulowana", ["Nie przesłano faktur"])
            elif not accepted:
                self.set_session_status(reference, 445, "Błąd weryfikacji, brak poprawnych faktur")
            else:
                self.write_upo_pages(session, accepted)
                crash_point("session-upo")
                self.set_session_status(reference, 200, "Sesja interaktywna przetworzona pomyślnie")

    def set_session_status(
        self, reference: str, code: int, description: str, details: list[str] | None = None
    ) -> None:
        """Give a session its final status (the AES key is forgotten)."""
        self._store.run(
            "UPDATE sessions SET status_code = ?, status_description = ?, status_details = ?,"
            " date_updated = ?, sym_key = NULL, iv = NULL WHERE reference_number = ?",
            (
                code,
                description,
                dumps(details) if details else None,
                isoformat(self._state.clock.now()),
                reference,
            ),
        )

    def write_upo_pages(self, session: Any, accepted: list[Any]) -> None:
        """Sign and store the session UPO pages of the ``accepted`` invoice rows."""
        size = self._state.config.upo_page_size
        chunks = [accepted[i : i + size] for i in range(0, len(accepted), size)]
        for index, chunk in enumerate(chunks, start=1):
            first = (index - 1) * size + 1
            page = UpoPage(
                page=index,
                pages=len(chunks),
                first=first,
                last=first + len(chunk) - 1,
                total=len(accepted),
            )
            xml = self._sign_upo(session, [_document(r) for r in chunk], page)
            upo_ref = self._state.ids.reference("EU", self._state.today())
            self._store.run(
                "INSERT INTO upo_pages VALUES (?, ?, ?, ?)",
                (upo_ref, session["reference_number"], index, xml),
            )

    def _sign_upo(self, session: Any, documents: list[UpoDocument], page: UpoPage | None) -> bytes:
        element = build_upo(
            session_reference=session["reference_number"],
            auth=self._upo_auth(session),
            form_code=FormCode[session["form_code"]],
            documents=documents,
            receiver_name=self._state.receiver_name,
            page=page,
        )
        return self._state.upo_signer.sign(element)

    def _upo_auth(self, session: Any) -> UpoAuth:
        op = self._store.one(
            "SELECT auth_document_hash FROM auth_operations WHERE reference_number = ?",
            (session["auth_reference"],),
        )
        doc_hash = op["auth_document_hash"] if op is not None else None
        if session["token_reference"] or not doc_hash:
            token_ref = session["token_reference"] or session["auth_reference"]
            return UpoAuth(
                session["context_type"], session["context_value"], ksef_token_reference=token_ref
            )
        return UpoAuth(
            session["context_type"], session["context_value"], auth_document_hash=doc_hash
        )


def _document(row: Any) -> UpoDocument:
    return UpoDocument(
        row["seller_nip"],
        row["ksef_number"],
        row["invoice_number"] or "",
        dt.date.fromisoformat(row["issue_date"]),
        parse_datetime(row["invoicing_date"]),
        parse_datetime(row["acquisition_date"]),
        row["invoice_hash"],
        row["invoicing_mode"] or "Online",
    )


def _read_entry(row: Any) -> bytes:
    """A batch invoice's plaintext, from the file its package was unpacked into."""
    path = row["source_path"]
    try:
        with open(path, "rb") as f:
            return f.read()
    except (OSError, TypeError):
        raise InvoiceVerdict(500, [f"Nie odnaleziono pliku faktury {row['file_name']}."]) from None


def _facts(xml: bytes) -> InvoiceFacts:
    try:
        facts = extract_facts(xml)
    except ValueError as exc:
        raise InvoiceVerdict(430, [str(exc)]) from None
    missing = [
        name
        for name, value in (
            ("Podmiot1/NIP", facts.seller_nip),
            ("P_1", facts.issue_date),
            ("P_2", facts.invoice_number),
        )
        if value is None
    ]
    if missing:
        raise InvoiceVerdict(430, [f"Brak elementu {name}." for name in missing])
    return facts


def _issue_date(xml: bytes) -> dt.date | None:
    """``P_1`` of a document that failed verification, if it can be read at all."""
    try:
        return extract_facts(xml).issue_date
    except ValueError:
        return None


def _well_formed(xml: bytes) -> list[str]:
    try:
        extract_facts(xml)
    except ValueError as exc:
        return [str(exc)]
    return []
