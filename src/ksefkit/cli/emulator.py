"""``ksefkit emulator serve``: run the local KSeF emulator in the foreground."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="The local KSeF emulator (needs the emulator extra).")


class RateLimits(StrEnum):
    """``--rate-limits``: KSeF's PRD table for everyone, or only for contexts that ask."""

    off = "off"
    production = "production"


_FAULT_HELP = (
    "Inject a fault, repeatable: KIND[:KEY=VALUE]... e.g. server_error:rate=0.05 or"
    " drop_after:count=1 or latency:delay=2:methods=GET. Kinds (fields): rate_limit"
    " (retry_after), server_error (status, html, retry_after), latency (delay), drop_before,"
    " drop_after, expire_links, invoice_failure (code, description, details), session_failure"
    " (code, description, details), slow_processing (delay). Any kind: rate (0-1), count;"
    " request kinds: methods (GET,POST), path (regex on the path after /v2). Also"
    " POST /_emulator/faults; see docs/emulator-faults.md."
)


def _check_faults(specs: list[str] | None) -> list[str] | None:
    """Refuse a malformed ``--fault`` before the server starts (exit code 2)."""
    from ..emulator.faults import Faults  # the [emulator] extra, loaded on use

    for spec in specs or []:
        try:
            Faults().add_spec(spec)
        except ValueError as exc:
            raise typer.BadParameter(f"{spec!r}: {exc}") from None
    return specs


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
    rate_limits: Annotated[
        RateLimits,
        typer.Option(
            help="API rate limits: off (only contexts that ask via /testdata/rate-limits*)"
            " or production (KSeF's PRD table for every context and IP)."
        ),
    ] = RateLimits.off,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", metavar="SPEC", help=_FAULT_HELP, callback=_check_faults),
    ] = None,
    fault_seed: Annotated[
        int | None,
        typer.Option(help="Seed of the fault RNG: the same requests meet the same faults."),
    ] = None,
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
        rate_limits=rate_limits.value,
        faults=list(fault or []),
        fault_seed=fault_seed,
    )
