"""``ksefkit auth login`` with certificates (XAdES): PEM, encrypted PEM, PKCS#12, test seal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ksefkit import testcerts
from ksefkit.cli import profiles
from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import random_nip

PASSWORD = "correct horse battery staple"


def _login(cli: Any, emulator: Any, nip: str, *args: str, **kw: Any) -> Any:
    return cli("--base-url", emulator.api_url, "auth", "login", "--nip", nip, *args, **kw)


def _assert_logged_in(cli: Any, nip: str, credential: str) -> None:
    status = cli("--json", "auth", "status")
    assert status.exit_code == 0, status.output
    document = json.loads(status.stdout)
    assert document["context"] == {"type": "Nip", "value": nip}
    assert document["credential"] == credential
    assert cli("session", "list").exit_code == 0


def _one_error_line(result: Any) -> str:
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    return str(result.stderr)


def test_login_with_pem_certificate_and_key(cli: Any, emulator: Any, tmp_path: Path) -> None:
    nip = random_nip()
    cert, key = testcerts.company_seal(nip).save(tmp_path)
    result = _login(cli, emulator, nip, "--cert", str(cert), "--key", str(key))
    assert result.exit_code == 0, result.output
    _assert_logged_in(cli, nip, "cert")
    profile = profiles.get("default")
    assert profile is not None
    assert (profile.cert, profile.key) == (str(cert.resolve()), str(key.resolve()))
    # the profile remembers the source: log in again without naming it
    assert cli("auth", "login").exit_code == 0


def test_login_with_an_ec_key(cli: Any, emulator: Any, tmp_path: Path) -> None:
    nip = random_nip()
    cert, key = testcerts.company_seal(nip, key="ec").save(tmp_path)
    result = _login(cli, emulator, nip, "--cert", str(cert), "--key", str(key))
    assert result.exit_code == 0, result.output
    profile = profiles.get("default")
    assert profile is not None
    assert profile.subject_type is None  # certificateSubject is the default, not stored


def test_encrypted_pem_key_password_from_env_or_hidden_prompt(
    cli: Any, emulator: Any, tmp_path: Path
) -> None:
    nip = random_nip()
    cert, key = testcerts.company_seal(nip).save(tmp_path, password=PASSWORD)
    args = ("--cert", str(cert), "--key", str(key))
    from_env = _login(cli, emulator, nip, *args, env={"KSEF_KEY_PASSWORD": PASSWORD})
    assert from_env.exit_code == 0, from_env.output
    prompted = _login(cli, emulator, nip, *args, input=PASSWORD + "\n")
    assert prompted.exit_code == 0, prompted.output
    assert f"Password of {key.name}" in prompted.output
    for result in (from_env, prompted):
        assert PASSWORD not in result.output
    _assert_logged_in(cli, nip, "cert")
    assert PASSWORD not in Path("config/profiles.toml").read_text()


def test_wrong_key_password_is_one_clear_line_and_exit_6(
    cli: Any, emulator: Any, tmp_path: Path, config_dir: Path
) -> None:
    nip = random_nip()
    cert, key = testcerts.company_seal(nip).save(tmp_path, password=PASSWORD)
    wrong = "not the password"
    result = _login(
        cli, emulator, nip, "--cert", str(cert), "--key", str(key),
        env={"KSEF_KEY_PASSWORD": wrong},
    )  # fmt: skip
    assert result.exit_code == ExitCode.CONFIG, result.output
    line = _one_error_line(result)
    assert str(key) in line
    assert "KSEF_KEY_PASSWORD" in line
    assert wrong not in result.output
    assert not (config_dir / "credentials.json").exists()


def test_login_with_pkcs12(cli: Any, emulator: Any, tmp_path: Path) -> None:
    nip = random_nip()
    bundle = tmp_path / "seal.p12"
    bundle.write_bytes(testcerts.company_seal(nip).to_pkcs12(PASSWORD))
    result = _login(cli, emulator, nip, "--p12", str(bundle), env={"KSEF_P12_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    _assert_logged_in(cli, nip, "p12")
    wrong = _login(cli, emulator, nip, "--p12", str(bundle), input="nope\n")
    assert wrong.exit_code == ExitCode.CONFIG
    assert "the prompt" in _one_error_line(wrong)


def test_test_cert_is_made_once_and_reused(cli: Any, emulator: Any, config_dir: Path) -> None:
    nip = random_nip()
    first = _login(cli, emulator, nip, "--test-cert")
    assert first.exit_code == 0, first.output
    made = sorted((config_dir / "test-certs").iterdir())
    assert [p.name for p in made] == [f"seal-{nip}.crt.pem", f"seal-{nip}.key.pem"]
    pem = made[0].read_bytes()
    second = _login(cli, emulator, nip, "--test-cert")
    assert second.exit_code == 0, second.output
    assert made[0].read_bytes() == pem  # the same identity
    _assert_logged_in(cli, nip, "test-cert")
    assert "PRIVATE KEY" not in first.output + second.output


def test_test_cert_is_refused_outside_test_and_the_emulator(cli: Any, config_dir: Path) -> None:
    for env in ("PROD", "DEMO"):
        result = cli("--env", env, "auth", "login", "--nip", random_nip(), "--test-cert")
        assert result.exit_code == ExitCode.CONFIG
        assert "--test-cert works only on TEST" in _one_error_line(result)
    assert not (config_dir / "test-certs").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--token", "--test-cert"),
        ("--p12", "x.p12", "--test-cert"),
        ("--cert", "c.pem"),
        ("--key", "k.pem"),
    ],
)
def test_one_credential_source(cli: Any, emulator: Any, args: tuple[str, ...]) -> None:
    result = _login(cli, emulator, "5265877635", *args)
    assert result.exit_code == ExitCode.USAGE, result.output


def test_test_cert_needs_a_nip(cli: Any, emulator: Any) -> None:
    result = cli(
        "--base-url", emulator.api_url, "auth", "login",
        "--internal-id", "5265877635-00001", "--test-cert",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE


def test_xades_options_reach_ksef(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    strict = _login(cli, emulator, nip, "--test-cert", "--enforce-xades-compliance")
    assert strict.exit_code == 0, strict.output
    chain = _login(cli, emulator, nip, "--test-cert", "--verify-certificate-chain")
    assert chain.exit_code == ExitCode.AUTH  # a self-signed seal has no trusted chain
    assert "460" in _one_error_line(chain)
