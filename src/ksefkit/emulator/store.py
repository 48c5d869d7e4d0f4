"""SQLite persistence of the emulator: one connection, one lock, one transaction per change.

``:memory:`` for tests, a file (WAL journal) for ``ksefkit emulator serve`` so a restart keeps
keys, tokens, sessions, invoices and UPOs. The schema is created on open and is additive:
later modules add their own tables with ``CREATE TABLE IF NOT EXISTS``.

Durability contract (a file database):

* every state change is one SQLite transaction (:meth:`Store.tx`, or a single autocommitted
  statement) committed before the HTTP answer that acknowledges it is sent, so ``kill -9`` at
  any moment loses nothing the emulator has acknowledged;
* ``journal_mode=WAL`` with ``synchronous=FULL``: each commit fsyncs the WAL, so acknowledged
  state also survives power loss or an OS crash (``NORMAL`` survives process kills only). A
  bare commit costs 0.17-0.23 ms instead of 0.04-0.05 ms, but the online-session benchmark
  shows no difference above its noise (``bench/README.md``): the stronger setting is kept;
* files that state rows point to (uploaded batch parts, unpacked batch invoices, export parts)
  are written and fsynced (:func:`fsync_file`, :func:`fsync_dir`; parts via a temporary file
  renamed into place) before the transaction that refers to them commits;
* background work is never held in memory: it is derived from rows in a pending state
  (auth operation 100, token Pending/Revoking, invoice 100, session 150/170, export 100), so
  a restarted emulator resumes it; each work item commits its result in one transaction
  guarded by the pending state, so an item interrupted halfway is redone from the start, never
  applied twice (one KSeF number per invoice; ``upo_pages`` is unique per session and page).

Legitimately volatile, in memory only: parsed private keys (a cache of the ``keys`` table),
the worker's wake-up event, the "no XSD" warning flag, rate-limit counters and injected faults
(test conditions of the running process, reset by a restart like KSeF's own windows).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["COLUMNS", "SCHEMA", "Row", "Store", "fsync_dir", "fsync_file"]

Row = sqlite3.Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    public_key_id TEXT PRIMARY KEY, usage TEXT NOT NULL, private_pem BLOB NOT NULL,
    certificate_der BLOB NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS permissions (
    context_type TEXT NOT NULL, context_value TEXT NOT NULL, subject_type TEXT NOT NULL,
    subject_value TEXT NOT NULL, permission TEXT NOT NULL,
    PRIMARY KEY (context_type, context_value, subject_type, subject_value, permission));
CREATE TABLE IF NOT EXISTS ksef_tokens (
    reference_number TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
    context_type TEXT NOT NULL, context_value TEXT NOT NULL, subject_type TEXT NOT NULL,
    subject_value TEXT NOT NULL, permissions TEXT NOT NULL, description TEXT NOT NULL,
    status TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS challenges (
    challenge TEXT PRIMARY KEY, timestamp TEXT NOT NULL, timestamp_ms INTEGER NOT NULL,
    client_ip TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS auth_operations (
    reference_number TEXT PRIMARY KEY, context_type TEXT NOT NULL, context_value TEXT NOT NULL,
    method TEXT NOT NULL, start_date TEXT NOT NULL, challenge TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL, encrypted_token BLOB, key_id TEXT,
    subject_type TEXT, subject_value TEXT, token_reference TEXT, permissions TEXT,
    auth_document_hash TEXT,
    status_code INTEGER NOT NULL, status_description TEXT NOT NULL, status_details TEXT,
    redeemed INTEGER NOT NULL DEFAULT 0, last_refresh TEXT, refresh_valid_until TEXT,
    client_ip TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS sessions (
    reference_number TEXT PRIMARY KEY, session_type TEXT NOT NULL,
    context_type TEXT NOT NULL, context_value TEXT NOT NULL, subject_value TEXT NOT NULL,
    auth_reference TEXT NOT NULL, token_reference TEXT, form_code TEXT NOT NULL,
    sym_key BLOB, iv BLOB, status_code INTEGER NOT NULL, status_description TEXT NOT NULL,
    status_details TEXT, date_created TEXT NOT NULL, date_updated TEXT NOT NULL,
    date_closed TEXT, valid_until TEXT NOT NULL, upo_version TEXT);
CREATE INDEX IF NOT EXISTS sessions_ctx ON sessions (context_type, context_value, date_created);
CREATE TABLE IF NOT EXISTS invoices (
    reference_number TEXT PRIMARY KEY, session_reference TEXT NOT NULL,
    ordinal_number INTEGER NOT NULL, invoice_hash TEXT NOT NULL, invoice_size INTEGER NOT NULL,
    encrypted BLOB, offline_mode INTEGER NOT NULL, hash_of_corrected TEXT,
    invoicing_date TEXT NOT NULL, status_code INTEGER NOT NULL, status_description TEXT NOT NULL,
    status_details TEXT, status_extensions TEXT, xml BLOB, ksef_number TEXT UNIQUE,
    invoice_number TEXT, seller_nip TEXT, invoice_type TEXT, issue_date TEXT,
    acquisition_date TEXT, permanent_storage_date TEXT, invoicing_mode TEXT,
    form_code TEXT NOT NULL, file_name TEXT, upo BLOB,
    UNIQUE (session_reference, ordinal_number));
CREATE INDEX IF NOT EXISTS invoices_pending ON invoices (status_code);
CREATE INDEX IF NOT EXISTS invoices_dup ON invoices (seller_nip, invoice_type, invoice_number);
CREATE TABLE IF NOT EXISTS upo_pages (
    reference_number TEXT PRIMARY KEY, session_reference TEXT NOT NULL,
    page INTEGER NOT NULL, xml BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS batch_sessions (
    reference_number TEXT PRIMARY KEY, file_size INTEGER NOT NULL, file_hash TEXT NOT NULL,
    compression TEXT NOT NULL, offline_mode INTEGER NOT NULL, upload_until TEXT NOT NULL,
    stage TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch_parts (
    session_reference TEXT NOT NULL, ordinal_number INTEGER NOT NULL,
    file_size INTEGER NOT NULL, file_hash TEXT NOT NULL, path TEXT, uploaded_size INTEGER,
    uploaded_hash TEXT, uploaded_at TEXT, etag TEXT,
    PRIMARY KEY (session_reference, ordinal_number));
CREATE TABLE IF NOT EXISTS blocked_contexts (
    context_type TEXT NOT NULL, context_value TEXT NOT NULL, blocked_at TEXT NOT NULL,
    PRIMARY KEY (context_type, context_value));
"""

#: Columns added after the first release: ``(table, column, declaration)``. Files written by an
#: older emulator get them on open (``ALTER TABLE ... ADD COLUMN``), so the schema stays additive.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("auth_operations", "method_code", "TEXT"),
    ("auth_operations", "ip_policy", "TEXT"),
    ("auth_operations", "certificate", "BLOB"),
    ("auth_operations", "verify_chain", "INTEGER NOT NULL DEFAULT 0"),
    ("ksef_tokens", "status_details", "TEXT"),
    ("ksef_tokens", "status_changed", "TEXT"),
    ("ksef_tokens", "last_use", "TEXT"),
    ("invoices", "source_path", "TEXT"),
    ("invoices", "metadata", "TEXT"),
    ("invoices", "buyer_nip", "TEXT"),
    ("invoices", "third_ids", "TEXT"),
    ("invoices", "authorized_nip", "TEXT"),
)

#: Indexes over columns of :data:`COLUMNS` (created after the columns exist).
INDEXES = """
CREATE INDEX IF NOT EXISTS invoices_seller_ps ON invoices (seller_nip, permanent_storage_date);
CREATE INDEX IF NOT EXISTS invoices_buyer_ps ON invoices (buyer_nip, permanent_storage_date);
CREATE INDEX IF NOT EXISTS invoices_ksef_number ON invoices (ksef_number);
CREATE UNIQUE INDEX IF NOT EXISTS upo_pages_page ON upo_pages (session_reference, page);
"""


class Store:
    """A SQLite database shared by all emulator threads.

    >>> s = Store(":memory:")
    >>> with s.tx():
    ...     _ = s.run("INSERT INTO meta VALUES (?, ?)", ("k", b"v"))
    >>> s.one("SELECT value FROM meta WHERE key = ?", ("k",))["value"]
    b'v'
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:":
            # WAL lets readers (CLI inspecting the file) run while the server writes; FULL
            # fsyncs the WAL on every commit (see the module docstring for the cost).
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._add_columns()
        self._conn.executescript(INDEXES)

    def _add_columns(self) -> None:
        for table, column, declaration in COLUMNS:
            have = {r["name"] for r in self._conn.execute(f'PRAGMA table_info("{table}")')}
            if column not in have:
                self._conn.execute(f'ALTER TABLE "{table}" ADD COLUMN {column} {declaration}')

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One transaction (nested calls join the outer one); rolls back on error."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; returns the number of rows changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        with self._lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def script(self, sql: str) -> None:
        """Run DDL (e.g. another module's ``CREATE TABLE IF NOT EXISTS``)."""
        with self._lock:
            self._conn.executescript(sql)

    def get_meta(self, key: str) -> bytes | None:
        """A persisted blob (secrets, signer keys) or None."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else bytes(row["value"])

    def set_meta(self, key: str, value: bytes) -> None:
        """Store or replace a persisted blob."""
        self.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def wipe(self, *, keep: Sequence[str] = ("meta", "keys")) -> None:
        """Delete every row of every table except ``keep`` (used by ``reset``)."""
        with self.tx():
            names = [
                r["name"] for r in self.all("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for name in names:
                if name not in keep:
                    self.run(f'DELETE FROM "{name}"')  # noqa: S608 - names come from sqlite_master

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()


def fsync_file(file: IO[bytes]) -> None:
    """Flush an open file to disk (before a transaction that refers to it commits).

    >>> import tempfile
    >>> with tempfile.TemporaryFile() as f:
    ...     _ = f.write(b"part")
    ...     fsync_file(f)
    """
    file.flush()
    os.fsync(file.fileno())


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make the entries of a directory (files created or renamed in it) durable.

    A no-op where directories cannot be opened for fsync (Windows).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fsync_dir(d)
    """
    if os.name != "posix":
        return
    fd = os.open(Path(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
