# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Incremental invoice sync up to the High Water Mark (KSeF's recommended algorithm, §10.4).

>>> first = client.invoices.sync("Subject2", Path("erp"), start=day1)  # doctest: +SKIP
>>> later = client.invoices.sync("Subject2", Path("erp"))  # doctest: +SKIP

For one subject type (the role the context plays on the invoice) each window is an export
with ``dateType = PermanentStorage``, ``from = checkpoint`` and
``restrictToPermanentStorageHwmDate = true``. A truncated package continues from its
``lastPermanentStorageDate``, a complete one ends the run at ``permanentStorageHwmDate``;
windows are contiguous (the end of one is the start of the next). When the checkpoint is
older than KSeF's 3-month query span the window also gets ``to = from + 90 days`` (for old
ranges the HWM equals that bound) and the run goes on until a window ends at the HWM.

Layout (``layout="tree"``, the default)::

    into/<context>/<subjectType>/<ksefNumber>.xml
    into/.ksefkit-sync/<context>-<subjectType>.json     the checkpoint

``layout="flat"`` writes ``into/<ksefNumber>.xml``: one file per invoice whatever the context
and role it was fetched for (an invoice seen as seller and as buyer is stored once).

Crash safety: a window's package is unpacked (fsync'd) in a staging folder, its files are
renamed into place and their folder fsync'd, and only then the checkpoint is replaced
atomically. A crash at any point (or an expired package) repeats the window from the old
checkpoint; files already in place are simply replaced by the same invoice, so every
invoice ends up on disk exactly once and none is lost.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConfigurationError, KsefError
from ...export_unpack import (
    ExportExpired,
    ExportFailed,
    SyncCheckpoint,
    fsync_dir,
    move_into,
    remove_tree,
)
from ...models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from .export import ExportResult, export_invoices

if TYPE_CHECKING:
    from ..resources.invoices import Invoices

__all__ = ["SyncProgress", "SyncResult", "sync_invoices"]

log = logging.getLogger("ksefkit.sync")

SYNC_DIR = ".ksefkit-sync"
#: KSeF accepts date ranges up to 3 months; older checkpoints advance in windows this long.
MAX_SPAN = timedelta(days=90)
#: An expired package (or link) repeats the window from the checkpoint this many times.
WINDOW_ATTEMPTS = 3
FROM_AFTER_HWM = 420
LAYOUTS = ("tree", "flat")


@dataclass(frozen=True)
class SyncProgress:
    """Reported to ``progress``: the window (1-based) and its phase: ``"exporting"``,
    ``"downloaded"`` (package unpacked in staging), ``"stored"`` (files in place and
    fsync'd), ``"checkpointed"``."""

    context: str
    subject_type: str
    window: int
    phase: str
    start: datetime
    invoices: int = 0


@dataclass
class SyncResult:
    """One sync run: ``fetched`` are the KSeF numbers received (deduplicated), ``new`` those
    that were not on disk before; ``checkpoint`` is where the next run starts."""

    context: str
    subject_type: str
    directory: Path
    checkpoint: datetime
    windows: int = 0
    fetched: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    permanent_storage_hwm_date: datetime | None = None


def sync_invoices(
    invoices: Invoices,
    subject_type: str,
    into: Path,
    *,
    start: datetime | None = None,
    context: str | None = None,
    layout: str = "tree",
    parallelism: int = 4,
    timeout: float | None = 600.0,
    progress: Callable[[SyncProgress], None] | None = None,
) -> SyncResult:
    """Sync one subject type into ``into`` (see the module docstring)."""
    if layout not in LAYOUTS:
        raise ConfigurationError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    ctx = context or _context_from_token(invoices)
    slug = _slug(ctx)
    state_dir = into / SYNC_DIR
    checkpoint_path = state_dir / f"{slug}-{_slug(subject_type)}.json"
    checkpoint = SyncCheckpoint.load(checkpoint_path)
    first = checkpoint.start if checkpoint is not None else start
    if first is None:
        raise ConfigurationError(
            f"no checkpoint in {checkpoint_path}: pass start= (the first permanent-storage "
            "date to fetch) on the first sync"
        )
    window_start: datetime = first
    target = into / slug / _slug(subject_type) if layout == "tree" else into
    staging = state_dir / f"staging-{slug}-{_slug(subject_type)}"
    result = SyncResult(ctx, subject_type, into, window_start)
    fetched: set[str] = set()
    windows = checkpoint.windows if checkpoint else 0
    count = checkpoint.invoices if checkpoint else 0

    def report(phase: str, n: int = 0) -> None:
        if progress is not None:
            progress(SyncProgress(ctx, subject_type, result.windows, phase, window_start, n))

    while True:
        result.windows += 1
        window_end = _window_end(window_start)
        filters = InvoiceQueryFilters(
            subject_type=subject_type,
            date_range=InvoiceQueryDateRange(
                date_type="PermanentStorage",
                from_=window_start,
                to=window_end,
                restrict_to_permanent_storage_hwm_date=True,
            ),
        )
        report("exporting")
        exported = _export_window(
            invoices, filters, staging, parallelism=parallelism, timeout=timeout
        )
        if exported is None:  # the checkpoint is past the HWM: nothing new yet
            result.windows -= 1
            break
        report("downloaded", len(exported.files))
        for number, path in exported.files.items():
            final = target / f"{number}.xml"
            if not final.exists():
                result.new.append(number)
            move_into(path, final)
            if number not in fetched:
                fetched.add(number)
                result.fetched.append(number)
        target.mkdir(parents=True, exist_ok=True)
        fsync_dir(target)
        report("stored", len(exported.files))
        package = exported.package
        result.permanent_storage_hwm_date = package.permanent_storage_hwm_date
        following = _next_start(exported, window_start, window_end)
        windows += 1
        count += len(exported.files)
        SyncCheckpoint(
            context=ctx,
            subject_type=subject_type,
            start=following,
            updated_at=datetime.now(UTC),
            windows=windows,
            invoices=count,
        ).save(checkpoint_path)
        result.checkpoint = following
        report("checkpointed", len(exported.files))
        remove_tree(staging)
        if not package.is_truncated and window_end is None:
            break  # the window reached the HWM
        if _aware(following) <= _aware(window_start):
            if package.is_truncated:
                raise KsefError(
                    f"over 10 000 invoices share the permanent-storage date {window_start}: "
                    "KSeF cannot page past them"
                )
            break
        window_start = following
    remove_tree(staging)
    return result


def _export_window(
    invoices: Invoices,
    filters: InvoiceQueryFilters,
    staging: Path,
    *,
    parallelism: int,
    timeout: float | None,
) -> ExportResult | None:
    for attempt in range(1, WINDOW_ATTEMPTS + 1):
        remove_tree(staging)  # leftovers of a crashed run: the window is fetched again
        try:
            return export_invoices(
                invoices,
                filters,
                into=staging,
                parallelism=parallelism,
                timeout=timeout,
                durable=True,
            )
        except ExportExpired:
            if attempt == WINDOW_ATTEMPTS:
                raise
            log.info("export package expired; exporting the window again")
        except ExportFailed as error:
            if error.code == FROM_AFTER_HWM:
                return None
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _window_end(start: datetime) -> datetime | None:
    aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    if datetime.now(UTC) - aware > MAX_SPAN:
        return start + MAX_SPAN
    return None


def _next_start(exported: ExportResult, start: datetime, end: datetime | None) -> datetime:
    package = exported.package
    if package.is_truncated and package.last_permanent_storage_date is not None:
        return package.last_permanent_storage_date
    hwm = package.permanent_storage_hwm_date
    if hwm is None:
        hwm = end or max((m.permanent_storage_date for m in exported.invoices), default=start)
    if end is not None and _aware(hwm) > _aware(end):
        return end
    return hwm


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text.strip()) or "_"


def _context_from_token(invoices: Invoices) -> str:
    info = invoices._http.tokens.access_info
    if info is not None:
        try:
            payload = info.token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            value = claims.get("context-identifier-value") or claims.get("cid")
            if isinstance(value, str) and value:
                return value
        except (IndexError, ValueError, TypeError, AttributeError):
            pass
    raise ConfigurationError("cannot tell the context from the access token: pass context=")
