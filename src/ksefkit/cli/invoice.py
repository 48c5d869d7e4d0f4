"""``ksefkit invoice``: the status of one invoice in a session."""

from __future__ import annotations

from typing import Annotated

import typer

from ._context import authenticated_client, settings_of
from .session import show_invoice

__all__ = ["app"]

app = typer.Typer(help="Invoices sent in a session.")


@app.callback()
def _group() -> None:
    """Invoices sent in a session."""


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
