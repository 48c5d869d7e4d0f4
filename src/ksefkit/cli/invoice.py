"""``ksefkit invoice``: one invoice — its status in a session, its validation, its rendering.

* ``invoice validate FILE...``: the FA(3) XSD plus the business checks of
  :mod:`ksefkit.fa3.checks` (sums, dates, currency, corrections, ...), per file; exit code 5
  when a file has an XSD error or an error finding (warnings too with ``--strict``), 6 when
  the XSD cannot be found;
* ``invoice render FILE [-o OUT]``: the invoice as one printable HTML page (stdout without
  ``-o``); exit code 5 when the file is not an FA(3) invoice the model can hold;
* ``invoice status SESSION_REF INVOICE_REF``: status, KSeF number and dates in a session.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .. import fa3
from ..errors import InvoiceParseError, PreflightError
from ._context import authenticated_client, settings_of
from ._output import Output
from .session import show_invoice

__all__ = ["app"]

app = typer.Typer(help="One invoice: validate or render an FA(3) file, or its status in a session.")


@app.callback()
def _group() -> None:
    """One invoice: validate or render an FA(3) file, or its status in a session."""


@app.command()
def status(
    ctx: typer.Context,
    session_reference: Annotated[str, typer.Argument(metavar="SESSION_REF")],
    invoice_reference: Annotated[str, typer.Argument(metavar="INVOICE_REF")],
) -> None:
    """Status, KSeF number and dates of one invoice."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        item = client.sessions.invoice_status(session_reference, invoice_reference)
    show_invoice(out, item)
    if out.json_mode:
        out.emit_json({"sessionReferenceNumber": session_reference, **item.to_wire()})


@app.command()
def validate(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", exists=True, dir_okay=False, help="FA(3) XML files."),
    ],
    today: Annotated[
        datetime.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="The day dates are checked against (YYYY-MM-DD; default: today in Poland).",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the file too.")] = False,
) -> None:
    """Check FA(3) files: the XSD, then sums, dates, currency, NIPs, corrections, advances."""
    out = settings_of(ctx).out
    day = today.date() if today is not None else None
    results: list[dict[str, Any]] = []
    failed = 0
    for path in files:
        report = fa3.validate(path.read_bytes(), today=day)
        ok = report.ok and not (strict and report.warnings)
        failed += not ok
        results.append({"file": str(path), **report.to_json(), "valid": ok})
        _show_report(out, path, report, ok)
    if out.json_mode:
        out.emit_json({"valid": failed == 0, "files": results})
    else:
        out.line(f"{len(files) - failed} of {len(files)} file(s) valid", markup=False)
    if failed:
        raise PreflightError([f"{failed} of {len(files)} file(s) failed validation"])


def _show_report(out: Output, path: Path, report: fa3.Report, ok: bool) -> None:
    errors = len(report.xsd_errors) + len(report.errors)
    warnings = len(report.warnings)
    if ok:
        mark = "[green]✓[/green]"
        summary = "valid" + (f", {warnings} warning(s)" if warnings else "")
    else:
        mark = "[red]✗[/red]"
        summary = f"{errors} error(s), {warnings} warning(s)"
    out.line(f"{mark} {escape(str(path))}: {summary}")
    for message in report.xsd_errors:
        out.line(f"    xsd {message}", markup=False)
    order = {fa3.Severity.ERROR: 0, fa3.Severity.WARNING: 1, fa3.Severity.INFO: 2}
    for finding in sorted(report.findings, key=lambda f: order[f.severity]):
        out.line(f"    {finding}", markup=False)


@app.command()
def render(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, help="An FA(3) XML file.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", dir_okay=False, help="Write the HTML here (default: stdout)."
        ),
    ] = None,
) -> None:
    """Render an FA(3) invoice as one printable HTML page (no validation: see `validate`)."""
    out = settings_of(ctx).out
    try:
        invoice = fa3.parse(file.read_bytes())
    except InvoiceParseError as exc:
        raise PreflightError([f"not an FA(3) invoice: {exc}"], file_name=file.name) from exc
    page = fa3.render_html(invoice)
    if output is None:
        if out.json_mode:
            out.emit_json({"file": str(file), "html": page})
        else:
            sys.stdout.write(page)
            sys.stdout.flush()
        return
    data = page.encode("utf-8")
    output.write_bytes(data)
    if out.json_mode:
        out.emit_json({"file": str(file), "output": str(output), "bytes": len(data)})
    else:
        out.line(f"{file} -> {output} ({len(data)} bytes)", markup=False)
