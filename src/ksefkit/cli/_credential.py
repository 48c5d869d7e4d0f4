"""Credential sources of ``ksefkit auth login``: a KSeF token, PEM cert + key, PKCS#12, or a
generated test seal. Secrets (the token, key passwords) come from environment variables or a
hidden prompt only — never from a command-line value — and are never printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer
from cryptography.hazmat.primitives.serialization import pkcs12

from .._config import Environment
from ..errors import ConfigurationError
from ..xades import XadesSigner
from . import credentials as creds
from ._context import TOKEN_ENV_VAR, Settings, api_url
from .profiles import Profile

__all__ = [
    "KEY_PASSWORD_ENV_VAR",
    "P12_PASSWORD_ENV_VAR",
    "Credential",
    "from_profile",
    "ksef_token",
    "pem_signer",
    "pkcs12_signer",
    "test_seal_signer",
]

KEY_PASSWORD_ENV_VAR = "KSEF_KEY_PASSWORD"  # noqa: S105 - the variable's name
P12_PASSWORD_ENV_VAR = "KSEF_P12_PASSWORD"  # noqa: S105 - the variable's name
TEST_CERT_DIR = "test-certs"


@dataclass
class Credential:
    """What to authenticate with, and how the profile remembers it (paths, never secrets)."""

    kind: str  # token | cert | p12 | test-cert
    secret: str | XadesSigner
    cert: Path | None = None
    key: Path | None = None
    p12: Path | None = None

    def remember(self, profile: Profile) -> None:
        profile.credential = self.kind
        profile.cert = str(self.cert.resolve()) if self.cert else None
        profile.key = str(self.key.resolve()) if self.key else None
        profile.p12 = str(self.p12.resolve()) if self.p12 else None


def ksef_token(profile_name: str) -> Credential:
    """KSEF_TOKEN, else the token saved for the profile, else a hidden prompt."""
    token = os.environ.get(TOKEN_ENV_VAR) or creds.SecretStore().get(profile_name, creds.KSEF_TOKEN)
    if not token:
        token = typer.prompt("KSeF token", hide_input=True)
    return Credential("token", token.strip())


def pem_signer(cert: Path, key: Path) -> Credential:
    """A PEM certificate and key; an encrypted key's password from KSEF_KEY_PASSWORD or a prompt."""
    key_bytes = _read(key, "private key")
    password, source = None, None
    if b"ENCRYPTED" in key_bytes:  # PKCS#8 "ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED"
        password, source = _password(KEY_PASSWORD_ENV_VAR, f"Password of {key.name}")
    try:
        signer = XadesSigner.from_pem(_read(cert, "certificate"), key_bytes, password)
    except ConfigurationError as exc:
        raise _unreadable(key, exc, source) from None
    return Credential("cert", signer, cert=cert, key=key)


def pkcs12_signer(path: Path) -> Credential:
    """A PKCS#12 bundle; its password from KSEF_P12_PASSWORD or a prompt (unless it has none)."""
    data = _read(path, "PKCS#12 bundle")
    password, source = None, None
    if not _p12_opens_without_password(data):
        password, source = _password(P12_PASSWORD_ENV_VAR, f"Password of {path.name}")
    try:
        signer = XadesSigner.from_pkcs12(data, password)
    except ConfigurationError as exc:
        raise _unreadable(path, exc, source) from None
    return Credential("p12", signer, p12=path)


def test_seal_signer(settings: Settings, nip: str) -> Credential:
    """A self-signed company seal for ``nip`` (TEST and the emulator only), made once and kept
    under the config directory so later logins are the same identity."""
    url = api_url(settings).rstrip("/")
    if url in (Environment.DEMO.api_url, Environment.PROD.api_url):
        raise ConfigurationError(
            f"--test-cert works only on TEST or the emulator, not on {url}: "
            "self-signed certificates are refused there"
        )
    from .. import testcerts

    directory = creds.config_dir() / TEST_CERT_DIR
    cert = directory / f"seal-{nip}.crt.pem"
    key = directory / f"seal-{nip}.key.pem"
    if not (cert.exists() and key.exists()):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert, key = testcerts.company_seal(nip).save(directory, name=f"seal-{nip}")
    return Credential("test-cert", XadesSigner.from_files(cert, key), cert=cert, key=key)


def from_profile(profile: Profile, settings: Settings, nip: str | None) -> Credential | None:
    """The profile's remembered credential (None when it has none)."""
    if profile.credential == "token":
        return ksef_token(profile.name)
    if profile.credential == "cert" and profile.cert and profile.key:
        return pem_signer(Path(profile.cert), Path(profile.key))
    if profile.credential == "p12" and profile.p12:
        return pkcs12_signer(Path(profile.p12))
    if profile.credential == "test-cert":
        if not nip:
            raise ConfigurationError("a test certificate needs a NIP context (--nip)")
        return test_seal_signer(settings, nip)
    return None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} {path}: {exc.strerror}") from None


def _password(env_var: str, prompt: str) -> tuple[str, str]:
    """The password and where it came from (for the error message, never the value)."""
    from_env = os.environ.get(env_var)
    if from_env is not None:
        return from_env, env_var
    answer: str = typer.prompt(prompt, hide_input=True)
    return answer, "the prompt"


def _p12_opens_without_password(data: bytes) -> bool:
    try:
        pkcs12.load_key_and_certificates(data, None)
    except (ValueError, TypeError):
        return False
    return True


def _unreadable(path: Path, error: ConfigurationError, source: str | None) -> ConfigurationError:
    hint = f" (is the password from {source} right?)" if source else ""
    return ConfigurationError(f"{path}: {error}{hint}")
