"""``ksefkit send``: send invoice files in an online or a batch session, wait, collect UPOs.

Up to ``--batch-threshold`` files (default 100) go one by one in an online session: files
failing pre-flight are reported in their row and the others still go. More files, or
``--batch``, go as one batch package (``batch.py``): there pre-flight refuses the whole
package before anything is opened. The exit code is 5 if any file failed pre-flight or was
rejected by KSeF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .. import schemas
from .._sync.client import Client
from .._sync.workflows.online import OnlineSession
from ..errors import PreflightError, SchemaNotFoundError, WaitTimeout
from ..formcodes import FormCode
from ..models import SessionStatusResponse
from . import batch
from ._context import authenticated_client, settings_of
from ._output import Output
from ._results import FileResult, report
from .upo import session_upo_names, write_documents

__all__ = ["DEFAULT_BATCH_THRESHOLD", "FileResult", "app", "expand_paths"]

#: More files than this go in a batch session (``--batch-threshold``, KSEF_BATCH_THRESHOLD).
DEFAULT_BATCH_THRESHOLD = 100
#: Seconds to wait for each invoice and the session of an online send.
DEFAULT_ONLINE_WAIT = 120.0

app = typer.Typer()


def _parse_form(value: str) -> FormCode:
    try:
        return FormCode.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def send(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE_OR_DIR...", exists=True, help="Invoice XML files or directories of *.xml."
        ),
    ],
    form: Annotated[str, typer.Option(help="Form code: FA3, FA2, FA_RR1, PEF3, PEF_KOR3.")] = "FA3",
    offline: Annotated[
        bool, typer.Option("--offline", help="Declare offline-issued invoices.")
    ] = False,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Skip the XSD check.")] = False,
    no_preflight: Annotated[
        bool, typer.Option("--no-preflight", help="Skip every local check (let KSeF judge).")
    ] = False,
    upo_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Save UPOs here (online: each invoice's and the session's; "
            "batch: the session's pages).",
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Online: send and close; do not wait for KSeF numbers."),
    ] = False,
    upo_v43: Annotated[bool, typer.Option("--upo-v43", help="Ask for UPO v4-3.")] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="Seconds to wait for each invoice and the session (default: 120 online, "
            "900 for a batch package).",
        ),
    ] = None,
    use_batch: Annotated[
        bool, typer.Option("--batch", help="Send one batch package, whatever the count.")
    ] = False,
    use_online: Annotated[
        bool, typer.Option("--online", help="Send in an online session, whatever the count.")
    ] = False,
    batch_threshold: Annotated[
        int,
        typer.Option(
            min=0,
            envvar="KSEF_BATCH_THRESHOLD",
            help="More files than this go in a batch session.",
        ),
    ] = DEFAULT_BATCH_THRESHOLD,
    compression: Annotated[
        batch.Compression,
        typer.Option(case_sensitive=False, help="Batch: the package format."),
    ] = batch.Compression.ZIP,
    part_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Batch: bytes per part before encryption (default: KSeF's maximum)."
        ),
    ] = None,
    parallel: Annotated[
        int, typer.Option(min=1, max=50, help="Batch: parts uploaded at the same time.")
    ] = 4,
    state: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="Batch: where to keep the resumable state (holds the session key; default: "
            "a new file under the config directory). Resume: `ksefkit session resume FILE`.",
        ),
    ] = None,
) -> None:
    """Send invoices in an online session, or many in a batch session; print each file's
    KSeF number or error."""
    settings = settings_of(ctx)
    code = _parse_form(form)
    files = expand_paths(paths)
    validate = not no_validate and not no_preflight
    if validate and not schemas.default_store().is_available(code):
        raise SchemaNotFoundError(
            f"the {code.system_code} XSD is not available: set {schemas.ENV_SCHEMA_DIR}, run "
            "`ksefkit schemas fetch`, or pass --no-validate"
        )
    if _batch_chosen(len(files), code, use_batch, use_online, batch_threshold):
        if no_wait:
            raise typer.BadParameter("--no-wait applies to online sessions only")
        options = batch.BatchOptions(
            form_code=code,
            offline=offline,
            upo_v43=upo_v43,
            preflight=not no_preflight,
            validate_schema=validate,
            compression=compression,
            part_size=part_size,
            parallel=parallel,
            state_path=state,
            upo_dir=upo_dir,
            wait_timeout=wait_timeout or batch.DEFAULT_BATCH_WAIT,
        )
        with authenticated_client(settings) as client:
            batch.send_batch(settings.out, client, files, options)
        return
    with authenticated_client(settings) as client:
        _send_online(
            settings.out,
            client,
            files,
            code,
            offline=offline,
            upo_v43=upo_v43,
            preflight=not no_preflight,
            validate=validate,
            upo_dir=upo_dir,
            no_wait=no_wait,
            wait_timeout=wait_timeout or DEFAULT_ONLINE_WAIT,
        )


def _batch_chosen(
    count: int, code: FormCode, use_batch: bool, use_online: bool, threshold: int
) -> bool:
    """--batch / --online decide; otherwise a count above the threshold means batch, when
    KSeF takes the form code in batch (not PEF)."""
    if use_batch and use_online:
        raise typer.BadParameter("--batch and --online exclude each other")
    if use_batch and not code.value.batch_allowed:
        raise typer.BadParameter(f"KSeF takes no {code.system_code} invoices in batch sessions")
    if use_batch or use_online:
        return use_batch
    return count > threshold and code.value.batch_allowed


def _send_online(
    out: Output,
    client: Client,
    files: list[Path],
    code: FormCode,
    *,
    offline: bool,
    upo_v43: bool,
    preflight: bool,
    validate: bool,
    upo_dir: Path | None,
    no_wait: bool,
    wait_timeout: float,
) -> None:
    results = [FileResult(path) for path in files]
    session_status: SessionStatusResponse | None = None
    session_upos: list[Path] = []
    session = client.online_session(
        code, upo_v43=upo_v43, preflight=preflight, validate_schema=validate
    )
    with out.step("open online session") as step:
        session.open()
        step.detail = session.reference_number
    with session:
        _send_all(out, session, results, offline=offline)
        sent = [r for r in results if r.reference_number]
        if not no_wait and sent:
            with out.step(f"wait for {len(sent)} KSeF number(s)"):
                for result in sent:
                    _wait(session, result, wait_timeout)
        with out.step("close session"):
            session.close()
        if not no_wait and sent:
            with out.step("wait until the session is processed") as step:
                session_status = session.wait_until_processed(
                    timeout=wait_timeout, raise_on_error=False
                )
                step.detail = f"{session_status.status.code} {session_status.status.description}"
            if upo_dir is not None:
                session_upos = _save_upos(out, session, results, session_status, upo_dir)
    report(out, session.reference_number, results, session_status, session_upos, no_wait=no_wait)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; directories become their ``*.xml`` files (sorted, not recursive)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
            if not found:
                raise typer.BadParameter(f"no *.xml files in {path}")
            files.extend(found)
        else:
            files.append(path)
    return files


def _send_all(
    out: Output, session: OnlineSession, results: list[FileResult], *, offline: bool
) -> None:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out.console,
        transient=True,
        disable=not out.interactive,
    )
    with progress:
        task = progress.add_task("sending", total=len(results))
        for result in results:
            progress.update(task, description=f"sending {result.path.name}")
            try:
                sent = session.send(
                    result.path.read_bytes(), offline_mode=offline, file_name=result.path.name
                )
            except PreflightError as error:
                result.error = "pre-flight: " + "; ".join(error.problems)
            else:
                result.reference_number = sent.reference_number
            progress.advance(task)
            if not out.interactive:
                out.line(
                    f"sent {result.path.name}: {result.reference_number or result.error}",
                    markup=False,
                )


def _wait(session: OnlineSession, result: FileResult, timeout: float) -> None:
    assert result.reference_number is not None
    try:
        status = session.wait_for_invoice(
            result.reference_number, timeout=timeout, raise_on_error=False
        )
    except WaitTimeout:
        result.error = f"still processing after {timeout:g} s"
        return
    result.status_code = status.status.code
    if status.status.code == 200:
        result.ksef_number = status.ksef_number
    else:
        details = "; ".join(status.status.details or ())
        result.error = status.status.description + (f": {details}" if details else "")


def _save_upos(
    out: Output,
    session: OnlineSession,
    results: list[FileResult],
    status: SessionStatusResponse,
    upo_dir: Path,
) -> list[Path]:
    with out.step(f"download UPOs into {upo_dir}"):
        for result in results:
            if result.ksef_number and result.reference_number:
                xml = session.invoice_upo(result.reference_number)
                result.upo = write_documents(
                    [(f"UPO-{result.ksef_number}.xml", xml)], upo_dir, directory=True
                )[0]
        if status.status.code != 200 or status.upo is None:
            return []
        pages = session.session_upo()
        names = session_upo_names(session.reference_number, len(pages))
        return write_documents(list(zip(names, pages, strict=True)), upo_dir, directory=True)
