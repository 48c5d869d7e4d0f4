"""A durable local queue of invoices issued offline, with their submission deadlines.

One SQLite file (stdlib ``sqlite3``, WAL journal, ``synchronous=FULL``); every change is one
transaction, so a process killed at any moment leaves the queue at a consistent point. Each
entry keeps the invoice XML as issued (its SHA-256 is what the printed KOD I shows), the
seller NIP, ``P_1``, the offline mode, the deadline (:mod:`ksefkit.offline.calendar`) and
where it is in its life::

    queued ──► sending ──► sent ──► accepted
       ▲          │          └────► rejected ──► corrected (a technical correction was accepted)
       └──────────┘ (reconciled: it never reached KSeF)

``sending`` is written *before* the invoice goes out, with the session it goes into, so a
crash between the request and the record of its answer is settled later by looking the
invoice up by hash in that session (the sender's ``reconcile``), never by sending it again.

Announced KSeF failures (:class:`~ksefkit.offline.calendar.Failure`) and the end of an
unavailability are recorded here too; every change recomputes the deadlines of the invoices
still to send.

>>> queue = OfflineQueue(":memory:")
>>> from ksefkit.invoices.generate import generate_fa3
>>> xml = generate_fa3(seller_nip="5265877635", buyer_nip="7740001454",
...     invoice_number="FV/1/2026", issue_date=dt.date(2026, 4, 30))
>>> entry = queue.add(xml, mode="offline24")
>>> entry.status, entry.deadline.isoformat()
('queued', '2026-05-04T23:59:59.999999+02:00')
>>> [e.invoice_number for e in queue.list(overdue=True, now=dt.datetime(2026, 5, 5, tzinfo=dt.UTC))]
['FV/1/2026']
>>> queue.close()
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..crypto import sha256_b64
from ..errors import ConfigurationError
from ..formcodes import FormCode
from ..invoices.facts import extract_facts
from .calendar import Failure, OfflineMode, submission_deadline, warsaw_day
from .entry import IN_FLIGHT, STATUSES, UNSENT, QueueEntry, QueueReport, now_utc

__all__ = [
    "IN_FLIGHT",
    "STATUSES",
    "UNSENT",
    "OfflineQueue",
    "QueueEntry",
    "QueueReport",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_hash TEXT NOT NULL UNIQUE,
    xml BLOB NOT NULL,
    file_name TEXT,
    seller_nip TEXT NOT NULL,
    invoice_number TEXT,
    issue_date TEXT NOT NULL,
    form_code TEXT NOT NULL,
    mode TEXT NOT NULL,
    ended TEXT,
    deadline TEXT,
    status TEXT NOT NULL,
    added_at TEXT NOT NULL,
    session_reference TEXT,
    invoice_reference TEXT,
    batch_state TEXT,
    ksef_number TEXT,
    status_code INTEGER,
    error TEXT,
    sent_at TEXT,
    invoicing_mode TEXT,
    corrects TEXT,
    corrected_by TEXT);
CREATE INDEX IF NOT EXISTS entries_status ON entries (status);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    start TEXT NOT NULL,
    end TEXT);
"""
_COLUMNS = (
    "id, invoice_hash, file_name, seller_nip, invoice_number, issue_date, form_code, mode,"
    " ended, deadline, status, added_at, session_reference, invoice_reference, batch_state,"
    " ksef_number, status_code, error, sent_at, invoicing_mode, corrects, corrected_by"
)


class OfflineQueue:
    """The queue file. ``path`` is created (mode 0600) if missing; ``":memory:"`` for tests.

    Use it as a context manager or call :meth:`close`. Methods are thread-safe; two
    processes may read the same file, and :meth:`sending_lock` keeps two senders apart.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _touch_private(Path(self.path))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed change survives a power cut, not only a crashed process.
            self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"<OfflineQueue {self.path}>"

    def __enter__(self) -> OfflineQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            self._conn.close()

    # -- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _select(self, tail: str, params: Sequence[Any] = ()) -> builtins.list[sqlite3.Row]:
        """Entry rows; ``tail`` is always one of this module's constant clauses."""
        return self._rows(f"SELECT {_COLUMNS} FROM entries {tail}", params)  # noqa: S608

    # -- adding ----------------------------------------------------------------------------

    def add(
        self,
        xml: bytes,
        *,
        mode: OfflineMode | str,
        ended: dt.date | None = None,
        file_name: str | None = None,
        form_code: FormCode | None = None,
        corrects: str | None = None,
        exist_ok: bool = False,
        now: dt.datetime | None = None,
    ) -> QueueEntry:
        """Queue an invoice issued offline; returns its entry with the deadline.

        ``ended``: when the unavailability (``offline``) or failure (``emergency``) it was
        issued in ended, if it has (:meth:`record_end` can give it later). The seller NIP,
        ``P_1`` and the form code come from the XML. Queuing the same XML twice raises
        ConfigurationError unless ``exist_ok`` (the existing entry is returned).

        >>> entry = queue.add(Path("FV-1.xml").read_bytes(), mode="offline24")  # doctest: +SKIP
        """
        mode = OfflineMode(mode)
        facts = _facts(xml)
        invoice_hash = sha256_b64(xml)
        code = form_code or facts.form_code or FormCode.FA3
        day = None if ended is None else warsaw_day(ended)
        with self._tx() as conn:
            existing = self._find(invoice_hash)
            if existing is not None:
                if exist_ok:
                    return existing
                raise ConfigurationError(
                    f"this invoice is already queued (entry {existing.id}, {existing.status})"
                )
            assert facts.issue_date is not None
            assert facts.seller_nip is not None
            deadline = submission_deadline(
                mode, facts.issue_date, ended=day, failures=self._failures()
            )
            cursor = conn.execute(
                "INSERT INTO entries (invoice_hash, xml, file_name, seller_nip, invoice_number,"
                " issue_date, form_code, mode, ended, deadline, status, added_at, corrects)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (
                    invoice_hash,
                    xml,
                    file_name,
                    facts.seller_nip,
                    facts.invoice_number,
                    facts.issue_date.isoformat(),
                    code.name,
                    mode.value,
                    _iso(day),
                    _iso(deadline),
                    _now(now).isoformat(),
                    corrects,
                ),
            )
            assert cursor.lastrowid is not None
            return self._get(cursor.lastrowid)

    # -- reading ---------------------------------------------------------------------------

    def find(self, key: int | str) -> QueueEntry | None:
        """The entry with this id or invoice hash (Base64 SHA-256), or None."""
        with self._lock:
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                rows = self._select("WHERE id = ?", (int(key),))
                return _entry(rows[0]) if rows else None
            return self._find(key)

    def get(self, key: int | str) -> QueueEntry:
        """Like :meth:`find`, but a missing entry raises ConfigurationError."""
        entry = self.find(key)
        if entry is None:
            raise ConfigurationError(f"no invoice {key} in the offline queue {self.path}")
        return entry

    def xml(self, entry: QueueEntry | int) -> bytes:
        """The invoice XML exactly as queued."""
        key = entry.id if isinstance(entry, QueueEntry) else entry
        rows = self._rows("SELECT xml FROM entries WHERE id = ?", (key,))
        if not rows:
            raise ConfigurationError(f"no invoice {key} in the offline queue {self.path}")
        return bytes(rows[0]["xml"])

    def list(
        self,
        *,
        statuses: Iterable[str] | None = None,
        due_before: dt.datetime | None = None,
        overdue: bool | None = None,
        now: dt.datetime | None = None,
    ) -> builtins.list[QueueEntry]:
        """Entries, oldest first, filtered by status and deadline.

        ``due_before``: unsent entries whose deadline is at or before that moment.
        ``overdue=True``: unsent entries past their deadline at ``now``; ``False``: the others.

        >>> queue.list(due_before=end_of_day(dt.date.today()))  # doctest: +SKIP
        """
        wanted = _statuses(statuses)
        entries = [_entry(r) for r in self._select("ORDER BY id")]
        if wanted is not None:
            entries = [e for e in entries if e.status in wanted]
        if due_before is not None:
            bound = _aware(due_before)
            entries = [e for e in entries if e.unsent and e.deadline and e.deadline <= bound]
        if overdue is not None:
            at = _now(now)
            entries = [e for e in entries if e.overdue(at) is overdue]
        return entries

    def report(self, now: dt.datetime | None = None) -> QueueReport:
        """What is due, overdue, waiting, in flight and rejected at ``now``."""
        at = _now(now)
        entries = self.list()
        unsent = [e for e in entries if e.unsent]
        due = sorted(
            (e for e in unsent if e.deadline is not None and not e.overdue(at)),
            key=lambda e: (e.deadline, e.id),
        )
        counts = {status: 0 for status in STATUSES}
        for entry in entries:
            counts[entry.status] += 1
        return QueueReport(
            now=at,
            overdue=tuple(e for e in unsent if e.overdue(at)),
            due=tuple(due),
            waiting=tuple(
                e for e in unsent if e.deadline is None and e.mode is not OfflineMode.TOTAL_FAILURE
            ),
            no_obligation=tuple(e for e in unsent if e.mode is OfflineMode.TOTAL_FAILURE),
            in_flight=tuple(e for e in entries if e.status == "sent"),
            rejected=tuple(e for e in entries if e.status == "rejected"),
            late=tuple(e for e in entries if e.late),
            counts=counts,
        )

    def to_send(self, *, seller_nip: str | None = None) -> builtins.list[QueueEntry]:
        """The ``queued`` entries (oldest first), optionally of one seller."""
        entries = self.list(statuses=["queued"])
        return [e for e in entries if seller_nip is None or e.seller_nip == seller_nip]

    # -- outages ---------------------------------------------------------------------------

    def failures(self) -> builtins.list[Failure]:
        """The announced KSeF failures recorded so far (oldest first)."""
        with self._lock:
            return self._failures()

    def add_failure(self, start: dt.date, end: dt.date | None = None) -> Failure:
        """Record an announced KSeF failure (``end`` None while it lasts); deadlines of the
        invoices still to send are recomputed."""
        failure = _failure(warsaw_day(start), None if end is None else warsaw_day(end))
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO failures (start, end) VALUES (?, ?)",
                (_iso(failure.start), _iso(failure.end)),
            )
            self._recompute(conn)
        return failure

    def end_failure(self, end: dt.date) -> Failure:
        """Record the end of the failure that is still open (ConfigurationError if none)."""
        day = warsaw_day(end)
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT id, start FROM failures WHERE end IS NULL ORDER BY id DESC"
            ).fetchall()
            if not rows:
                raise ConfigurationError("no announced failure is open in the offline queue")
            failure = _failure(dt.date.fromisoformat(rows[0]["start"]), day)
            conn.execute(
                "UPDATE failures SET end = ? WHERE id = ?", (day.isoformat(), rows[0]["id"])
            )
            self._recompute(conn)
        return failure

    def record_end(self, mode: OfflineMode | str, ended: dt.date) -> int:
        """Give ``ended`` (the end of the unavailability or failure) to the unsent entries of
        ``mode`` that have none; returns how many changed."""
        mode = OfflineMode(mode)
        if not mode.needs_end:
            raise ConfigurationError(f"{mode.value} invoices have no outage end")
        day = warsaw_day(ended)
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE entries SET ended = ? WHERE mode = ? AND ended IS NULL"
                " AND status IN ('queued', 'sending')",
                (day.isoformat(), mode.value),
            )
            self._recompute(conn)
            return cursor.rowcount

    # -- transitions (the sender's) ----------------------------------------------------------

    def mark_sending(
        self,
        ids: Iterable[int],
        *,
        session_reference: str | None = None,
        batch_state: str | None = None,
    ) -> None:
        """Entries about to go out in ``session_reference`` (online) or the batch whose state
        file is ``batch_state``. Written before the request, so a crash can be reconciled."""
        with self._tx() as conn:
            for key in ids:
                self._update(
                    conn,
                    key,
                    ("queued", "sending"),
                    status="sending",
                    session_reference=session_reference,
                    batch_state=batch_state,
                    error=None,
                )

    def mark_sent(
        self,
        key: int,
        *,
        invoice_reference: str,
        session_reference: str | None = None,
        sent_at: dt.datetime | None = None,
    ) -> QueueEntry:
        """KSeF accepted the invoice for processing (202): its reference number is known."""
        values: dict[str, Any] = {"status": "sent", "invoice_reference": invoice_reference}
        if session_reference is not None:
            values["session_reference"] = session_reference
        values["sent_at"] = _iso(sent_at)
        with self._tx() as conn:
            self._update(conn, key, ("sending", "sent"), **values)
            return self._get(key)

    def mark_accepted(
        self,
        key: int,
        *,
        ksef_number: str,
        invoice_reference: str | None = None,
        session_reference: str | None = None,
        sent_at: dt.datetime | None = None,
        invoicing_mode: str | None = None,
    ) -> QueueEntry:
        """KSeF assigned a KSeF number. An accepted technical correction turns its original
        into ``corrected`` in the same transaction."""
        values = _known(
            status="accepted",
            ksef_number=ksef_number,
            status_code=200,
            error=None,
            invoice_reference=invoice_reference,
            session_reference=session_reference,
            sent_at=_iso(sent_at),
            invoicing_mode=invoicing_mode,
        )
        with self._tx() as conn:
            self._update(conn, key, ("sending", "sent", "accepted"), **values)
            entry = self._get(key)
            if entry.corrects is not None:
                conn.execute(
                    "UPDATE entries SET status = 'corrected', corrected_by = ?"
                    " WHERE invoice_hash = ? AND status IN ('rejected', 'corrected')",
                    (entry.invoice_hash, entry.corrects),
                )
            return entry

    def mark_rejected(
        self,
        key: int,
        *,
        status_code: int,
        error: str,
        invoice_reference: str | None = None,
        session_reference: str | None = None,
        sent_at: dt.datetime | None = None,
        invoicing_mode: str | None = None,
    ) -> QueueEntry:
        """KSeF rejected the invoice (``status_code``: its invoice status, e.g. 440)."""
        values = _known(
            status="rejected",
            status_code=status_code,
            error=error,
            invoice_reference=invoice_reference,
            session_reference=session_reference,
            sent_at=_iso(sent_at),
            invoicing_mode=invoicing_mode,
        )
        with self._tx() as conn:
            self._update(conn, key, ("sending", "sent", "rejected"), **values)
            return self._get(key)

    def requeue(self, key: int, *, error: str | None = None) -> QueueEntry:
        """Back to ``queued``: the invoice did not reach KSeF (``error`` says why)."""
        with self._tx() as conn:
            self._update(
                conn,
                key,
                ("queued", "sending"),
                status="queued",
                session_reference=None,
                invoice_reference=None,
                batch_state=None,
                error=error,
            )
            return self._get(key)

    def remove(self, key: int | str) -> None:
        """Delete an entry that is not in flight (``sending``/``sent`` raise)."""
        entry = self.get(key)
        if entry.status in IN_FLIGHT:
            raise ConfigurationError(
                f"entry {entry.id} is {entry.status}: wait for KSeF's verdict before removing it"
            )
        with self._tx() as conn:
            conn.execute("DELETE FROM entries WHERE id = ?", (entry.id,))

    # -- a sender at a time ------------------------------------------------------------------

    @contextlib.contextmanager
    def sending_lock(self) -> Iterator[None]:
        """Hold the queue's sender lock (``<file>.lock``, an OS file lock) for the block.

        A second sender would take the first one's ``sending`` entries for crashed ones;
        the lock refuses it (ConfigurationError) instead. In-memory queues need no lock.
        """
        if self.path == ":memory:":
            yield
            return
        with open(self.path + ".lock", "a+") as handle:
            if not _try_lock(handle):
                raise ConfigurationError(
                    f"another process is sending invoices from {self.path}; try again later"
                )
            try:
                yield
            finally:
                _unlock(handle)

    # -- internals ---------------------------------------------------------------------------

    def _find(self, invoice_hash: str) -> QueueEntry | None:
        rows = self._select("WHERE invoice_hash = ?", (invoice_hash,))
        return _entry(rows[0]) if rows else None

    def _get(self, key: int) -> QueueEntry:
        rows = self._select("WHERE id = ?", (key,))
        if not rows:
            raise ConfigurationError(f"no invoice {key} in the offline queue {self.path}")
        return _entry(rows[0])

    def _failures(self) -> builtins.list[Failure]:
        rows = self._conn.execute("SELECT start, end FROM failures ORDER BY start, id").fetchall()
        return [
            Failure(
                dt.date.fromisoformat(r["start"]),
                None if r["end"] is None else dt.date.fromisoformat(r["end"]),
            )
            for r in rows
        ]

    def _recompute(self, conn: sqlite3.Connection) -> None:
        failures = self._failures()
        rows = conn.execute(
            "SELECT id, mode, issue_date, ended FROM entries WHERE status IN ('queued', 'sending')"
        ).fetchall()
        for row in rows:
            deadline = submission_deadline(
                row["mode"],
                dt.date.fromisoformat(row["issue_date"]),
                ended=None if row["ended"] is None else dt.date.fromisoformat(row["ended"]),
                failures=failures,
            )
            conn.execute(
                "UPDATE entries SET deadline = ? WHERE id = ?", (_iso(deadline), row["id"])
            )

    def _update(
        self, conn: sqlite3.Connection, key: int, allowed: tuple[str, ...], **values: Any
    ) -> None:
        row = conn.execute("SELECT status FROM entries WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise ConfigurationError(f"no invoice {key} in the offline queue {self.path}")
        if row["status"] not in allowed:
            raise ConfigurationError(f"entry {key} is {row['status']}, not {' or '.join(allowed)}")
        assignments = ", ".join(f"{name} = ?" for name in values)
        conn.execute(f"UPDATE entries SET {assignments} WHERE id = ?", (*values.values(), key))  # noqa: S608


def _facts(xml: bytes) -> Any:
    try:
        facts = extract_facts(xml)
    except ValueError as exc:
        raise ConfigurationError(f"not an invoice: {exc}") from None
    missing = [
        name
        for name, value in (("seller NIP (Podmiot1)", facts.seller_nip), ("P_1", facts.issue_date))
        if value is None
    ]
    if missing:
        raise ConfigurationError(f"the invoice has no {' and no '.join(missing)}")
    return facts


def _entry(row: sqlite3.Row) -> QueueEntry:
    return QueueEntry(
        id=row["id"],
        invoice_hash=row["invoice_hash"],
        file_name=row["file_name"],
        seller_nip=row["seller_nip"],
        invoice_number=row["invoice_number"],
        issue_date=dt.date.fromisoformat(row["issue_date"]),
        form_code=FormCode[row["form_code"]],
        mode=OfflineMode(row["mode"]),
        ended=None if row["ended"] is None else dt.date.fromisoformat(row["ended"]),
        deadline=_datetime(row["deadline"]),
        status=row["status"],
        added_at=_datetime(row["added_at"]) or dt.datetime.now(dt.UTC),
        session_reference=row["session_reference"],
        invoice_reference=row["invoice_reference"],
        batch_state=row["batch_state"],
        ksef_number=row["ksef_number"],
        status_code=row["status_code"],
        error=row["error"],
        sent_at=_datetime(row["sent_at"]),
        invoicing_mode=row["invoicing_mode"],
        corrects=row["corrects"],
        corrected_by=row["corrected_by"],
    )


def _known(**values: Any) -> dict[str, Any]:
    """The values to write: ``None`` keeps what is recorded, except for ``error``."""
    return {k: v for k, v in values.items() if v is not None or k == "error"}


def _statuses(statuses: Iterable[str] | None) -> frozenset[str] | None:
    if statuses is None:
        return None
    wanted = frozenset(statuses)
    unknown = wanted - set(STATUSES)
    if unknown:
        raise ConfigurationError(
            f"unknown status {', '.join(sorted(unknown))} (one of {', '.join(STATUSES)})"
        )
    return wanted


def _now(now: dt.datetime | None) -> dt.datetime:
    try:
        return now_utc(now)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ConfigurationError(f"give an aware datetime, not {value.isoformat()}")
    return value


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _failure(start: dt.date, end: dt.date | None) -> Failure:
    # An end before the start is the caller's input, not a bug: say so as a KsefError.
    try:
        return Failure(start, end)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _touch_private(path: Path) -> None:
    """Create the file readable by its owner only (it holds business documents)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _try_lock(handle: TextIO) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: TextIO) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
