# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""The batch session: package, open, upload parts in parallel, close, wait, map results back.

>>> batch = client.batch_session(FormCode.FA3, state_path=Path("batch.json"))  # doctest: +SKIP
>>> result = batch.send(Path("invoices/"))  # doctest: +SKIP
>>> for invoice in result.invoices:  # doctest: +SKIP
...     print(invoice.file_name, invoice.ksef_number or invoice.status_code)

Crash safety: with ``state_path`` the state (key, package manifest, upload links, parts
uploaded, closed) is saved atomically after every step. A batch session processes nothing
until it is closed, and it is closed only after every part is confirmed, so whatever moment
a process dies at, :meth:`Client.resume_batch_session` finishes the job without sending
any invoice twice: it opens the session if the crash came before that, uploads only the parts
not confirmed, closes (an "already closed" answer counts as done) and waits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ... import _parallel
from ..._http import Operation
from ...batch_state import BatchSessionState, PartUploadState
from ...crypto import KeyUsage, SymmetricKey, encryption_info
from ...errors import (
    ApiError,
    BadRequest,
    ConfigurationError,
    SessionFailed,
    StorageError,
)
from ...formcodes import FormCode
from ...models import (
    BatchFileInfo,
    EncryptionInfo,
    SessionInvoiceStatusResponse,
    SessionStatusResponse,
)
from .._upload import PartUpload, upload_parts
from .._wait import poll_until

if TYPE_CHECKING:
    from ...batch.package import BatchPackage, PackagedInvoice
    from ..client import Client

__all__ = ["BatchResult", "BatchSession", "BatchInvoiceResult"]

UNKNOWN_KEY_ID = 21470
NOT_ALLOWED_IN_STATUS = 21180  # e.g. closing a session that is already closed
UPLOAD_TIME_EXCEEDED = 21208
SESSION_IN_PROGRESS = (100, 150)
#: Session codes whose invoices still deserve a per-file report instead of an exception.
REPORTED_FAILURES = (445,)
DEFAULT_MAX_INVOICES = 10_000
CONTEXT_LIMITS = Operation("GET", "/limits/context")

#: ``progress(phase, done, total)``: phases ``"pack"``, ``"encrypt"``, ``"upload"`` (bytes).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BatchInvoiceResult:
    """What became of one file of the package.

    ``status_code`` is KSeF's invoice status (200 accepted, 440 duplicate, 450 semantic
    error, ...) or None when KSeF reported nothing for this file.
    """

    file_name: str
    invoice_hash: str
    reference_number: str | None = None
    status_code: int | None = None
    description: str | None = None
    ksef_number: str | None = None
    invoice_number: str | None = None
    details: tuple[str, ...] = ()
    extensions: dict[str, str | None] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status_code == 200 and self.ksef_number is not None


class BatchResult:
    """The outcome of a batch session: its final status and one entry per packaged file."""

    def __init__(
        self,
        session: BatchSession,
        status: SessionStatusResponse,
        invoices: Sequence[BatchInvoiceResult],
    ) -> None:
        self._session = session
        self.reference_number = session.reference_number
        self.status = status
        self.invoices = tuple(invoices)

    def __repr__(self) -> str:
        return (
            f"<BatchResult {self.reference_number} status {self.status.status.code}: "
            f"{len(self.accepted)} accepted, {len(self.failed)} failed>"
        )

    @property
    def status_code(self) -> int:
        return self.status.status.code

    @property
    def accepted(self) -> tuple[BatchInvoiceResult, ...]:
        """The files that got a KSeF number."""
        return tuple(i for i in self.invoices if i.accepted)

    @property
    def failed(self) -> tuple[BatchInvoiceResult, ...]:
        """The files that did not (rejected, or not reported by KSeF)."""
        return tuple(i for i in self.invoices if not i.accepted)

    def by_file_name(self) -> dict[str, BatchInvoiceResult]:
        """``{file_name: result}``."""
        return {i.file_name: i for i in self.invoices}

    def upo_pages(self) -> list[bytes]:
        """Every page of the session UPO (each page's ``x-ms-meta-hash`` verified)."""
        return self._session.session_upo()


class BatchSession:
    """One batch session. :meth:`send` does everything; the steps are public too:
    :meth:`prepare` (build the package, key generated here), :meth:`open`, :meth:`upload`,
    :meth:`close`, :meth:`wait_until_processed`, :meth:`result`.

    With ``state_path`` every step is saved there and a crashed run continues in another
    process with :meth:`Client.resume_batch_session` + :meth:`resume`.
    """

    def __init__(
        self,
        client: Client,
        form_code: FormCode = FormCode.FA3,
        *,
        offline_mode: bool = False,
        upo_v43: bool = False,
        state_path: Path | None = None,
        parallelism: int = 4,
        state: BatchSessionState | None = None,
    ) -> None:
        if parallelism < 1:
            raise ConfigurationError(f"parallelism must be at least 1, not {parallelism}")
        self._client = client
        self.form_code = state.form if state else form_code
        self.offline_mode = state.offline_mode if state else offline_mode
        self.upo_v43 = state.upo_v43 if state else upo_v43
        self.state_path = Path(state_path) if state_path is not None else None
        self.parallelism = parallelism
        self._state = state
        self._package: BatchPackage | None = None
        self._owns_directory = False
        self._verified = False

    def __repr__(self) -> str:
        ref = self._state.reference_number if self._state else None
        return f"<BatchSession {self.form_code.system_code} {ref or 'not opened'}>"

    # -- state -----------------------------------------------------------------------------

    @property
    def state(self) -> BatchSessionState:
        """The resumable state (saved to ``state_path`` after every step)."""
        if self._state is None:
            raise ConfigurationError("no package yet: call prepare() or send() first")
        return self._state

    @property
    def reference_number(self) -> str:
        ref = self.state.reference_number
        if ref is None:
            raise ConfigurationError("the batch session is not open yet: call open() first")
        return ref

    @property
    def package(self) -> BatchPackage:
        """The package being sent (loaded from the state's manifest when resumed)."""
        if self._package is None:
            from ...batch.package import BatchPackage

            self._package = BatchPackage.from_dict(self.state.package)
        return self._package

    def _save(self, state: BatchSessionState) -> None:
        # Save first, then adopt: the file on disk is never behind what we act upon.
        if self.state_path is not None:
            state.save(self.state_path)
        self._state = state

    # -- steps -----------------------------------------------------------------------------

    def prepare(
        self,
        source: Path | Iterable[Path] | Iterable[tuple[str, bytes]],
        *,
        compression: str = "Zip",
        part_size: int | None = None,
        preflight: bool = True,
        validate_schema: bool = True,
        directory: Path | None = None,
        max_invoices: int | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> BatchPackage:
        """Check and build the package (archive, split, encrypt with a new key) and save
        the state. Nothing is sent yet.

        ``directory`` holds the part files (default: ``<state_path stem>.parts`` next to the
        state file, else a temporary directory). ``max_invoices`` defaults to the context's
        batch limit from ``GET /limits/context`` (10 000 where that is not available).
        Problems in files raise :class:`~ksefkit.errors.BatchPreflightError` listing all of
        them; a package over 5 GB or 50 parts raises ConfigurationError.

        >>> package = batch.prepare(Path("invoices/"), compression="TarGz")  # doctest: +SKIP
        """
        from ...batch.package import MAX_PART_SIZE, build_package

        if self._state is not None:
            raise ConfigurationError("this batch session already has a package")
        if self.state_path is not None and self.state_path.exists():
            raise ConfigurationError(
                f"{self.state_path} exists: resume it (client.resume_batch_session) "
                "or delete it first"
            )
        if max_invoices is None:
            max_invoices = self.context_invoice_limit()
        target = directory if directory is not None else self._default_directory()
        key = SymmetricKey.generate()

        def build() -> BatchPackage:
            return build_package(
                source,
                key,
                directory=target,
                compression=compression,
                part_size=part_size or MAX_PART_SIZE,
                form_code=self.form_code,
                preflight=preflight,
                validate_schema=validate_schema,
                workers=workers,
                progress=progress,
                max_invoices=max_invoices,
            )

        package = _parallel.sync_call_in_thread(build)
        _check_limits(package, max_invoices)
        self._package = package
        self._verified = True  # just built and hashed
        self._owns_directory = directory is None
        self._save(
            BatchSessionState.create(
                form_code=self.form_code,
                key=key,
                package=package.to_dict(),
                part_ordinals=tuple(p.ordinal_number for p in package.parts),
                offline_mode=self.offline_mode,
                upo_v43=self.upo_v43,
                base_url=self._client.base_url,
            )
        )
        return package

    def open(self) -> None:
        """``POST /sessions/batch`` declaring the package; saves the upload links."""
        state = self.state
        if state.reference_number is not None:
            raise ConfigurationError(f"batch session {state.reference_number} is already open")
        batch_file = BatchFileInfo.model_validate(self.package.batch_file_info())
        for attempt in (1, 2):
            cert = self._client.keys.certificate(KeyUsage.SYMMETRIC_KEY_ENCRYPTION)
            info = EncryptionInfo.model_validate(
                encryption_info(state.key, cert.public_key, cert.public_key_id)
            )
            try:
                opened = self._client.sessions.open_batch(
                    self.form_code,
                    batch_file,
                    info,
                    offline_mode=self.offline_mode,
                    upo_v43=self.upo_v43,
                )
                break
            except BadRequest as error:
                if attempt == 2 or not error.has_code(UNKNOWN_KEY_ID):
                    raise
                self._client.keys.invalidate()
        uploads = [
            PartUploadState(
                ordinal_number=r.ordinal_number,
                method=r.method,
                url=SecretStr(r.url),
                headers={k: v for k, v in r.headers.items() if v is not None},
            )
            for r in opened.part_upload_requests
        ]
        declared = set(state.part_ordinals)
        if {u.ordinal_number for u in uploads} != declared:
            raise ConfigurationError(
                f"KSeF returned upload links for parts {sorted(u.ordinal_number for u in uploads)}"
                f", the package has {sorted(declared)}"
            )
        self._save(state.opened(opened.reference_number, uploads))

    def upload(self, *, progress: Progress | None = None) -> None:
        """Upload the parts not confirmed yet, ``parallelism`` at a time.

        Each confirmed part is saved in the state at once. A link refused by storage raises
        :class:`~ksefkit.errors.StorageError` (``expired`` after the upload window: 20 min x
        parts after opening); the parts confirmed so far stay recorded.
        """
        state = self.state
        if state.reference_number is None:
            raise ConfigurationError("open() the batch session before uploading")
        if state.closed:
            return
        missing = state.missing_parts()
        self._check_files(missing)
        links = {u.ordinal_number: u for u in state.part_uploads}
        parts = [self._part_upload(links[n]) for n in missing]

        def uploaded(ordinal: int) -> None:
            self._save(self.state.with_uploaded(ordinal))

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress("upload", done, total)

        upload_parts(
            self._client._http.http,
            parts,
            retry=self._client._http.retry,
            parallelism=self.parallelism,
            on_uploaded=uploaded,
            progress=report,
            total_bytes=sum(p.size for p in self.package.parts),
        )

    def close(self) -> None:
        """``POST /sessions/batch/{ref}/close``: KSeF starts processing the package.

        "Already closed" (21180 on a session that is processing or done) counts as closed.
        21208 (the upload window passed; KSeF cancelled the session) raises
        :class:`~ksefkit.errors.SessionFailed` with code 440.
        """
        state = self.state
        if state.closed:
            return
        missing = state.missing_parts()
        if missing:
            raise ConfigurationError(f"parts {missing} are not uploaded yet: call upload() first")
        ref = self.reference_number
        try:
            self._client.sessions.close_batch(ref)
        except BadRequest as error:
            if error.has_code(UPLOAD_TIME_EXCEEDED):
                raise SessionFailed(
                    440,
                    "the upload window expired and KSeF cancelled the session; "
                    "resume with reopen_expired=True to send the package in a new session",
                    error.details,
                    reference_number=ref,
                ) from error
            if not error.has_code(NOT_ALLOWED_IN_STATUS):
                raise
            status = self.status()
            if status.status.code == 100:
                raise  # still open, yet KSeF refuses to close: nothing we can settle
        self._save(self.state.with_closed())

    def status(self) -> SessionStatusResponse:
        """The session status (``GET /sessions/{ref}``)."""
        return self._client.sessions.status(self.reference_number)

    def wait_until_processed(
        self, *, timeout: float | None = 900.0, raise_on_error: bool = True
    ) -> SessionStatusResponse:
        """After :meth:`close`: poll until KSeF has processed the package and the UPO is ready.

        200 returns; 445 (every invoice rejected) returns too, its invoices tell why; other
        failures (405, 415, 420, 430, 435, 440, 500) raise
        :class:`~ksefkit.errors.SessionFailed` unless ``raise_on_error=False``.
        """
        status = poll_until(
            self.status,
            lambda s: (
                s.status.code not in SESSION_IN_PROGRESS
                and (s.status.code != 200 or s.upo is not None)
            ),
            timeout=timeout,
            what=f"batch session {self.reference_number}",
        )
        code = status.status.code
        if raise_on_error and code != 200 and code not in REPORTED_FAILURES:
            raise SessionFailed(
                code,
                status.status.description,
                status.status.details or (),
                reference_number=self.reference_number,
            )
        return status

    def invoices(
        self, *, page_size: int | None = None
    ) -> Iterator[SessionInvoiceStatusResponse]:
        """Every invoice status of the session (all pages)."""
        return self._client.sessions.invoices(self.reference_number, page_size=page_size)

    def failed_invoices(
        self, *, page_size: int | None = None
    ) -> Iterator[SessionInvoiceStatusResponse]:
        """Every failed invoice of the session (all pages)."""
        return self._client.sessions.failed_invoices(self.reference_number, page_size=page_size)

    def session_upo(self) -> list[bytes]:
        """Every page of the session UPO (after :meth:`wait_until_processed`), hash verified."""
        status = self.status()
        if status.upo is None:
            raise SessionFailed(
                status.status.code,
                "the session UPO is not available (yet)",
                status.status.details or (),
                reference_number=self.reference_number,
            )
        return [
            self._client.sessions.upo(self.reference_number, page.reference_number)
            for page in status.upo.pages
        ]

    def result(self, status: SessionStatusResponse | None = None) -> BatchResult:
        """Every packaged file with its KSeF status and number (matched by file name, then
        by hash)."""
        if status is None:
            status = self.status()
        statuses = [s for s in self.invoices()]
        return BatchResult(self, status, match_statuses(self.package.invoices, statuses))

    # -- the whole flow --------------------------------------------------------------------

    def send(
        self,
        source: Path | Iterable[Path] | Iterable[tuple[str, bytes]],
        *,
        compression: str = "Zip",
        part_size: int | None = None,
        preflight: bool = True,
        validate_schema: bool = True,
        directory: Path | None = None,
        max_invoices: int | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
        timeout: float | None = 900.0,
        keep_package: bool = False,
    ) -> BatchResult:
        """Package, open, upload, close, wait; the result maps every file to its status.

        ``source``: a directory (its ``*.xml``), file paths, or ``(file_name, xml)`` pairs.
        The part files are deleted after success unless ``keep_package`` (or you gave
        ``directory``). See :meth:`prepare` for the other options.

        >>> result = client.batch_session().send(Path("invoices/"))  # doctest: +SKIP
        >>> [(i.file_name, i.ksef_number) for i in result.accepted]  # doctest: +SKIP
        """
        self.prepare(
            source,
            compression=compression,
            part_size=part_size,
            preflight=preflight,
            validate_schema=validate_schema,
            directory=directory,
            max_invoices=max_invoices,
            workers=workers,
            progress=progress,
        )
        return self.resume(progress=progress, timeout=timeout, keep_package=keep_package)

    def resume(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = 900.0,
        reopen_expired: bool = False,
        keep_package: bool = True,
    ) -> BatchResult:
        """Finish from wherever the state says: open if never opened, upload the parts not
        confirmed, close if not closed, wait, and return the result.

        The part files still to upload are re-verified first (missing or changed files raise
        ConfigurationError). When the upload window of an unclosed session has passed,
        ``reopen_expired=True`` sends the package in a new session (safe: KSeF never
        processes an unclosed session; the old one is recorded in ``state.abandoned``);
        otherwise :class:`~ksefkit.errors.StorageError` (``expired``) is raised.
        """
        if self.state.reference_number is not None and not self.state.closed:
            self._settle_unknown_close(reopen_expired)
        if self.state.reference_number is None:
            self.open()
        try:
            self.upload(progress=progress)
            self.close()
        except (StorageError, SessionFailed) as error:
            expired = error.expired if isinstance(error, StorageError) else error.code == 440
            if not (reopen_expired and expired):
                raise
            self._save(self.state.abandon())
            self.open()
            self.upload(progress=progress)
            self.close()
        status = self.wait_until_processed(timeout=timeout)
        result = self.result(status)
        if not keep_package and self._owns_directory:
            self.cleanup()
        return result

    def cleanup(self) -> None:
        """Delete the package's part files (keep the state file: it names the session)."""
        self.package.cleanup()

    # -- helpers ---------------------------------------------------------------------------

    def context_invoice_limit(self) -> int:
        """The batch invoice limit of the context (``GET /limits/context``), or 10 000 when
        the endpoint is not available."""
        try:
            response = self._client._http.request(CONTEXT_LIMITS)
        except ApiError as error:
            if error.status_code in (404, 405, 501):
                return DEFAULT_MAX_INVOICES
            raise
        data: Any = response.json()
        try:
            return int(data["batchSession"]["maxInvoices"])
        except (KeyError, TypeError, ValueError):
            return DEFAULT_MAX_INVOICES

    def _settle_unknown_close(self, reopen_expired: bool) -> None:
        """A close may have reached KSeF before a crash: ask the session where it is."""
        status = self.status()
        code = status.status.code
        if code == 100:
            return  # still open: upload what is missing, then close
        if code == 440:  # cancelled unprocessed: the upload window passed
            if reopen_expired:
                self._save(self.state.abandon())
                return
            raise SessionFailed(
                440,
                "KSeF cancelled the unclosed session (upload window passed); resume with "
                "reopen_expired=True to send the package in a new session",
                status.status.details or (),
                reference_number=self.reference_number,
            )
        self._save(self.state.with_closed())  # processing or processed: it was closed

    def _check_files(self, ordinals: Sequence[int]) -> None:
        """Re-hash the part files still to upload when the package comes from a state file."""
        if self._verified or not ordinals:
            return
        wanted = set(ordinals)
        needed = [p for p in self.package.parts if p.ordinal_number in wanted]
        bad = dataclasses.replace(self.package, parts=tuple(needed)).verify()
        if not bad:
            self._verified = True
        else:
            raise ConfigurationError(
                f"part files {bad} of the package in {self.package.directory} are missing or "
                "changed since packaging; they cannot be uploaded (rebuild the package and "
                "send it in a new batch session)"
            )

    def _part_upload(self, link: PartUploadState) -> PartUpload:
        part = self.package.part(link.ordinal_number)
        return PartUpload(
            ordinal_number=link.ordinal_number,
            method=link.method,
            url=link.url.get_secret_value(),
            headers=dict(link.headers),
            path=part.path,
            size=part.size,
            valid_until=self.state.upload_valid_until,
        )

    def _default_directory(self) -> Path | None:
        if self.state_path is None:
            return None  # build_package makes a temporary directory
        directory = self.state_path.parent / f"{self.state_path.stem}.parts"
        _clear_stale_package(directory)
        return directory


def _clear_stale_package(directory: Path) -> None:
    """Leftovers of a packaging that crashed before any state was saved: nothing was sent
    from them (the state is saved before opening), so they can go."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path.is_file() and (path.name == "package.json" or path.suffix in (".aes", ".tmp")):
            path.unlink(missing_ok=True)


def _check_limits(package: BatchPackage, max_invoices: int) -> None:
    from ...batch.package import MAX_PACKAGE_SIZE, MAX_PARTS

    problems = []
    if package.archive_size > MAX_PACKAGE_SIZE:
        problems.append(f"the archive has {package.archive_size} bytes (max {MAX_PACKAGE_SIZE})")
    if len(package.parts) > MAX_PARTS:
        problems.append(f"the package has {len(package.parts)} parts (max {MAX_PARTS})")
    if len(package.invoices) > max_invoices:
        problems.append(f"the package has {len(package.invoices)} invoices (max {max_invoices})")
    if problems:
        package.cleanup()
        raise ConfigurationError("; ".join(problems))


def match_statuses(
    invoices: Sequence[PackagedInvoice], statuses: Sequence[SessionInvoiceStatusResponse]
) -> list[BatchInvoiceResult]:
    """Pair KSeF's invoice statuses with the packaged files: by ``invoiceFileName``, then by
    hash (identical files pair in order). Statuses matching no file are appended.

    >>> match_statuses([], [])
    []
    """
    by_name: dict[str, SessionInvoiceStatusResponse] = {}
    by_hash: dict[str, list[SessionInvoiceStatusResponse]] = {}
    for s in statuses:
        if s.invoice_file_name and s.invoice_file_name not in by_name:
            by_name[s.invoice_file_name] = s
        by_hash.setdefault(s.invoice_hash or "", []).append(s)
    used: set[int] = set()
    results = []
    for invoice in invoices:
        found = by_name.get(invoice.file_name)
        if found is None or id(found) in used:
            found = next(
                (s for s in by_hash.get(invoice.invoice_hash, []) if id(s) not in used), None
            )
        if found is not None:
            used.add(id(found))
        results.append(_invoice_result(invoice.file_name, invoice.invoice_hash, found))
    for s in statuses:
        if id(s) not in used:
            results.append(_invoice_result(s.invoice_file_name or "", s.invoice_hash or "", s))
    return results


def _invoice_result(
    file_name: str, invoice_hash: str, status: SessionInvoiceStatusResponse | None
) -> BatchInvoiceResult:
    if status is None:
        return BatchInvoiceResult(file_name, invoice_hash)
    return BatchInvoiceResult(
        file_name=file_name,
        invoice_hash=invoice_hash,
        reference_number=status.reference_number,
        status_code=status.status.code,
        description=status.status.description,
        ksef_number=status.ksef_number,
        invoice_number=status.invoice_number,
        details=tuple(status.status.details or ()),
        extensions=dict(status.status.extensions or {}),
    )
