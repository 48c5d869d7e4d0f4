"""Global options of one run (``ctx.obj``) and how commands get a ``Client`` from them.

A command that talks to KSeF gets its client from :func:`authenticated_client`:

1. ``KSEF_TOKEN`` plus a context variable (``KSEF_NIP``, ``KSEF_INTERNAL_ID``,
   ``KSEF_NIP_VAT_UE`` or ``KSEF_PEPPOL_ID``) in the environment: authenticate on the fly;
2. otherwise the stored login of the profile (``--profile``, default ``default``) made by
   ``ksefkit auth login`` (the client refreshes the access token itself; a refreshed token
   is written back to the secret store);
3. otherwise :class:`~ksefkit.cli._errors.NotLoggedIn` (exit code 3).

The stored login is used for the URL it was made against: when ``--env``/``--base-url``
are not given explicitly the stored URL is used; when they are and differ, it is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import typer

from .._config import Environment
from .._sync.client import Client
from ..models import AuthenticationContextIdentifier, TokenInfo
from . import credentials as creds
from ._errors import NotLoggedIn
from ._output import Output

__all__ = [
    "CONTEXT_ENV_VARS",
    "Settings",
    "api_url",
    "authenticated_client",
    "context_from_env",
    "new_client",
    "settings_of",
]

#: Environment variables naming the context for on-the-fly authentication, by context type.
CONTEXT_ENV_VARS = {
    "Nip": "KSEF_NIP",
    "InternalId": "KSEF_INTERNAL_ID",
    "NipVatUe": "KSEF_NIP_VAT_UE",
    "PeppolId": "KSEF_PEPPOL_ID",
}
TOKEN_ENV_VAR = "KSEF_TOKEN"  # noqa: S105 - the variable's name, not a secret


@dataclass
class Settings:
    """The root callback's options, shared by every command through ``ctx.obj``."""

    environment: Environment = Environment.TEST
    base_url: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    #: True when --env or --base-url was given (or came from KSEF_ENV / KSEF_BASE_URL).
    target_explicit: bool = False
    out: Output = field(default_factory=Output)
    #: The profile of this run (--profile / KSEF_PROFILE).
    profile: str = creds.DEFAULT_PROFILE


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of this run (a default when a command is invoked without the root)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):
        obj = Settings()
        ctx.find_root().obj = obj
    return obj


def api_url(settings: Settings) -> str:
    """The API URL commands talk to (``--base-url`` wins over ``--env``)."""
    if settings.base_url:
        with new_client(settings) as client:  # normalised exactly as the client does
            return client.base_url
    return settings.environment.api_url


def new_client(
    settings: Settings,
    *,
    base_url: str | None = None,
    access_token: TokenInfo | None = None,
    refresh_token: TokenInfo | None = None,
) -> Client:
    """A sync client for the configured target (no authentication yet)."""
    return Client(
        settings.environment,
        base_url=base_url or settings.base_url,
        timeout=settings.timeout,
        verify=str(settings.ca_file) if settings.ca_file else True,
        access_token=access_token,
        refresh_token=refresh_token,
    )


def context_from_env() -> AuthenticationContextIdentifier | None:
    """The context named by KSEF_NIP / KSEF_INTERNAL_ID / ... (None if none is set)."""
    found = [
        (kind, os.environ[var]) for kind, var in CONTEXT_ENV_VARS.items() if os.environ.get(var)
    ]
    if len(found) > 1:
        names = ", ".join(CONTEXT_ENV_VARS[kind] for kind, _ in found)
        from ..errors import ConfigurationError

        raise ConfigurationError(f"set only one context variable, not {names}")
    if not found:
        return None
    kind, value = found[0]
    return AuthenticationContextIdentifier(type=kind, value=value.strip())


@contextmanager
def authenticated_client(settings: Settings) -> Iterator[Client]:
    """A client with tokens (see the module docstring for where they come from)."""
    token = os.environ.get(TOKEN_ENV_VAR)
    context = context_from_env()
    if token and context is not None:
        with new_client(settings) as client:
            client.authenticate(token, context=context)
            yield client
        return
    stored = creds.load(settings.profile)
    if stored is None:
        raise NotLoggedIn(
            f"not logged in{_profile_note(settings)}: run `ksefkit auth login`, or set "
            "KSEF_TOKEN and KSEF_NIP (or KSEF_INTERNAL_ID / KSEF_NIP_VAT_UE / KSEF_PEPPOL_ID)"
        )
    url = _stored_target(settings, stored)
    with new_client(
        settings,
        base_url=url,
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
    ) as client:
        try:
            yield client
        finally:
            _save_refreshed(client, stored, settings.profile)


def _profile_note(settings: Settings) -> str:
    return "" if settings.profile == creds.DEFAULT_PROFILE else f" (profile {settings.profile})"


def _stored_target(settings: Settings, stored: creds.Credentials) -> str:
    if not settings.target_explicit:
        return stored.base_url
    wanted = api_url(settings)
    if wanted.rstrip("/") != stored.base_url.rstrip("/"):
        raise NotLoggedIn(
            f"not logged in to {wanted} (the stored login is for {stored.base_url}); "
            "run `ksefkit auth login` for this environment"
        )
    return stored.base_url


def _save_refreshed(client: Client, stored: creds.Credentials, profile: str) -> None:
    """Write back an access token the client refreshed, so the next run can reuse it."""
    valid_until = client.tokens.access_valid_until
    if valid_until is None or valid_until == stored.access_token.valid_until:
        return
    access = TokenInfo(token=client.tokens.access_token(), valid_until=valid_until)
    creds.save(
        creds.Credentials(
            base_url=stored.base_url,
            environment=stored.environment,
            context=stored.context,
            access_token=access,
            refresh_token=stored.refresh_token,
            auth_reference_number=stored.auth_reference_number,
        ),
        profile,
    )
