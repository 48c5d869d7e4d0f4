"""``ksefkit tokens``: create, list, show and revoke KSeF tokens of the logged-in context.

``tokens create`` is the one command that prints a secret: the new KSeF token is the product
of the command and KSeF shows it only once. It is printed once on stdout (in ``--json`` mode
as ``"token"`` in the document); store it at once, e.g. in a secret manager, or log in with it
right away and keep it in the profile: ``KSEF_TOKEN=... ksefkit auth login --save-token``.
Creating a token usually needs a login made with a certificate (XAdES); KSeF gives a token at
most the permissions of its creator.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..models import QueryTokensResponseItem, TokenStatusResponse
from ._context import authenticated_client, settings_of
from ._output import Output, fmt_time

__all__ = ["app"]

app = typer.Typer(help="KSeF tokens: create (printed once), list, show, revoke.")


class Permission(StrEnum):
    INVOICE_READ = "InvoiceRead"
    INVOICE_WRITE = "InvoiceWrite"
    CREDENTIALS_READ = "CredentialsRead"
    CREDENTIALS_MANAGE = "CredentialsManage"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    INTROSPECTION = "Introspection"


class TokenStatus(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    REVOKING = "Revoking"
    REVOKED = "Revoked"
    FAILED = "Failed"


@app.command()
def create(
    ctx: typer.Context,
    permission: Annotated[
        list[Permission],
        typer.Option(
            "--permission", case_sensitive=False, help="A permission of the token (repeatable)."
        ),
    ],
    description: Annotated[str, typer.Option(help="What the token is for (5-256 characters).")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the token is Active.")] = False,
) -> None:
    """Create a KSeF token and print it ONCE (KSeF never shows it again)."""
    if not 5 <= len(description) <= 256:
        raise typer.BadParameter("--description: 5 to 256 characters")
    out = settings_of(ctx).out
    permissions = list(dict.fromkeys(p.value for p in permission))
    with authenticated_client(settings_of(ctx)) as client:
        created = client.ksef_tokens.generate(permissions, description)
        status = client.ksef_tokens.wait_until_active(created.reference_number) if wait else None
    state = status.status if status else "Pending"
    if out.json_mode:
        out.emit_json(
            {
                "referenceNumber": created.reference_number,
                "token": created.token,
                "status": state,
                "permissions": permissions,
                "description": description,
            }
        )
        return
    out.line(f"[green]✓[/green] created KSeF token {created.reference_number} ({state})")
    out.line("The token is shown only now - store it (e.g. in a secret manager):")
    out.line(created.token, markup=False)


@app.command("list")
def list_tokens(
    ctx: typer.Context,
    status: Annotated[
        list[TokenStatus] | None,
        typer.Option("--status", case_sensitive=False, help="Filter by status (repeatable)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Description contains (at least 3 characters).")
    ] = None,
) -> None:
    """The KSeF tokens you may see in this context (all pages)."""
    out = settings_of(ctx).out
    statuses = [s.value for s in status or ()]
    with authenticated_client(settings_of(ctx)) as client:
        items = list(client.ksef_tokens.list(statuses=statuses, description=description))
    _table(out, items)
    if out.json_mode:
        out.emit_json([i.to_wire() for i in items])


@app.command()
def show(ctx: typer.Context, reference_number: Annotated[str, typer.Argument()]) -> None:
    """One KSeF token's status, permissions and author (never the token itself)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        token = client.ksef_tokens.status(reference_number)
    _fields(out, token)
    if out.json_mode:
        out.emit_json(token.to_wire())


@app.command()
def revoke(ctx: typer.Context, reference_number: Annotated[str, typer.Argument()]) -> None:
    """Revoke a KSeF token: it can no longer log in, and its sessions cannot refresh."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        client.ksef_tokens.revoke(reference_number)
    out.line(f"revoked KSeF token {reference_number}")
    if out.json_mode:
        out.emit_json({"revoked": reference_number})


def _table(out: Output, items: list[QueryTokensResponseItem]) -> None:
    out.table(
        "KSeF tokens",
        ["token ref", "status", "description", "permissions", "created", "last used"],
        [
            [
                i.reference_number,
                i.status,
                i.description,
                ", ".join(i.requested_permissions),
                fmt_time(i.date_created),
                fmt_time(i.last_use_date),
            ]
            for i in items
        ],
    )


def _fields(out: Output, token: TokenStatusResponse) -> None:
    out.fields(
        [
            ("token ref", token.reference_number),
            ("status", token.status + _details(token.status_details)),
            ("description", token.description),
            ("permissions", ", ".join(token.requested_permissions)),
            ("context", f"{token.context_identifier.type} {token.context_identifier.value}"),
            ("author", f"{token.author_identifier.type} {token.author_identifier.value}"),
            ("created", fmt_time(token.date_created)),
            ("last used", fmt_time(token.last_use_date)),
        ]
    )


def _details(details: list[str] | None) -> str:
    return f" ({'; '.join(details)})" if details else ""
