"""``ksefkit profile``: list, show, set and delete named profiles.

A profile (see :mod:`ksefkit.cli.profiles` for the ``profiles.toml`` format) remembers the
target (environment / base URL / CA file), the context and the credential source (kind and
file paths). ``ksefkit auth login`` writes the profile it logs in with; ``profile set`` edits
one without logging in. Select a profile with ``--profile NAME`` or ``KSEF_PROFILE``.
Secrets are never part of a profile.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from .._config import Environment
from ..errors import ConfigurationError
from ..models import AuthenticationContextIdentifier
from . import credentials as creds
from . import profiles
from ._context import settings_of
from ._output import Output
from .auth import SubjectType

__all__ = ["app"]

app = typer.Typer(help="Named profiles: target, context and credential source (no secrets).")


@app.command("list")
def list_profiles(ctx: typer.Context) -> None:
    """Every profile, which one is selected, and whether it is logged in."""
    settings = settings_of(ctx)
    found = profiles.load_all()
    logins = creds.logged_in_profiles()
    names = sorted(set(found) | set(logins))
    rows = [_row(name, found.get(name), logins.get(name), settings.profile) for name in names]
    settings.out.table(
        "Profiles", ["profile", "selected", "target", "context", "credential", "logged in"], rows
    )
    if not names:
        settings.out.line(f"no profiles yet ({profiles.profiles_path()}): run `ksefkit auth login`")
    if settings.out.json_mode:
        settings.out.emit_json(
            [_document(name, found.get(name), logins.get(name)) for name in names]
        )


@app.command()
def show(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Profile name (default: the selected profile).")
    ] = None,
) -> None:
    """One profile's settings and login state."""
    settings = settings_of(ctx)
    name = name or settings.profile
    found = profiles.get(name)
    login = creds.logged_in_profiles().get(name)
    if found is None and login is None:
        raise ConfigurationError(f"no profile {name} (in {profiles.profiles_path()})")
    document = _document(name, found, login)
    _print_fields(settings.out, document)
    if settings.out.json_mode:
        settings.out.emit_json(document)


@app.command("set")
def set_profile(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name (created if new).")],
    env: Annotated[str | None, typer.Option("--env", help="TEST, DEMO, PROD or LOCAL.")] = None,
    base_url: Annotated[str | None, typer.Option(help="API base URL (overrides --env).")] = None,
    ca_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="PEM CA file to trust.")
    ] = None,
    nip: Annotated[str | None, typer.Option(help="Context NIP.")] = None,
    internal_id: Annotated[str | None, typer.Option(help="Context internal id.")] = None,
    nip_vat_ue: Annotated[str | None, typer.Option(help="Context NIP-VAT-UE id.")] = None,
    peppol_id: Annotated[str | None, typer.Option(help="Context Peppol provider id.")] = None,
    credential: Annotated[
        str | None,
        typer.Option(help="Credential source: token, cert, p12 or test-cert."),
    ] = None,
    cert: Annotated[Path | None, typer.Option(dir_okay=False, help="PEM certificate.")] = None,
    key: Annotated[Path | None, typer.Option(dir_okay=False, help="PEM private key.")] = None,
    p12: Annotated[Path | None, typer.Option(dir_okay=False, help="PKCS#12 bundle.")] = None,
    subject_type: Annotated[
        SubjectType | None, typer.Option(help="XAdES subject identifier type.")
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY", help="Remove a key (e.g. base_url); repeatable."),
    ] = None,
) -> None:
    """Create or change a profile (no login; `ksefkit --profile NAME auth login` logs in)."""
    settings = settings_of(ctx)
    profile = profiles.get(name) or profiles.Profile(profiles.validate_name(name))
    for key_name in unset or ():
        _unset(profile, key_name)
    if env is not None:
        profile.environment = Environment.parse(env).name
    if credential is not None and credential not in profiles.CREDENTIAL_KINDS:
        raise typer.BadParameter(f"--credential: one of {', '.join(profiles.CREDENTIAL_KINDS)}")
    contexts = {"nip": nip, "internal_id": internal_id, "nip_vat_ue": nip_vat_ue,
                "peppol_id": peppol_id}  # fmt: skip
    given = {k: v.strip() for k, v in contexts.items() if v}
    if len(given) > 1:
        raise typer.BadParameter("give at most one context option")
    for context_key, value in given.items():
        profile.set_context(profile_context(context_key, value))
    changes: dict[str, Any] = {
        "base_url": base_url,
        "ca_file": str(ca_file.resolve()) if ca_file else None,
        "credential": credential,
        "cert": str(cert.resolve()) if cert else None,
        "key": str(key.resolve()) if key else None,
        "p12": str(p12.resolve()) if p12 else None,
        "subject_type": subject_type.value if subject_type else None,
    }
    for field_name, value in changes.items():
        if value is not None:
            setattr(profile, field_name, value)
    path = profiles.save(profile)
    settings.out.line(f"saved profile {name} in {path}")
    if settings.out.json_mode:
        settings.out.emit_json(_document(name, profile, creds.logged_in_profiles().get(name)))


@app.command()
def delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Profile name.")]) -> None:
    """Delete a profile with its login and every secret kept for it (a saved KSeF token too)."""
    settings = settings_of(ctx)
    had_login = creds.delete(name)
    creds.SecretStore().delete(name, creds.KSEF_TOKEN)
    had_profile = profiles.delete(name)
    if not (had_login or had_profile):
        raise ConfigurationError(f"no profile {name}")
    settings.out.line(f"deleted profile {name}")
    if settings.out.json_mode:
        settings.out.emit_json({"deleted": name})


def profile_context(key: str, value: str) -> AuthenticationContextIdentifier:
    return AuthenticationContextIdentifier(type=profiles.CONTEXT_KEYS[key], value=value)


def _unset(profile: profiles.Profile, key: str) -> None:
    if key in ("name", "extra") or not hasattr(profile, key):
        profile.extra.pop(key, None)
        return
    setattr(profile, key, None)


def _target(profile: profiles.Profile | None, login: dict[str, Any] | None) -> str:
    if profile is not None and (profile.base_url or profile.environment):
        return profile.base_url or str(profile.environment)
    return str(login.get("baseUrl", "-")) if login else "-"


def _context_text(profile: profiles.Profile | None, login: dict[str, Any] | None) -> str:
    if profile is not None and profile.context is not None:
        return f"{profile.context.type} {profile.context.value}"
    if login and isinstance(login.get("context"), dict):
        return f"{login['context'].get('type')} {login['context'].get('value')}"
    return "-"


def _login_text(login: dict[str, Any] | None) -> str:
    if not login:
        return "no"
    until = datetime.fromisoformat(str(login["refreshTokenValidUntil"]))
    return f"until {until.isoformat()}" if until > datetime.now(UTC) else "expired"


def _row(
    name: str, profile: profiles.Profile | None, login: dict[str, Any] | None, selected: str
) -> list[str]:
    return [
        name,
        "*" if name == selected else "",
        _target(profile, login),
        _context_text(profile, login),
        (profile.credential if profile else None) or "-",
        _login_text(login),
    ]


def _document(
    name: str, profile: profiles.Profile | None, login: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "profile": name,
        "settings": profile.to_table() if profile else {},
        "loggedIn": _login_text(login) not in ("no", "expired"),
        "login": login,
    }


def _print_fields(out: Output, document: dict[str, Any]) -> None:
    pairs = [("profile", str(document["profile"]))]
    pairs += [(key, str(value)) for key, value in document["settings"].items()]
    login = document["login"]
    pairs.append(("logged in", _login_text(login)))
    if login:
        pairs.append(("tokens kept in", str(login.get("secretStore", "-"))))
    out.fields(pairs)
