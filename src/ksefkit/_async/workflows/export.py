"""The invoice export: key, ``POST /invoices/exports``, adaptive wait, parallel streamed part
downloads (hashes checked, expired links refreshed), streaming decryption, safe unpacking.

>>> result = await client.invoices.export(filters, into=Path("out"))  # doctest: +SKIP
>>> [m.ksef_number for m in result.invoices]  # doctest: +SKIP

Memory stays bounded: each part goes from the network to a file in chunks, is decrypted
from that file in chunks into one joined archive, and the archive is unpacked entry by
entry (see :mod:`ksefkit.export_unpack`). Part links are pre-signed and never logged; a link
that storage refuses with 403 (expired) is renewed by asking for the export status again
(KSeF makes new links at each status query) and the part is downloaded again. When the
package itself expired (status 210 or HTTP 410) :class:`~ksefkit.errors.ExportExpired`
says to export again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ... import _parallel, _polling
from ..._http import AuthKind, Operation, map_storage_error, redact_url
from ..._retry import DEFAULT_RETRY, Decision, RetryPolicy
from ...crypto import (
    KeyUsage,
    SymmetricKey,
    aes_cbc_decrypt_stream,
    b64,
    encryption_info,
)
from ...errors import (
    BadRequest,
    ExportExpired,
    ExportFailed,
    Gone,
    IntegrityError,
    KsefError,
    StorageError,
    TransportError,
)
from ...export_unpack import (
    UnpackedPackage,
    remove_tree,
    unpack_package,
)
from ...models import EncryptionInfo
from ...models.invoices import (
    InvoiceExportStatusResponse,
    InvoiceMetadata,
    InvoicePackage,
    InvoicePackagePart,
    InvoiceQueryFilters,
)
from .._wait import poll_until

if TYPE_CHECKING:
    from ..resources.invoices import AsyncInvoices

__all__ = ["ExportResult", "export_invoices"]

log = logging.getLogger("ksefkit.export")

UNKNOWN_KEY_ID = 21470
IN_PROGRESS = 100
DONE = 200
EXPIRED = 210
CHUNK_SIZE = 256 * 1024
#: How many times one part's link is renewed after storage refused it (403).
LINK_RENEWALS = 3

#: ``on_phase(phase)``: ``"created"``, ``"ready"``, ``"downloaded"``, ``"unpacked"``.
PhaseHook = Callable[[str], None]
#: ``progress(phase, done, total)``, always on the calling task / thread: ``"wait"`` (status
#: queries so far, 0), ``"download"`` (encrypted bytes, never stepping back, ending at the
#: package's encrypted size), ``"unpack"`` (files written, total; 0 while unknown).
ExportProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ExportResult:
    """A finished export unpacked on disk.

    ``invoices`` is the package's ``_metadata.json`` (one entry per invoice, deduplicated
    by KSeF number), ``files`` maps KSeF numbers to the XML written (empty with
    ``only_metadata``), ``package`` is KSeF's package description.
    """

    reference_number: str
    directory: Path
    package: InvoicePackage
    invoices: list[InvoiceMetadata] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def is_truncated(self) -> bool:
        """True when KSeF stopped at 10 000 invoices / 1 GiB: export again from the last date."""
        return self.package.is_truncated

    @property
    def last_issue_date(self) -> date | None:
        return self.package.last_issue_date

    @property
    def last_invoicing_date(self) -> datetime | None:
        return self.package.last_invoicing_date

    @property
    def last_permanent_storage_date(self) -> datetime | None:
        return self.package.last_permanent_storage_date

    @property
    def permanent_storage_hwm_date(self) -> datetime | None:
        return self.package.permanent_storage_hwm_date


async def export_invoices(
    invoices: AsyncInvoices,
    filters: InvoiceQueryFilters,
    *,
    into: Path,
    only_metadata: bool = False,
    compression: str = "Zip",
    parallelism: int = 4,
    timeout: float | None = 600.0,
    durable: bool = False,
    on_phase: PhaseHook | None = None,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """The whole export (see the module docstring); ``durable`` fsyncs the files written;
    ``progress`` follows the phases (see :data:`ExportProgress`)."""
    key = SymmetricKey.generate()
    reference = await _create(invoices, filters, key, only_metadata, compression)
    _phase(on_phase, "created")
    status = await wait_for_export(
        invoices,
        reference,
        timeout=timeout,
        on_poll=None if progress is None else (lambda n: progress("wait", n, 0)),
    )
    package = status.package
    if package is None:
        raise ExportFailed(
            DONE, "export finished without a package description", reference_number=reference
        )
    _phase(on_phase, "ready")
    work = into / f".ksefkit-export-{reference}"
    try:
        work.mkdir(parents=True, exist_ok=True)
        unpacked = UnpackedPackage(metadata=[])
        if package.parts:
            await download_parts(
                invoices,
                reference,
                package,
                work,
                parallelism=parallelism,
                progress=None if progress is None else (lambda d, t: progress("download", d, t)),
            )
            _phase(on_phase, "downloaded")
            archive = work / "package"
            parts = sorted(package.parts, key=lambda p: p.ordinal_number)
            await _parallel.async_call_in_thread(lambda: decrypt_join(parts, work, key, archive))

            def unpack(report: Callable[[int, int], None]) -> UnpackedPackage:
                return unpack_package(archive, into, compression, durable=durable, progress=report)

            def report_unpack(done: int, total: int) -> None:
                if progress is not None:
                    progress("unpack", done, total)

            unpacked = await _parallel.async_call_in_thread_reporting(unpack, report_unpack)
        _phase(on_phase, "unpacked")
    finally:
        remove_tree(work)
    metadata = _dedupe(unpacked.metadata)
    return ExportResult(
        reference_number=reference,
        directory=into,
        package=package,
        invoices=metadata,
        files=unpacked.files,
    )


async def wait_for_export(
    invoices: AsyncInvoices,
    reference_number: str,
    *,
    timeout: float | None,
    on_poll: Callable[[int], None] | None = None,
) -> InvoiceExportStatusResponse:
    """Poll the export until its status is not 100; failures raise typed errors.
    ``on_poll(n)`` is called after the n-th status query."""
    polls = 0

    async def query() -> InvoiceExportStatusResponse:
        nonlocal polls
        status = await _status(invoices, reference_number)
        polls += 1
        if on_poll is not None:
            on_poll(polls)
        return status

    status = await poll_until(
        query,
        lambda s: s.status.code != IN_PROGRESS,
        timeout=timeout,
        what=f"export {reference_number}",
    )
    check_export_status(status, reference_number)
    return status


def check_export_status(status: InvoiceExportStatusResponse, reference_number: str) -> None:
    """Raise :class:`ExportExpired` (210) or :class:`ExportFailed` (any other non-200)."""
    code = status.status.code
    if code == DONE:
        return
    details = list(status.status.details or [])
    if code == EXPIRED:
        raise ExportExpired(
            code,
            status.status.description or "export expired: export again",
            details,
            reference_number=reference_number,
        )
    raise ExportFailed(
        code,
        status.status.description or "export failed",
        details,
        reference_number=reference_number,
    )


async def download_parts(
    invoices: AsyncInvoices,
    reference_number: str,
    package: InvoicePackage,
    work: Path,
    *,
    parallelism: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Download every part into ``work/part-NNNN.aes``, ``parallelism`` at a time;
    ``progress(done, total)`` follows the encrypted bytes on the calling task / thread."""
    http = invoices._http.http
    retry = invoices._http.retry
    total = sum(p.encrypted_part_size for p in package.parts)
    counter = _parallel.HighWaterProgress(total, progress)

    async def one(part: InvoicePackagePart) -> int:
        target = work / f"part-{part.ordinal_number:04d}.aes"
        for renewal in range(LINK_RENEWALS + 1):
            try:
                await download_part(http, part, target, retry=retry, counter=counter)
                return part.ordinal_number
            except StorageError as error:
                if error.status_code != 403 or renewal == LINK_RENEWALS:
                    raise
                log.info(
                    "export %s part %d: link refused (403), asking for a new one",
                    reference_number,
                    part.ordinal_number,
                )
                part = await _fresh_part(invoices, reference_number, part.ordinal_number)
        raise AssertionError("unreachable")  # pragma: no cover

    await _parallel.async_run_bounded(
        list(package.parts),
        one,
        lambda part, ordinal: None,
        limit=parallelism,
        on_tick=counter.flush,
    )


async def download_part(
    http: httpx.AsyncClient,
    part: InvoicePackagePart,
    target: Path,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    counter: _parallel.HighWaterProgress | None = None,
) -> None:
    """GET one part to ``target`` in chunks (no token sent), checking its size and hash.

    Transport errors, corrupt transfers and storage's 408/429/5xx are retried as ``retry``
    decides (the one retry decider); an expired link (403) raises
    :class:`~ksefkit.errors.StorageError` for the caller to renew it.
    """
    # A download changes nothing: it is idempotent whatever went wrong.
    operation = Operation(
        part.method or "GET", redact_url(part.url), AuthKind.NONE, idempotent=True
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            await _download_once(http, part, target, counter)
            return
        except (TransportError, StorageError, IntegrityError) as error:
            if retry.classify(operation, error, attempt) is not Decision.RETRY:
                raise
            delay = retry.delay(error, attempt)
            log.info(
                "retrying export part %d after %s (attempt %d, %.2fs)",
                part.ordinal_number,
                error,
                attempt,
                delay,
            )
            await _polling.async_sleep(delay)


async def _download_once(
    http: httpx.AsyncClient,
    part: InvoicePackagePart,
    target: Path,
    counter: _parallel.HighWaterProgress | None = None,
) -> None:
    digest = hashlib.sha256()
    size = 0
    where = f"{part.method or 'GET'} {redact_url(part.url)}"
    try:
        request = http.build_request(part.method or "GET", part.url)
        request.headers.pop("Authorization", None)  # storage never sees the API token
        response = await http.send(request, stream=True)
        try:
            if response.status_code >= 400:
                await response.aread()
                raise map_storage_error(
                    response,
                    f"download of export part {part.ordinal_number} from {redact_url(part.url)}",
                    ordinal_number=part.ordinal_number,
                )
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes(CHUNK_SIZE):
                    size += len(chunk)
                    if size > part.encrypted_part_size:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    if counter is not None:
                        counter.seen(part.ordinal_number, size)
            declared = response.headers.get("x-ms-meta-hash")
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise TransportError(
            f"{type(exc).__name__} downloading export part {part.ordinal_number}", operation=where
        ) from None  # the exception text may carry the signed link
    actual = b64(digest.digest())
    if size != part.encrypted_part_size or actual != part.encrypted_part_hash:
        raise IntegrityError(
            f"export part {part.ordinal_number}: got {size} B with SHA-256 {actual}, KSeF "
            f"declared {part.encrypted_part_size} B with {part.encrypted_part_hash}"
        )
    if declared is not None and declared.strip() != actual:
        raise IntegrityError(
            f"export part {part.ordinal_number}: SHA-256 {actual} does not match "
            f"x-ms-meta-hash {declared.strip()}"
        )


def decrypt_join(
    parts: list[InvoicePackagePart], work: Path, key: SymmetricKey, archive: Path
) -> None:
    """Decrypt each part (in ordinal order) and append it to ``archive``, checking
    ``partSize`` / ``partHash``; each encrypted file is deleted once used."""
    with archive.open("wb") as out:
        for part in parts:
            source = work / f"part-{part.ordinal_number:04d}.aes"
            digest = hashlib.sha256()
            size = 0
            for chunk in aes_cbc_decrypt_stream(_chunks(source), key):
                size += len(chunk)
                digest.update(chunk)
                out.write(chunk)
            actual = b64(digest.digest())
            if size != part.part_size or actual != part.part_hash:
                raise IntegrityError(
                    f"export part {part.ordinal_number} decrypted to {size} B with SHA-256 "
                    f"{actual}, KSeF declared {part.part_size} B with {part.part_hash}"
                )
            source.unlink()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


async def _create(
    invoices: AsyncInvoices,
    filters: InvoiceQueryFilters,
    key: SymmetricKey,
    only_metadata: bool,
    compression: str,
) -> str:
    for attempt in (1, 2):
        cert = await invoices.keys.certificate(KeyUsage.SYMMETRIC_KEY_ENCRYPTION)
        info = EncryptionInfo.model_validate(
            encryption_info(key, cert.public_key, cert.public_key_id)
        )
        try:
            created = await invoices.create_export(
                filters, info, only_metadata=only_metadata, compression=compression
            )
            return created.reference_number
        except BadRequest as error:
            if attempt == 2 or not error.has_code(UNKNOWN_KEY_ID):
                raise
            invoices.keys.invalidate()
    raise AssertionError("unreachable")  # pragma: no cover


async def _status(invoices: AsyncInvoices, reference_number: str) -> InvoiceExportStatusResponse:
    try:
        return await invoices.export_status(reference_number)
    except Gone as error:
        raise ExportExpired(
            EXPIRED,
            "the export's status record is gone (kept 7 days): export again",
            reference_number=reference_number,
        ) from error


async def _fresh_part(
    invoices: AsyncInvoices, reference_number: str, ordinal_number: int
) -> InvoicePackagePart:
    status = await _status(invoices, reference_number)
    check_export_status(status, reference_number)
    parts = status.package.parts if status.package else []
    for part in parts:
        if part.ordinal_number == ordinal_number:
            return part
    raise KsefError(f"export {reference_number} no longer lists part {ordinal_number}")


def _dedupe(items: list[InvoiceMetadata]) -> list[InvoiceMetadata]:
    seen: set[str] = set()
    out: list[InvoiceMetadata] = []
    for item in items:
        if item.ksef_number not in seen:
            seen.add(item.ksef_number)
            out.append(item)
    return out


def _phase(hook: PhaseHook | None, phase: str) -> None:
    if hook is not None:
        hook(phase)
