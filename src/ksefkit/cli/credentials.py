"""The stored login: access + refresh token, base URL and context in one 0600 JSON file.

The file lives at ``$KSEFKIT_CONFIG_DIR/credentials.json``, else
``$XDG_CONFIG_HOME/ksefkit/credentials.json``, else ``~/.config/ksefkit/credentials.json``.
It holds bearer tokens: it is created with mode 0600 (directory 0700) and replaced
atomically; nothing in the CLI ever prints the tokens.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigurationError
from ..models import AuthenticationContextIdentifier, TokenInfo

__all__ = ["ENV_CONFIG_DIR", "Credentials", "credentials_path", "delete", "load", "save"]

ENV_CONFIG_DIR = "KSEFKIT_CONFIG_DIR"
FILE_NAME = "credentials.json"
FORMAT_VERSION = 1


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

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "baseUrl": self.base_url,
            "environment": self.environment,
            "context": self.context.to_wire(),
            "authReferenceNumber": self.auth_reference_number,
            "accessToken": self.access_token.to_wire(),
            "refreshToken": self.refresh_token.to_wire(),
            "savedAt": (self.saved_at or datetime.now(UTC)).isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(
            base_url=str(data["baseUrl"]),
            environment=str(data.get("environment") or ""),
            context=AuthenticationContextIdentifier.model_validate(data["context"]),
            access_token=TokenInfo.model_validate(data["accessToken"]),
            refresh_token=TokenInfo.model_validate(data["refreshToken"]),
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


def credentials_path() -> Path:
    """Where the stored login lives (see the module docstring)."""
    explicit = os.environ.get(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit).expanduser() / FILE_NAME
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "ksefkit" / FILE_NAME


def load(path: Path | None = None) -> Credentials | None:
    """The stored login, or None if there is none. A damaged file is a configuration error."""
    path = path or credentials_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Credentials.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise ConfigurationError(
            f"the credentials file {path} is damaged ({type(exc).__name__}); "
            "run `ksefkit auth logout` and log in again"
        ) from None


def save(credentials: Credentials, path: Path | None = None) -> Path:
    """Write the login atomically with mode 0600 (its directory 0700 when created)."""
    path = path or credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps(credentials.to_json(), indent=2).encode("utf-8")
    # mkstemp creates the file with mode 0600 before any byte of the tokens is written.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def delete(path: Path | None = None) -> bool:
    """Remove the stored login; False if there was none."""
    path = path or credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
