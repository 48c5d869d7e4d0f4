"""``ksefkit offline``: the local queue of invoices issued offline, their deadlines, sending
them when KSeF is back, and technical corrections.

    offline add FILE... --mode offline24|offline|emergency|total_failure [--ended WHEN]
    offline list [--due | --overdue] [--status S...]     the queue, due/overdue summary
    offline send [--batch] [--seller NIP] [--preflight] [--wait-timeout S]
    offline correct ORIGINAL FIXED.xml                    ORIGINAL: entry id or invoice hash
    offline end --mode offline|emergency WHEN             the outage or failure has ended
    offline failure START [--end WHEN] | --end WHEN       an announced KSeF failure

The queue is a SQLite file: ``--queue FILE`` or ``KSEF_OFFLINE_QUEUE``, else
``<config dir>/offline/<profile>.sqlite3`` (the config directory of profiles and credentials).
``send`` and ``correct`` log in like every command (``ksefkit auth login`` or KSEF_TOKEN +
KSEF_NIP). Exit codes: ``send`` 5 when an invoice was rejected or could not be sent,
``correct`` 5 when the rules forbid the correction or KSeF rejects it, ``add`` 5 when a file
could not be queued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .._sync.workflows.offline import OfflineProgress
from ..errors import ConfigurationError
from ..offline import OfflineMode, OfflineQueue, QueueEntry
from ..offline.entry import STATUSES
from ._context import Settings, authenticated_client, settings_of
from ._errors import SomeInvoicesFailed
from ._output import Output, fmt_time
from .credentials import config_dir
from .send import expand_paths

__all__ = ["app", "default_queue_path"]

app = typer.Typer(
    help="Invoices issued offline: queue them, watch their deadlines, send them when KSeF is "
    "back, correct rejected ones."
)

QUEUE_ENV_VAR = "KSEF_OFFLINE_QUEUE"
QueueOption = Annotated[
    Path | None,
    typer.Option(
        "--queue",
        envvar=QUEUE_ENV_VAR,
        dir_okay=False,
        help="The queue file (default: <config dir>/offline/<profile>.sqlite3).",
    ),
]


def default_queue_path(profile: str) -> Path:
    """Where a profile's queue lives when neither --queue nor KSEF_OFFLINE_QUEUE says."""
    return config_dir() / "offline" / f"{profile}.sqlite3"


@contextmanager
def _open(settings: Settings, queue: Path | None) -> Iterator[OfflineQueue]:
    with OfflineQueue(queue or default_queue_path(settings.profile)) as opened:
        yield opened


def _when(value: str | None, option: str) -> dt.date | None:
    """A date (``2026-03-02``) or an ISO datetime (naive: Polish local time)."""
    if value is None:
        return None
    try:
        if "T" in value or " " in value.strip():
            return dt.datetime.fromisoformat(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option}: a date (YYYY-MM-DD) or an ISO datetime") from None


# -- add ---------------------------------------------------------------------------------------


@app.command()
def add(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", exists=True, help="Invoice XML files or directories."),
    ],
    mode: Annotated[
        OfflineMode, typer.Option(case_sensitive=False, help="How the invoices were issued.")
    ],
    ended: Annotated[
        str | None,
        typer.Option(
            help="offline/emergency: when the unavailability or failure ended (if it has)."
        ),
    ] = None,
    queue: QueueOption = None,
) -> None:
    """Queue invoices issued offline; print each one's submission deadline."""
    settings = settings_of(ctx)
    out = settings.out
    end = _when(ended, "--ended")
    if end is not None and not mode.needs_end:
        raise typer.BadParameter(f"--ended applies to offline and emergency, not {mode.value}")
    rows: list[dict[str, Any]] = []
    failed = 0
    with _open(settings, queue) as opened:
        for path in expand_paths(paths):
            try:
                entry = opened.add(path.read_bytes(), mode=mode, ended=end, file_name=path.name)
            except ConfigurationError as error:
                failed += 1
                rows.append({"file": str(path), "error": str(error)})
                out.note(f"{path.name}: {error}")
                continue
            rows.append({"file": str(path), **entry.to_dict()})
            out.line(f"queued {path.name}: deadline {_deadline(entry)}", markup=False)
        out.info(f"queue: {opened.path}")
    if out.json_mode:
        out.emit_json({"queue": str(opened.path), "added": rows})
    if failed:
        raise SomeInvoicesFailed(f"{failed} of {len(rows)} file(s) could not be queued")


# -- list --------------------------------------------------------------------------------------


@app.command("list")
def list_entries(
    ctx: typer.Context,
    due: Annotated[
        bool, typer.Option("--due", help="Only invoices still to send, with a deadline ahead.")
    ] = False,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only invoices past their deadline, unsent.")
    ] = False,
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these statuses ({', '.join(STATUSES)}; repeatable)."),
    ] = None,
    queue: QueueOption = None,
) -> None:
    """The queue with deadlines and statuses, and what is due or overdue now."""
    settings = settings_of(ctx)
    out = settings.out
    if due and overdue:
        raise typer.BadParameter("--due and --overdue exclude each other")
    with _open(settings, queue) as opened:
        report = opened.report()
        entries = opened.list(statuses=status)
        if due or overdue:
            wanted = {e.id for e in (report.overdue if overdue else report.due)}
            entries = [e for e in entries if e.id in wanted]
    if out.json_mode:
        out.emit_json(
            {"queue": opened.path, "entries": [e.to_dict() for e in entries], **_summary(report)}
        )
        return
    _table(out, entries, title=f"offline queue {opened.path}")
    out.line(_summary_line(report), markup=False)


def _summary(report: Any) -> dict[str, Any]:
    return {
        "counts": report.counts,
        "overdue": len(report.overdue),
        "dueToday": len(report.due_today),
        "due": len(report.due),
        "waiting": len(report.waiting),
        "nextDeadline": report.next_deadline.isoformat() if report.next_deadline else None,
    }


def _summary_line(report: Any) -> str:
    text = (
        f"{len(report.overdue)} overdue, {len(report.due_today)} due today,"
        f" {len(report.due)} due in all, {len(report.waiting)} waiting for an outage to end,"
        f" {len(report.rejected)} rejected"
    )
    if report.next_deadline:
        text += f"; next deadline {fmt_time(report.next_deadline)}"
    return text


# -- send --------------------------------------------------------------------------------------


@app.command()
def send(
    ctx: typer.Context,
    batch: Annotated[
        bool, typer.Option("--batch", help="One batch package instead of an online session.")
    ] = False,
    seller: Annotated[
        str | None, typer.Option("--seller", help="Only the invoices of this seller NIP.")
    ] = None,
    preflight: Annotated[
        bool,
        typer.Option(
            "--preflight/--no-preflight",
            help="Check invoices locally first (off: KSeF must see them as issued).",
        ),
    ] = False,
    wait_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for each verdict.")
    ] = 120.0,
    queue: QueueOption = None,
) -> None:
    """Send every queued invoice (offlineMode), wait, record KSeF numbers and rejections."""
    settings = settings_of(ctx)
    out = settings.out
    with _open(settings, queue) as opened, authenticated_client(settings) as client:
        with _progress(out) as report:
            sender = client.offline(
                opened, progress=report, preflight=preflight, timeout=wait_timeout
            )
            result = sender.send(batch=batch, seller_nip=seller)
        entries = list(result.entries)
        summary = opened.report()
    if out.json_mode:
        out.emit_json(
            {
                "queue": opened.path,
                "sessions": list(result.sessions),
                "entries": [e.to_dict() for e in entries],
                **_summary(summary),
            }
        )
    else:
        title = f"sessions {', '.join(result.sessions)}" if result.sessions else "nothing sent"
        _table(out, entries, title=title)
        out.line(_summary_line(summary), markup=False)
    failed = [e for e in entries if e.status != "accepted"]
    if failed:
        raise SomeInvoicesFailed(f"{len(failed)} of {len(entries)} invoice(s) not accepted")


@contextmanager
def _progress(out: Output) -> Iterator[Any]:
    """A progress bar in a terminal; a line per verdict otherwise."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out.console,
        transient=True,
        disable=not out.interactive,
    )
    with bar:
        task = bar.add_task("offline queue", total=None)

        def report(event: OfflineProgress) -> None:
            name = event.entry.file_name or f"entry {event.entry.id}"
            bar.update(task, description=f"{event.phase} {name}", total=event.total)
            bar.update(task, completed=event.done)
            if not out.interactive and event.phase in ("accepted", "rejected", "requeued"):
                detail = event.entry.ksef_number or event.entry.error or ""
                out.line(f"{event.phase} {name}: {detail}", markup=False)

        yield report


# -- correct -----------------------------------------------------------------------------------


@app.command()
def correct(
    ctx: typer.Context,
    original: Annotated[
        str, typer.Argument(help="The rejected original: its queue entry id or invoice hash.")
    ],
    fixed: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The corrected invoice XML.")
    ],
    no_preflight: Annotated[
        bool, typer.Option("--no-preflight", help="Skip the local checks of the fixed XML.")
    ] = False,
    wait_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for the verdict.")
    ] = 120.0,
    queue: QueueOption = None,
) -> None:
    """Send FIXED as the technical correction of a rejected offline invoice."""
    settings = settings_of(ctx)
    out = settings.out
    key: int | str = int(original) if original.isdigit() else original
    with _open(settings, queue) as opened, authenticated_client(settings) as client:
        sender = client.offline(opened, timeout=wait_timeout)
        entry = sender.correct_rejected(
            key, fixed.read_bytes(), file_name=fixed.name, preflight=not no_preflight
        )
    if out.json_mode:
        out.emit_json(entry.to_dict())
    else:
        out.fields(
            [
                ("correction", f"entry {entry.id} ({entry.status})"),
                ("corrects", entry.corrects or "-"),
                ("KSeF number", entry.ksef_number or "-"),
                ("session", entry.session_reference or "-"),
                ("error", entry.error or "-"),
            ]
        )
    if entry.status != "accepted":
        raise SomeInvoicesFailed(f"the correction was not accepted: {entry.error or entry.status}")


# -- outages -----------------------------------------------------------------------------------


@app.command()
def end(
    ctx: typer.Context,
    when: Annotated[str, typer.Argument(help="When it ended: a date or an ISO datetime.")],
    mode: Annotated[
        OfflineMode,
        typer.Option(case_sensitive=False, help="offline (unavailability) or emergency (failure)."),
    ],
    queue: QueueOption = None,
) -> None:
    """Record that an unavailability or failure ended: its invoices get their deadlines."""
    settings = settings_of(ctx)
    if not mode.needs_end:
        raise typer.BadParameter(f"--mode: offline or emergency, not {mode.value}")
    ended = _when(when, "WHEN")
    assert ended is not None
    with _open(settings, queue) as opened:
        changed = opened.record_end(mode, ended)
    if settings.out.json_mode:
        settings.out.emit_json({"mode": mode.value, "ended": ended.isoformat(), "updated": changed})
    else:
        settings.out.line(f"{changed} {mode.value} invoice(s) got a deadline", markup=False)


@app.command()
def failure(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Argument(help="When the failure was announced (omit with --end).")
    ] = None,
    end_: Annotated[
        str | None, typer.Option("--end", help="When it ended (alone: ends the open one).")
    ] = None,
    queue: QueueOption = None,
) -> None:
    """Record an announced KSeF failure (deadlines then running move past its end)."""
    settings = settings_of(ctx)
    begun, ended = _when(start, "START"), _when(end_, "--end")
    with _open(settings, queue) as opened:
        if begun is not None:
            recorded = opened.add_failure(begun, ended)
        elif ended is not None:
            recorded = opened.end_failure(ended)
        else:
            raise typer.BadParameter("give START, --end, or both")
        report = opened.report()
    document = {
        "start": recorded.start.isoformat(),
        "end": recorded.end.isoformat() if recorded.end else None,
        **_summary(report),
    }
    if settings.out.json_mode:
        settings.out.emit_json(document)
    else:
        until = f" until {recorded.end}" if recorded.end else " (still going on)"
        settings.out.line(f"failure from {recorded.start}{until}", markup=False)
        settings.out.line(_summary_line(report), markup=False)


# -- output ------------------------------------------------------------------------------------


def _deadline(entry: QueueEntry) -> str:
    if entry.deadline is not None:
        return fmt_time(entry.deadline)
    if entry.mode is OfflineMode.TOTAL_FAILURE:
        return "none (total failure)"
    return "when the outage ends"


def _flag(entry: QueueEntry) -> str:
    if entry.overdue():
        return " (overdue)"
    return " (late)" if entry.late else ""


def _table(out: Output, entries: list[QueueEntry], *, title: str) -> None:
    out.table(
        title,
        ["id", "file", "invoice", "issued", "mode", "deadline", "status", "KSeF number / error"],
        [
            [
                str(e.id),
                e.file_name or "-",
                e.invoice_number or "-",
                e.issue_date.isoformat(),
                e.mode.value,
                _deadline(e) + _flag(e),
                e.status,
                e.ksef_number or e.error or "-",
            ]
            for e in entries
        ],
    )
