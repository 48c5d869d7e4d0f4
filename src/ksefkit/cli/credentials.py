"""Stored logins per profile and the secrets behind them (OS keyring, else a 0600 file).

Two kinds of data, kept apart:

* the **login record** of a profile (API URL, environment, context, authentication reference
  number, validity of the tokens) — not secret; in ``credentials.json``;
* the **secrets** (access token, refresh token, optionally a saved KSeF token) — in the OS
  keyring (service ``ksefkit``, user ``<profile>/<name>``) when the ``keyring`` package has a
  usable backend, else in the ``secrets`` section of the same ``credentials.json``.

``credentials.json`` lives in the config directory — ``$KSEFKIT_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/ksefkit``, else ``~/.config/ksefkit`` — and is always written atomically
with mode 0600 (directory 0700), because it may hold the fallback secrets. Set
``KSEFKIT_KEYRING=off`` to keep secrets out of the keyring (headless servers, CI);
``PYTHON_KEYRING_BACKEND`` is honoured on every call. Nothing here prints a secret.

File format (version 2; a version-1 file, one login with its tokens, reads as profile
``default``)::

    {"version": 2,
     "logins": {"default": {"baseUrl": ..., "environment": ..., "context": {...},
                            "authReferenceNumber": ..., "accessTokenValidUntil": ...,
                            "refreshTokenValidUntil": ..., "savedAt": ..., "secretStore": ...}},
     "secrets": {"default": {"access-token": ..., "refresh-token": ...}}}
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import ConfigurationError
from ..models import AuthenticationContextIdentifier, TokenInfo

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "ACCESS_TOKEN",
    "DEFAULT_PROFILE",
    "ENV_CONFIG_DIR",
    "ENV_KEYRING",
    "KSEF_TOKEN",
    "REFRESH_TOKEN",
    "Credentials",
    "SecretStore",
    "config_dir",
    "credentials_path",
    "delete",
    "load",
    "logged_in_profiles",
    "save",
]

ENV_CONFIG_DIR = "KSEFKIT_CONFIG_DIR"
ENV_KEYRING = "KSEFKIT_KEYRING"
FILE_NAME = "credentials.json"
FORMAT_VERSION = 2
DEFAULT_PROFILE = "default"
KEYRING_SERVICE = "ksefkit"

# Names of the secrets of a profile (keyring user ``<profile>/<name>``); not secrets themselves.
ACCESS_TOKEN = "access-token"  # noqa: S105
REFRESH_TOKEN = "refresh-token"  # noqa: S105
KSEF_TOKEN = "ksef-token"  # noqa: S105


@dataclass(frozen=True)
class Credentials:
    """A stored login (``repr`` never shows the tokens: TokenInfo hides them)."""

    base_url: str
    environment: str
    context: AuthenticationContextIdentifier
    access_token: TokenInfo
    refresh_token: TokenInfo
    auth_reference_number: str | None = None
    saved_at: datetime | None = None

    def record(self, secret_store: str) -> dict[str, Any]:
        """The login record: everything but the tokens themselves."""
        return {
            **self.public_summary(),
            "savedAt": (self.saved_at or datetime.now(UTC)).isoformat(),
            "secretStore": secret_store,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any], access: str, refresh: str) -> Credentials:
        return cls(
            base_url=str(data["baseUrl"]),
            environment=str(data.get("environment") or ""),
            context=AuthenticationContextIdentifier.model_validate(data["context"]),
            access_token=TokenInfo(token=access, valid_until=data["accessTokenValidUntil"]),
            refresh_token=TokenInfo(token=refresh, valid_until=data["refreshTokenValidUntil"]),
            auth_reference_number=data.get("authReferenceNumber"),
            saved_at=datetime.fromisoformat(data["savedAt"]) if data.get("savedAt") else None,
        )

    def public_summary(self) -> dict[str, Any]:
        """What may be shown: everything but the tokens themselves."""
        return {
            "baseUrl": self.base_url,
            "environment": self.environment,
            "context": self.context.to_wire(),
            "authReferenceNumber": self.auth_reference_number,
            "accessTokenValidUntil": self.access_token.valid_until.isoformat(),
            "refreshTokenValidUntil": self.refresh_token.valid_until.isoformat(),
        }


def config_dir() -> Path:
    """ksefkit's config directory (see the module docstring)."""
    explicit = os.environ.get(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "ksefkit"


def credentials_path() -> Path:
    """Where login records (and fallback secrets) live."""
    return config_dir() / FILE_NAME


# -- the file --------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    """The file as version 2 (empty if missing). A damaged file is a configuration error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not an object")
        return data if data.get("version") == FORMAT_VERSION else _upgrade_v1(data)
    except FileNotFoundError:
        return {"version": FORMAT_VERSION, "logins": {}, "secrets": {}}
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(path, exc) from None


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    record = {
        key: data.get(key) for key in ("baseUrl", "environment", "context", "authReferenceNumber")
    }
    record["accessTokenValidUntil"] = data["accessToken"]["validUntil"]
    record["refreshTokenValidUntil"] = data["refreshToken"]["validUntil"]
    record["savedAt"] = data.get("savedAt")
    record["secretStore"] = "file"
    secrets = {
        ACCESS_TOKEN: data["accessToken"]["token"],
        REFRESH_TOKEN: data["refreshToken"]["token"],
    }
    return {
        "version": FORMAT_VERSION,
        "logins": {DEFAULT_PROFILE: record},
        "secrets": {DEFAULT_PROFILE: secrets},
    }


def _damaged(path: Path, exc: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"the credentials file {path} is damaged ({type(exc).__name__}); "
        "run `ksefkit auth logout` and log in again"
    )


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically; mkstemp creates it 0600 before any secret is written."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps(data, indent=2).encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    section = data.setdefault(name, {})
    if not isinstance(section, dict):
        raise TypeError(f"{name} is not an object")
    return section


# -- secrets ---------------------------------------------------------------------------------


def _usable_keyring() -> KeyringBackend | None:
    """The keyring backend to use, or None (no package, disabled, or no real backend)."""
    if os.environ.get(ENV_KEYRING, "").strip().lower() in ("0", "off", "no", "false", "file"):
        return None
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.core.load_env() or keyring.get_keyring()
    except Exception:  # an unloadable PYTHON_KEYRING_BACKEND, a broken backend
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    return backend


class SecretStore:
    """Secrets of profiles: the OS keyring if usable, else the 0600 credentials file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or credentials_path()

    @property
    def backend(self) -> str:
        """Where new secrets go: ``keyring (<backend>)`` or ``file <path>``."""
        found = _usable_keyring()
        if found is None:
            return f"file {self.path}"
        return f"keyring ({type(found).__module__}.{type(found).__name__})"

    def get(self, profile: str, name: str) -> str | None:
        found = _usable_keyring()
        if found is not None:
            try:
                value = found.get_password(KEYRING_SERVICE, f"{profile}/{name}")
            except Exception:  # a locked or broken keyring: look in the file
                value = None
            if value:
                return value
        stored = _section(_read(self.path), "secrets").get(profile, {}).get(name)
        return str(stored) if stored else None

    def set(self, profile: str, name: str, value: str) -> str:
        """Store a secret; returns ``"keyring"`` or ``"file"`` (where it went)."""
        found = _usable_keyring()
        if found is not None:
            try:
                found.set_password(KEYRING_SERVICE, f"{profile}/{name}", value)
            except Exception:  # e.g. a locked keyring or a value too long for it
                found = None
            else:
                self._file_delete(profile, name)
                return "keyring"
        data = _read(self.path)
        _section(data, "secrets").setdefault(profile, {})[name] = value
        _write(self.path, data)
        return "file"

    def delete(self, profile: str, name: str) -> None:
        found = _usable_keyring()
        if found is not None:
            # not there (PasswordDeleteError) or not reachable: the file copy still goes
            with contextlib.suppress(Exception):
                found.delete_password(KEYRING_SERVICE, f"{profile}/{name}")
        self._file_delete(profile, name)

    def _file_delete(self, profile: str, name: str) -> None:
        data = _read(self.path)
        secrets = _section(data, "secrets")
        if name not in secrets.get(profile, {}):
            return
        del secrets[profile][name]
        if not secrets[profile]:
            del secrets[profile]
        _write(self.path, data)


# -- logins ----------------------------------------------------------------------------------


def load(profile: str = DEFAULT_PROFILE, *, path: Path | None = None) -> Credentials | None:
    """The stored login of a profile, or None (none, or its secrets are gone)."""
    path = path or credentials_path()
    record = _section(_read(path), "logins").get(profile)
    if record is None:
        return None
    store = SecretStore(path)
    access, refresh = store.get(profile, ACCESS_TOKEN), store.get(profile, REFRESH_TOKEN)
    if not access or not refresh:
        return None
    try:
        return Credentials.from_record(record, access, refresh)
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise _damaged(path, exc) from None


def save(
    credentials: Credentials, profile: str = DEFAULT_PROFILE, *, path: Path | None = None
) -> Path:
    """Store a login: the tokens in the secret store, the record in the 0600 file."""
    path = path or credentials_path()
    store = SecretStore(path)
    places = {
        store.set(profile, ACCESS_TOKEN, credentials.access_token.token),
        store.set(profile, REFRESH_TOKEN, credentials.refresh_token.token),
    }
    where = "keyring" if places == {"keyring"} else "file"
    data = _read(path)
    _section(data, "logins")[profile] = credentials.record(where)
    _write(path, data)
    return path


def delete(profile: str = DEFAULT_PROFILE, *, path: Path | None = None) -> bool:
    """Forget a profile's login and its session tokens; False if there was none."""
    path = path or credentials_path()
    if not path.exists():
        return False
    store = SecretStore(path)
    store.delete(profile, ACCESS_TOKEN)
    store.delete(profile, REFRESH_TOKEN)
    data = _read(path)
    existed = _section(data, "logins").pop(profile, None) is not None
    if existed:
        _write(path, data)
    return existed


def logged_in_profiles(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The login records by profile (no secrets)."""
    logins = _section(_read(path or credentials_path()), "logins")
    return {name: dict(record) for name, record in logins.items()}
