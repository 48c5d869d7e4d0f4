"""``ksefkit demo``: the whole KSeF flow against an in-process emulator, step by step.

Starts the emulator on 127.0.0.1 (any free port, in-memory state, background processing
with a short delay so the waits are real), seeds a test company, then with the sync SDK:
authenticate with its KSeF token, open an online FA(3) session, send one invoice, wait for
its KSeF number, download its UPO, close the session, wait until it is processed, download
the session UPO, and save the invoice, its HTML rendering and both UPOs into ``--keep-dir``.

The invoice is built with the FA(3) builder (:func:`ksefkit.invoices.realistic.sales_invoice`:
several lines at several VAT rates and units, payment terms) and checked before it is sent:
XSD and business rules (:func:`ksefkit.fa3.validate`; business rules only without XSDs).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import fa3, schemas
from .._sync.client import Client
from ..errors import ConfigurationError, SchemaNotFoundError
from ..formcodes import FormCode
from ..identifiers import random_nip
from ..invoices.realistic import company, sales_invoice
from ._context import settings_of
from ._output import Output
from .upo import session_upo_names, write_documents

__all__ = ["app"]

app = typer.Typer()

#: Seconds the emulator's worker waits before processing: long enough that waiting is real.
PROCESSING_DELAY = 0.3


@dataclass
class DemoResult:
    nip: str = ""
    invoice_number: str = ""
    session_reference: str = ""
    invoice_reference: str = ""
    ksef_number: str = ""
    files: dict[str, Any] = field(default_factory=dict)


@app.command()
def demo(
    ctx: typer.Context,
    keep_dir: Annotated[
        Path,
        typer.Option(file_okay=False, help="Where to save the invoice and the UPOs."),
    ] = Path("ksefkit-demo"),
) -> None:
    """Send one invoice to a local emulator and fetch its UPOs - no account needed."""
    settings = settings_of(ctx)
    out = settings.out
    validate, reason = _schema_check()
    if not validate:
        out.note(f"XSD validation is off: {reason}")
    state, server_cls, create_app = _emulator_parts(validate)
    result = DemoResult()
    with ExitStack() as stack:
        stack.enter_context(state)
        with out.step("start the emulator") as step:
            server = stack.enter_context(server_cls(create_app(state)))
            step.detail = server.base_url
        with out.step("seed a test company") as step:
            subject = state.create_subject()
            result.nip = subject.nip
            step.detail = f"NIP {subject.nip}"
        with Client(base_url=server.base_url + "/v2", timeout=settings.timeout) as client:
            _flow(out, client, subject.nip, subject.token, validate, result)
    directory = keep_dir.resolve()
    _save(out, directory, result)
    _summary(out, directory, result, validate, reason)


def _schema_check() -> tuple[bool, str | None]:
    store = schemas.default_store()
    if store.is_available(FormCode.FA3):
        return True, None
    try:
        store.ensure(FormCode.FA3.xsd_path)
    except SchemaNotFoundError as exc:
        return False, str(exc)
    return True, None  # became available between the two looks


def _emulator_parts(validate: bool) -> tuple[Any, Any, Any]:
    try:
        from ..emulator.app import create_app
        from ..emulator.server import ThreadedServer
        from ..emulator.state import EmulatorState
    except ImportError as exc:
        raise ConfigurationError(
            f"the demo needs the emulator ({exc}); install it with: pip install 'ksefkit[emulator]'"
        ) from exc
    state = EmulatorState(
        processing="background", processing_delay=PROCESSING_DELAY, validate_xsd=validate
    )
    return state, ThreadedServer, create_app


def _flow(
    out: Output, client: Client, nip: str, token: str, validate: bool, result: DemoResult
) -> None:
    today = dt.date.today()
    with out.step("build an FA(3) invoice") as step:
        result.invoice_number = f"FV/DEMO/{today:%Y/%m/%d}/{secrets.token_hex(2).upper()}"
        buyer = random_nip()
        while buyer == nip:
            buyer = random_nip()
        rng = random.Random()
        invoice = sales_invoice(
            company(nip, rng), company(buyer, rng), result.invoice_number, today, rng=rng
        )
        xml = invoice.to_xml()
        result.files["invoice"] = xml
        result.files["invoice_html"] = fa3.render_html(invoice)
        step.detail = (
            f"{result.invoice_number}, {len(invoice.fa.lines)} lines, "
            f"{invoice.fa.total} {invoice.fa.currency}, buyer NIP {buyer}"
        )
    what = "XSD and business rules" if validate else "business rules; XSD off"
    with out.step(f"check the invoice ({what})") as step:
        if validate:
            report = fa3.validate(xml)
        else:
            report = fa3.Report(findings=tuple(fa3.check(invoice)), invoice=invoice)
        if not report.ok:
            problems = [*report.xsd_errors, *(str(f) for f in report.errors)]
            raise ConfigurationError("the demo invoice is not valid: " + "; ".join(problems))
        step.detail = f"{len(report.findings)} finding(s)" if report.findings else "no findings"
    with out.step("authenticate with the KSeF token") as step:
        client.authenticate(token, nip=nip)
        step.detail = f"context NIP {nip}"
    session = client.online_session(FormCode.FA3, validate_schema=validate)
    with out.step("open an online FA(3) session") as step:
        session.open()
        result.session_reference = step.detail = session.reference_number
    with session:
        with out.step("send the invoice") as step:
            sent = session.send(xml, file_name="invoice.xml")
            result.invoice_reference = step.detail = sent.reference_number
        with out.step("wait for the KSeF number") as step:
            result.ksef_number = step.detail = session.wait_for_ksef_number(sent.reference_number)
        with out.step("download the invoice UPO"):
            result.files["invoice_upo"] = session.invoice_upo(sent.reference_number)
        with out.step("close the session"):
            session.close()
        with out.step("wait until the session is processed") as step:
            status = session.wait_until_processed()
            step.detail = f"{status.status.code} {status.status.description}"
        with out.step("download the session UPO") as step:
            result.files["session_upo"] = session.session_upo()
            step.detail = f"{len(result.files['session_upo'])} page(s)"


def _save(out: Output, directory: Path, result: DemoResult) -> None:
    with out.step(f"save into {directory}"):
        safe_number = result.invoice_number.replace("/", "-")
        pages: list[bytes] = result.files["session_upo"]
        docs = [
            (f"invoice-{safe_number}.xml", result.files["invoice"]),
            (f"invoice-{safe_number}.html", result.files["invoice_html"].encode("utf-8")),
            (f"UPO-{result.ksef_number}.xml", result.files["invoice_upo"]),
            *zip(session_upo_names(result.session_reference, len(pages)), pages, strict=True),
        ]
        directory.mkdir(parents=True, exist_ok=True)
        paths = write_documents(docs, directory, directory=True)
        result.files = {
            "invoice": paths[0],
            "invoice_html": paths[1],
            "invoice_upo": paths[2],
            "session_upo": paths[3:],
        }


def _summary(
    out: Output, directory: Path, result: DemoResult, validate: bool, reason: str | None
) -> None:
    files = result.files
    out.line()
    out.fields(
        [
            ("KSeF number", result.ksef_number),
            ("session", result.session_reference),
            ("invoice ref", result.invoice_reference),
            ("invoice", str(files["invoice"])),
            ("invoice HTML", str(files["invoice_html"])),
            ("invoice UPO", str(files["invoice_upo"])),
            *[("session UPO", str(p)) for p in files["session_upo"]],
            ("directory", str(directory)),
        ]
    )
    if out.json_mode:
        out.emit_json(
            {
                "ksefNumber": result.ksef_number,
                "sessionReferenceNumber": result.session_reference,
                "invoiceReferenceNumber": result.invoice_reference,
                "invoiceNumber": result.invoice_number,
                "sellerNip": result.nip,
                "directory": str(directory),
                "invoicePath": str(files["invoice"]),
                "invoiceHtmlPath": str(files["invoice_html"]),
                "invoiceUpoPath": str(files["invoice_upo"]),
                "sessionUpoPaths": [str(p) for p in files["session_upo"]],
                "xsdValidation": validate,
                "xsdValidationOffReason": reason,
                "steps": [s.to_json() for s in out.steps],
            }
        )
