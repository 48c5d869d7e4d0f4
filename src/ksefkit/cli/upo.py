"""``ksefkit upo get``: download a UPO (per invoice, by KSeF number, or the session's)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .._sync.client import Client
from ..errors import SessionFailed
from ._context import authenticated_client, settings_of
from ._output import Output

__all__ = ["app", "session_upo_names", "write_documents"]

app = typer.Typer(help="UPO documents (official acknowledgements of receipt).")


@app.callback()
def _group() -> None:
    """UPO documents (official acknowledgements of receipt)."""


@app.command()
def get(
    ctx: typer.Context,
    session_reference: Annotated[str, typer.Argument(metavar="SESSION_REF")],
    invoice: Annotated[
        str | None, typer.Option("--invoice", metavar="INVOICE_REF", help="UPO of this invoice.")
    ] = None,
    ksef_number: Annotated[
        str | None, typer.Option("--ksef-number", metavar="NUMBER", help="UPO of this invoice.")
    ] = None,
    whole_session: Annotated[
        bool, typer.Option("--session", help="The session UPO (every page).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE_OR_DIR",
            help="Write here (a directory gets UPO-<number>.xml); default: stdout.",
        ),
    ] = None,
) -> None:
    """Download a UPO. Exactly one of --invoice, --ksef-number or --session."""
    out = settings_of(ctx).out
    if sum((invoice is not None, ksef_number is not None, whole_session)) != 1:
        raise typer.BadParameter("give exactly one of --invoice, --ksef-number or --session")
    with authenticated_client(settings_of(ctx)) as client:
        if invoice is not None:
            docs = [
                (f"UPO-{invoice}.xml", client.sessions.upo_by_invoice(session_reference, invoice))
            ]
        elif ksef_number is not None:
            docs = [
                (
                    f"UPO-{ksef_number}.xml",
                    client.sessions.upo_by_ksef_number(session_reference, ksef_number),
                )
            ]
        else:
            docs = _session_pages(client, session_reference)
    if output is None:
        _to_stdout(out, docs)
        return
    paths = write_documents(docs, output)
    for path in paths:
        out.line(f"[green]✓[/green] {path}")
    if out.json_mode:
        out.emit_json(
            {"sessionReferenceNumber": session_reference, "files": [str(p) for p in paths]}
        )


def session_upo_names(session_reference: str, pages: int) -> list[str]:
    """File names of the session UPO pages (``UPO-<ref>.xml``, or ``-p1``, ``-p2`` ...)."""
    if pages == 1:
        return [f"UPO-{session_reference}.xml"]
    return [f"UPO-{session_reference}-p{n}.xml" for n in range(1, pages + 1)]


def write_documents(
    docs: list[tuple[str, bytes]], target: Path, *, directory: bool = False
) -> list[Path]:
    """Write documents into directory ``target`` (by their names) or to file ``target``.

    ``target`` is a directory if ``directory`` is true, it exists as one or its name ends
    with a slash; several documents written to a file name get ``-p1``, ``-p2`` ... suffixes.
    """
    if directory or target.is_dir() or str(target).endswith(("/", "\\")):
        target.mkdir(parents=True, exist_ok=True)
        paths = [target / name for name, _ in docs]
    elif len(docs) == 1:
        paths = [target]
    else:
        paths = [
            target.with_name(f"{target.stem}-p{n}{target.suffix}") for n in range(1, len(docs) + 1)
        ]
    for path, (_, content) in zip(paths, docs, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return [p.resolve() for p in paths]


def _session_pages(client: Client, session_reference: str) -> list[tuple[str, bytes]]:
    status = client.sessions.status(session_reference)
    if status.upo is None or not status.upo.pages:
        raise SessionFailed(
            status.status.code,
            f"no session UPO yet ({status.status.description})",
            status.status.details or (),
            reference_number=session_reference,
        )
    names = session_upo_names(session_reference, len(status.upo.pages))
    return [
        (name, client.sessions.upo(session_reference, page.reference_number))
        for name, page in zip(names, status.upo.pages, strict=True)
    ]


def _to_stdout(out: Output, docs: list[tuple[str, bytes]]) -> None:
    if out.json_mode:
        out.emit_json(
            {"documents": [{"name": name, "xml": xml.decode("utf-8")} for name, xml in docs]}
        )
        return
    if len(docs) > 1:
        raise typer.BadParameter(f"the session UPO has {len(docs)} pages: give -o DIR")
    sys.stdout.buffer.write(docs[0][1])
    sys.stdout.flush()
