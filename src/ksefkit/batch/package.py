"""Batch packages built as streams: archive, split, encrypt (KSEF_API.md §6.1), no HTTP.

:func:`build_package` turns any number of invoices into the files a batch session uploads:

1. every invoice is pre-flighted (size limit 1 MB, or 3 MB when it carries a ``Zalacznik``;
   encoding; XSD) and hashed; *all* problems of *all* files are collected and raised together
   as :class:`~ksefkit.errors.BatchPreflightError`;
2. the invoices go into ONE archive, ZIP (``"Zip"``, default) or tar.gz (``"TarGz"``), written
   forward to a temporary file next to the parts while its SHA-256 and size are computed;
3. the archive is split binary, as the C# reference client does (``count = ceil(len /
   part_size)``, ``size = ceil(len / count)``), at most 50 parts of at most 100 MB, 5 GB in all;
4. each part is encrypted separately (AES-256-CBC/PKCS#7, the session key and IV, no IV prefix,
   §3.3/§17.1) from the archive file into its own part file, hashed while it is written.

Memory stays bounded whatever the package size: one invoice per worker is held at a time,
parts are encrypted through 512 KiB chunks (tar.gz is deflated in 256 KiB blocks). The work runs on
``workers`` threads (default: all cores) — zlib, AES (``cryptography``), SHA-256 and lxml
parsing release the GIL: invoices are checked and deflated in parallel (ZIP), tar.gz blocks
are deflated in parallel (pigz scheme) and parts are encrypted in parallel.

The returned :class:`BatchPackage` holds no key; :meth:`BatchPackage.to_dict` (also written
to ``package.json`` in the directory) lets an interrupted upload resume later.

>>> from ksefkit.crypto import SymmetricKey
>>> pkg = build_package([("a.xml", b"<Faktura/>")], SymmetricKey.generate(),
...                     preflight=False)
>>> [p.ordinal_number for p in pkg.parts], pkg.invoices[0].invoice_size
([1], 10)
>>> pkg.cleanup()
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from ..crypto import SymmetricKey, aes_cbc_encrypt_stream, b64, sha256_b64
from ..errors import BatchPreflightError, ConfigurationError, PreflightError
from ..formcodes import FormCode
from ..invoices.facts import extract_facts
from ..preflight import MAX_INVOICE_SIZE, MAX_INVOICE_WITH_ATTACHMENT_SIZE, check_invoice
from ..schemas import SchemaStore, default_store
from ._archive import HashingWriter, InlineExecutor, ParallelGzipWriter, ZipWriter, deflate_entry

__all__ = [
    "COMPRESSION_TYPES",
    "MANIFEST_NAME",
    "MAX_INVOICES",
    "MAX_PACKAGE_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "BatchPackage",
    "PackagePart",
    "PackagedInvoice",
    "build_package",
    "plan_parts",
]

MAX_PART_SIZE = 100_000_000  # plain bytes per part before encryption (SI, §6.1)
MAX_PARTS = 50
MAX_PACKAGE_SIZE = 5_000_000_000
#: Default invoices-per-session limit (§11.1; TEST contexts may raise it up to 100 000).
MAX_INVOICES = 10_000
#: Wire ``compressionType`` values.
COMPRESSION_TYPES = ("Zip", "TarGz")
#: The manifest :func:`build_package` leaves in the package directory.
MANIFEST_NAME = "package.json"

_CHUNK = 1024 * 1024
_GROUP_BYTES = 256 * 1024
# read, padded and encrypted copies of a chunk live at once in each encrypting thread
_ENCRYPT_CHUNK = 512 * 1024
_GROUP_COUNT = 64
_ARCHIVE_TEMP = ".archive.tmp"
_PART_NAME = "part-{:03d}.aes"
_ATTACHMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Zalacznik[\s/>]")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PackagedInvoice:
    """One invoice of the package: its file name in the archive, SHA-256 (Base64), size."""

    file_name: str
    invoice_hash: str
    invoice_size: int


@dataclass(frozen=True)
class PackagePart:
    """One encrypted part file: what ``fileParts[]`` declares and what is uploaded."""

    ordinal_number: int
    path: Path
    size: int
    hash: str
    plain_size: int

    def to_wire(self) -> dict[str, object]:
        """The ``BatchFilePartInfo`` JSON: ``{ordinalNumber, fileSize, fileHash}``."""
        return {"ordinalNumber": self.ordinal_number, "fileSize": self.size, "fileHash": self.hash}

    def iter_chunks(self, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """The encrypted bytes, read from disk in chunks (for a streaming upload body)."""
        with self.path.open("rb") as f:
            while chunk := f.read(chunk_size):
                yield chunk


@dataclass(frozen=True)
class BatchPackage:
    """A built package: the archive's size and hash, the encrypted parts, the invoices.

    Holds no key. ``repr`` summarises (a package may list 10 000 invoices).
    """

    directory: Path
    compression: str
    archive_size: int
    archive_hash: str
    parts: tuple[PackagePart, ...]
    invoices: tuple[PackagedInvoice, ...] = field(default=())

    def __repr__(self) -> str:
        return (
            f"BatchPackage(directory={str(self.directory)!r}, compression={self.compression!r}, "
            f"archive_size={self.archive_size}, parts={len(self.parts)}, "
            f"invoices={len(self.invoices)})"
        )

    def batch_file_info(self) -> dict[str, object]:
        """The ``BatchFileInfo`` JSON of ``POST /sessions/batch``.

        >>> pkg = BatchPackage(Path("."), "Zip", 10, "h", (PackagePart(1, Path("p"), 16, "e", 10),))
        >>> pkg.batch_file_info()["fileParts"]
        [{'ordinalNumber': 1, 'fileSize': 16, 'fileHash': 'e'}]
        """
        return {
            "fileSize": self.archive_size,
            "fileHash": self.archive_hash,
            "compressionType": self.compression,
            "fileParts": [p.to_wire() for p in self.parts],
        }

    def part(self, ordinal_number: int) -> PackagePart:
        """The part with this ordinal number (KeyError if none)."""
        for p in self.parts:
            if p.ordinal_number == ordinal_number:
                return p
        raise KeyError(ordinal_number)

    def verify(self) -> list[int]:
        """Re-hash the part files (streaming); the ordinals that are missing or differ."""
        bad: list[int] = []
        for p in self.parts:
            try:
                size, digest = _hash_file(p.path)
            except OSError:
                bad.append(p.ordinal_number)
                continue
            if size != p.size or digest != p.hash:
                bad.append(p.ordinal_number)
        return bad

    def to_dict(self) -> dict[str, object]:
        """A JSON-able manifest (no key in it); part paths are relative to ``directory``.

        >>> part = PackagePart(1, Path("/x/p"), 16, "e", 10)
        >>> pkg = BatchPackage(Path("/x"), "Zip", 10, "h", (part,))
        >>> BatchPackage.from_dict(pkg.to_dict()) == pkg
        True
        """
        return {
            "format": 1,
            "directory": str(self.directory),
            "compression": self.compression,
            "archive_size": self.archive_size,
            "archive_hash": self.archive_hash,
            "parts": [
                {
                    "ordinal_number": p.ordinal_number,
                    "path": _relative(p.path, self.directory),
                    "size": p.size,
                    "hash": p.hash,
                    "plain_size": p.plain_size,
                }
                for p in self.parts
            ],
            "invoices": [
                {
                    "file_name": i.file_name,
                    "invoice_hash": i.invoice_hash,
                    "invoice_size": i.invoice_size,
                }
                for i in self.invoices
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, directory: Path | None = None) -> BatchPackage:
        """The inverse of :meth:`to_dict`; ``directory`` overrides the recorded one (a moved
        package). Malformed input raises ConfigurationError."""
        try:
            base = Path(directory) if directory is not None else Path(str(d["directory"]))
            parts = tuple(
                PackagePart(
                    int(p["ordinal_number"]),
                    base / str(p["path"]),
                    int(p["size"]),
                    str(p["hash"]),
                    int(p["plain_size"]),
                )
                for p in d["parts"]
            )
            invoices = tuple(
                PackagedInvoice(str(i["file_name"]), str(i["invoice_hash"]), int(i["invoice_size"]))
                for i in d.get("invoices", ())
            )
            compression = str(d["compression"])
            package = cls(
                base, compression, int(d["archive_size"]), str(d["archive_hash"]), parts, invoices
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a batch package manifest: {exc!r}") from exc
        if compression not in COMPRESSION_TYPES:
            raise ConfigurationError(f"unknown compression {compression!r} in the manifest")
        return package

    @classmethod
    def load(cls, directory: Path) -> BatchPackage:
        """Read the ``package.json`` manifest :func:`build_package` left in ``directory``."""
        manifest = Path(directory) / MANIFEST_NAME
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the package manifest {manifest}: {exc}") from exc
        return cls.from_dict(data, directory=Path(directory))

    def save(self) -> Path:
        """(Re)write the ``package.json`` manifest into ``directory``; its path."""
        manifest = self.directory / MANIFEST_NAME
        temp = manifest.with_suffix(".json.tmp")
        temp.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        os.replace(temp, manifest)
        return manifest

    def cleanup(self) -> None:
        """Delete the part files, the manifest and leftovers; the directory too if then empty."""
        for p in self.parts:
            p.path.unlink(missing_ok=True)
        for name in (MANIFEST_NAME, _ARCHIVE_TEMP):
            (self.directory / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.directory.rmdir()


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _hash_file(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, b64(sha.digest())


def plan_parts(archive_size: int, part_size: int = MAX_PART_SIZE) -> list[tuple[int, int]]:
    """``(offset, length)`` of each part, split as the C# reference client does.

    >>> plan_parts(250, 100)
    [(0, 84), (84, 84), (168, 82)]
    >>> plan_parts(100, 100)
    [(0, 100)]
    """
    _check_part_size(part_size)
    if archive_size <= 0:
        raise ConfigurationError("the archive is empty")
    if archive_size > MAX_PACKAGE_SIZE:
        raise ConfigurationError(
            f"the archive has {archive_size} bytes, over KSeF's limit of {MAX_PACKAGE_SIZE} bytes"
        )
    count = math.ceil(archive_size / part_size)
    if count > MAX_PARTS:
        raise ConfigurationError(
            f"the archive has {archive_size} bytes: {count} parts of at most {part_size} bytes, "
            f"over KSeF's limit of {MAX_PARTS} parts"
        )
    size = math.ceil(archive_size / count)
    return [(i * size, min(size, archive_size - i * size)) for i in range(count)]


def _check_part_size(part_size: int) -> None:
    if not 1 <= part_size <= MAX_PART_SIZE:
        raise ConfigurationError(f"part_size must be 1..{MAX_PART_SIZE} bytes, not {part_size}")


# --- sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    index: int
    name: str
    data: bytes | None
    path: Path | None


def _is_path(item: object) -> bool:
    return isinstance(item, str | os.PathLike)


def _directory_files(directory: Path) -> tuple[list[Path], int]:
    """The ``*.xml`` files (any case) of a directory, sorted by name, and their total size."""
    found: list[tuple[str, Path, int]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.lower().endswith(".xml") and entry.is_file():
                found.append((entry.name, Path(entry.path), entry.stat().st_size))
    found.sort()
    return [path for _, path, _ in found], sum(size for _, _, size in found)


def _resolve_source(
    source: Path | Iterable[Path] | Iterable[tuple[str, bytes]],
) -> tuple[Iterable[object], int]:
    """The items to pack and their total size in bytes if known up front (else 0)."""
    if _is_path(source):
        root = Path(cast("os.PathLike[str]", source))
        if root.is_dir():
            files, total = _directory_files(root)
            if not files:
                raise ConfigurationError(f"no *.xml files in {root}")
            return files, total
        if root.is_file():
            return [root], root.stat().st_size
        raise ConfigurationError(f"no such file or directory: {root}")
    if isinstance(source, list | tuple) and source and all(_is_path(i) for i in source):
        try:
            total = sum(Path(i).stat().st_size for i in source)
        except OSError:
            total = 0  # reported per file while packing
        return source, total
    return cast("Iterable[object]", source), 0


def _items(source: Iterable[object]) -> Iterator[_Item]:
    for index, item in enumerate(source, 1):
        if _is_path(item):
            path = Path(cast("os.PathLike[str]", item))
            yield _Item(index, path.name, None, path)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, data = item
            if not isinstance(data, bytes | bytearray | memoryview):
                raise ConfigurationError(
                    f"item {index} ({name!r}): invoice content must be bytes, "
                    f"not {type(data).__name__}"
                )
            yield _Item(index, name, bytes(data), None)
        else:
            raise ConfigurationError(
                f"item {index}: expected a path or a (file_name, bytes) pair, "
                f"not {type(item).__name__}"
            )


# --- per-invoice work (runs in worker threads) ---------------------------------------------


@dataclass(frozen=True)
class _Checks:
    preflight: bool
    validate_schema: bool
    form_code: FormCode
    store: SchemaStore | None
    zip: bool


@dataclass
class _Prepared:
    name: str
    size: int
    invoice_hash: str
    problems: list[str]
    payload: bytes = b""
    method: int = 0
    crc: int = 0


def _size_limit(xml: bytes) -> int:
    if len(xml) <= MAX_INVOICE_SIZE or not _ATTACHMENT.search(xml):
        return MAX_INVOICE_SIZE
    try:
        has_attachment = extract_facts(xml).has_attachment
    except ValueError:
        return MAX_INVOICE_SIZE  # not well-formed: pre-flight says so
    return MAX_INVOICE_WITH_ATTACHMENT_SIZE if has_attachment else MAX_INVOICE_SIZE


def _prepare(item: _Item, checks: _Checks, failed: threading.Event) -> _Prepared:
    if item.data is not None:
        xml = item.data
    else:
        assert item.path is not None
        try:
            xml = item.path.read_bytes()
        except OSError as exc:
            return _Prepared(item.name, 0, "", [f"cannot be read: {exc}"])
    prepared = _Prepared(item.name, len(xml), sha256_b64(xml), [])
    if checks.preflight:
        try:
            check_invoice(
                xml,
                checks.form_code,
                max_size=_size_limit(xml),
                validate_schema=checks.validate_schema,
                store=checks.store,
                file_name=item.name,
            )
        except PreflightError as exc:
            prepared.problems = exc.problems
            failed.set()
    if failed.is_set():
        return prepared  # the package will not be built: skip the compression
    if checks.zip:
        prepared.payload, prepared.method, prepared.crc, _ = deflate_entry(xml)
    else:
        prepared.payload = xml
    return prepared


def _item_size(item: _Item) -> int:
    if item.data is not None:
        return len(item.data)
    assert item.path is not None
    try:
        return item.path.stat().st_size
    except OSError:
        return 0  # reported by the worker that fails to read it


def _grouped(items: Iterator[_Item]) -> Iterator[list[_Item]]:
    """Consecutive items in groups of ~256 KiB (at most 64): one worker call per group, so
    thread hand-offs stay cheap next to the work even for 2 kB invoices."""
    group: list[_Item] = []
    size = 0
    for item in items:
        group.append(item)
        size += _item_size(item)
        if size >= _GROUP_BYTES or len(group) >= _GROUP_COUNT:
            yield group
            group, size = [], 0
    if group:
        yield group


def _ordered(
    executor: Executor,
    fn: Callable[[_Item], _Prepared],
    groups: Iterator[list[_Item]],
    window: int,
) -> Iterator[_Prepared]:
    """``map(fn, items)`` on ``executor`` a group per call, in order, at most ``window``
    groups in flight."""

    def run(group: list[_Item]) -> list[_Prepared]:
        return [fn(item) for item in group]

    pending: deque[Future[list[_Prepared]]] = deque()
    try:
        for group in groups:
            pending.append(executor.submit(run, group))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


# --- the build ----------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class _Packer:
    """Writes the archive; tracks names, invoices, problems and the size limits."""

    def __init__(
        self,
        out: HashingWriter,
        compression: str,
        executor: Executor,
        workers: int,
        limit: int,
        max_invoices: int | None,
    ) -> None:
        self.out = out
        self.limit = limit
        self.max_invoices = max_invoices
        self.invoices: list[PackagedInvoice] = []
        self.problems: dict[str, list[str]] = {}
        self.names: dict[str, int] = {}
        self.count = 0
        self._zip: ZipWriter | None = None
        self._gzip: ParallelGzipWriter | None = None
        self._tar: tarfile.TarFile | None = None
        self._moment = time.time()
        if compression == "Zip":
            self._zip = ZipWriter(out, moment=self._moment)
        else:
            self._gzip = ParallelGzipWriter(out, executor, window=2 * workers)
            self._tar = tarfile.open(  # noqa: SIM115 (closed in finish/abandon)
                fileobj=cast("BinaryIO", self._gzip), mode="w|", format=tarfile.PAX_FORMAT
            )

    def problem(self, name: str, text: str) -> None:
        self.problems.setdefault(name, []).append(text)

    def admit(self, item: _Item) -> None:
        """Name checks done in order, before the item goes to a worker."""
        self.count += 1
        if self.max_invoices is not None and self.count == self.max_invoices + 1:
            self.problem(
                item.name,
                f"the package holds more than {self.max_invoices} invoices, the invoices-per-"
                "session limit (pass max_invoices= if your context's limit is higher)",
            )
        if not item.name or item.name.endswith("/") or "\x00" in item.name:
            self.problem(item.name, f"item {item.index}: not a usable file name")
        first = self.names.setdefault(item.name, item.index)
        if first != item.index:
            self.problem(
                item.name, f"the file name is used more than once (items {first} and {item.index})"
            )

    def add(self, prepared: _Prepared) -> None:
        if prepared.problems:
            self.problems.setdefault(prepared.name, []).extend(prepared.problems)
        if self.problems:
            return  # keep checking, stop writing
        self.invoices.append(PackagedInvoice(prepared.name, prepared.invoice_hash, prepared.size))
        if self._zip is not None:
            self._zip.add(
                prepared.name, prepared.payload, prepared.method, prepared.crc, prepared.size
            )
        else:
            assert self._tar is not None
            info = tarfile.TarInfo(prepared.name)
            info.size = prepared.size
            info.mtime = int(self._moment)
            info.mode = 0o644
            self._tar.addfile(info, io.BytesIO(prepared.payload))
        if self.out.size > self.limit:
            raise _TooLarge

    def finish(self) -> None:
        if self._zip is not None:
            self._zip.close()
        else:
            assert self._tar is not None
            assert self._gzip is not None
            self._tar.close()
            self._gzip.close()
        if self.out.size > self.limit:
            raise _TooLarge

    def abandon(self) -> None:
        if self._gzip is not None:
            self._gzip.abandon()


def _encrypt_part(
    archive: Path,
    ordinal: int,
    offset: int,
    length: int,
    key: SymmetricKey,
    target: Path,
    advance: Callable[[int], None],
) -> PackagePart:
    def chunks() -> Iterator[bytes]:
        with archive.open("rb") as f:
            f.seek(offset)
            remaining = length
            while remaining:
                chunk = f.read(min(_ENCRYPT_CHUNK, remaining))
                if not chunk:
                    raise ConfigurationError(f"the archive {archive} shrank while being split")
                remaining -= len(chunk)
                yield chunk
                advance(len(chunk))

    sha = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for encrypted in aes_cbc_encrypt_stream(chunks(), key):
            out.write(encrypted)
            sha.update(encrypted)
            size += len(encrypted)
    return PackagePart(ordinal, target, size, b64(sha.digest()), length)


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


def _encrypt_parts(
    archive: Path,
    plan: list[tuple[int, int]],
    key: SymmetricKey,
    directory: Path,
    workers: int,
    progress: Progress | None,
) -> tuple[PackagePart, ...]:
    total = sum(length for _, length in plan)
    counter = _Counter()
    jobs = [
        (archive, n, offset, length, key, directory / _PART_NAME.format(n), counter.add)
        for n, (offset, length) in enumerate(plan, 1)
    ]
    if progress is not None:
        progress("encrypt", 0, total)
    if workers == 1 or len(jobs) == 1:
        parts = []
        for job in jobs:
            parts.append(_encrypt_part(*job))
            if progress is not None:
                progress("encrypt", counter.value, total)
        return tuple(parts)
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(_encrypt_part, *job) for job in jobs]
        pending: set[Future[PackagePart]] = set(futures)
        reported = 0
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if progress is not None and counter.value != reported:
                reported = counter.value
                progress("encrypt", reported, total)
        return tuple(f.result() for f in futures)


def _prepare_directory(directory: Path | None) -> tuple[Path, bool]:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="ksefkit-batch-")), True
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    taken = [
        p.name for p in directory.iterdir() if p.name == MANIFEST_NAME or p.match("part-*.aes")
    ]
    if taken:
        raise ConfigurationError(
            f"{directory} already holds a batch package ({', '.join(sorted(taken)[:3])}); "
            "call cleanup() on it or choose another directory"
        )
    return directory, created


def build_package(
    source: Path | Iterable[Path] | Iterable[tuple[str, bytes]],
    key: SymmetricKey,
    *,
    directory: Path | None = None,
    compression: str = "Zip",
    part_size: int = MAX_PART_SIZE,
    form_code: FormCode = FormCode.FA3,
    preflight: bool = True,
    validate_schema: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
    max_invoices: int | None = MAX_INVOICES,
    store: SchemaStore | None = None,
) -> BatchPackage:
    """Archive, split and encrypt invoices into part files in ``directory`` (see module doc).

    ``source`` is a directory (its ``*.xml`` files, sorted by name), one file, an iterable of
    paths (archived under their base names) or of ``(file_name, xml_bytes)`` pairs (consumed
    lazily, one at a time). ``progress(phase, done_bytes, total_bytes)`` is called from this
    thread with phase ``"pack"`` (invoice bytes; total 0 when the source's size is not known
    up front) and ``"encrypt"`` (archive bytes). ``max_invoices=None`` lifts the 10 000 cap.

    Problems in files (pre-flight, duplicate or empty names, unreadable paths) raise
    BatchPreflightError listing all of them; limits (5 GB, 50 parts) and bad arguments raise
    ConfigurationError. On any error the files written so far are removed.

    >>> from ksefkit.crypto import SymmetricKey
    >>> pkg = build_package([("a.xml", b"<a/>"), ("b.xml", b"<b/>")], SymmetricKey.generate(),
    ...                     compression="TarGz", preflight=False, workers=1)
    >>> pkg.batch_file_info()["compressionType"], len(pkg.invoices), pkg.verify()
    ('TarGz', 2, [])
    >>> pkg.cleanup()
    """
    if compression not in COMPRESSION_TYPES:
        raise ConfigurationError(
            f"compression must be one of {', '.join(COMPRESSION_TYPES)}, not {compression!r}"
        )
    _check_part_size(part_size)
    if not form_code.value.batch_allowed:
        raise ConfigurationError(
            f"form code {form_code.system_code} is not allowed in batch sessions"
        )
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ConfigurationError(f"workers must be at least 1, not {workers}")
    if not isinstance(key, SymmetricKey):
        raise ConfigurationError("key must be a SymmetricKey")
    if preflight and validate_schema:
        store = store if store is not None else default_store()
        store.invoice_schema(form_code)  # SchemaNotFoundError before any work
    items_source, total = _resolve_source(source)

    target, created = _prepare_directory(directory)
    archive_path = target / _ARCHIVE_TEMP
    written: list[Path] = [archive_path]
    limit = min(MAX_PACKAGE_SIZE, part_size * MAX_PARTS)
    executor: Executor = (
        ThreadPoolExecutor(max_workers=workers) if workers > 1 else InlineExecutor()
    )
    try:
        checks = _Checks(preflight, validate_schema, form_code, store, compression == "Zip")
        failed = threading.Event()
        with archive_path.open("wb") as raw:
            out = HashingWriter(raw)
            packer = _Packer(out, compression, executor, workers, limit, max_invoices)
            try:
                done = 0
                if progress is not None:
                    progress("pack", 0, total)

                def admitted() -> Iterator[_Item]:
                    for item in _items(items_source):
                        packer.admit(item)
                        if packer.problems:
                            failed.set()
                        yield item

                def work(item: _Item) -> _Prepared:
                    return _prepare(item, checks, failed)

                for prepared in _ordered(executor, work, _grouped(admitted()), 2 * workers):
                    packer.add(prepared)
                    done += prepared.size
                    if progress is not None:
                        progress("pack", done, total)
                if packer.count == 0:
                    raise ConfigurationError("the package would be empty: no invoices given")
                if packer.problems:
                    raise BatchPreflightError(packer.problems)
                packer.finish()
            except _TooLarge:
                packer.abandon()
                raise ConfigurationError(
                    f"the archive grew over {limit} bytes (KSeF allows {MAX_PARTS} parts of "
                    f"at most {part_size} bytes and {MAX_PACKAGE_SIZE} bytes in all)"
                ) from None
            except BaseException:
                packer.abandon()
                raise
        plan = plan_parts(out.size, part_size)
        written.extend(target / _PART_NAME.format(n) for n in range(1, len(plan) + 1))
        parts = _encrypt_parts(archive_path, plan, key, target, workers, progress)
        archive_path.unlink()
        package = BatchPackage(
            target, compression, out.size, out.hash_b64, parts, tuple(packer.invoices)
        )
        written.append(package.save())
        return package
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
