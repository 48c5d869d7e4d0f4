"""Invoice export packages on disk: safe unpacking, the export errors, sync checkpoints (pure).

Shared by both SDK shells (``_async`` / generated ``_sync``), so the exceptions and the
checkpoint format are one class each whatever the shell.

Unpacking trusts nothing in the archive: only flat names (``{ksefNumber}.xml`` and
``_metadata.json``; no directories, ``..``, absolute paths, links or devices), sizes counted
on the bytes actually inflated (never the header's claim), a cap per file, in total and on
the number of entries. Files are written to a temporary name and renamed, optionally
fsync'd (the incremental sync moves its checkpoint only after that).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from .crypto import b64
from .errors import (
    ExportExpired,
    ExportFailed,
    IntegrityError,
    InvoiceNotAvailableYet,
    KsefError,
    UnsafePackageError,
)
from .models.invoices import InvoiceMetadata

__all__ = [
    "METADATA_FILE",
    "ExportExpired",
    "ExportFailed",
    "InvoiceNotAvailableYet",
    "SyncCheckpoint",
    "UnpackLimits",
    "UnpackedPackage",
    "UnsafePackageError",
    "atomic_write",
    "fsync_dir",
    "safe_file_name",
    "unpack_package",
]

METADATA_FILE = "_metadata.json"
CHUNK = 256 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class UnpackLimits:
    """Caps applied while unpacking (bytes are counted as inflated, not as declared)."""

    max_entries: int = 10_100  # 10 000 invoices + _metadata.json + slack
    max_invoice_size: int = 16 * 1024 * 1024  # KSeF's own cap is 1 MB (3 MB with attachments)
    max_metadata_size: int = 512 * 1024 * 1024
    max_total_size: int = 32 * 1024 * 1024 * 1024


@dataclass
class UnpackedPackage:
    """What an export package held: the metadata and the invoice files written."""

    metadata: list[InvoiceMetadata]
    files: dict[str, Path] = field(default_factory=dict)  # ksefNumber -> path


def safe_file_name(name: str) -> str | None:
    """``name`` if it is a plain, harmless file name, else ``None``.

    >>> safe_file_name("5265877635-20250826-0100001AF629-AF.xml")
    '5265877635-20250826-0100001AF629-AF.xml'
    >>> [safe_file_name(n) for n in ("../x.xml", "a/b.xml", "/etc/passwd", ".hidden", "")]
    [None, None, None, None, None]
    """
    return name if _SAFE_NAME.match(name) and ".." not in name else None


def fsync_dir(directory: Path) -> None:
    """Make renames inside ``directory`` durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` via a temp file + fsync + rename (+ fsync of the folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def unpack_package(
    archive: Path,
    into: Path,
    compression: str,
    *,
    limits: UnpackLimits | None = None,
    durable: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> UnpackedPackage:
    """Unpack a decrypted export package (``Zip`` or ``TarGz``) into ``into``.

    Writes ``{ksefNumber}.xml`` files and ``_metadata.json``; returns the parsed metadata
    and the files. With ``durable`` every file and the folder are fsync'd before returning.
    Invoice XML is checked against the metadata's ``invoiceHash``. ``progress(done, total)``
    is called after each file (``total`` is 0 while unknown: a streamed ``TarGz``).
    """
    limits = limits or UnpackLimits()
    into.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[Path, str]] = {}  # file name -> (path, sha256 b64)
    try:
        _unpack_all(archive, into, compression, limits, durable, written, progress)
    except (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise UnsafePackageError(f"export package cannot be read: {exc}") from exc
    if durable:
        fsync_dir(into)
    if METADATA_FILE not in written:
        raise UnsafePackageError(f"export package has no {METADATA_FILE}")
    metadata = _read_metadata(written[METADATA_FILE][0])
    files: dict[str, Path] = {}
    for meta in metadata:
        entry = written.get(f"{meta.ksef_number}.xml")
        if entry is None:
            continue
        path, digest = entry
        if meta.invoice_hash and digest != meta.invoice_hash:
            raise IntegrityError(
                f"{path.name}: SHA-256 {digest} does not match invoiceHash {meta.invoice_hash}"
            )
        files[meta.ksef_number] = path
    return UnpackedPackage(metadata=metadata, files=files)


def _unpack_all(
    archive: Path,
    into: Path,
    compression: str,
    limits: UnpackLimits,
    durable: bool,
    written: dict[str, tuple[Path, str]],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    total = 0
    count = 0
    for count, (name, stream, known) in enumerate(_entries(archive, compression), start=1):
        if count > limits.max_entries:
            raise UnsafePackageError(f"export package has more than {limits.max_entries} files")
        safe = safe_file_name(name)
        if safe is None or not (safe.endswith(".xml") or safe == METADATA_FILE):
            raise UnsafePackageError(f"export package entry {name[:120]!r} is not allowed")
        if safe in written:
            raise UnsafePackageError(f"export package holds {safe!r} twice")
        cap = limits.max_metadata_size if safe == METADATA_FILE else limits.max_invoice_size
        path, digest, size = _write_entry(stream, into / safe, cap, durable)
        total += size
        if total > limits.max_total_size:
            raise UnsafePackageError(f"export package inflates beyond {limits.max_total_size} B")
        written[safe] = (path, digest)
        if progress is not None:
            progress(count, known)
    if progress is not None:
        progress(count, count)


def _entries(archive: Path, compression: str) -> Iterator[tuple[str, IO[bytes], int]]:
    """``(name, stream, total)``; ``total`` is 0 when unknown (a streamed tar)."""
    kind = compression.lower()
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                mode = info.external_attr >> 16
                if info.is_dir() or (stat.S_IFMT(mode) and not stat.S_ISREG(mode)):
                    raise UnsafePackageError(
                        f"export package entry {info.filename[:120]!r} is not a plain file"
                    )
                with zf.open(info) as stream:
                    yield info.filename, stream, len(infos)
    elif kind in ("targz", "tar.gz"):
        with tarfile.open(archive, mode="r|gz") as tf:
            for member in tf:
                if not member.isreg():
                    raise UnsafePackageError(
                        f"export package entry {member.name[:120]!r} is not a plain file"
                    )
                extracted = tf.extractfile(member)
                if extracted is None:  # pragma: no cover - isreg() guarantees a stream
                    continue
                yield member.name, extracted, 0
    else:
        raise KsefError(f"unknown export compression {compression!r} (Zip or TarGz)")


def _write_entry(stream: IO[bytes], target: Path, cap: int, durable: bool) -> tuple[Path, str, int]:
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise UnsafePackageError(f"{target.name} in the export is over {cap} B")
                digest.update(chunk)
                out.write(chunk)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target, b64(digest.digest()), size


def _read_metadata(path: Path) -> list[InvoiceMetadata]:
    try:
        body = json.loads(path.read_bytes())
        items = body["invoices"]
        if not isinstance(items, list):
            raise TypeError("invoices is not a list")
        return [InvoiceMetadata.model_validate(item) for item in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise UnsafePackageError(f"{METADATA_FILE} of the export is not valid: {exc}") from exc


def move_into(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` (same file system), creating the folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def remove_tree(path: Path) -> None:
    """Delete a work folder, ignoring what is already gone."""
    shutil.rmtree(path, ignore_errors=True)


class SyncCheckpoint(BaseModel):
    """Where the incremental sync of one (context, subject type) continues: the next
    window's ``from`` (a ``permanentStorageDate``). Saved atomically; moved only after the
    previous window's invoices are on disk.
    """

    context: str
    subject_type: str
    start: datetime
    updated_at: datetime | None = None
    windows: int = 0
    invoices: int = 0

    def save(self, path: Path) -> None:
        atomic_write(path, self.model_dump_json(indent=1).encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> SyncCheckpoint | None:
        try:
            return cls.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
