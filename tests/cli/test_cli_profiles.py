"""Named profiles (``profiles.toml``), ``--profile``, and where secrets go: the OS keyring, or
the 0600 credentials file when no keyring backend is usable — never the profiles file."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path
from typing import Any

from ksefkit.cli import credentials, profiles
from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import SeededSubject

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _login(cli: Any, emulator: Any, subject: SeededSubject, *args: str, **env: str) -> Any:
    result = cli(
        "--base-url",
        emulator.api_url,
        *args,
        "auth",
        "login",
        "--nip",
        subject.nip,
        env={"KSEF_TOKEN": subject.token, **env},
    )
    assert result.exit_code == 0, result.output
    return result


def test_login_writes_a_profile_without_secrets(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    _login(cli, emulator, subject, "--profile", "acme")
    path = config_dir / "profiles.toml"
    table = tomllib.loads(path.read_text())["profiles"]["acme"]
    assert table == {
        "environment": "TEST",
        "base_url": emulator.api_url,
        "nip": subject.nip,
        "credential": "token",
    }
    assert subject.token not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_profiles_are_independent_logins(
    cli: Any, emulator: Any, config_dir: Path, memory_keyring: Any
) -> None:
    first, second = emulator.state.create_subject(), emulator.state.create_subject()
    _login(cli, emulator, first, "--profile", "first")
    _login(cli, emulator, second, "--profile", "second")
    one = json.loads(cli("--json", "--profile", "first", "auth", "status").stdout)
    two = json.loads(cli("--json", "auth", "status", env={"KSEF_PROFILE": "second"}).stdout)
    assert one["context"]["value"] == first.nip
    assert two["context"]["value"] == second.nip
    assert one["profile"] == "first"
    # no --base-url: the profile knows where to go
    assert cli("--profile", "first", "session", "list").exit_code == 0
    assert cli("auth", "status").exit_code == ExitCode.AUTH  # "default" is not logged in
    listing = json.loads(cli("--json", "profile", "list").stdout)
    assert [(p["profile"], p["loggedIn"]) for p in listing] == [("first", True), ("second", True)]
    assert cli("profile", "delete", "first").exit_code == 0
    assert ("ksefkit", "first/access-token") not in memory_keyring.items
    assert ("ksefkit", "second/access-token") in memory_keyring.items
    assert cli("--profile", "first", "auth", "status").exit_code == ExitCode.AUTH
    assert "first" not in profiles.load_all()


def test_profile_set_show_round_trip(cli: Any, config_dir: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "seal.pem", tmp_path / 'odd "name"\\key.pem'
    result = cli(
        "profile", "set", "work", "--env", "demo", "--nip", "5265877635",
        "--credential", "cert", "--cert", str(cert), "--key", str(key),
        "--subject-type", "certificateFingerprint",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("--json", "profile", "show", "work").stdout)
    assert shown["settings"] == {
        "environment": "DEMO",
        "nip": "5265877635",
        "credential": "cert",
        "cert": str(cert.resolve()),
        "key": str(key.resolve()),
        "subject_type": "certificateFingerprint",
    }
    assert shown["loggedIn"] is False
    # the file is TOML that other tools read back exactly
    raw = tomllib.loads((config_dir / "profiles.toml").read_text())
    assert raw["profiles"]["work"]["key"] == str(key.resolve())
    # switching the context replaces it; --unset removes a key
    cli("profile", "set", "work", "--internal-id", "5265877635-00001", "--unset", "cert")
    work = profiles.get("work")
    assert work is not None
    assert work.nip is None
    assert work.internal_id == "5265877635-00001"
    assert work.cert is None
    # the profile's environment is the run's target
    status = cli("--profile", "work", "session", "list")
    assert status.exit_code == ExitCode.AUTH
    human = cli("profile", "show", "work")
    assert "internal_id" in human.stdout
    assert "DEMO" in human.stdout


def test_profile_errors(cli: Any, config_dir: Path) -> None:
    assert cli("profile", "show", "nope").exit_code == ExitCode.CONFIG
    assert cli("profile", "delete", "nope").exit_code == ExitCode.CONFIG
    bad_name = cli("--profile", "../etc", "auth", "status")
    assert bad_name.exit_code == ExitCode.CONFIG
    assert bad_name.stderr.startswith("error: bad profile name")
    assert cli("profile", "set", "x", "--credential", "magic").exit_code == ExitCode.USAGE
    assert cli("profile", "set", "x", "--env", "MARS").exit_code == ExitCode.CONFIG
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles.toml").write_text("[profiles.x\n")
    damaged = cli("profile", "list")
    assert damaged.exit_code == ExitCode.CONFIG
    assert "not valid TOML" in damaged.stderr


def test_without_a_keyring_secrets_fall_back_to_the_0600_file(
    cli: Any,
    emulator: Any,
    subject: SeededSubject,
    config_dir: Path,
    memory_keyring: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv(*next(iter(NO_KEYRING.items())))
    result = _login(cli, emulator, subject, "--profile", "ci", KSEF_TOKEN=subject.token)
    assert memory_keyring.items == {}
    path = config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["logins"]["ci"]["secretStore"] == "file"
    access = data["secrets"]["ci"]["access-token"]
    refresh = data["secrets"]["ci"]["refresh-token"]
    profile_text = (config_dir / "profiles.toml").read_text()
    for secret in (access, refresh, subject.token):
        assert secret not in profile_text
        assert secret not in result.output
    assert str(path) in result.stdout  # "tokens kept in <file>"
    assert cli("--profile", "ci", "session", "list").exit_code == 0
    stored = credentials.load("ci")
    assert stored is not None
    assert stored.refresh_token.token == refresh


def test_keyring_can_be_switched_off(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path, memory_keyring: Any
) -> None:
    _login(cli, emulator, subject, KSEFKIT_KEYRING="off")
    assert memory_keyring.items == {}
    assert (
        "access-token"
        in json.loads((config_dir / "credentials.json").read_text())["secrets"]["default"]
    )


def test_save_token_lets_the_profile_log_in_again_without_it(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path, memory_keyring: Any
) -> None:
    result = cli(
        "--base-url", emulator.api_url, "--profile", "erp",
        "auth", "login", "--nip", subject.nip, "--token", "--save-token",
        input=subject.token + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert subject.token not in result.output
    assert memory_keyring.items[("ksefkit", "erp/ksef-token")] == subject.token
    assert subject.token not in (config_dir / "profiles.toml").read_text()
    assert subject.token not in (config_dir / "credentials.json").read_text()
    assert cli("--profile", "erp", "auth", "logout").exit_code == 0
    again = cli("--profile", "erp", "auth", "login")  # target, context, token: all remembered
    assert again.exit_code == 0, again.output
    assert "KSeF token" not in again.output  # no prompt
    assert cli("profile", "delete", "erp").exit_code == 0
    assert memory_keyring.items == {}


def test_version_1_credentials_file_still_works(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    _login(cli, emulator, subject, KSEFKIT_KEYRING="off")
    stored = credentials.load()
    assert stored is not None
    old = {
        "version": 1,
        "baseUrl": stored.base_url,
        "environment": stored.environment,
        "context": stored.context.to_wire(),
        "accessToken": stored.access_token.to_wire(),
        "refreshToken": stored.refresh_token.to_wire(),
    }
    (config_dir / "credentials.json").write_text(json.dumps(old))
    (config_dir / "profiles.toml").unlink()
    assert cli("session", "list").exit_code == 0
    assert cli("auth", "status").exit_code == 0
