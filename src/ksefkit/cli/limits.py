"""``ksefkit limits``: the limits that apply to the logged-in context and subject.

* ``context``: invoice size and count limits of online and batch sessions
  (``GET /limits/context``);
* ``subject``: KSeF-certificate enrollment and certificate limits (``GET /limits/subject``);
* ``rate``: API rate limits per group — requests per second, minute and hour
  (``GET /rate-limits``).

Changing them on TEST (and the emulator) is ``ksefkit testdata session-limits`` and
``ksefkit testdata rate-limits``.
"""

from __future__ import annotations

import typer

from ._context import authenticated_client, settings_of

__all__ = ["app"]

app = typer.Typer(help="Limits of the logged-in context: sessions, certificates, API rates.")


@app.command("context")
def context(ctx: typer.Context) -> None:
    """Invoice size and count limits of online and batch sessions in this context."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        limits = client.limits.context()
    out.table(
        "Session limits",
        ["session", "max invoices", "max invoice size MB", "with attachment MB"],
        [
            [
                name,
                str(side.max_invoices),
                str(side.max_invoice_size_in_mb),
                str(side.max_invoice_with_attachment_size_in_mb),
            ]
            for name, side in (("online", limits.online_session), ("batch", limits.batch_session))
        ],
    )
    if out.json_mode:
        out.emit_json(limits.to_wire())


@app.command("subject")
def subject(ctx: typer.Context) -> None:
    """KSeF-certificate limits of the logged-in subject."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        limits = client.limits.subject()
    enrollments = limits.enrollment.max_enrollments if limits.enrollment else None
    certificates = limits.certificate.max_certificates if limits.certificate else None
    out.fields(
        [
            ("enrollments", "-" if enrollments is None else str(enrollments)),
            ("active certificates", "-" if certificates is None else str(certificates)),
        ]
    )
    if out.json_mode:
        out.emit_json(limits.to_wire())


@app.command("rate")
def rate(ctx: typer.Context) -> None:
    """API rate limits of this context, per group (KSEF_API.md §11.2)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        limits = client.limits.rate_limits()
    table = limits.to_wire()
    out.table(
        "API rate limits",
        ["group", "per second", "per minute", "per hour"],
        [
            [group, str(v["perSecond"]), str(v["perMinute"]), str(v["perHour"])]
            for group, v in table.items()
        ],
    )
    if out.json_mode:
        out.emit_json(table)
