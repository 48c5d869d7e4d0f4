"""Streaming archive writers for batch packages: ZIP of pre-compressed entries, parallel tar.gz.

Both write strictly forward (no seeks) into a :class:`HashingWriter`, so the SHA-256 and the
size of the whole archive are known the moment it is closed, without reading it back.

* :class:`ZipWriter` takes entries whose deflate stream (raw, ``wbits=-15``) and CRC-32 were
  computed elsewhere (in worker threads), writes local headers with the final sizes (no data
  descriptors) and the central directory at the end; ZIP64 records appear only when a size,
  an offset or the entry count needs them.
* :class:`ParallelGzipWriter` is the pigz scheme: the (tar) stream is cut into blocks, each
  block is deflated independently in a worker, primed with the previous block's last 32 KiB
  as dictionary and ended with a sync flush, and the pieces are concatenated into one gzip
  member (one deflate stream, CRC-32 computed over the plain stream in order).

>>> import io, zipfile, zlib
>>> out = HashingWriter(io.BytesIO())
>>> zw = ZipWriter(out)
>>> zw.add("a.xml", *deflate_entry(b"<a/>"))
>>> zw.close()
>>> zipfile.ZipFile(out.raw).read("a.xml")  # type: ignore[arg-type]
b'<a/>'
"""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import BinaryIO, ParamSpec, TypeVar

from ..crypto import b64

__all__ = [
    "COMPRESSION_LEVEL",
    "HashingWriter",
    "InlineExecutor",
    "ParallelGzipWriter",
    "ZipWriter",
    "deflate_entry",
]

#: zlib level of both compressions (the zlib and ``zipfile`` default; level 9 costs ~3x more
#: CPU on invoice XML for ~3 % smaller archives).
COMPRESSION_LEVEL = 6

_P = ParamSpec("_P")
_T = TypeVar("_T")
_ZIP64_LIMIT = 0xFFFFFFFF  # sizes/offsets at or over this need ZIP64 (patched in tests)
_ZIP_COUNT_LIMIT = 0xFFFF
_STORED, _DEFLATED = 0, 8
_UTF8_FLAG = 0x800
_GZIP_BLOCK = 256 * 1024
_GZIP_WINDOW = 32 * 1024


class InlineExecutor(Executor):
    """An :class:`~concurrent.futures.Executor` that runs each call at once (``workers=1``)."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


class HashingWriter:
    """A forward-only binary sink that counts and SHA-256-hashes everything written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.size = 0
        self._sha = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.raw.write(data)
        self._sha.update(data)
        n = len(data)
        self.size += n
        return n

    def flush(self) -> None:
        self.raw.flush()

    @property
    def hash_b64(self) -> str:
        """Base64 SHA-256 of the bytes written so far."""
        return b64(self._sha.digest())


def deflate_entry(data: bytes, level: int = COMPRESSION_LEVEL) -> tuple[bytes, int, int, int]:
    """``(payload, method, crc32, plain_size)`` of one ZIP entry; stored when deflate does
    not shrink it.

    >>> payload, method, crc, size = deflate_entry(b"x" * 1000)
    >>> method, size, len(payload) < 1000
    (8, 1000, True)
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    crc = zlib.crc32(data)
    if len(packed) >= len(data):
        return data, _STORED, crc, len(data)
    return packed, _DEFLATED, crc, len(data)


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    year = max(t.tm_year, 1980)
    return (
        (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
        ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday,
    )


@dataclass(frozen=True)
class _Central:
    name: bytes
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    offset: int


class ZipWriter:
    """Writes a ZIP archive forward-only from pre-compressed entries (see module docstring)."""

    def __init__(self, out: HashingWriter, *, moment: float | None = None) -> None:
        self._out = out
        self._entries: list[_Central] = []
        self._time, self._date = _dos_time(time.time() if moment is None else moment)

    def add(self, name: str, payload: bytes, method: int, crc: int, size: int) -> None:
        """Append one entry: ``payload`` is the raw deflate stream (or the data, if stored)."""
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_FLAG
        offset = self._out.size
        compressed = len(payload)
        extra = b""
        csize, usize = compressed, size
        if compressed >= _ZIP64_LIMIT or size >= _ZIP64_LIMIT:
            extra = struct.pack("<HHQQ", 1, 16, size, compressed)
            csize = usize = 0xFFFFFFFF
        version = 45 if extra else 20
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            flags,
            method,
            self._time,
            self._date,
            crc,
            csize,
            usize,
            len(encoded),
            len(extra),
        )
        self._out.write(header + encoded + extra)
        self._out.write(payload)
        self._entries.append(_Central(encoded, flags, method, crc, compressed, size, offset))

    def close(self) -> None:
        """Write the central directory and the end records."""
        start = self._out.size
        for e in self._entries:
            fields: list[int] = []
            usize, csize, offset = e.size, e.compressed, e.offset
            if usize >= _ZIP64_LIMIT:
                fields.append(usize)
                usize = 0xFFFFFFFF
            if csize >= _ZIP64_LIMIT:
                fields.append(csize)
                csize = 0xFFFFFFFF
            if offset >= _ZIP64_LIMIT:
                fields.append(offset)
                offset = 0xFFFFFFFF
            extra = (
                struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            )
            version = 45 if fields else 20
            record = struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | version,  # made by: Unix
                version,
                e.flags,
                e.method,
                self._time,
                self._date,
                e.crc,
                csize,
                usize,
                len(e.name),
                len(extra),
                0,
                0,
                0,
                0o100644 << 16,
                offset,
            )
            self._out.write(record + e.name + extra)
        end = self._out.size
        count, cd_size = len(self._entries), end - start
        if count >= _ZIP_COUNT_LIMIT or cd_size >= _ZIP64_LIMIT or start >= _ZIP64_LIMIT:
            self._out.write(
                struct.pack(
                    "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, start
                )
            )
            self._out.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
            count = min(count, 0xFFFF)
            cd_size = min(cd_size, 0xFFFFFFFF)
            start = min(start, 0xFFFFFFFF)
        self._out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, start, 0))
        self._entries.clear()


def _deflate_block(block: bytes, primer: bytes, level: int, last: bool) -> bytes:
    if primer:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=primer)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = compressor.compress(block)
    return out + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter(io.RawIOBase):
    """A writable stream that gzips into ``out`` using ``executor`` for the deflate work.

    At most ``window`` blocks are in flight, so memory stays at ~``window`` x 256 KiB.
    """

    def __init__(
        self,
        out: HashingWriter,
        executor: Executor,
        *,
        window: int = 4,
        level: int = COMPRESSION_LEVEL,
        block_size: int = _GZIP_BLOCK,
    ) -> None:
        super().__init__()
        self._out = out
        self._executor = executor
        self._window = max(1, window)
        self._level = level
        self._block_size = block_size
        self._buffer = bytearray()
        self._primer = b""
        self._crc = 0
        self._length = 0
        self._pending: deque[Future[bytes]] = deque()
        # gzip header: deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952)
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) >= self._block_size:
            block = bytes(self._buffer[: self._block_size])
            del self._buffer[: self._block_size]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._length += len(block)
        future = self._executor.submit(_deflate_block, block, self._primer, self._level, last)
        self._pending.append(future)
        self._primer = block[-_GZIP_WINDOW:]
        while len(self._pending) > (0 if last else self._window):
            self._out.write(self._pending.popleft().result())

    def close(self) -> None:
        """Deflate what is left, end the member (CRC-32, length) and flush; idempotent."""
        if self.closed:
            return
        try:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._out.write(struct.pack("<II", self._crc, self._length & 0xFFFFFFFF))
        finally:
            super().close()

    def abandon(self) -> None:
        """Drop pending work without writing anything more (on errors)."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._buffer.clear()
        super().close()
