"""``ksefkit auth``: login against the emulator, the 0600 credentials file, status, logout."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from ksefkit.cli import credentials
from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import SeededSubject


def test_login_keeps_tokens_in_the_keyring_and_never_prints_them(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path, memory_keyring: Any
) -> None:
    result = cli.login(emulator, subject)
    path = config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads(path.read_text())["logins"]["default"]
    assert record["context"] == {"type": "Nip", "value": subject.nip}
    assert record["baseUrl"] == emulator.api_url
    assert record["secretStore"] == "keyring"
    access = memory_keyring.items[("ksefkit", "default/access-token")]
    refresh = memory_keyring.items[("ksefkit", "default/refresh-token")]
    assert len(access) > 20
    assert len(refresh) > 20
    files = path.read_text() + (config_dir / "profiles.toml").read_text()
    for secret in (subject.token, access, refresh):
        assert secret not in result.output
        assert secret not in files
    assert subject.nip in result.stdout
    assert "logged in" in result.stdout


def test_login_with_hidden_prompt(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    result = cli(
        "--base-url",
        emulator.api_url,
        "auth",
        "login",
        "--nip",
        subject.nip,
        input=subject.token + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "KSeF token" in result.output  # the prompt was shown ...
    assert subject.token not in result.output  # ... and the answer was not echoed
    assert (config_dir / "credentials.json").exists()


def test_login_json_output_has_validity_but_no_tokens(
    cli: Any, emulator: Any, subject: SeededSubject
) -> None:
    result = cli(
        "--json",
        "--base-url",
        emulator.api_url,
        "auth",
        "login",
        env={"KSEF_TOKEN": subject.token, "KSEF_NIP": subject.nip},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["loggedIn"] is True
    assert document["context"] == {"type": "Nip", "value": subject.nip}
    assert "refreshTokenValidUntil" in document
    assert "accessToken" not in document
    assert "refreshToken" not in document
    assert subject.token not in result.stdout


def test_wrong_token_is_exit_3_and_stores_nothing(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    wrong = subject.token[:-4] + ("0000" if not subject.token.endswith("0000") else "1111")
    result = cli(
        "--base-url",
        emulator.api_url,
        "auth",
        "login",
        "--nip",
        subject.nip,
        env={"KSEF_TOKEN": wrong},
    )
    assert result.exit_code == ExitCode.AUTH, result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert wrong not in result.output
    assert not (config_dir / "credentials.json").exists()
    assert not (config_dir / "profiles.toml").exists()


def test_login_needs_exactly_one_context(cli: Any, emulator: Any) -> None:
    result = cli(
        "--base-url",
        emulator.api_url,
        "auth",
        "login",
        "--nip",
        "5265877635",
        "--internal-id",
        "5265877635-00001",
        env={"KSEF_TOKEN": "x"},
    )
    assert result.exit_code == ExitCode.USAGE
    none_given = cli("--base-url", emulator.api_url, "auth", "login")
    assert none_given.exit_code == ExitCode.USAGE


def test_status_and_logout(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    assert cli("auth", "status").exit_code == ExitCode.AUTH
    cli.login(emulator, subject)
    status = cli("auth", "status")
    assert status.exit_code == 0
    assert subject.nip in status.stdout
    assert "valid until" in status.stdout
    status_json = json.loads(cli("--json", "auth", "status").stdout)
    assert status_json["baseUrl"] == emulator.api_url
    logout = cli("auth", "logout")
    assert logout.exit_code == 0, logout.output
    assert "revoked the authentication session on KSeF" in logout.stdout
    assert credentials.load() is None
    assert cli("auth", "status").exit_code == ExitCode.AUTH
    assert "not logged in" in cli("auth", "logout").stdout


def test_stored_login_for_another_environment_is_refused(
    cli: Any, emulator: Any, subject: SeededSubject
) -> None:
    cli.login(emulator, subject)
    result = cli("--env", "DEMO", "session", "list")
    assert result.exit_code == ExitCode.AUTH
    assert "api-demo.ksef.mf.gov.pl" in result.stderr


def test_revoked_tokens_give_exit_3(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    cli.login(emulator, subject)
    stored = credentials.load()
    assert stored is not None
    bogus = stored.access_token.model_copy(update={"token": "not-a-jwt"})
    credentials.save(
        credentials.Credentials(
            base_url=stored.base_url,
            environment=stored.environment,
            context=stored.context,
            access_token=bogus,
            refresh_token=stored.refresh_token.model_copy(update={"token": "not-a-jwt"}),
        )
    )
    result = cli("session", "list")
    assert result.exit_code == ExitCode.AUTH, result.output
    assert "HTTP 401" in result.stderr
