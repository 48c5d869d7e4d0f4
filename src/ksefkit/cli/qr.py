"""``ksefkit qr``: the QR codes an invoice carries outside KSeF (KSEF_API.md §13.3–13.4).

``qr invoice FILE`` draws KOD I (the invoice verification link; seller NIP and ``P_1`` are
read from the invoice, the hash is the file's SHA-256) labelled with ``--ksef-number`` or
``OFFLINE``. ``qr certificate FILE --cert CERT --key KEY`` draws KOD II, signed with the key of
a KSeF certificate of type ``Offline`` (an encrypted key's password comes from
``KSEF_KEY_PASSWORD`` or a hidden prompt — never a command-line value), labelled
``CERTYFIKAT``. Both print the link and write a PNG (or SVG: ``--format svg`` or an ``.svg``
``-o``) next to the invoice unless ``-o`` says where.

The links point at the environment of ``--env`` / ``--base-url`` (or the profile's): the QR
host of TEST, DEMO or PROD, or the emulator's own ``/qr`` pages; ``--qr-url`` overrides it.
No login is needed: everything happens locally.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import qr
from ..certificates import EnrolledCertificate
from ..errors import ConfigurationError
from ..invoices.facts import InvoiceFacts, extract_facts
from ._context import Settings, settings_of
from ._credential import KEY_PASSWORD_ENV_VAR, _password

__all__ = ["app"]

app = typer.Typer(help="QR codes of invoices: KOD I (invoice) and KOD II (offline certificate).")


class ImageFormat(enum.StrEnum):
    PNG = "png"
    SVG = "svg"


Invoice = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The invoice XML file.")]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Image file to write (default: next to the invoice)."),
]
Format = Annotated[
    ImageFormat | None,
    typer.Option("--format", case_sensitive=False, help="png or svg (default: from -o, else png)."),
]
QrUrl = Annotated[
    str | None,
    typer.Option(
        "--qr-url", metavar="URL", help="Base of the links (default: the environment's QR host)."
    ),
]
Scale = Annotated[int, typer.Option("--scale", min=1, max=40, help="Pixels per module.")]


@app.callback()
def _group() -> None:
    """QR codes of invoices: KOD I (invoice) and KOD II (offline certificate)."""


@app.command()
def invoice(
    ctx: typer.Context,
    file: Invoice,
    ksef_number: Annotated[
        str | None,
        typer.Option("--ksef-number", metavar="NUMBER", help="The label (default: OFFLINE)."),
    ] = None,
    output: Output = None,
    image_format: Format = None,
    qr_url: QrUrl = None,
    scale: Scale = 6,
) -> None:
    """KOD I: the invoice verification link and its QR code."""
    settings = settings_of(ctx)
    xml, facts = _read(file)
    if facts.seller_nip is None or facts.issue_date is None:
        raise ConfigurationError(f"{file}: no seller NIP (Podmiot1) or issue date (P_1)")
    link = qr.invoice_link(_target(settings, qr_url), facts.seller_nip, facts.issue_date, xml)
    label = ksef_number or qr.OFFLINE_LABEL
    path = _write(link, label, file, "kod1", output, image_format, scale)
    _report(settings, "KOD I", link, label, path, sellerNip=facts.seller_nip)


@app.command()
def certificate(
    ctx: typer.Context,
    file: Invoice,
    cert: Annotated[
        Path,
        typer.Option(
            "--cert", exists=True, dir_okay=False, help="The Offline certificate (PEM or DER)."
        ),
    ],
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            exists=True,
            dir_okay=False,
            help=f"Its private key (PEM; encrypted: password from {KEY_PASSWORD_ENV_VAR}).",
        ),
    ],
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            metavar="TYPE:VALUE",
            help="The issuer's login context, e.g. Nip:5265877635 (default: the seller's NIP).",
        ),
    ] = None,
    output: Output = None,
    image_format: Format = None,
    qr_url: QrUrl = None,
    scale: Scale = 6,
) -> None:
    """KOD II: the signed certificate link of an offline invoice and its QR code."""
    settings = settings_of(ctx)
    xml, facts = _read(file)
    if facts.seller_nip is None:
        raise ConfigurationError(f"{file}: no seller NIP (Podmiot1)")
    context_type, context_value = _context(context, facts.seller_nip)
    signer = _signer(cert, key)
    link = qr.certificate_link(
        _target(settings, qr_url), context_type, context_value, facts.seller_nip, None, xml, signer
    )
    path = _write(link, qr.CERTIFICATE_LABEL, file, "kod2", output, image_format, scale)
    _report(
        settings,
        "KOD II",
        link,
        qr.CERTIFICATE_LABEL,
        path,
        sellerNip=facts.seller_nip,
        contextIdentifier={"type": context_type, "value": context_value},
        certificateSerialNumber=signer.serial_number,
    )


def _target(settings: Settings, qr_url: str | None) -> str:
    """The QR base: --qr-url, else the API URL (--base-url / profile), else the environment."""
    if qr_url:
        return qr.qr_base_url(qr_url)
    return qr.qr_base_url(settings.base_url or settings.environment)


def _read(path: Path) -> tuple[bytes, InvoiceFacts]:
    """The invoice file and its facts (seller NIP, P_1)."""
    try:
        xml = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return xml, extract_facts(xml)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def _context(value: str | None, seller_nip: str) -> tuple[str, str]:
    if value is None:
        return "Nip", seller_nip
    kind, sep, ident = value.partition(":")
    if not sep or kind not in qr.CONTEXT_TYPES:
        choices = ", ".join(qr.CONTEXT_TYPES)
        raise typer.BadParameter(f"--context: TYPE:VALUE with TYPE one of {choices}")
    return kind, ident


def _signer(cert: Path, key: Path) -> EnrolledCertificate:
    """The certificate and key; the type (Offline or not) comes from the key usage."""
    password: str | None = None
    source: str | None = None
    if b"ENCRYPTED" in key.read_bytes():
        password, source = _password(KEY_PASSWORD_ENV_VAR, f"Password of {key.name}")
    try:
        return EnrolledCertificate.load(cert, key, password=password)
    except ConfigurationError as exc:
        hint = f" (is the password from {source} right?)" if source else ""
        raise ConfigurationError(f"{exc}{hint}") from None


def _write(
    link: str,
    label: str,
    invoice_path: Path,
    kind: str,
    output: Path | None,
    image_format: ImageFormat | None,
    scale: int,
) -> Path:
    if image_format is None:
        suffix = output.suffix.lower() if output is not None else ""
        image_format = ImageFormat.SVG if suffix == ".svg" else ImageFormat.PNG
    path = output or invoice_path.with_name(f"{invoice_path.stem}-{kind}.{image_format.value}")
    if image_format is ImageFormat.SVG:
        data = qr.qr_svg(link, label, scale=scale).encode("utf-8")
    else:
        data = qr.qr_png(link, label, scale=scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.resolve()


def _report(settings: Settings, code: str, link: str, label: str, path: Path, **extra: Any) -> None:
    out = settings.out
    out.fields([(code, link), ("label", label), ("image", str(path))])
    if out.json_mode:
        out.emit_json({"code": code, "link": link, "label": label, "file": str(path), **extra})
