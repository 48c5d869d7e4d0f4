"""``ksefkit certificates``: KSeF certificates of the logged-in subject.

``enroll`` makes a key (EC P-256, or RSA 2048 with ``--key-type rsa``) and the CSR from the
data KSeF dictates, sends it, waits for the certificate and writes ``<serial>.crt.pem`` and
``<serial>.key.pem`` (PKCS#8, mode 0600) into ``--out-dir``. With ``--password`` the key is
encrypted with the password from ``KSEF_KEY_PASSWORD`` or a hidden prompt — never a
command-line value; the same variable unlocks it for ``ksefkit auth login --cert ... --key``.
Enrolling needs a login signed with a certificate (``auth login --cert``/``--p12``/
``--test-cert``): KSeF refuses it after a KSeF-token login.
"""

from __future__ import annotations

import datetime as dt
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.serialization import Encoding

from ..certificates import (
    CertificateRequest,
    EnrolledCertificate,
    load_certificate,
    save_private_key,
)
from ..errors import KsefError
from ..models import CertificateEnrollmentStatusResponse, CertificateListItem
from ._context import authenticated_client, settings_of
from ._credential import KEY_PASSWORD_ENV_VAR
from ._output import Output, fmt_time

__all__ = ["app"]

app = typer.Typer(help="KSeF certificates: limits, enroll, status, list, get, revoke.")


class CertificateType(StrEnum):
    AUTHENTICATION = "Authentication"
    OFFLINE = "Offline"


class KeyType(StrEnum):
    EC = "ec"
    RSA = "rsa"


class CertificateStatus(StrEnum):
    ACTIVE = "Active"
    BLOCKED = "Blocked"
    REVOKED = "Revoked"
    EXPIRED = "Expired"


class Reason(StrEnum):
    UNSPECIFIED = "Unspecified"
    SUPERSEDED = "Superseded"
    KEY_COMPROMISE = "KeyCompromise"


OutDir = Annotated[
    Path,
    typer.Option(
        "--out-dir", file_okay=False, help="Where the certificate and key files are written."
    ),
]


@app.command()
def limits(ctx: typer.Context) -> None:
    """How many enrollments and active certificates the subject has left."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        got = client.certificates.limits()
    out.fields(
        [
            ("can request", "yes" if got.can_request else "no"),
            ("enrollments", f"{got.enrollment.remaining} of {got.enrollment.limit} left"),
            ("certificates", f"{got.certificate.remaining} of {got.certificate.limit} left"),
        ]
    )
    if out.json_mode:
        out.emit_json(got.to_wire())


@app.command()
def enroll(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The certificate's name (5-100 characters).")],
    out_dir: OutDir = Path("."),
    certificate_type: Annotated[
        CertificateType,
        typer.Option("--type", case_sensitive=False, help="Authentication or Offline (KOD II)."),
    ] = CertificateType.AUTHENTICATION,
    key_type: Annotated[
        KeyType, typer.Option(case_sensitive=False, help="ec (P-256, recommended) or rsa (2048).")
    ] = KeyType.EC,
    valid_from: Annotated[
        dt.datetime | None, typer.Option(help="Start of validity (default: when issued).")
    ] = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help=f"Encrypt the key with a password from {KEY_PASSWORD_ENV_VAR} or a prompt.",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Wait for the certificate (--no-wait: save the key, print the reference).",
        ),
    ] = True,
) -> None:
    """Request a KSeF certificate; write it and its private key (PKCS#8) to --out-dir."""
    if not 5 <= len(name) <= 100:
        raise typer.BadParameter("--name: 5 to 100 characters")
    out = settings_of(ctx).out
    secret = _new_password() if password else None
    out_dir.mkdir(parents=True, exist_ok=True)
    start = _aware(valid_from)
    with authenticated_client(settings_of(ctx)) as client:
        request = CertificateRequest.create(
            client.certificates.enrollment_data(), key_type=key_type.value
        )
        sent = client.certificates.enroll(
            name, request, certificate_type=certificate_type.value, valid_from=start
        )
        # Saved before waiting: once the enrollment is sent the key is its only partner, and
        # a failed wait or fetch must not take it down with the process.
        pending_key = save_private_key(
            out_dir / f"{sent.reference_number}.key.pem", request.private_key, secret
        )
        if not wait:
            _report_pending(out, sent.reference_number, pending_key)
            return
        try:
            enrolled = client.certificates.collect(sent.reference_number, request.private_key)
        except KsefError as error:
            error.add_note(
                f"the private key is saved in {pending_key}: finish with `ksefkit certificates "
                f"status {sent.reference_number}` and `ksefkit certificates get SERIAL`"
            )
            raise
    cert_path, key_path = enrolled.save(out_dir, password=secret)
    pending_key.unlink(missing_ok=True)
    _report_enrolled(out, enrolled, cert_path, key_path, encrypted=secret is not None)


@app.command()
def status(ctx: typer.Context, reference_number: Annotated[str, typer.Argument()]) -> None:
    """The status of an enrollment (and the serial number once the certificate is issued)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        got = client.certificates.enrollment_status(reference_number)
    out.fields(_status_fields(reference_number, got))
    if out.json_mode:
        out.emit_json({"referenceNumber": reference_number, **got.to_wire()})


@app.command("list")
def list_certificates(
    ctx: typer.Context,
    status_filter: Annotated[
        CertificateStatus | None,
        typer.Option("--status", case_sensitive=False, help="Only this status."),
    ] = None,
    certificate_type: Annotated[
        CertificateType | None,
        typer.Option("--type", case_sensitive=False, help="Only this type."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="The name contains this text.")] = None,
    serial: Annotated[str | None, typer.Option(help="Only this serial number.")] = None,
) -> None:
    """The subject's KSeF certificates (all pages, newest first)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        items = list(
            client.certificates.query(
                serial_number=serial,
                name=name,
                certificate_type=certificate_type.value if certificate_type else None,
                status=status_filter.value if status_filter else None,
            )
        )
    _table(out, items)
    if out.json_mode:
        out.emit_json([i.to_wire() for i in items])


@app.command()
def get(
    ctx: typer.Context,
    serial_numbers: Annotated[list[str], typer.Argument(help="Serial numbers (16 hex digits).")],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", file_okay=False, help="Write <serial>.crt.pem here (default: print PEM)."
        ),
    ] = None,
) -> None:
    """Download certificates (PEM) by serial number."""
    out = settings_of(ctx).out
    wanted = [s.strip().upper() for s in serial_numbers]
    with authenticated_client(settings_of(ctx)) as client:
        items = client.certificates.retrieve(wanted)
    found = {i.certificate_serial_number for i in items}
    missing = [s for s in wanted if s not in found]
    written: dict[str, str] = {}
    for item in items:
        pem = load_certificate(item.certificate).public_bytes(Encoding.PEM).decode("ascii")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"{item.certificate_serial_number}.crt.pem"
            path.write_text(pem, encoding="ascii")
            written[item.certificate_serial_number] = str(path)
            out.line(f"{item.certificate_serial_number} ({item.certificate_type}) -> {path}")
        elif not out.json_mode:
            out.line(pem.rstrip("\n"), markup=False)
    for serial in missing:
        out.note(f"{serial}: not found among your certificates")
    if out.json_mode:
        out.emit_json(
            {
                "certificates": [
                    {**i.to_wire(), "path": written.get(i.certificate_serial_number)} for i in items
                ],
                "missing": missing,
            }
        )
    if missing:
        raise typer.Exit(4)


@app.command()
def revoke(
    ctx: typer.Context,
    serial_number: Annotated[str, typer.Argument()],
    reason: Annotated[
        Reason | None,
        typer.Option(case_sensitive=False, help="Unspecified, Superseded or KeyCompromise."),
    ] = None,
) -> None:
    """Revoke a certificate: it no longer authenticates and its KOD II links stop verifying."""
    out = settings_of(ctx).out
    serial = serial_number.strip().upper()
    with authenticated_client(settings_of(ctx)) as client:
        client.certificates.revoke(serial, reason=reason.value if reason else None)
    out.line(f"revoked KSeF certificate {serial}")
    if out.json_mode:
        out.emit_json({"revoked": serial, "reason": reason.value if reason else None})


# -- helpers ---------------------------------------------------------------------------------


def _new_password() -> str:
    """The key password: KSEF_KEY_PASSWORD, else a hidden prompt asked twice."""
    from_env = os.environ.get(KEY_PASSWORD_ENV_VAR)
    if from_env:
        return from_env
    answer: str = typer.prompt(
        "Password for the new private key", hide_input=True, confirmation_prompt=True
    )
    if not answer:
        raise typer.BadParameter("the password must not be empty")
    return answer


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # typer parses offset-less ISO dates; read them as local time, as a person typing them means
    return None if value is None or value.tzinfo else value.astimezone()


def _report_enrolled(
    out: Output, enrolled: EnrolledCertificate, cert_path: Path, key_path: Path, *, encrypted: bool
) -> None:
    cert = enrolled.certificate
    if out.json_mode:
        out.emit_json(
            {
                "serialNumber": enrolled.serial_number,
                "referenceNumber": enrolled.reference_number,
                "name": enrolled.name,
                "type": enrolled.certificate_type,
                "validFrom": cert.not_valid_before_utc.isoformat(),
                "validTo": cert.not_valid_after_utc.isoformat(),
                "fingerprint": enrolled.fingerprint,
                "certificate": str(cert_path),
                "privateKey": str(key_path),
                "keyEncrypted": encrypted,
            }
        )
        return
    out.line(
        f"[green]✓[/green] KSeF certificate {enrolled.serial_number} ({enrolled.certificate_type})"
    )
    out.fields(
        [
            (
                "valid",
                f"{fmt_time(cert.not_valid_before_utc)} - {fmt_time(cert.not_valid_after_utc)}",
            ),
            ("certificate", str(cert_path)),
            ("private key", f"{key_path} ({'encrypted' if encrypted else 'NOT encrypted'})"),
        ]
    )
    if not encrypted:
        out.note("the private key is not encrypted: keep the file safe, or enroll with --password")
    if enrolled.certificate_type == "Authentication":
        out.line(f"log in with: ksefkit auth login --cert {cert_path} --key {key_path} --nip NIP")


def _report_pending(out: Output, reference: str, key_path: Path) -> None:
    if out.json_mode:
        out.emit_json({"referenceNumber": reference, "privateKey": str(key_path)})
        return
    out.line(f"sent certificate enrollment {reference}; private key saved to {key_path}")
    out.line("then: ksefkit certificates status REF, and ksefkit certificates get SERIAL --out-dir")


def _status_fields(
    reference: str, status: CertificateEnrollmentStatusResponse
) -> list[tuple[str, str]]:
    details = f" ({'; '.join(status.status.details)})" if status.status.details else ""
    return [
        ("enrollment ref", reference),
        ("status", f"{status.status.code} {status.status.description}{details}"),
        ("requested", fmt_time(status.request_date)),
        ("serial number", status.certificate_serial_number or "-"),
    ]


def _table(out: Output, items: list[CertificateListItem]) -> None:
    out.table(
        "KSeF certificates",
        ["serial", "name", "type", "status", "subject", "valid from", "valid to", "last used"],
        [
            [
                i.certificate_serial_number,
                i.name,
                i.type,
                i.status,
                f"{i.subject_identifier.type} {i.subject_identifier.value}",
                fmt_time(i.valid_from),
                fmt_time(i.valid_to),
                fmt_time(i.last_use_date),
            ]
            for i in items
        ],
    )
