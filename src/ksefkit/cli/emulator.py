"""``ksefkit emulator serve``: run the local KSeF emulator in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="The local KSeF emulator (needs the emulator extra).")


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
) -> None:
    """Run the emulator until Ctrl-C; prints the seeded test company's NIP and KSeF token."""
    from ..emulator.server import serve as run_server  # the [emulator] extra, loaded on use

    run_server(host=host, port=port, data_dir=data_dir, tls=tls, public_url=public_url, seed=True)
