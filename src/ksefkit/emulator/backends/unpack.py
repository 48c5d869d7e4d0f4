"""Batch packages on disk: decrypt the parts, join them, unpack ZIP or tar.gz safely (§6).

Everything streams through bounded buffers: parts are decrypted chunk by chunk into one
archive file (its size and SHA-256 computed on the way), and every archive entry is copied
into its own file with its size and SHA-256 counted while it is written. The session-level
verdicts are raised as :class:`PackageError` with KSeF's batch status code:

* 435 — a part cannot be decrypted with the session key (bad padding, length not a multiple
  of 16);
* 405 — the joined archive's size or SHA-256 differs from ``batchFile.fileSize/fileHash``;
* 430 — the archive cannot be unpacked: corrupt or encrypted ZIP, bad gzip/tar, unsupported
  ZIP method, absolute or ``..`` entry names, tar links/devices/FIFOs, symlinks in a ZIP, an
  entry above ``max_entry_size``, a package above ``max_total_size``, a compression ratio above
  ``max_ratio`` (for the package, and for any entry larger than 1 MB), a ZIP central directory
  above 64 MB or a tar header block above 16 MB (zip-bomb and memory guards);
* 420 — more invoice files than ``max_entries``.

Directories are skipped; every regular file is one invoice, named in ``invoiceFileName`` by
its path inside the archive. Entry names never become paths on disk (entries are written as
``00001.xml``, ``00002.xml``, ...), so a hostile name is refused, not merely neutralised.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ...crypto import SymmetricKey, aes_cbc_decrypt_stream
from ...errors import DecryptionError

__all__ = [
    "CHUNK",
    "Entry",
    "PackageError",
    "UnpackLimits",
    "check_entry_name",
    "decrypt_parts",
    "file_chunks",
    "unpack",
]

#: Read/write buffer for parts, archives and entries.
CHUNK = 1 << 20
_RATIO_FLOOR = 1_000_000
_MAX_CENTRAL_DIRECTORY = 64_000_000
_MAX_TAR_READ = 16_000_000
_UNPACK_ERROR = "Błąd dekompresji pierwotnego archiwum"


class PackageError(Exception):
    """A session-level verdict on a batch package (its status code and details)."""

    def __init__(self, code: int, *details: str) -> None:
        super().__init__(code, *details)
        self.code = code
        self.details = list(details)


@dataclass(frozen=True)
class UnpackLimits:
    """Guards of :func:`unpack` (see the module docstring for what each one refuses)."""

    max_entries: int = 10_000
    max_entry_size: int = 10_000_000
    max_total_size: int = 30_000_000_000
    max_ratio: float = 200.0


@dataclass(frozen=True)
class Entry:
    """One unpacked file: its archive name, where it was written, size and Base64 SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str


def file_chunks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    """The content of ``path`` in chunks of at most ``size`` bytes.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d, "f"); _ = p.write_bytes(b"abcde")
    ...     list(file_chunks(p, 2))
    [b'ab', b'cd', b'e']
    """
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def decrypt_parts(parts: Sequence[Path], key: SymmetricKey, target: Path) -> tuple[int, str]:
    """Decrypt every part on its own (AES-256-CBC/PKCS#7) and join them into ``target``.

    Returns the archive's size and Base64 SHA-256; 435 when a part cannot be decrypted.

    >>> import tempfile
    >>> from ksefkit.crypto import aes_cbc_encrypt
    >>> k = SymmetricKey.generate()
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p1, p2 = Path(d, "1"), Path(d, "2")
    ...     _ = p1.write_bytes(aes_cbc_encrypt(b"PK12", k))
    ...     _ = p2.write_bytes(aes_cbc_encrypt(b"34", k))
    ...     size, digest = decrypt_parts([p1, p2], k, Path(d, "a"))
    ...     Path(d, "a").read_bytes(), size
    (b'PK1234', 6)
    """
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for ordinal, part in enumerate(parts, start=1):
            try:
                for plain in aes_cbc_decrypt_stream(file_chunks(part), key):
                    out.write(plain)
                    digest.update(plain)
                    size += len(plain)
            except DecryptionError as exc:
                raise PackageError(
                    435, f"Nie udało się odszyfrować części {ordinal} paczki: {exc}."
                ) from None
    return size, base64.b64encode(digest.digest()).decode("ascii")


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_entry_name(name: str) -> str:
    """``name`` if it is a safe relative archive path; otherwise 430.

    >>> check_entry_name("faktury/FV-1.xml")
    'faktury/FV-1.xml'
    >>> check_entry_name("../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ksefkit.emulator.backends.unpack.PackageError: (430, "Niedozwolona nazwa pliku ...")
    """
    normal = name.replace("\\", "/")
    parts = normal.split("/")
    if (
        not name
        or "\x00" in name
        or normal.startswith("/")
        or _DRIVE.match(normal)
        or ".." in parts
    ):
        raise PackageError(
            430,
            f"Niedozwolona nazwa pliku w archiwum: {name[:200]!r} (ścieżka bezwzględna lub '..').",
        )
    return name


def unpack(
    archive: Path,
    compression: Literal["Zip", "TarGz"],
    target_dir: Path,
    limits: UnpackLimits,
) -> list[Entry]:
    """Unpack ``archive`` into ``target_dir`` (created) under ``limits``; see the module doc.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with zipfile.ZipFile(Path(d, "a.zip"), "w") as z:
    ...         z.writestr("x/1.xml", b"<a/>")
    ...     [(e.name, e.path.name, e.size) for e in
    ...      unpack(Path(d, "a.zip"), "Zip", Path(d, "out"), UnpackLimits())]
    [('x/1.xml', '00001.xml', 4)]
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    guard = _Budget(limits, archive.stat().st_size)
    try:
        if compression == "TarGz":
            return _untar(archive, target_dir, limits, guard)
        return _unzip(archive, target_dir, limits, guard)
    except PackageError:
        raise
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
        struct.error,
    ) as exc:
        raise PackageError(430, f"{_UNPACK_ERROR}: {exc}") from None


class _Budget:
    """Counts unpacked bytes against the package limits."""

    def __init__(self, limits: UnpackLimits, archive_size: int) -> None:
        by_ratio = max(int(archive_size * limits.max_ratio), _RATIO_FLOOR)
        self.cap = min(limits.max_total_size, by_ratio)
        self.total = 0

    def add(self, count: int) -> None:
        self.total += count
        if self.total > self.cap:
            raise PackageError(
                430,
                f"{_UNPACK_ERROR}: rozpakowana zawartość przekracza {self.cap} B"
                " (limit rozmiaru lub stopnia kompresji paczki).",
            )


def _copy(
    source: IO[bytes],
    name: str,
    index: int,
    target_dir: Path,
    limits: UnpackLimits,
    budget: _Budget,
) -> Entry:
    path = target_dir / f"{index:05d}.xml"
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limits.max_entry_size:
                raise PackageError(
                    430,
                    f"{_UNPACK_ERROR}: plik {name[:200]!r} przekracza {limits.max_entry_size} B.",
                )
            budget.add(len(chunk))
            digest.update(chunk)
            out.write(chunk)
    return Entry(name, path, size, base64.b64encode(digest.digest()).decode("ascii"))


def _too_many(limits: UnpackLimits) -> PackageError:
    return PackageError(420, f"Paczka zawiera więcej niż {limits.max_entries} plików faktur.")


# -- ZIP -------------------------------------------------------------------------------------


def _zip_directory(fp: IO[bytes]) -> tuple[int, int]:
    """Entry count and central-directory size from the end record, before zipfile reads it."""
    fp.seek(0, io.SEEK_END)
    end = fp.tell()
    tail_len = min(end, 65_535 + 22)
    fp.seek(end - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise PackageError(430, f"{_UNPACK_ERROR}: brak katalogu centralnego ZIP.")
    _, _, _, _, count, cd_size, _, _ = struct.unpack("<4s4H2LH", tail[at : at + 22])
    if count == 0xFFFF or cd_size == 0xFFFFFFFF:
        locator = tail[at - 20 : at] if at >= 20 else b""
        if locator[:4] != b"PK\x06\x07":
            raise PackageError(430, f"{_UNPACK_ERROR}: uszkodzony rekord ZIP64.")
        (offset,) = struct.unpack("<Q", locator[8:16])
        fp.seek(offset)
        record = fp.read(56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            raise PackageError(430, f"{_UNPACK_ERROR}: uszkodzony rekord ZIP64.")
        count, cd_size = struct.unpack("<QQ", record[32:48])
    fp.seek(0)
    return int(count), int(cd_size)


def _unzip(archive: Path, target_dir: Path, limits: UnpackLimits, budget: _Budget) -> list[Entry]:
    with archive.open("rb") as fp:
        count, cd_size = _zip_directory(fp)
        if count > 2 * limits.max_entries + 1000:
            raise _too_many(limits)
        if cd_size > _MAX_CENTRAL_DIRECTORY:
            raise PackageError(430, f"{_UNPACK_ERROR}: katalog centralny ZIP jest zbyt duży.")
        with zipfile.ZipFile(fp) as zf:
            files = [i for i in zf.infolist() if not i.is_dir()]
            if len(files) > limits.max_entries:
                raise _too_many(limits)
            for info in files:
                _check_zip_info(info, limits)
            entries = []
            for index, info in enumerate(files, start=1):
                with zf.open(info) as source:
                    entries.append(_copy(source, info.filename, index, target_dir, limits, budget))
            return entries


def _check_zip_info(info: zipfile.ZipInfo, limits: UnpackLimits) -> None:
    name = check_entry_name(info.filename)
    if info.flag_bits & 0x1:
        raise PackageError(430, f"{_UNPACK_ERROR}: plik {name!r} jest zaszyfrowany.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise PackageError(430, f"{_UNPACK_ERROR}: {name!r} jest dowiązaniem symbolicznym.")
    if info.file_size > limits.max_entry_size:
        raise PackageError(
            430, f"{_UNPACK_ERROR}: plik {name!r} przekracza {limits.max_entry_size} B."
        )
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise PackageError(
            430,
            f"{_UNPACK_ERROR}: stopień kompresji pliku {name!r}"
            f" ({info.file_size}/{info.compress_size}) przekracza {limits.max_ratio:g}.",
        )


# -- tar.gz ----------------------------------------------------------------------------------


class _ReadGuard(io.RawIOBase):
    """A gzip stream that refuses single reads above a bound (tarfile reads PAX/GNU long
    headers in one piece) — keeps memory bounded for hostile headers."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > _MAX_TAR_READ:
            raise PackageError(430, f"{_UNPACK_ERROR}: nagłówek tar jest zbyt duży.")
        return self._inner.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


def _untar(archive: Path, target_dir: Path, limits: UnpackLimits, budget: _Budget) -> list[Entry]:
    entries: list[Entry] = []
    with (
        gzip.open(archive, "rb") as raw,
        _ReadGuard(raw) as guarded,
        tarfile.open(fileobj=guarded, mode="r:") as tar,
    ):
        while (member := tar.next()) is not None:
            name = check_entry_name(member.name)
            if member.isdir():
                continue
            if not member.isreg():
                raise PackageError(
                    430,
                    f"{_UNPACK_ERROR}: {name[:200]!r} nie jest zwykłym plikiem"
                    " (dowiązania, urządzenia i potoki są niedozwolone).",
                )
            if len(entries) >= limits.max_entries:
                raise _too_many(limits)
            if member.size > limits.max_entry_size:
                raise PackageError(
                    430, f"{_UNPACK_ERROR}: plik {name!r} przekracza {limits.max_entry_size} B."
                )
            source = tar.extractfile(member)
            assert source is not None  # regular files always have content
            with source:
                entries.append(_copy(source, name, len(entries) + 1, target_dir, limits, budget))
            # tarfile remembers every header it read; drop them (memory stays bounded).
            tar.members = []  # type: ignore[attr-defined]
    return entries
