"""Batch sessions in the CLI: ``send`` of many files, and ``session resume`` of a broken one.

The SDK does the work (``BatchSession.prepare``: pre-flight every file, pack them into one
ZIP or tar.gz, split it, encrypt the parts; ``BatchSession.resume``: open the session, upload
the parts in parallel, close, wait). This module chooses the state file (it is written before the
upload starts, so an interrupted send can be resumed from it), draws the progress, and turns
the SDK's result into the same rows ``send`` prints for an online session.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NoReturn

from pydantic import ValidationError
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .._sync.client import Client
from .._sync.workflows.batch import BatchInvoiceResult, BatchResult, BatchSession
from ..batch.package import BatchPackage
from ..batch_state import BatchSessionState
from ..errors import (
    BatchPreflightError,
    ConfigurationError,
    RateLimited,
    ServerError,
    SessionFailed,
    StorageError,
    TransportError,
    WaitTimeout,
)
from ..formcodes import FormCode
from . import credentials
from ._output import Output
from ._results import FileResult, report
from .upo import session_upo_names, write_documents

__all__ = [
    "DEFAULT_BATCH_WAIT",
    "BatchOptions",
    "BatchProgress",
    "Compression",
    "check_state_file",
    "default_state_path",
    "resumable",
    "resume_batch",
    "send_batch",
]


#: Seconds to wait for KSeF to process a package (a big one takes a while).
DEFAULT_BATCH_WAIT = 900.0


class Compression(enum.StrEnum):
    """The package format (``--compression``), by its CLI name; ``.wire`` is KSeF's."""

    ZIP = "zip"
    TARGZ = "targz"

    @property
    def wire(self) -> str:
        return "Zip" if self is Compression.ZIP else "TarGz"


@dataclass(frozen=True)
class BatchOptions:
    """The ``send`` options a batch session uses."""

    form_code: FormCode
    offline: bool = False
    upo_v43: bool = False
    preflight: bool = True
    validate_schema: bool = True
    compression: Compression = Compression.ZIP
    part_size: int | None = None
    parallel: int = 4
    state_path: Path | None = None
    upo_dir: Path | None = None
    wait_timeout: float = DEFAULT_BATCH_WAIT


def default_state_path(now: datetime | None = None) -> Path:
    """A new ``batches/ksefkit-batch-<timestamp>.json`` in the config directory (0700)."""
    directory = credentials.config_dir() / "batches"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = directory / f"ksefkit-batch-{stamp}.json"
    counter = 2
    while path.exists():
        path = directory / f"ksefkit-batch-{stamp}-{counter}.json"
        counter += 1
    return path


def send_batch(out: Output, client: Client, files: Sequence[Path], options: BatchOptions) -> None:
    """Send ``files`` as one batch package and print the result (exit 5 if any failed)."""
    state_path = options.state_path or default_state_path()
    state_path.parent.mkdir(parents=True, exist_ok=True)
    session = client.batch_session(
        options.form_code,
        offline_mode=options.offline,
        upo_v43=options.upo_v43,
        state_path=state_path,
        parallelism=options.parallel,
    )
    with BatchProgress(out) as progress:
        try:
            session.prepare(
                list(files),
                compression=options.compression.wire,
                part_size=options.part_size,
                preflight=options.preflight,
                validate_schema=options.validate_schema,
                progress=progress,
            )
        except BatchPreflightError as error:
            progress.stop()
            _refused(out, files, error)
        progress.message(f"package: {describe(session.package)}; state: {state_path}")
        progress.message(f"if interrupted, resume with: ksefkit session resume {state_path}")
        with resumable(state_path):
            result = session.resume(
                progress=progress, timeout=options.wait_timeout, keep_package=False
            )
    _finish(out, session, result, files, options.upo_dir)


def resume_batch(
    out: Output,
    client: Client,
    state_path: Path,
    *,
    upo_dir: Path | None = None,
    wait_timeout: float = DEFAULT_BATCH_WAIT,
    reopen_expired: bool = False,
) -> None:
    """Finish the batch send recorded in ``state_path`` and print the result."""
    session = client.resume_batch_session(state_path)
    ref = session.state.reference_number or "(not opened yet)"
    with BatchProgress(out) as progress:
        progress.message(f"resuming batch session {ref}: {describe(session.package)}")
        with resumable(state_path):
            result = session.resume(
                progress=progress, timeout=wait_timeout, reopen_expired=reopen_expired
            )
    session.cleanup()  # the part files served only to resume; the state file stays
    _finish(out, session, result, [], upo_dir)


@contextmanager
def resumable(state_path: Path) -> Iterator[None]:
    """A failure after the state was saved says how to go on (a note the error line shows)."""
    hint = f"resume with: ksefkit session resume {state_path}"
    try:
        yield
    except StorageError as error:
        error.add_note(hint + (" --reopen-expired" if error.expired else ""))
        raise
    except (TransportError, ServerError, RateLimited, WaitTimeout) as error:
        error.add_note(hint)
        raise
    except SessionFailed as error:
        if error.code == 440:  # the upload window passed; KSeF cancelled the session
            error.add_note(hint + " --reopen-expired")
        raise


def check_state_file(path: Path) -> BatchSessionState:
    """The batch state in ``path``, checked before logging in (ConfigurationError if it is
    not one)."""
    try:
        return BatchSessionState.load(path)
    except (ValidationError, ValueError) as error:
        first = str(error).splitlines()[0]
        raise ConfigurationError(f"{path} is not a ksefkit batch state file ({first})") from None


def describe(package: BatchPackage) -> str:
    """``5 invoice(s), Zip archive of 5192 bytes in 4 part(s)``."""
    return (
        f"{len(package.invoices)} invoice(s), {package.compression} archive of "
        f"{package.archive_size} bytes in {len(package.parts)} part(s)"
    )


def _package_json(session: BatchSession) -> dict[str, object]:
    package = session.package
    return {
        "compression": package.compression,
        "archiveSize": package.archive_size,
        "parts": len(package.parts),
        "invoices": len(package.invoices),
    }


def _refused(out: Output, files: Sequence[Path], error: BatchPreflightError) -> NoReturn:
    """Pre-flight refused the package before anything was opened: a row per failing file."""
    by_name = {name: path for path in files for name in (path.name, str(path))}
    rows = [
        FileResult(by_name.get(name, Path(name)), error="pre-flight: " + "; ".join(found))
        for name, found in error.problems.items()
    ]
    report(
        out,
        None,
        rows,
        None,
        [],
        extra={"sessionType": "Batch"},
        failure=f"pre-flight refused the package: {len(rows)} of {len(files)} file(s) have "
        "problems; nothing was sent",
    )
    raise error  # report() raised already: rows is never empty


def _finish(
    out: Output,
    session: BatchSession,
    result: BatchResult,
    files: Sequence[Path],
    upo_dir: Path | None,
) -> None:
    by_name = {path.name: path for path in files}
    rows = [_row(item, by_name) for item in result.invoices]
    upos: list[Path] = []
    if upo_dir is not None and result.status.upo is not None:
        pages = result.upo_pages()
        names = session_upo_names(result.reference_number, len(pages))
        upos = write_documents(list(zip(names, pages, strict=True)), upo_dir, directory=True)
    status = result.status.status
    out.line(f"session {result.reference_number}: {status.code} {status.description}", markup=False)
    report(
        out,
        result.reference_number,
        rows,
        result.status,
        upos,
        extra={
            "sessionType": "Batch",
            "statePath": str(session.state_path),
            "package": _package_json(session),
        },
    )


def _row(item: BatchInvoiceResult, by_name: dict[str, Path]) -> FileResult:
    """One file's row: its KSeF number, or why it has none."""
    row = FileResult(
        by_name.get(item.file_name, Path(item.file_name)),
        reference_number=item.reference_number,
        status_code=item.status_code,
    )
    if item.accepted:
        row.ksef_number = item.ksef_number
    elif item.status_code is None:
        row.error = "KSeF reported no status for this file"
    else:
        details = "; ".join(item.details)
        row.error = (item.description or "rejected") + (f": {details}" if details else "")
    return row


class BatchProgress:
    """The SDK's progress callback ``(phase, done, total)``: rich bars on a terminal, plain
    lines otherwise (on stderr with --json). Thread-safe: parts upload in parallel."""

    _LABELS: ClassVar[dict[str, str]] = {
        "pack": "packing",
        "encrypt": "encrypting",
        "upload": "uploading",
    }

    def __init__(self, out: Output) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._quarters: dict[str, int] = {}
        self._bars = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=out.console,
            disable=not out.interactive,
        )

    def __enter__(self) -> BatchProgress:
        self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bars.stop()

    def message(self, text: str) -> None:
        """A line above the bars (plain: stdout, or stderr with --json)."""
        with self._lock:
            if self._out.interactive:
                self._bars.console.print(escape(text), soft_wrap=True, highlight=False)
            else:
                self._out.info(text)

    def stop(self) -> None:
        """Stop drawing (before an error report); leaving the ``with`` stops too."""
        self._bars.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            if self._out.interactive:
                self._bar(phase, done, total)
            else:
                self._plain(phase, done, total)

    def _bar(self, phase: str, done: int, total: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._bars.add_task(self._LABELS.get(phase, phase))
        self._bars.update(task, completed=done, total=total)

    def _plain(self, phase: str, done: int, total: int) -> None:
        """A line at the start, at each quarter and at the end of a phase."""
        quarter = 4 if total <= 0 else min(4, done * 4 // total)
        if self._quarters.get(phase, -1) >= quarter:
            return
        self._quarters[phase] = quarter
        percent = 100 if total <= 0 else done * 100 // total
        self._out.info(f"{self._LABELS.get(phase, phase)}: {percent}% ({done} of {total} bytes)")
