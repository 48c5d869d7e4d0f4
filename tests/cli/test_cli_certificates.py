"""``ksefkit certificates``: enroll (files, encrypted PKCS#8 key, then log in with them), status,
list, get, revoke, limits, Offline certificates and the errors a token login gets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import random_nip

PASSWORD = "hasło do klucza 7"


def _cert_login(cli: Any, emulator: Any, nip: str, *args: str) -> None:
    result = cli(
        "--base-url", emulator.api_url, *args, "auth", "login", "--nip", nip, "--test-cert"
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _enroll(cli: Any, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = _json(
        cli("--json", "certificates", "enroll", "--out-dir", "certs", *args, env=env)
    )
    return document


def test_enroll_writes_an_encrypted_key_and_the_files_log_in(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    _cert_login(cli, emulator, nip)
    env = {"KSEF_KEY_PASSWORD": PASSWORD}
    made = _enroll(cli, "--name", "Logowanie ERP", "--password", "--key-type", "rsa", env=env)
    assert made["type"] == "Authentication" and made["keyEncrypted"] is True
    cert, key = Path(made["certificate"]), Path(made["privateKey"])
    assert cert.name == f"{made['serialNumber']}.crt.pem"
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    login = cli(
        "--base-url", emulator.api_url, "--profile", "ksefcert", "auth", "login", "--nip", nip,
        "--cert", str(cert), "--key", str(key), env=env,
    )  # fmt: skip
    assert login.exit_code == 0, login.output
    listed = _json(cli("--json", "--profile", "ksefcert", "certificates", "list"))
    [item] = [c for c in listed if c["certificateSerialNumber"] == made["serialNumber"]]
    assert item["lastUseDate"] and item["subjectIdentifier"] == {"type": "Nip", "value": nip}
    assert PASSWORD not in login.output


def test_the_password_can_come_from_a_prompt(cli: Any, emulator: Any) -> None:
    _cert_login(cli, emulator, random_nip())
    result = cli(
        "certificates", "enroll", "--name", "Z podpowiedzi", "--password", "--out-dir", "certs",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "encrypted" in result.stdout and "auth login --cert" in result.stdout
    assert PASSWORD not in result.stdout
    [key] = Path("certs").glob("*.key.pem")
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_status_get_list_and_revoke(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    _cert_login(cli, emulator, nip)
    pending = _enroll(cli, "--name", "Bez czekania", "--no-wait")
    ref, key = pending["referenceNumber"], Path(pending["privateKey"])
    assert key.name == f"{ref}.key.pem" and key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    status = _json(cli("--json", "certificates", "status", ref))
    assert status["status"]["code"] == 200
    serial = status["certificateSerialNumber"]
    human = cli("certificates", "status", ref)
    assert serial in human.stdout and "200" in human.stdout

    got = _json(cli("--json", "certificates", "get", serial, "--out-dir", "certs"))
    assert got["missing"] == [] and Path(got["certificates"][0]["path"]).is_file()
    printed = cli("certificates", "get", serial.lower())
    assert printed.stdout.startswith("-----BEGIN CERTIFICATE-----")
    login = cli(
        "--base-url", emulator.api_url, "--profile", "nowy", "auth", "login", "--nip", nip,
        "--cert", f"certs/{serial}.crt.pem", "--key", str(key),
    )  # fmt: skip
    assert login.exit_code == 0, login.output

    active = _json(cli("--json", "certificates", "list", "--status", "active"))
    assert [c["certificateSerialNumber"] for c in active] == [serial]
    table = cli("certificates", "list")
    assert serial in table.stdout and "Bez czekania" in table.stdout
    revoked = cli("certificates", "revoke", serial, "--reason", "keycompromise")
    assert revoked.exit_code == 0, revoked.output
    listed = _json(cli("--json", "certificates", "list", "--status", "revoked"))
    assert [c["certificateSerialNumber"] for c in listed] == [serial]
    refused = cli(
        "--base-url", emulator.api_url, "--profile", "nowy", "auth", "login", "--nip", nip,
        "--cert", f"certs/{serial}.crt.pem", "--key", str(key),
    )  # fmt: skip
    assert refused.exit_code == ExitCode.AUTH, refused.output
    assert "460" in refused.stderr
    again = cli("certificates", "revoke", serial)
    assert again.exit_code == ExitCode.API and "25009" in again.stderr


def test_limits_and_an_offline_certificate(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    _cert_login(cli, emulator, nip)
    before = _json(cli("--json", "certificates", "limits"))
    assert before["canRequest"] and before["certificate"] == {"remaining": 100, "limit": 100}
    made = _enroll(cli, "--name", "Faktury offline", "--type", "offline")
    assert made["type"] == "Offline"
    human = cli("certificates", "enroll", "--name", "Offline 2", "--type", "Offline")
    assert "NOT encrypted" in human.stdout and "auth login" not in human.stdout
    after = _json(cli("--json", "certificates", "limits"))
    assert after["enrollment"]["remaining"] == 298
    assert "98 of 100 left" in cli("certificates", "limits").stdout
    login = cli(
        "--base-url", emulator.api_url, "--profile", "offline", "auth", "login", "--nip", nip,
        "--cert", made["certificate"], "--key", made["privateKey"],
    )  # fmt: skip
    assert login.exit_code == ExitCode.AUTH and "Niepoprawny certyfikat" in login.stderr


def test_errors_and_usage(cli: Any, emulator: Any, subject: Any) -> None:
    assert cli("certificates", "list").exit_code == ExitCode.AUTH  # not logged in
    assert cli("certificates", "enroll", "--name", "abc").exit_code == ExitCode.USAGE
    cli.login(emulator, subject)  # a KSeF token: no certificate to build the CSR from
    by_token = cli("certificates", "enroll", "--name", "Z tokena", "--out-dir", "certs")
    assert by_token.exit_code == ExitCode.API, by_token.output
    assert by_token.stderr.startswith("error: ") and by_token.stderr.count("\n") == 1
    assert "25001" in by_token.stderr
    assert not Path("certs").exists() or not list(Path("certs").iterdir())
    missing = cli("certificates", "get", "0123456789ABCDEF")
    assert missing.exit_code == ExitCode.API and "not found" in missing.output


def test_the_key_survives_when_the_certificate_cannot_be_fetched(cli: Any, emulator: Any) -> None:
    # The enrollment was sent (and counts against the limit): if waiting for or fetching the
    # certificate fails, the only copy of its private key must not die with the process.
    nip = random_nip()
    _cert_login(cli, emulator, nip)
    rule = emulator.state.faults.add(
        "server_error", status=503, methods=["POST"], path="/certificates/retrieve"
    )
    try:
        failed = cli("certificates", "enroll", "--name", "Klucz ocalony", "--out-dir", "certs")
    finally:
        emulator.state.faults.remove(rule)
    assert failed.exit_code == ExitCode.API, failed.output
    [key] = Path("certs").glob("*.key.pem")
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert str(key) in " ".join(failed.stderr.split())
    reference = key.name.removesuffix(".key.pem")
    status = _json(cli("--json", "certificates", "status", reference))
    serial = status["certificateSerialNumber"]
    assert cli("certificates", "get", serial, "--out-dir", "certs").exit_code == 0
    login = cli(
        "--base-url", emulator.api_url, "--profile", "odzyskany", "auth", "login",
        "--nip", nip, "--cert", f"certs/{serial}.crt.pem", "--key", str(key),
    )  # fmt: skip
    assert login.exit_code == 0, login.output
