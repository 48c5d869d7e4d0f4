"""``ksefkit session``: list sessions, show one, list its invoices, close it, resume a batch."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..models import SessionInvoiceStatusResponse, SessionStatusResponse
from . import batch
from ._context import authenticated_client, settings_of
from ._output import Output, fmt_time

__all__ = ["app", "invoice_rows", "show_invoice"]

app = typer.Typer(help="Sessions: list, status, invoices, close, resume a batch send.")


class SessionType(StrEnum):
    ONLINE = "Online"
    BATCH = "Batch"


class SessionStatusFilter(StrEnum):
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


@app.command("list")
def list_sessions(
    ctx: typer.Context,
    session_type: Annotated[
        SessionType, typer.Option("--type", case_sensitive=False, help="Online or Batch.")
    ] = SessionType.ONLINE,
    status: Annotated[
        list[SessionStatusFilter] | None,
        typer.Option("--status", case_sensitive=False, help="Filter by status (repeatable)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
) -> None:
    """The sessions of the context (newest pages as KSeF returns them)."""
    out = settings_of(ctx).out
    statuses = [s.value for s in status or ()]
    with authenticated_client(settings_of(ctx)) as client:
        items = []
        for item in client.sessions.list(session_type.value, statuses=statuses):
            items.append(item)
            if limit is not None and len(items) >= limit:
                break
    out.table(
        f"{session_type.value} sessions",
        ["session ref", "status", "created", "invoices", "ok", "failed"],
        [
            [
                i.reference_number,
                f"{i.status.code} {i.status.description}",
                fmt_time(i.date_created),
                str(i.total_invoice_count),
                str(i.successful_invoice_count),
                str(i.failed_invoice_count),
            ]
            for i in items
        ],
    )
    if out.json_mode:
        out.emit_json({"sessions": [i.to_wire() for i in items]})


@app.command()
def status(
    ctx: typer.Context, reference_number: Annotated[str, typer.Argument(metavar="REF")]
) -> None:
    """One session's status, invoice counts and UPO pages."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        result = client.sessions.status(reference_number)
    _show_status(out, reference_number, result)


@app.command()
def invoices(
    ctx: typer.Context,
    reference_number: Annotated[str, typer.Argument(metavar="REF")],
    failed: Annotated[bool, typer.Option("--failed", help="Only the rejected invoices.")] = False,
) -> None:
    """The invoices of a session with their status and KSeF numbers."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        source = (
            client.sessions.failed_invoices(reference_number)
            if failed
            else client.sessions.invoices(reference_number)
        )
        items = list(source)
    out.table(
        ("failed invoices of " if failed else "invoices of ") + reference_number,
        ["#", "invoice ref", "invoice number", "status", "KSeF number / error"],
        invoice_rows(items),
    )
    if not items:
        out.line("no invoices")
    if out.json_mode:
        out.emit_json(
            {"sessionReferenceNumber": reference_number, "invoices": [i.to_wire() for i in items]}
        )


@app.command()
def close(
    ctx: typer.Context, reference_number: Annotated[str, typer.Argument(metavar="REF")]
) -> None:
    """Close an online session (KSeF then processes it and builds the session UPO)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        client.sessions.close_online(reference_number)
    out.line(f"[green]✓[/green] closed {reference_number}")
    if out.json_mode:
        out.emit_json({"sessionReferenceNumber": reference_number, "closed": True})


@app.command()
def resume(
    ctx: typer.Context,
    state_file: Annotated[
        Path,
        typer.Argument(
            metavar="STATE_FILE",
            exists=True,
            dir_okay=False,
            help="The state file an interrupted `ksefkit send` printed.",
        ),
    ],
    upo_dir: Annotated[
        Path | None, typer.Option(file_okay=False, help="Save the session UPO pages here.")
    ] = None,
    wait_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for KSeF to process the package.")
    ] = batch.DEFAULT_BATCH_WAIT,
    reopen_expired: Annotated[
        bool,
        typer.Option(
            "--reopen-expired",
            help="If the upload window passed (KSeF never processes an unclosed session), "
            "send the package in a new session.",
        ),
    ] = False,
) -> None:
    """Finish an interrupted batch send: re-check the package, upload the missing parts,
    close, wait; print each file's KSeF number or error."""
    settings = settings_of(ctx)
    batch.check_state_file(state_file)
    with authenticated_client(settings) as client:
        batch.resume_batch(
            settings.out,
            client,
            state_file,
            upo_dir=upo_dir,
            wait_timeout=wait_timeout,
            reopen_expired=reopen_expired,
        )


def invoice_rows(items: Sequence[SessionInvoiceStatusResponse]) -> list[list[str]]:
    """Table rows: ordinal, invoice ref, invoice number, status, KSeF number or error."""
    return [
        [
            str(i.ordinal_number),
            i.reference_number,
            i.invoice_number or "-",
            str(i.status.code),
            i.ksef_number or _problem(i),
        ]
        for i in items
    ]


def show_invoice(out: Output, item: SessionInvoiceStatusResponse) -> None:
    """One invoice's status as ``label: value`` lines."""
    pairs = [
        ("invoice ref", item.reference_number),
        ("status", f"{item.status.code} {item.status.description}"),
        ("KSeF number", item.ksef_number or "-"),
        ("invoice number", item.invoice_number or "-"),
        ("ordinal", str(item.ordinal_number)),
        ("invoicing date", fmt_time(item.invoicing_date)),
        ("acquisition date", fmt_time(item.acquisition_date)),
        ("permanent storage", fmt_time(item.permanent_storage_date)),
        ("mode", item.invoicing_mode or "-"),
        ("hash", item.invoice_hash or "-"),
    ]
    pairs += [("detail", d) for d in item.status.details or ()]
    pairs += [(k, v or "") for k, v in (item.status.extensions or {}).items()]
    out.fields(pairs)


def _problem(item: SessionInvoiceStatusResponse) -> str:
    if item.status.code in (100, 150):
        return "(processing)"
    text = item.status.description
    if item.status.details:
        text += ": " + "; ".join(item.status.details)
    return text


def _show_status(out: Output, reference_number: str, result: SessionStatusResponse) -> None:
    pairs = [
        ("session ref", reference_number),
        ("status", f"{result.status.code} {result.status.description}"),
        ("created", fmt_time(result.date_created)),
        ("updated", fmt_time(result.date_updated)),
        ("valid until", fmt_time(result.valid_until)),
        ("invoices", _count(result.invoice_count)),
        ("successful", _count(result.successful_invoice_count)),
        ("failed", _count(result.failed_invoice_count)),
    ]
    pairs += [("detail", d) for d in result.status.details or ()]
    pairs += [("UPO page", p.reference_number) for p in (result.upo.pages if result.upo else ())]
    out.fields(pairs)
    if out.json_mode:
        out.emit_json({"sessionReferenceNumber": reference_number, **result.to_wire()})


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
