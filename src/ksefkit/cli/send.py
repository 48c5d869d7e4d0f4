"""``ksefkit send``: send invoice files in one online session, wait, collect UPOs.

Files failing pre-flight are reported in their row and the others still go; the exit code
is 5 if any file failed pre-flight or was rejected by KSeF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .. import schemas
from .._sync.workflows.online import OnlineSession
from ..errors import PreflightError, SchemaNotFoundError, WaitTimeout
from ..formcodes import FormCode
from ..models import SessionStatusResponse
from ._context import authenticated_client, settings_of
from ._errors import SomeInvoicesFailed
from ._output import Output
from .upo import session_upo_names, write_documents

__all__ = ["FileResult", "app", "expand_paths"]

app = typer.Typer()


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    reference_number: str | None = None
    status_code: int | None = None
    ksef_number: str | None = None
    error: str | None = None
    upo: Path | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "invoiceReferenceNumber": self.reference_number,
            "statusCode": self.status_code,
            "ksefNumber": self.ksef_number,
            "error": self.error,
            "upo": str(self.upo) if self.upo else None,
        }


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
        Path | None, typer.Option(file_okay=False, help="Save invoice and session UPOs here.")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Send and close; do not wait for KSeF numbers.")
    ] = False,
    upo_v43: Annotated[bool, typer.Option("--upo-v43", help="Ask for UPO v4-3.")] = False,
    wait_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for each invoice and the session.")
    ] = 120.0,
) -> None:
    """Send invoices in one online session; print each file's KSeF number or error."""
    settings = settings_of(ctx)
    out = settings.out
    code = _parse_form(form)
    files = expand_paths(paths)
    validate = not no_validate and not no_preflight
    if validate and not schemas.default_store().is_available(code):
        raise SchemaNotFoundError(
            f"the {code.system_code} XSD is not available: set {schemas.ENV_SCHEMA_DIR}, run "
            "`ksefkit schemas fetch`, or pass --no-validate"
        )
    results = [FileResult(path) for path in files]
    session_status: SessionStatusResponse | None = None
    session_upos: list[Path] = []
    with authenticated_client(settings) as client:
        session = client.online_session(
            code, upo_v43=upo_v43, preflight=not no_preflight, validate_schema=validate
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
                    step.detail = (
                        f"{session_status.status.code} {session_status.status.description}"
                    )
                if upo_dir is not None:
                    session_upos = _save_upos(out, session, results, session_status, upo_dir)
    _report(out, session.reference_number, results, session_status, session_upos, no_wait)


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


def _report(
    out: Output,
    session_ref: str,
    results: list[FileResult],
    session_status: SessionStatusResponse | None,
    session_upos: list[Path],
    no_wait: bool,
) -> None:
    out.table(
        f"session {session_ref}",
        ["file", "invoice ref", "status", "KSeF number / error"],
        [
            [
                r.path.name,
                r.reference_number or "-",
                "-" if r.status_code is None else str(r.status_code),
                r.ksef_number or r.error or ("sent" if no_wait else "-"),
            ]
            for r in results
        ],
    )
    for path in session_upos:
        out.line(f"session UPO: {path}", markup=False)
    if out.json_mode:
        out.emit_json(
            {
                "sessionReferenceNumber": session_ref,
                "sessionStatus": session_status.status.to_wire() if session_status else None,
                "invoices": [r.to_json() for r in results],
                "sessionUpo": [str(p) for p in session_upos],
                "steps": [s.to_json() for s in out.steps],
            }
        )
    failed = [r for r in results if r.failed]
    if failed:
        raise SomeInvoicesFailed(f"{len(failed)} of {len(results)} invoice(s) failed")
