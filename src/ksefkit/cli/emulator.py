"""``ksefkit emulator serve``: run the local KSeF emulator in the foreground."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="The local KSeF emulator (needs the emulator extra).")


class Processing(StrEnum):
    """``--processing``: a worker thread, inside the request, or ``POST /_emulator/step``."""

    background = "background"
    immediate = "immediate"
    manual = "manual"


@app.callback()
def _group() -> None:
    """The local KSeF emulator (needs the emulator extra)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free).")] = 8765,
    data_dir: Annotated[
        Path, typer.Option(file_okay=False, help="Where the SQLite state and keys are kept.")
    ] = Path(".ksefkit-emulator"),
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve HTTPS with a generated CA (its path is printed).")
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option(help="Base URL clients use to reach it (for UPO download links)."),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="SQLite file of the state (default: DATA_DIR/emulator.sqlite3). Starting"
            " again on the same file resumes everything, even after kill -9.",
        ),
    ] = None,
    processing: Annotated[
        Processing,
        typer.Option(help="When invoices, sessions and exports are processed."),
    ] = Processing.background,
    processing_delay: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds queued work waits before it is processed."),
    ] = 0.0,
    seed: Annotated[
        bool,
        typer.Option(help="Seed a test company (and print its token) on the first start."),
    ] = True,
) -> None:
    """Run the emulator until Ctrl-C; prints the seeded test company's NIP and KSeF token."""
    from ..emulator.server import serve as run_server  # the [emulator] extra, loaded on use

    run_server(
        host=host,
        port=port,
        data_dir=data_dir,
        tls=tls,
        public_url=public_url,
        seed=seed,
        processing=processing.value,
        db_path=db,
        processing_delay=processing_delay,
    )
