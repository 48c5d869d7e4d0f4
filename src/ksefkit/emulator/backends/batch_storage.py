"""Batch part storage: the storage directory, pre-signed upload links and part uploads.

Rules only (no HTTP; :mod:`ksefkit.emulator.storage_routes` serves them). Links are
``/storage/batch/{ref}/batch-parts/{n}?sv=…&se=<expiry>&sr=b&sp=w&sig=<HMAC-SHA256 over
(session, ordinal, expiry, permission) with the emulator secret>``. An upload streams into
``<storage>/batch/<ref>/part-<n>.<random>.upload`` with size and SHA-256 counted on the way and
is renamed to ``part-<n>.bin`` only when both match the declaration (a re-upload replaces the
part; a failed one leaves the previous part in place). The file is fsynced before the rename
and the directory after it, both before the row recording the part commits and the 201 is
sent: an acknowledged part survives a kill or a power loss. Errors are :class:`StorageError`
(Azure Blob codes, see the routes module).

Storage root: ``storage_dir`` when configured, else ``<db file stem>-storage`` next to a file
database, else a temporary directory removed when the emulator closes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import shutil
import tempfile
import threading
import urllib.parse
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..clock import isoformat, parse_datetime
from ..store import fsync_dir, fsync_file

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["BatchStorage", "PartUpload", "StorageError"]

_SAS_VERSION = "2025-01-05"


class StorageError(Exception):
    """An Azure-Blob-style error of the part-upload endpoint.

    ``code`` is the ``x-ms-error-code``; ``extra`` holds additional XML elements such as
    ``HeaderName`` or ``AuthenticationErrorDetail``.
    """

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def _auth_failed(detail: str) -> StorageError:
    return StorageError(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization"
        " header is formed correctly including the signature.",
        AuthenticationErrorDetail=detail,
    )


class BatchStorage:
    """Part files on disk and the rules of the pre-signed upload links."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._lock = threading.Lock()
        self._temp_root: Path | None = None

    # -- storage ---------------------------------------------------------------------------

    def storage_root(self) -> Path:
        """Where parts and unpacked packages live (created on first use)."""
        with self._lock:
            configured = self._state.config.storage_dir
            if configured:
                root = Path(configured)
            elif self._state.config.db_path != ":memory:":
                db = Path(self._state.config.db_path)
                root = db.with_name(db.stem + "-storage")
            else:
                if self._temp_root is None:
                    self._temp_root = Path(tempfile.mkdtemp(prefix="ksefkit-emulator-"))
                root = self._temp_root
            root.mkdir(parents=True, exist_ok=True)
            return root

    def session_dir(self, reference: str) -> Path:
        """The directory of one batch session's files."""
        return self.storage_root() / "batch" / reference

    def wipe_files(self) -> None:
        """Remove every stored part and unpacked package (``reset``)."""
        shutil.rmtree(self.storage_root() / "batch", ignore_errors=True)

    def close(self) -> None:
        """Remove the temporary storage of an in-memory emulator (idempotent)."""
        with self._lock:
            if self._temp_root is not None:
                shutil.rmtree(self._temp_root, ignore_errors=True)
                self._temp_root = None

    def drop_files(self, reference: str) -> None:
        """Remove one session's files (parts, package, unpacked invoices)."""
        shutil.rmtree(self.session_dir(reference), ignore_errors=True)

    def sweep(self) -> int:
        """Remove what a killed emulator left on disk; returns how many paths went.

        Partial uploads (``*.upload``, never acknowledged), a half-written ``package.bin``
        (rebuilt from the parts) and the directories of sessions that are finished or unknown
        (killed between the final commit and the clean-up). Run on start, before the worker.
        """
        root = self.storage_root() / "batch"
        if not root.is_dir():
            return 0
        live = {
            r["reference_number"]
            for r in self._store.all(
                "SELECT reference_number FROM batch_sessions WHERE stage != 'done'"
            )
        }
        removed = 0
        for directory in root.iterdir():
            if not directory.is_dir():
                continue
            if directory.name not in live:
                shutil.rmtree(directory, ignore_errors=True)
                removed += 1
                continue
            for leftover in [*directory.glob("*.upload"), directory / "package.bin"]:
                if leftover.is_file():
                    leftover.unlink()
                    removed += 1
        return removed

    # -- pre-signed links ------------------------------------------------------------------

    def part_url(self, reference: str, ordinal: int, expiry: dt.datetime) -> str:
        """The path and SAS-like query of one part's upload link."""
        se = expiry.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = {
            "sv": _SAS_VERSION,
            "se": se,
            "sr": "b",
            "sp": "w",
            "sig": self._sign(reference, str(ordinal), se, "w"),
        }
        return f"/storage/batch/{reference}/batch-parts/{ordinal}?" + urllib.parse.urlencode(query)

    def _sign(self, reference: str, ordinal: str, se: str, sp: str) -> str:
        message = "\n".join(("batch-part", reference, ordinal, se, sp)).encode()
        mac = hmac.new(self._state.jwt_secret, message, hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")

    # -- part upload -----------------------------------------------------------------------

    def begin_upload(
        self,
        reference: str,
        ordinal: str,
        query: dict[str, str],
        blob_type: str | None,
        content_length: str | None,
    ) -> PartUpload:
        """Check a part upload before its body is read (signature, expiry, header, session)."""
        if "sig" not in query:
            raise StorageError(
                401,
                "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information"
                " in the www-authenticate header.",
            )
        se, sp = query.get("se", ""), query.get("sp", "")
        expected = self._sign(reference, ordinal, se, sp)
        if not hmac.compare_digest(expected.encode(), query["sig"].encode()) or "w" not in sp:
            raise _auth_failed("Signature did not match.")
        now = self._state.clock.now()
        try:
            expiry = parse_datetime(se)
        except ValueError:
            raise _auth_failed("Signed expiry time is not a valid date.") from None
        if now >= expiry:
            raise _auth_failed(
                f"Signature not valid in the specified time frame: Expiry"
                f" [{_http_date(expiry)}] - Current [{_http_date(now)}]"
            )
        if blob_type is None:
            raise StorageError(
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified.",
                HeaderName="x-ms-blob-type",
            )
        if blob_type != "BlockBlob":
            raise StorageError(
                400,
                "InvalidHeaderValue",
                "The value for one of the HTTP headers is not in the correct format.",
                HeaderName="x-ms-blob-type",
                HeaderValue=blob_type,
            )
        part = self._part_row(reference, int(ordinal))
        if content_length is not None and content_length.strip() != str(part["file_size"]):
            raise _size_mismatch(part, content_length.strip())
        directory = self.session_dir(reference)
        directory.mkdir(parents=True, exist_ok=True)
        return PartUpload(self, part, directory)

    def _part_row(self, reference: str, ordinal: int) -> Any:
        self._state.sessions.expire_due()
        row = self._store.one(
            "SELECT p.*, b.stage FROM batch_parts p JOIN batch_sessions b"
            " ON b.reference_number = p.session_reference"
            " WHERE p.session_reference = ? AND p.ordinal_number = ?",
            (reference, ordinal),
        )
        if row is None:
            raise StorageError(404, "BlobNotFound", "The specified blob does not exist.")
        if row["stage"] != "open":
            raise _not_authorized()
        return row

    def store_part(self, part: Any, temp: Path, size: int, digest: str) -> str:
        """Keep an uploaded part whose size and hash matched; returns its ETag."""
        reference, ordinal = part["session_reference"], part["ordinal_number"]
        final = temp.with_name(f"part-{ordinal}.bin")
        etag = '"0x' + hashlib.sha256(f"{digest}{uuid.uuid4()}".encode()).hexdigest()[:15].upper()
        with self._store.tx():
            stage = self._store.one(
                "SELECT stage FROM batch_sessions WHERE reference_number = ?", (reference,)
            )
            if stage is None or stage["stage"] != "open":
                raise _not_authorized()
            os.replace(temp, final)
            fsync_dir(final.parent)
            fsync_dir(final.parent.parent)  # the session directory may be new
            self._store.run(
                "UPDATE batch_parts SET path = ?, uploaded_size = ?, uploaded_hash = ?,"
                " uploaded_at = ?, etag = ? WHERE session_reference = ? AND ordinal_number = ?",
                (
                    str(final),
                    size,
                    digest,
                    isoformat(self._state.clock.now()),
                    etag,
                    reference,
                    ordinal,
                ),
            )
            self._touch(reference)
        return etag

    def _touch(self, reference: str) -> None:
        self._store.run(
            "UPDATE sessions SET date_updated = ? WHERE reference_number = ?",
            (isoformat(self._state.clock.now()), reference),
        )


class PartUpload:
    """One part upload in progress: ``write`` chunks, then ``finish`` (or ``abort``).

    Used as a context manager: leaving the block without ``finish`` removes the partial file.
    """

    def __init__(self, backend: BatchStorage, part: Any, directory: Path) -> None:
        self._backend = backend
        self._part = part
        self.path = directory / f"part-{part['ordinal_number']}.{uuid.uuid4().hex}.upload"
        self._file = self.path.open("wb")
        self._digest = hashlib.sha256()
        self.size = 0
        self.writes = 0
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Append a chunk; more bytes than declared is 400 at once."""
        self.size += len(chunk)
        if self.size > self._part["file_size"]:
            raise _size_mismatch(self._part, f"więcej niż {self._part['file_size']}")
        self._digest.update(chunk)
        self._file.write(chunk)
        self.writes += 1

    def finish(self) -> str:
        """Check size and hash against the declaration, keep the part; returns the ETag."""
        fsync_file(self._file)
        self._file.close()
        if self.size != self._part["file_size"]:
            raise _size_mismatch(self._part, str(self.size))
        digest = base64.b64encode(self._digest.digest()).decode("ascii")
        if digest != self._part["file_hash"]:
            raise StorageError(
                400,
                "Md5Mismatch",
                f"The SHA-256 of the content ({digest}) does not match the fileHash declared"
                f" for part {self._part['ordinal_number']} ({self._part['file_hash']}).",
            )
        etag = self._backend.store_part(self._part, self.path, self.size, digest)
        self._done = True
        return etag

    def abort(self) -> None:
        """Drop the partial file (idempotent)."""
        self._file.close()
        if not self._done:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> PartUpload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


def _not_authorized() -> StorageError:
    return StorageError(
        403, "AuthorizationFailure", "This request is not authorized to perform this operation."
    )


def _size_mismatch(part: Any, actual: str) -> StorageError:
    return StorageError(
        400,
        "InvalidBlobOrBlock",
        f"The specified blob or block content is invalid: part {part['ordinal_number']}"
        f" declared fileSize {part['file_size']} B, received {actual} B.",
    )


def _http_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
