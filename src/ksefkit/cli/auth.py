"""``ksefkit auth``: log in with a KSeF token, show the stored login, log out.

The KSeF token is read from ``KSEF_TOKEN`` or a hidden prompt; there is deliberately no
``--token`` option (it would end up in shell history and ``ps``). The tokens KSeF returns
are stored in the credentials file (mode 0600) and never printed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ..models import AuthenticationContextIdentifier
from . import credentials as creds
from ._context import CONTEXT_ENV_VARS, TOKEN_ENV_VAR, new_client, settings_of
from ._errors import NotLoggedIn
from ._output import Output

__all__ = ["app"]

app = typer.Typer(help="Log in to KSeF with a KSeF token; the login is kept for other commands.")


@app.command()
def login(
    ctx: typer.Context,
    nip: Annotated[
        str | None, typer.Option(envvar=CONTEXT_ENV_VARS["Nip"], help="Context NIP.")
    ] = None,
    internal_id: Annotated[
        str | None,
        typer.Option(envvar=CONTEXT_ENV_VARS["InternalId"], help="Context internal id."),
    ] = None,
    nip_vat_ue: Annotated[
        str | None,
        typer.Option(envvar=CONTEXT_ENV_VARS["NipVatUe"], help="Context NIP-VAT-UE id."),
    ] = None,
    peppol_id: Annotated[
        str | None,
        typer.Option(envvar=CONTEXT_ENV_VARS["PeppolId"], help="Context Peppol provider id."),
    ] = None,
) -> None:
    """Authenticate with a KSeF token (KSEF_TOKEN or a hidden prompt) and store the login."""
    settings = settings_of(ctx)
    context = _one_context(
        nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
    )
    token = os.environ.get(TOKEN_ENV_VAR) or typer.prompt("KSeF token", hide_input=True)
    with new_client(settings) as client:
        result = client.authenticate(token.strip(), context=context)
        stored = creds.Credentials(
            base_url=client.base_url,
            environment=settings.environment.name if not settings.base_url else "custom",
            context=context,
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            auth_reference_number=result.reference_number,
        )
    path = creds.save(stored)
    _show(settings.out, stored, path, headline="logged in")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show whether you are logged in, where, in which context and until when."""
    out = settings_of(ctx).out
    stored = creds.load()
    if stored is None:
        raise NotLoggedIn(f"not logged in (no {creds.credentials_path()})")
    if stored.refresh_token.valid_until <= datetime.now(UTC):
        raise NotLoggedIn(
            f"the login expired at {stored.refresh_token.valid_until.isoformat()}: "
            "run `ksefkit auth login`"
        )
    _show(out, stored, creds.credentials_path(), headline="logged in")


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget the stored login (deletes the credentials file)."""
    out = settings_of(ctx).out
    path = creds.credentials_path()
    removed = creds.delete(path)
    out.line(f"logged out: removed {path}" if removed else "not logged in: nothing to remove")
    if out.json_mode:
        out.emit_json({"loggedOut": removed, "credentialsFile": str(path)})


def _one_context(**given: str | None) -> AuthenticationContextIdentifier:
    names = {
        "nip": "Nip",
        "internal_id": "InternalId",
        "nip_vat_ue": "NipVatUe",
        "peppol_id": "PeppolId",
    }
    chosen = [(names[key], value.strip()) for key, value in given.items() if value]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one context: --nip, --internal-id, --nip-vat-ue or --peppol-id "
            "(or KSEF_NIP / KSEF_INTERNAL_ID / KSEF_NIP_VAT_UE / KSEF_PEPPOL_ID)"
        )
    kind, value = chosen[0]
    return AuthenticationContextIdentifier(type=kind, value=value)


def _show(out: Output, stored: creds.Credentials, path: Path, *, headline: str) -> None:
    now = datetime.now(UTC)
    access_left = stored.access_token.valid_until - now
    out.line(f"[green]✓[/green] {headline}")
    out.fields(
        [
            ("context", f"{stored.context.type} {stored.context.value}"),
            ("api", stored.base_url),
            (
                "access token valid until",
                _until(stored.access_token.valid_until, access_left.total_seconds()),
            ),
            ("login valid until", stored.refresh_token.valid_until.isoformat()),
            ("credentials file", str(path)),
        ]
    )
    if out.json_mode:
        out.emit_json({"loggedIn": True, "credentialsFile": str(path), **stored.public_summary()})


def _until(when: datetime, seconds_left: float) -> str:
    if seconds_left <= 0:
        return f"{when.isoformat()} (expired; refreshed automatically on next use)"
    return f"{when.isoformat()} ({int(seconds_left // 60)} min left)"
