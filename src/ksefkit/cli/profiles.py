"""Named profiles: where to connect, in which context, with which credential — never secrets.

``profiles.toml`` lives in the config directory (``$KSEFKIT_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/ksefkit``, else ``~/.config/ksefkit``), one table per profile::

    [profiles.default]
    environment = "TEST"                       # TEST | DEMO | PROD | LOCAL
    base_url = "http://127.0.0.1:8765/v2"      # optional, overrides environment
    ca_file = "/path/ca.pem"                   # optional
    nip = "5265877635"                         # or internal_id / nip_vat_ue / peppol_id
    credential = "cert"                        # token | cert | p12 | test-cert
    cert = "/path/seal.pem"                    # cert / test-cert
    key = "/path/seal.key"                     # cert / test-cert
    p12 = "/path/seal.p12"                     # p12
    subject_type = "certificateSubject"        # or certificateFingerprint

Passwords, KSeF tokens and session tokens are never written here: they live in the OS
keyring or the 0600 credentials file (see :mod:`ksefkit.cli.credentials`). The file is
rewritten whole by ``ksefkit auth login`` and ``ksefkit profile set|delete``; it is plain
TOML and may be edited by hand (unknown keys are kept).
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..models import AuthenticationContextIdentifier
from .credentials import config_dir

__all__ = [
    "CONTEXT_KEYS",
    "CREDENTIAL_KINDS",
    "Profile",
    "delete",
    "get",
    "load_all",
    "profiles_path",
    "save",
    "validate_name",
]

FILE_NAME = "profiles.toml"
CREDENTIAL_KINDS = ("token", "cert", "p12", "test-cert")
#: profile key -> KSeF context type
CONTEXT_KEYS = {
    "nip": "Nip",
    "internal_id": "InternalId",
    "nip_vat_ue": "NipVatUe",
    "peppol_id": "PeppolId",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class Profile:
    """One profile. ``None`` means not set (the global options or their defaults apply)."""

    name: str
    environment: str | None = None
    base_url: str | None = None
    ca_file: str | None = None
    nip: str | None = None
    internal_id: str | None = None
    nip_vat_ue: str | None = None
    peppol_id: str | None = None
    credential: str | None = None
    cert: str | None = None
    key: str | None = None
    p12: str | None = None
    subject_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def context(self) -> AuthenticationContextIdentifier | None:
        """The profile's context (the first of nip, internal_id, ... that is set)."""
        for key, kind in CONTEXT_KEYS.items():
            value = getattr(self, key)
            if value:
                return AuthenticationContextIdentifier(type=kind, value=value)
        return None

    def set_context(self, context: AuthenticationContextIdentifier) -> None:
        for key, kind in CONTEXT_KEYS.items():
            setattr(self, key, context.value if kind == context.type else None)

    def to_table(self) -> dict[str, Any]:
        """The profile's TOML table (unset keys left out)."""
        table = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("name", "extra") and getattr(self, f.name) is not None
        }
        return {**self.extra, **table}

    @classmethod
    def from_table(cls, name: str, table: dict[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)} - {"name", "extra"}
        values = {k: str(v) for k, v in table.items() if k in known and v is not None}
        extra = {k: v for k, v in table.items() if k not in known}
        return cls(name=name, extra=extra, **values)


def profiles_path() -> Path:
    return config_dir() / FILE_NAME


def validate_name(name: str) -> str:
    """A profile name: letters, digits, ``_ . -``, at most 64 characters."""
    if not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"bad profile name {name!r}: use letters, digits, '_', '.', '-' (max 64)"
        )
    return name


def load_all(path: Path | None = None) -> dict[str, Profile]:
    """Every profile by name (none if the file does not exist)."""
    path = path or profiles_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"the profiles file {path} is not valid TOML: {exc}") from None
    tables = data.get("profiles", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigurationError(f"the profiles file {path}: [profiles.NAME] tables expected")
    return {name: Profile.from_table(name, table) for name, table in tables.items()}


def get(name: str, path: Path | None = None) -> Profile | None:
    return load_all(path).get(name)


def save(profile: Profile, path: Path | None = None) -> Path:
    """Add or replace one profile."""
    path = path or profiles_path()
    profiles = load_all(path)
    profiles[validate_name(profile.name)] = profile
    _write(path, profiles)
    return path


def delete(name: str, path: Path | None = None) -> bool:
    path = path or profiles_path()
    profiles = load_all(path)
    if profiles.pop(name, None) is None:
        return False
    _write(path, profiles)
    return True


def _write(path: Path, profiles: dict[str, Profile]) -> None:
    lines = [
        "# ksefkit profiles (`ksefkit profile --help`). No secrets here: tokens and",
        "# passwords live in the OS keyring or the 0600 credentials.json next to this file.",
    ]
    for name in sorted(profiles):
        lines += ["", f"[profiles.{_toml_string(name)}]"]
        lines += [
            f"{key} = {_toml_value(value)}" for key, value in profiles[name].to_table().items()
        ]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".profiles-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return _toml_string(str(value))


def _toml_string(text: str) -> str:
    """A TOML basic string (backslash, quote and control characters escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(_escape_control(c) for c in escaped) + '"'


def _escape_control(char: str) -> str:
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\u{code:04X}")
    return char
