"""``ksefkit auth``: log in (KSeF token, certificate, PKCS#12 or a test seal), show the login,
log out, list and revoke authentication sessions.

Credential sources of ``login`` (exactly one; none = the profile's remembered one, else
``--token``):

* ``--token`` — the KSeF token from ``KSEF_TOKEN``, else the token saved for the profile
  (``--save-token``), else a hidden prompt. There is deliberately no option taking the token
  itself (it would end up in shell history and ``ps``);
* ``--cert PEM --key PEM`` — an encrypted key's password from ``KSEF_KEY_PASSWORD`` or a
  hidden prompt;
* ``--p12 FILE`` — its password from ``KSEF_P12_PASSWORD`` or a hidden prompt;
* ``--test-cert`` — a self-signed company seal for the ``--nip`` context, generated once and
  kept in ``<config dir>/test-certs/`` (TEST and the emulator only).

The profile (``--profile``) remembers the target, the context and the credential source (file
paths, never passwords); access and refresh tokens go to the OS keyring or the 0600
credentials file (:mod:`ksefkit.cli.credentials`). Nothing here prints a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ConfigurationError, KsefError
from ..models import AuthenticationContextIdentifier, AuthenticationListItem
from . import _credential, profiles
from . import credentials as creds
from ._context import (
    CONTEXT_ENV_VARS,
    Settings,
    authenticated_client,
    new_client,
    settings_of,
)
from ._errors import NotLoggedIn
from ._output import Output, fmt_time

__all__ = ["app"]

app = typer.Typer(
    help="Log in to KSeF (KSeF token, certificate, PKCS#12, test seal); auth sessions."
)


class SubjectType(StrEnum):
    CERTIFICATE_SUBJECT = "certificateSubject"
    CERTIFICATE_FINGERPRINT = "certificateFingerprint"


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
    token: Annotated[
        bool,
        typer.Option(
            "--token",
            help="Log in with a KSeF token read from KSEF_TOKEN, the saved token or a hidden "
            "prompt (never from the command line).",
        ),
    ] = False,
    cert: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="PEM certificate (with --key) for XAdES login."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="PEM private key of --cert; if encrypted, its password comes from "
            "KSEF_KEY_PASSWORD or a hidden prompt.",
        ),
    ] = None,
    p12: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="PKCS#12 bundle (.p12/.pfx); password from KSEF_P12_PASSWORD or a hidden prompt.",
        ),
    ] = None,
    test_cert: Annotated[
        bool,
        typer.Option(
            "--test-cert",
            help="Self-signed test company seal for --nip, made once and reused "
            "(TEST and the emulator only).",
        ),
    ] = False,
    subject_type: Annotated[
        SubjectType | None,
        typer.Option(help="XAdES: who you are - the certificate subject or its fingerprint."),
    ] = None,
    enforce_xades_compliance: Annotated[
        bool,
        typer.Option(
            "--enforce-xades-compliance", help="XAdES: ask KSeF to enforce strict XAdES compliance."
        ),
    ] = False,
    verify_certificate_chain: Annotated[
        bool,
        typer.Option(
            "--verify-certificate-chain",
            help="XAdES: make TEST verify the certificate chain as PROD does.",
        ),
    ] = False,
    save_token: Annotated[
        bool,
        typer.Option(
            "--save-token",
            help="Keep the KSeF token (OS keyring, else the 0600 credentials file) so the "
            "profile can log in again without it.",
        ),
    ] = False,
) -> None:
    """Authenticate in one context and keep the login in the profile (--profile)."""
    settings = settings_of(ctx)
    profile = profiles.get(settings.profile) or profiles.Profile(settings.profile)
    context = _one_context(
        profile, nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
    )
    nip_value = context.value if context.type == "Nip" else None
    credential = _credential_of(
        settings, profile, nip_value, token=token, cert=cert, key=key, p12=p12, test=test_cert
    )
    if save_token and credential.kind != "token":
        raise typer.BadParameter("--save-token goes with a KSeF token login")
    subject = subject_type.value if subject_type else profile.subject_type
    with new_client(settings) as client:
        result = client.authenticate(
            credential.secret,
            context=context,
            subject_identifier_type=subject or SubjectType.CERTIFICATE_SUBJECT.value,
            enforce_xades_compliance=enforce_xades_compliance,
            verify_certificate_chain=True if verify_certificate_chain else None,
        )
        stored = creds.Credentials(
            base_url=client.base_url,
            environment=settings.environment.name if not settings.base_url else "custom",
            context=context,
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            auth_reference_number=result.reference_number,
        )
    path = creds.save(stored, settings.profile)
    if save_token and isinstance(credential.secret, str):
        creds.SecretStore().set(settings.profile, creds.KSEF_TOKEN, credential.secret)
    _remember(profile, settings, context, credential, subject_type)
    _show(settings.out, settings.profile, stored, path, profile=profile)


def _credential_of(
    settings: Settings,
    profile: profiles.Profile,
    nip: str | None,
    *,
    token: bool,
    cert: Path | None,
    key: Path | None,
    p12: Path | None,
    test: bool,
) -> _credential.Credential:
    """The one credential source given (or the profile's, or a KSeF token)."""
    if (cert is None) != (key is None):
        raise typer.BadParameter("--cert and --key go together")
    given = [name for name, on in (("--token", token), ("--cert/--key", cert), ("--p12", p12),
                                   ("--test-cert", test)) if on]  # fmt: skip
    if len(given) > 1:
        raise typer.BadParameter(f"give one credential source, not {' and '.join(given)}")
    if cert is not None and key is not None:
        return _credential.pem_signer(cert, key)
    if p12 is not None:
        return _credential.pkcs12_signer(p12)
    if test:
        if nip is None:
            raise typer.BadParameter("--test-cert makes a company seal: give the context --nip")
        return _credential.test_seal_signer(settings, nip)
    if not token:
        remembered = _credential.from_profile(profile, settings, nip)
        if remembered is not None:
            return remembered
    return _credential.ksef_token(profile.name)


def _remember(
    profile: profiles.Profile,
    settings: Settings,
    context: AuthenticationContextIdentifier,
    credential: _credential.Credential,
    subject_type: SubjectType | None,
) -> None:
    """Write the profile: target, context, credential source (paths only)."""
    profile.environment = settings.environment.name
    profile.base_url = settings.base_url
    profile.ca_file = str(settings.ca_file.resolve()) if settings.ca_file else profile.ca_file
    profile.set_context(context)
    credential.remember(profile)
    if subject_type is not None:
        profile.subject_type = subject_type.value
    profiles.save(profile)


@app.command()
def status(ctx: typer.Context) -> None:
    """Show whether the profile is logged in, where, in which context and until when."""
    settings = settings_of(ctx)
    stored = creds.load(settings.profile)
    if stored is None:
        raise NotLoggedIn(f"profile {settings.profile} is not logged in: run `ksefkit auth login`")
    if stored.refresh_token.valid_until <= datetime.now(UTC):
        raise NotLoggedIn(
            f"the login of profile {settings.profile} expired at "
            f"{stored.refresh_token.valid_until.isoformat()}: run `ksefkit auth login`"
        )
    profile = profiles.get(settings.profile)
    _show(settings.out, settings.profile, stored, creds.credentials_path(), profile=profile)


@app.command()
def logout(
    ctx: typer.Context,
    local_only: Annotated[
        bool,
        typer.Option(
            "--local-only", help="Only forget the tokens here; do not revoke the session on KSeF."
        ),
    ] = False,
) -> None:
    """Revoke the current authentication session on KSeF (when reachable) and forget its
    tokens. The profile and a saved KSeF token stay (`ksefkit profile delete` removes them)."""
    settings = settings_of(ctx)
    out = settings.out
    revoked = False if local_only else _revoke_on_server(settings)
    removed = creds.delete(settings.profile)
    name = settings.profile
    out.line(f"logged out of profile {name}" if removed else f"profile {name}: not logged in")
    if out.json_mode:
        out.emit_json({"profile": name, "loggedOut": removed, "sessionRevoked": revoked})


def _revoke_on_server(settings: Settings) -> bool:
    """Best effort: a login that is gone or a server that is unreachable does not stop logout."""
    stored = creds.load(settings.profile)
    if stored is None:
        return False
    try:
        with new_client(
            settings,
            base_url=stored.base_url,
            access_token=stored.access_token,
            refresh_token=stored.refresh_token,
        ) as client:
            client.auth.revoke_current_session()
    except (KsefError, ConfigurationError) as exc:
        settings.out.note(f"could not revoke the session on KSeF: {' '.join(str(exc).split())}")
        return False
    settings.out.line("revoked the authentication session on KSeF")
    return True


@app.command()
def sessions(
    ctx: typer.Context,
    revoke: Annotated[
        str | None,
        typer.Option(metavar="REF", help="Revoke this authentication session."),
    ] = None,
    revoke_current: Annotated[
        bool,
        typer.Option("--revoke-current", help="Revoke the session of this login (like logout)."),
    ] = False,
    page_size: Annotated[
        int | None, typer.Option(min=10, max=100, help="Items per KSeF page (10-100).")
    ] = None,
) -> None:
    """List the authentication sessions of the context (all pages), or revoke one."""
    settings = settings_of(ctx)
    out = settings.out
    if revoke and revoke_current:
        raise typer.BadParameter("give --revoke REF or --revoke-current, not both")
    with authenticated_client(settings) as client:
        if revoke_current:
            client.auth.revoke_current_session()
        elif revoke:
            client.auth.revoke_session(revoke)
        else:
            _show_sessions(out, list(client.auth.sessions(page_size=page_size)))
            return
    what = "the current session" if revoke_current else revoke
    out.line(f"revoked {what}: its refresh token no longer works")
    if out.json_mode:
        out.emit_json({"revoked": "current" if revoke_current else revoke})


def _show_sessions(out: Output, items: list[AuthenticationListItem]) -> None:
    out.table(
        "Authentication sessions",
        ["auth ref", "current", "started", "method", "status", "refresh valid until"],
        [
            [
                i.reference_number,
                "*" if i.is_current else "",
                fmt_time(i.start_date),
                i.authentication_method_info.display_name,
                f"{i.status.code} {i.status.description}",
                fmt_time(i.refresh_token_valid_until),
            ]
            for i in items
        ],
    )
    if out.json_mode:
        out.emit_json([i.to_wire() for i in items])


def _one_context(profile: profiles.Profile, **given: str | None) -> AuthenticationContextIdentifier:
    chosen = [(profiles.CONTEXT_KEYS[key], value.strip()) for key, value in given.items() if value]
    if not chosen and profile.context is not None:
        return profile.context
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one context: --nip, --internal-id, --nip-vat-ue or --peppol-id "
            "(or KSEF_NIP / KSEF_INTERNAL_ID / KSEF_NIP_VAT_UE / KSEF_PEPPOL_ID)"
        )
    kind, value = chosen[0]
    return AuthenticationContextIdentifier(type=kind, value=value)


def _show(
    out: Output,
    name: str,
    stored: creds.Credentials,
    path: Path,
    *,
    profile: profiles.Profile | None,
) -> None:
    now = datetime.now(UTC)
    access_left = stored.access_token.valid_until - now
    credential = profile.credential if profile and profile.credential else "-"
    secrets = creds.logged_in_profiles().get(name, {}).get("secretStore", "-")
    out.line("[green]✓[/green] logged in")
    out.fields(
        [
            ("profile", name),
            ("context", f"{stored.context.type} {stored.context.value}"),
            ("api", stored.base_url),
            ("credential", credential),
            (
                "access token valid until",
                _until(stored.access_token.valid_until, access_left.total_seconds()),
            ),
            ("login valid until", stored.refresh_token.valid_until.isoformat()),
            ("tokens kept in", _where(secrets, path)),
        ]
    )
    if out.json_mode:
        document: dict[str, Any] = {
            "loggedIn": True,
            "profile": name,
            "credential": credential,
            "secretStore": secrets,
            "credentialsFile": str(path),
            **stored.public_summary(),
        }
        out.emit_json(document)


def _where(store: str, path: Path) -> str:
    return f"the OS keyring (service {creds.KEYRING_SERVICE})" if store == "keyring" else str(path)


def _until(when: datetime, seconds_left: float) -> str:
    if seconds_left <= 0:
        return f"{when.isoformat()} (expired; refreshed automatically on next use)"
    return f"{when.isoformat()} ({int(seconds_left // 60)} min left)"
