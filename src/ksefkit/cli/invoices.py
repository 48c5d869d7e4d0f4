"""``ksefkit invoices``: query invoice metadata, download one invoice, export, incremental sync.

::

    invoices list --subject seller|buyer|third|authorized --from DATE [--to DATE]
                  [--date-type issue|invoicing|storage] [--ksef-number] [--invoice-number]
                  [--seller-nip] [--buyer-nip] [--currency C]... [--type T]... [--form F]
                  [--attachment/--no-attachment] [--mode online|offline]
                  [--min-gross X] [--max-gross X] [--desc] [--limit N]
    invoices get KSEF_NUMBER [-o FILE]
    invoices export --subject ... --from DATE [--to DATE] -o DIR [--metadata-only]
                    [--compression zip|targz] [--parallel N]
    invoices sync --subject ... -o DIR        (resumable: the checkpoint lives in DIR)

The SDK does the work (``client.invoices``); this module turns options into
``InvoiceQueryFilters``, prints tables / JSON and draws progress. ``DATE`` is ``YYYY-MM-DD``
or an ISO date-time; without an offset it is Warsaw local time (as KSeF reads it). A date-only
``--to`` means the end of that day.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, ClassVar, Protocol

import typer
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from .._sync.client import Client
from ..models.invoices import (
    AmountType,
    BuyerIdentifierType,
    InvoiceMetadata,
    InvoiceQueryAmount,
    InvoiceQueryBuyerIdentifier,
    InvoiceQueryDateRange,
    InvoiceQueryDateType,
    InvoiceQueryFilters,
    InvoiceQueryFormType,
    InvoiceQuerySubjectType,
    InvoiceType,
)
from ._context import authenticated_client, settings_of
from ._output import Output

__all__ = ["Activity", "InvoicesApi", "app", "build_filters", "parse_date"]

app = typer.Typer(help="Invoices in KSeF: list metadata, download, export, incremental sync.")


class InvoicesApi(Protocol):
    """What this module uses of ``client.invoices``."""

    def download(self, ksef_number: str) -> bytes: ...

    def query_metadata(
        self,
        filters: InvoiceQueryFilters,
        *,
        sort_order: str = "Asc",
        page_size: int = 250,
    ) -> Iterator[InvoiceMetadata]: ...

    def export(
        self,
        filters: InvoiceQueryFilters,
        *,
        into: Path,
        only_metadata: bool = False,
        compression: str = "Zip",
        parallelism: int = 4,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Any: ...

    def sync(
        self,
        subject_type: str,
        into: Path,
        *,
        start: datetime | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> Any: ...


def _api(client: Client) -> InvoicesApi:
    """The invoices resource of ``client`` (a seam: tests may swap it)."""
    api: InvoicesApi = client.invoices
    return api


class Subject(StrEnum):
    """``--subject``: the role the context plays on the invoice."""

    SELLER = "seller"
    BUYER = "buyer"
    THIRD = "third"
    AUTHORIZED = "authorized"

    @property
    def wire(self) -> str:
        return _SUBJECTS[self]


_SUBJECTS = {
    Subject.SELLER: InvoiceQuerySubjectType.SUBJECT_1.value,
    Subject.BUYER: InvoiceQuerySubjectType.SUBJECT_2.value,
    Subject.THIRD: InvoiceQuerySubjectType.SUBJECT_3.value,
    Subject.AUTHORIZED: InvoiceQuerySubjectType.SUBJECT_AUTHORIZED.value,
}


class DateType(StrEnum):
    """``--date-type``: which date ``--from``/``--to`` (and the sort order) refer to."""

    ISSUE = "issue"
    INVOICING = "invoicing"
    STORAGE = "storage"

    @property
    def wire(self) -> str:
        return _DATE_TYPES[self]


_DATE_TYPES = {
    DateType.ISSUE: InvoiceQueryDateType.ISSUE.value,
    DateType.INVOICING: InvoiceQueryDateType.INVOICING.value,
    DateType.STORAGE: InvoiceQueryDateType.PERMANENT_STORAGE.value,
}


class Mode(StrEnum):
    """``--mode``: how the invoice was sent."""

    ONLINE = "online"
    OFFLINE = "offline"


class Compression(StrEnum):
    """``--compression`` of an export package, by its CLI name."""

    ZIP = "zip"
    TARGZ = "targz"

    @property
    def wire(self) -> str:
        return "Zip" if self is Compression.ZIP else "TarGz"


def parse_date(value: str, *, end_of_day: bool = False) -> datetime:
    """``YYYY-MM-DD`` (midnight, or the day's last second with ``end_of_day``) or an ISO
    date-time (offset kept; none means Warsaw local time)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end_of_day:
                return datetime.combine(day, time(23, 59, 59))
            return datetime.combine(day, time())
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO date-time"
        ) from None


def _from_date(value: str) -> datetime:
    return parse_date(value)


def _to_date(value: str) -> datetime:
    return parse_date(value, end_of_day=True)


def build_filters(
    subject: Subject,
    date_type: DateType,
    start: datetime,
    end: datetime | None,
    *,
    ksef_number: str | None = None,
    invoice_number: str | None = None,
    seller_nip: str | None = None,
    buyer_nip: str | None = None,
    currencies: list[str] | None = None,
    invoice_types: list[InvoiceType] | None = None,
    form: InvoiceQueryFormType | None = None,
    attachment: bool | None = None,
    mode: Mode | None = None,
    min_gross: float | None = None,
    max_gross: float | None = None,
) -> InvoiceQueryFilters:
    """The query filters the options describe (only the given ones are sent)."""
    if end is not None and end < start:
        raise typer.BadParameter("--to is earlier than --from")
    if min_gross is not None and max_gross is not None and max_gross < min_gross:
        raise typer.BadParameter("--max-gross is below --min-gross")
    amount = None
    if min_gross is not None or max_gross is not None:
        amount = InvoiceQueryAmount(type=AmountType.BRUTTO.value, from_=min_gross, to=max_gross)
    buyer = None
    if buyer_nip is not None:
        buyer = InvoiceQueryBuyerIdentifier(type=BuyerIdentifierType.NIP.value, value=buyer_nip)
    return InvoiceQueryFilters(
        subject_type=subject.wire,
        date_range=InvoiceQueryDateRange(date_type=date_type.wire, from_=start, to=end),
        ksef_number=ksef_number,
        invoice_number=invoice_number,
        seller_nip=seller_nip,
        buyer_identifier=buyer,
        currency_codes=[c.upper() for c in currencies] if currencies else None,
        invoice_types=[t.value for t in invoice_types] if invoice_types else None,
        form_type=form.value if form is not None else None,
        has_attachment=attachment,
        invoicing_mode=mode.value.capitalize() if mode is not None else None,
        amount=amount,
    )


SubjectOption = Annotated[
    Subject,
    typer.Option(
        "--subject",
        case_sensitive=False,
        help="Your role on the invoices: seller, buyer, third (third party) or authorized.",
    ),
]
FromOption = Annotated[
    datetime,
    typer.Option(
        "--from",
        metavar="DATE",
        parser=_from_date,
        help="Start (YYYY-MM-DD or ISO date-time; Warsaw time unless an offset is given).",
    ),
]
ToOption = Annotated[
    datetime | None,
    typer.Option(
        "--to",
        metavar="DATE",
        parser=_to_date,
        help="End (a date means the end of that day); default: now. Spans up to 3 months.",
    ),
]


@app.command("list")
def list_invoices(
    ctx: typer.Context,
    subject: SubjectOption,
    start: FromOption,
    end: ToOption = None,
    date_type: Annotated[
        DateType,
        typer.Option("--date-type", case_sensitive=False, help="issue, invoicing or storage."),
    ] = DateType.ISSUE,
    ksef_number: Annotated[str | None, typer.Option("--ksef-number", help="Exact.")] = None,
    invoice_number: Annotated[
        str | None, typer.Option("--invoice-number", help="The seller's number, exact.")
    ] = None,
    seller_nip: Annotated[str | None, typer.Option("--seller-nip")] = None,
    buyer_nip: Annotated[str | None, typer.Option("--buyer-nip")] = None,
    currency: Annotated[
        list[str] | None,
        typer.Option("--currency", metavar="CODE", help="ISO 4217 code (repeatable)."),
    ] = None,
    invoice_type: Annotated[
        list[InvoiceType] | None,
        typer.Option("--type", case_sensitive=False, help="Invoice type (repeatable)."),
    ] = None,
    form: Annotated[
        InvoiceQueryFormType | None, typer.Option("--form", case_sensitive=False)
    ] = None,
    attachment: Annotated[
        bool | None,
        typer.Option("--attachment/--no-attachment", help="Only with / without an attachment."),
    ] = None,
    mode: Annotated[Mode | None, typer.Option("--mode", case_sensitive=False)] = None,
    min_gross: Annotated[float | None, typer.Option("--min-gross", metavar="AMOUNT")] = None,
    max_gross: Annotated[float | None, typer.Option("--max-gross", metavar="AMOUNT")] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Newest first.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
) -> None:
    """Invoice metadata matching the filters (a table, or --json)."""
    settings = settings_of(ctx)
    out = settings.out
    filters = build_filters(
        subject,
        date_type,
        start,
        end,
        ksef_number=ksef_number,
        invoice_number=invoice_number,
        seller_nip=seller_nip,
        buyer_nip=buyer_nip,
        currencies=currency,
        invoice_types=invoice_type,
        form=form,
        attachment=attachment,
        mode=mode,
        min_gross=min_gross,
        max_gross=max_gross,
    )
    page_size = 250 if limit is None else max(10, min(250, limit))
    items: list[InvoiceMetadata] = []
    with authenticated_client(settings) as client:
        found = _api(client).query_metadata(
            filters, sort_order="Desc" if desc else "Asc", page_size=page_size
        )
        for item in found:
            items.append(item)
            if limit is not None and len(items) >= limit:
                break
    if out.json_mode:
        out.emit_json({"invoices": [i.to_wire() for i in items]})
        return
    out.table(
        f"{len(items)} invoice(s)",
        ["KSeF number", "number", "issue date", "seller", "buyer", "gross", "currency"],
        [_row(i) for i in items],
    )


def _row(item: InvoiceMetadata) -> list[str]:
    buyer = item.buyer.identifier.value or item.buyer.identifier.type
    return [
        item.ksef_number,
        item.invoice_number,
        item.issue_date.isoformat(),
        item.seller.nip,
        buyer,
        f"{item.gross_amount:.2f}",
        item.currency,
    ]


@app.command()
def get(
    ctx: typer.Context,
    ksef_number: Annotated[str, typer.Argument(metavar="KSEF_NUMBER")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            dir_okay=False,
            help="Write the XML here; default: stdout.",
        ),
    ] = None,
) -> None:
    """Download one invoice's XML by its KSeF number."""
    settings = settings_of(ctx)
    out = settings.out
    with authenticated_client(settings) as client:
        xml = _api(client).download(ksef_number)
    if output is None:
        if out.json_mode:
            out.emit_json({"ksefNumber": ksef_number, "xml": xml.decode("utf-8")})
            return
        sys.stdout.buffer.write(xml)
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(xml)
    path = output.resolve()
    out.line(f"[green]✓[/green] {escape(str(path))} ({len(xml)} bytes)")
    if out.json_mode:
        out.emit_json({"ksefNumber": ksef_number, "file": str(path), "size": len(xml)})


DirOption = Annotated[
    Path,
    typer.Option("-o", "--output", metavar="DIR", file_okay=False, help="Target directory."),
]


@app.command()
def export(
    ctx: typer.Context,
    subject: SubjectOption,
    start: FromOption,
    output: DirOption,
    end: ToOption = None,
    date_type: Annotated[
        DateType,
        typer.Option("--date-type", case_sensitive=False, help="issue, invoicing or storage."),
    ] = DateType.STORAGE,
    metadata_only: Annotated[
        bool, typer.Option("--metadata-only", help="Only _metadata.json, no invoice XML.")
    ] = False,
    compression: Annotated[
        Compression, typer.Option("--compression", case_sensitive=False)
    ] = Compression.ZIP,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=16, help="Parts downloaded at once.")
    ] = 4,
) -> None:
    """Export the invoices of a date range (an encrypted package KSeF builds) into DIR."""
    settings = settings_of(ctx)
    out = settings.out
    filters = build_filters(subject, date_type, start, end)
    output.mkdir(parents=True, exist_ok=True)
    before = _files(output)
    with authenticated_client(settings) as client, ExportProgress(out) as progress:
        progress.message(f"exporting {subject.value} invoices into {output}")
        _api(client).export(
            filters,
            into=output,
            only_metadata=metadata_only,
            compression=compression.wire,
            parallelism=parallel,
            progress=progress,
        )
    written = sorted(_files(output) - before)
    invoices = [p for p in written if p.suffix == ".xml"]
    out.line(
        f"[green]✓[/green] exported {len(invoices)} invoice(s) into {escape(str(output))}"
        + (" (metadata only)" if metadata_only else "")
    )
    if out.json_mode:
        out.emit_json(
            {
                "directory": str(output.resolve()),
                "invoiceCount": len(invoices),
                "files": [str(p) for p in written],
            }
        )


@app.command()
def sync(
    ctx: typer.Context,
    subject: SubjectOption,
    output: DirOption,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            metavar="DATE",
            parser=_from_date,
            help="Where the first run starts (permanent-storage date); later runs continue "
            "from the checkpoint in DIR.",
        ),
    ] = None,
) -> None:
    """Save the invoices new since the last run into DIR (its checkpoint lives there too).

    Syncs up to KSeF's High Water Mark. Rerunning continues from the checkpoint; an
    interrupted run is simply run again.
    """
    settings = settings_of(ctx)
    out = settings.out
    output.mkdir(parents=True, exist_ok=True)
    before = _invoice_files(output)
    with authenticated_client(settings) as client, Activity(out) as activity:
        activity.message(f"syncing {subject.value} invoices into {output}")
        activity.update("syncing")
        _api(client).sync(subject.wire, output, start=start, progress=activity.event)
    new = sorted(_invoice_files(output) - before)
    out.line(f"[green]✓[/green] {len(new)} new invoice(s) saved into {escape(str(output))}")
    if out.json_mode:
        out.emit_json(
            {
                "directory": str(output.resolve()),
                "subject": subject.value,
                "newInvoices": len(new),
                "files": [str(p) for p in new],
            }
        )


def _files(directory: Path) -> set[Path]:
    return {p.resolve() for p in directory.rglob("*") if p.is_file()}


def _invoice_files(directory: Path) -> set[Path]:
    return {p for p in _files(directory) if p.suffix == ".xml"}


class Activity:
    """A progress indicator for a job the SDK runs to the end: on a terminal a spinner with
    the elapsed time and the latest progress event; otherwise only the lines of
    :meth:`message` (on stderr with --json)."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out.console,
            disable=not out.interactive,
            transient=True,
        )
        self._task: TaskID = self._bars.add_task("working", total=None)

    def __enter__(self) -> Activity:
        self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bars.stop()

    def message(self, text: str) -> None:
        """A line above the spinner (plain: stdout, or stderr with --json)."""
        with self._lock:
            if self._out.interactive:
                self._bars.console.print(escape(text), soft_wrap=True, highlight=False)
            else:
                self._out.info(text)

    def update(self, text: str) -> None:
        """What the spinner says."""
        with self._lock:
            self._bars.update(self._task, description=escape(text))

    def event(self, progress: object) -> None:
        """The SDK's progress callback: the spinner shows the latest event."""
        with self._lock:
            self._bars.update(self._task, description=escape(_describe(progress)))


class ExportProgress:
    """The SDK's export progress callback ``(phase, done, total)``: on a terminal one bar per
    phase (waiting for the package, downloading, unpacking); otherwise plain lines (on stderr
    with --json) at the start of each phase and at each quarter of a known total."""

    _LABELS: ClassVar[dict[str, str]] = {
        "wait": "waiting",
        "download": "downloading",
        "unpack": "unpacking",
    }

    def __init__(self, out: Output) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._quarters: dict[str, int] = {}
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<11}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out.console,
            disable=not out.interactive,
        )

    def __enter__(self) -> ExportProgress:
        self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bars.stop()

    def message(self, text: str) -> None:
        """A line above the bars (plain: stdout, or stderr with --json)."""
        with self._lock:
            if self._out.interactive:
                self._bars.console.print(escape(text), soft_wrap=True, highlight=False)
            else:
                self._out.info(text)

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            if self._out.interactive:
                self._bar(phase, done, total)
            else:
                self._plain(phase, done, total)

    def _bar(self, phase: str, done: int, total: int) -> None:
        tasks = {task.id: task for task in self._bars.tasks}
        for earlier, earlier_id in self._tasks.items():  # a new phase: earlier ones are done
            task = tasks[earlier_id]
            if earlier != phase and not task.finished:
                self._bars.update(earlier_id, total=task.total or 1, completed=task.total or 1)
        task_id = self._tasks.get(phase)
        if task_id is None:
            label = self._LABELS.get(phase, phase)
            task_id = self._tasks[phase] = self._bars.add_task(label, total=None, detail="")
        self._bars.update(
            task_id,
            completed=done,
            total=total or None,
            detail=escape(_progress_detail(phase, done, total)),
        )

    def _plain(self, phase: str, done: int, total: int) -> None:
        """A line at the start of a phase, then at each quarter of a known total."""
        quarter = 0 if total <= 0 else min(4, done * 4 // total)
        if phase in self._quarters and self._quarters[phase] >= quarter:
            return
        self._quarters[phase] = quarter
        label = self._LABELS.get(phase, phase)
        self._out.info(f"{label}: {_progress_detail(phase, done, total)}")


def _progress_detail(phase: str, done: int, total: int) -> str:
    if phase == "wait":
        return f"{done} status quer{'y' if done == 1 else 'ies'}"
    if phase == "download":
        return f"{decimal(done)} of {decimal(total)}"
    return f"{done} of {total} file(s)" if total else f"{done} file(s)"


def _describe(progress: object) -> str:
    text = str(progress)
    return text if len(text) <= 100 else text[:97] + "..."
