# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Sending the offline queue when KSeF is back, and technical corrections (§13.1, §13.2).

>>> with client.offline("offline.sqlite3") as sender:  # doctest: +SKIP
...     result = sender.send()
>>> [(e.invoice_number, e.ksef_number) for e in result.accepted]  # doctest: +SKIP

Every invoice goes with ``offlineMode: true``: in an online session, or in a batch session
(``batch=True``; invoices with attachments must go this way). Never twice: an entry is
marked ``sending`` with its session (or batch state file) before the request, so after a
crash or a lost answer :meth:`OfflineSender.reconcile` looks it up by hash in that
session — found, its status is recorded; absent, it goes back to ``queued``. Sending and
correcting hold the queue's sender lock, so two processes never interleave.

Local pre-flight checks are off by default here: the invoice was already issued and handed
out with a KOD I for *its* hash, so KSeF must see it as it is — if it is rejected, the fix is
a technical correction (:meth:`OfflineSender.correct_rejected`) that KSeF links to it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import (
    BadRequest,
    BatchPreflightError,
    ConfigurationError,
    CorrectionNotAllowed,
    PreflightError,
    SessionFailed,
    TransportError,
    WaitTimeout,
)
from ...formcodes import FormCode
from ...models import SessionInvoiceStatusResponse
from ...offline.calendar import OfflineMode
from ...offline.correction import correction_problems
from ...offline.queue import OfflineQueue, QueueEntry
from .._wait import poll_until

if TYPE_CHECKING:
    from ..client import Client
    from .batch import BatchSession
    from .online import OnlineSession

__all__ = ["OfflineSender", "OfflineProgress", "OfflineSendResult"]

PROCESSING = (100, 150)
#: Synchronous refusals that mean "this session takes no more invoices": open another.
SESSION_EXHAUSTED = (21155, 21180)
SESSION_NOT_FOUND = 21173
#: Invoices per batch package (KSeF's limit per session).
BATCH_CHUNK = 10_000


@dataclass(frozen=True)
class OfflineProgress:
    """Reported to ``progress`` as entries move: ``phase`` is ``"sending"``, ``"sent"``,
    ``"accepted"``, ``"rejected"``, ``"requeued"`` (did not reach KSeF) or ``"reconciled"``
    (an in-flight entry of an earlier run settled); ``done`` of ``total`` in this step."""

    phase: str
    entry: QueueEntry
    done: int
    total: int


Progress = Callable[[OfflineProgress], None]


@dataclass(frozen=True)
class OfflineSendResult:
    """The entries a :meth:`OfflineSender.send` touched (their final state) and the
    sessions it used."""

    entries: tuple[QueueEntry, ...]
    sessions: tuple[str, ...]

    @property
    def accepted(self) -> tuple[QueueEntry, ...]:
        return tuple(e for e in self.entries if e.status == "accepted")

    @property
    def rejected(self) -> tuple[QueueEntry, ...]:
        return tuple(e for e in self.entries if e.status == "rejected")

    @property
    def pending(self) -> tuple[QueueEntry, ...]:
        """Not settled: still queued (e.g. refused synchronously) or awaiting a verdict."""
        return tuple(e for e in self.entries if e.status in ("queued", "sending", "sent"))


class OfflineSender:
    """Sends an :class:`~ksefkit.offline.OfflineQueue` through one authenticated client.

    ``preflight``/``validate_schema`` run the local checks before sending (off by default,
    see the module docstring); ``timeout`` bounds each wait for KSeF's verdict on an invoice,
    ``batch_timeout`` the wait for a whole batch; batch state files go to ``state_dir``
    (default: ``<queue file>.batches``).
    """

    def __init__(
        self,
        client: Client,
        queue: OfflineQueue | str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        preflight: bool = False,
        validate_schema: bool = True,
        timeout: float | None = 120.0,
        batch_timeout: float | None = 900.0,
        state_dir: Path | str | None = None,
    ) -> None:
        self._client = client
        self._owns_queue = not isinstance(queue, OfflineQueue)
        self.queue = queue if isinstance(queue, OfflineQueue) else OfflineQueue(queue)
        self.progress = progress
        self.preflight = preflight
        self.validate_schema = validate_schema
        self.timeout = timeout
        self.batch_timeout = batch_timeout
        self.state_dir = Path(state_dir) if state_dir is not None else _state_dir(self.queue)
        self._sessions: list[str] = []

    def __repr__(self) -> str:
        return f"<OfflineSender {self.queue.path}>"

    def close(self) -> None:
        """Close the queue if this sender opened it (from a path)."""
        if self._owns_queue:
            self.queue.close()

    def __enter__(self) -> OfflineSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------------------

    def send(
        self, *, batch: bool = False, seller_nip: str | None = None
    ) -> OfflineSendResult:
        """Settle what an earlier run left in flight, send every ``queued`` entry (of
        ``seller_nip`` only, if given) with ``offlineMode: true``, wait for KSeF's verdicts
        and record KSeF numbers and rejections.

        ``batch=True`` sends them as one batch package per form code (technical corrections
        and form codes KSeF takes online only still go in an online session).

        >>> result = client.offline("offline.sqlite3").send(batch=True)  # doctest: +SKIP
        """
        self._sessions = []
        with self.queue.sending_lock():
            touched = {e.id: e for e in self._reconcile()}
            entries = self.queue.to_send(seller_nip=seller_nip)
            batched = [e for e in entries if batch and _batchable(e)]
            in_batch = {e.id for e in batched}
            online = [e for e in entries if e.id not in in_batch]
            for code, group in _by_form(online).items():
                self._send_online(code, group)
            for code, group in _by_form(batched).items():
                for start in range(0, len(group), BATCH_CHUNK):
                    self._send_batch(code, group[start : start + BATCH_CHUNK])
            for entry in entries:
                touched[entry.id] = self.queue.get(entry.id)
        return OfflineSendResult(tuple(touched.values()), tuple(self._sessions))

    def reconcile(self) -> list[QueueEntry]:
        """Settle the entries an earlier run left ``sending`` or ``sent`` (see the module
        docstring); returns them in their new state."""
        with self.queue.sending_lock():
            return self._reconcile()

    def _reconcile(self) -> list[QueueEntry]:
        settled: list[QueueEntry] = []
        sending = self.queue.list(statuses=["sending"])
        by_session: dict[str, list[QueueEntry]] = {}
        by_batch: dict[str, list[QueueEntry]] = {}
        for entry in sending:
            if entry.batch_state is not None:
                by_batch.setdefault(entry.batch_state, []).append(entry)
            elif entry.session_reference is not None:
                by_session.setdefault(entry.session_reference, []).append(entry)
            else:
                settled.append(self._requeue(entry, "not sent (reconciled)"))
        for reference, entries in by_session.items():
            settled.extend(self._settle_by_hash(reference, entries))
        for path, entries in by_batch.items():
            settled.extend(self._resume_batch(Path(path), entries))
        for entry in self.queue.list(statuses=["sent"]):
            settled.append(self._await_verdict(entry))
        for done, entry in enumerate(settled, start=1):
            self._report("reconciled", entry, done, len(settled))
        return settled

    def _settle_by_hash(
        self, reference: str, entries: Sequence[QueueEntry]
    ) -> list[QueueEntry]:
        """Entries whose send may or may not have reached session ``reference``."""
        found: dict[str, SessionInvoiceStatusResponse] = {}
        try:
            for item in self._client.sessions.invoices(reference):
                if item.invoice_hash:
                    found[item.invoice_hash] = item
        except BadRequest as error:
            if not error.has_code(SESSION_NOT_FOUND):
                raise
            # The session exists (entries are marked after it opened), so this login cannot
            # see it: guessing "not sent" could send an invoice twice.
            raise ConfigurationError(
                f"session {reference} of queue entries {[e.id for e in entries]} is not visible"
                " to this login: reconcile with the credentials that sent them (or, knowing"
                " they never reached KSeF, OfflineQueue.requeue them)"
            ) from error
        settled = []
        for entry in entries:
            status = found.get(entry.invoice_hash)
            if status is None:
                settled.append(self._requeue(entry, f"did not reach session {reference}"))
            else:
                settled.append(self._record(entry, status, reference))
        return settled

    def _send_online(self, code: FormCode, entries: Sequence[QueueEntry]) -> None:
        remaining = list(entries)
        while remaining:
            session = self._client.online_session(
                code, preflight=self.preflight, validate_schema=self.validate_schema
            )
            with session:
                self._sessions.append(session.reference_number)
                remaining = self._send_in(session, remaining, len(entries))
                sent = [
                    e
                    for e in self.queue.list(statuses=["sent"])
                    if e.session_reference == session.reference_number
                ]
                for done, entry in enumerate(sent, start=1):
                    verdict = self._await_verdict(entry)
                    self._report(verdict.status, verdict, done, len(sent))

    def _send_in(
        self, session: OnlineSession, entries: list[QueueEntry], total: int
    ) -> list[QueueEntry]:
        """Send into one open session; returns the entries left when it took no more."""
        reference = session.reference_number
        for index, entry in enumerate(entries):
            done = total - len(entries) + index + 1
            self.queue.mark_sending([entry.id], session_reference=reference)
            self._report("sending", entry, done, total)
            try:
                sent = session.send(
                    self.queue.xml(entry),
                    offline_mode=True,
                    hash_of_corrected_invoice=entry.corrects,
                    file_name=entry.file_name,
                )
            except PreflightError as error:
                self._report("requeued", self._requeue(entry, f"pre-flight: {error}"), done, total)
                continue
            except BadRequest as error:
                requeued = self._requeue(entry, f"refused by KSeF: {error}")
                full = any(error.has_code(code) for code in SESSION_EXHAUSTED)
                if full and index > 0:  # a fresh session takes the rest
                    return entries[index:]
                self._report("requeued", requeued, done, total)
                if full:
                    return []  # not even a fresh session takes one: leave them queued
                continue
            except TransportError:
                # The answer was lost, not necessarily the request: ask the session.
                (settled,) = self._settle_by_hash(reference, [entry])
                self._report(settled.status, settled, done, total)
                continue
            marked = self.queue.mark_sent(
                entry.id, invoice_reference=sent.reference_number, session_reference=reference
            )
            self._report("sent", marked, done, total)
        return []

    def _send_batch(self, code: FormCode, entries: Sequence[QueueEntry]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"batch-{uuid.uuid4().hex}.json"
        self.queue.mark_sending([e.id for e in entries], batch_state=str(path))
        for done, entry in enumerate(entries, start=1):
            self._report("sending", entry, done, len(entries))
        batch = self._client.batch_session(code, offline_mode=True, state_path=path)
        try:
            batch.prepare(
                ((_batch_name(e), self.queue.xml(e)) for e in entries),
                preflight=self.preflight,
                validate_schema=self.validate_schema,
            )
        except BatchPreflightError as error:
            shutil.rmtree(path.parent / f"{path.stem}.parts", ignore_errors=True)
            for entry in entries:
                problems = error.problems.get(_batch_name(entry))
                why = "; ".join(problems) if problems else "another file of the package failed"
                self._report("requeued", self._requeue(entry, f"pre-flight: {why}"), 1, 1)
            return
        self._resume_batch(path, entries, batch)

    def _resume_batch(
        self, path: Path, entries: Sequence[QueueEntry], batch: BatchSession | None = None
    ) -> list[QueueEntry]:
        """Finish the batch whose state is ``path`` and record every entry's verdict."""
        if not _built(path):  # never packaged: nothing can have been sent
            return [self._requeue(e, "the batch package was never built") for e in entries]
        if batch is None:
            batch = self._client.resume_batch_session(path)
        try:
            batch.resume(timeout=self.batch_timeout, reopen_expired=True)
        except SessionFailed as error:
            # The session failed as a whole (e.g. 415 key, 420 limit, 430 archive): no
            # invoice of it was processed, so all of them may go again.
            _remove_batch(batch, path)
            return [self._requeue(e, f"batch session failed: {error}") for e in entries]
        self._sessions.append(batch.reference_number)
        by_name = {e.id: e for e in entries}
        settled: dict[int, QueueEntry] = {}
        for status in batch.invoices():
            entry = by_name.get(_batch_id(status.invoice_file_name) or 0)
            if entry is not None:
                settled[entry.id] = self._record(entry, status, batch.reference_number)
        for entry in entries:
            if entry.id not in settled:
                settled[entry.id] = self._requeue(entry, "KSeF reported nothing for it")
        _remove_batch(batch, path)
        total = len(entries)
        for done, entry in enumerate(settled.values(), start=1):
            self._report(entry.status, entry, done, total)
        return list(settled.values())

    # -- technical correction ----------------------------------------------------------------

    def correct_rejected(
        self,
        original: QueueEntry | int | str,
        fixed_xml: bytes,
        *,
        file_name: str | None = None,
        mode: OfflineMode | str = OfflineMode.OFFLINE24,
        preflight: bool = True,
    ) -> QueueEntry:
        """Send ``fixed_xml`` as the technical correction of a rejected offline invoice and
        wait for KSeF's verdict; returns the correction's entry (``accepted`` with its KSeF
        number, the original then ``corrected``; or ``rejected``).

        ``original``: its queue entry, id, or invoice hash (a hash not in the queue is sent
        as given; ``mode`` is then the correction's mode in the queue). The rules that can be
        checked locally raise :class:`~ksefkit.errors.CorrectionNotAllowed` before anything is
        sent; KSeF's own refusal (21166 / 21167) raises :class:`~ksefkit.errors.BadRequest`
        and leaves no trace in the queue.

        >>> fixed = sender.correct_rejected(entry, fixed_xml)  # doctest: +SKIP
        >>> fixed.ksef_number  # doctest: +SKIP
        """
        entry, original_hash = self._original(original)
        problems = correction_problems(entry, original_hash, fixed_xml)
        if problems:
            raise CorrectionNotAllowed(problems, file_name=file_name)
        with self.queue.sending_lock():
            self._reconcile()
            correction = self._correction_entry(entry, original_hash, fixed_xml, file_name, mode)
            if correction.status != "queued":
                return correction  # an earlier run sent it already (reconciled above)
            return self._send_correction(correction, preflight)

    def _original(self, original: QueueEntry | int | str) -> tuple[QueueEntry | None, str]:
        if isinstance(original, QueueEntry):
            return self.queue.get(original.id), original.invoice_hash
        if isinstance(original, int):
            found = self.queue.get(original)
            return found, found.invoice_hash
        return self.queue.find(original), original

    def _correction_entry(
        self,
        original: QueueEntry | None,
        original_hash: str,
        fixed_xml: bytes,
        file_name: str | None,
        mode: OfflineMode | str,
    ) -> QueueEntry:
        entry = self.queue.add(
            fixed_xml,
            mode=original.mode if original is not None else mode,
            ended=original.ended if original is not None else None,
            file_name=file_name,
            corrects=original_hash,
            exist_ok=True,
        )
        if entry.corrects != original_hash:
            raise CorrectionNotAllowed(
                [f"the fixed invoice is already in the queue as entry {entry.id}, no correction"]
            )
        return entry

    def _send_correction(self, entry: QueueEntry, preflight: bool) -> QueueEntry:
        session = self._client.online_session(
            entry.form_code, preflight=preflight, validate_schema=self.validate_schema
        )
        with session:
            self.queue.mark_sending([entry.id], session_reference=session.reference_number)
            try:
                sent = session.send(
                    self.queue.xml(entry),
                    offline_mode=True,
                    hash_of_corrected_invoice=entry.corrects,
                    file_name=entry.file_name,
                )
            except (PreflightError, BadRequest):
                self._requeue(entry, None)
                self.queue.remove(entry.id)  # it never reached KSeF: no trace
                raise
            except TransportError:
                (settled,) = self._settle_by_hash(session.reference_number, [entry])
                return self._await_verdict(settled) if settled.status == "sent" else settled
            marked = self.queue.mark_sent(
                entry.id,
                invoice_reference=sent.reference_number,
                session_reference=session.reference_number,
            )
            return self._await_verdict(marked)

    # -- recording ---------------------------------------------------------------------------

    def _await_verdict(self, entry: QueueEntry) -> QueueEntry:
        """Wait (up to ``timeout``) for the verdict on a ``sent`` entry and record it."""
        assert entry.session_reference is not None
        assert entry.invoice_reference is not None
        session, invoice = entry.session_reference, entry.invoice_reference
        try:
            status = poll_until(
                lambda: self._client.sessions.invoice_status(session, invoice),
                lambda s: s.status.code not in PROCESSING,
                timeout=self.timeout,
                what=f"invoice {invoice}",
            )
        except WaitTimeout:
            return self.queue.get(entry.id)  # still processing: the next run settles it
        return self._record(entry, status, session)

    def _record(
        self, entry: QueueEntry, status: SessionInvoiceStatusResponse, session: str
    ) -> QueueEntry:
        code = status.status.code
        if code in PROCESSING:
            if entry.status == "sent":
                return entry
            return self.queue.mark_sent(
                entry.id,
                invoice_reference=status.reference_number,
                session_reference=session,
                sent_at=status.invoicing_date,
            )
        if code == 200 and status.ksef_number:
            return self.queue.mark_accepted(
                entry.id,
                ksef_number=status.ksef_number,
                invoice_reference=status.reference_number,
                session_reference=session,
                sent_at=status.invoicing_date,
                invoicing_mode=status.invoicing_mode,
            )
        details = "; ".join(status.status.details or ())
        return self.queue.mark_rejected(
            entry.id,
            status_code=code,
            error=status.status.description + (f": {details}" if details else ""),
            invoice_reference=status.reference_number,
            session_reference=session,
            sent_at=status.invoicing_date,
            invoicing_mode=status.invoicing_mode,
        )

    def _requeue(self, entry: QueueEntry, error: str | None) -> QueueEntry:
        return self.queue.requeue(entry.id, error=error)

    def _report(self, phase: str, entry: QueueEntry, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(OfflineProgress(phase, entry, done, total))


def _batchable(entry: QueueEntry) -> bool:
    """Technical corrections go online only; so do form codes KSeF refuses in batch."""
    return entry.corrects is None and entry.form_code.value.batch_allowed


def _by_form(entries: Sequence[QueueEntry]) -> dict[FormCode, list[QueueEntry]]:
    groups: dict[FormCode, list[QueueEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.form_code, []).append(entry)
    return groups


def _batch_name(entry: QueueEntry) -> str:
    """The entry's file name in a batch package: its id makes it unique and traceable."""
    return f"{entry.id}.xml"


def _batch_id(file_name: str | None) -> int | None:
    stem = (file_name or "").removesuffix(".xml")
    return int(stem) if stem.isdigit() else None


def _built(state_path: Path) -> bool:
    """The batch's state was saved, so its package exists (``prepare`` saves it last)."""
    return state_path.exists()


def _state_dir(queue: OfflineQueue) -> Path:
    if queue.path == ":memory:":
        return Path(tempfile.gettempdir()) / "ksefkit-offline-batches"
    return Path(queue.path + ".batches")


def _remove_batch(batch: BatchSession, path: Path) -> None:
    """Forget a finished batch: its part files, then its state file (it holds the key)."""
    batch.cleanup()
    path.unlink(missing_ok=True)
