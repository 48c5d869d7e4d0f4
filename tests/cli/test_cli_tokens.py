"""``ksefkit tokens`` (create prints the token once; list, show, revoke) and
``ksefkit auth sessions`` (list all pages, revoke one, revoke the current one)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ksefkit.cli import credentials
from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import random_nip


def _cert_login(cli: Any, emulator: Any, nip: str, *args: str) -> None:
    result = cli(
        "--base-url", emulator.api_url, *args, "auth", "login", "--nip", nip, "--test-cert"
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _token_login(cli: Any, emulator: Any, nip: str, token: str, *args: str) -> Any:
    return cli(
        "--base-url", emulator.api_url, *args, "auth", "login", "--nip", nip,
        env={"KSEF_TOKEN": token},
    )  # fmt: skip


def _create(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(
        "--json", "tokens", "create", "--permission", "InvoiceRead",
        "--permission", "InvoiceWrite", "--description", "ERP import", *args,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_token_lifecycle_create_list_show_login_revoke(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    _cert_login(cli, emulator, nip)
    created = _create(cli, "--wait")
    ref, token = created["referenceNumber"], created["token"]
    assert created["status"] == "Active"
    assert created["permissions"] == ["InvoiceRead", "InvoiceWrite"]
    listed = json.loads(cli("--json", "tokens", "list").stdout)
    assert ref in [t["referenceNumber"] for t in listed]
    active = json.loads(cli("--json", "tokens", "list", "--status", "active").stdout)
    assert ref in [t["referenceNumber"] for t in active]
    shown = cli("tokens", "show", ref)
    assert shown.exit_code == 0, shown.output
    assert "InvoiceRead, InvoiceWrite" in shown.stdout
    assert "ERP import" in shown.stdout
    assert token not in shown.output
    # the new token logs in (another profile), and works
    assert _token_login(cli, emulator, nip, token, "--profile", "erp").exit_code == 0
    assert cli("--profile", "erp", "session", "list").exit_code == 0
    revoked = cli("tokens", "revoke", ref)
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(cli("--json", "tokens", "show", ref).stdout)["status"] in (
        "Revoking",
        "Revoked",
    )
    again = _token_login(cli, emulator, nip, token, "--profile", "erp")
    assert again.exit_code == ExitCode.AUTH, again.output
    assert again.stderr.startswith("error: ")
    assert again.stderr.count("\n") == 1
    assert token not in again.output


def test_create_prints_the_token_exactly_once(cli: Any, emulator: Any) -> None:
    _cert_login(cli, emulator, random_nip())
    result = cli(
        "tokens", "create", "--permission", "InvoiceRead", "--description", "read only"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "shown only now" in result.stdout
    token = lines[-1]
    assert "|" in token  # reference | context | secret
    assert result.stdout.count(token) == 1
    assert result.stderr == ""


def test_create_validates_before_calling_ksef(cli: Any) -> None:
    no_permission = cli("tokens", "create", "--description", "something")
    assert no_permission.exit_code == ExitCode.USAGE
    short = cli("tokens", "create", "--permission", "InvoiceRead", "--description", "abc")
    assert short.exit_code == ExitCode.USAGE
    unknown = cli("tokens", "create", "--permission", "Everything", "--description", "valid")
    assert unknown.exit_code == ExitCode.USAGE


def test_tokens_need_a_login(cli: Any) -> None:
    result = cli("tokens", "list")
    assert result.exit_code == ExitCode.AUTH
    assert "not logged in" in result.stderr


def test_auth_sessions_list_and_revoke(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    _cert_login(cli, emulator, nip, "--profile", "other")
    _cert_login(cli, emulator, nip)
    listed = json.loads(cli("--json", "auth", "sessions").stdout)
    assert len(listed) >= 2
    current = [s for s in listed if s.get("isCurrent")]
    assert len(current) == 1
    other = json.loads(cli("--json", "--profile", "other", "auth", "status").stdout)
    other_ref = other["authReferenceNumber"]
    assert other_ref in [s["referenceNumber"] for s in listed]
    human = cli("auth", "sessions")
    assert other_ref in human.stdout
    assert cli("auth", "sessions", "--revoke", other_ref).exit_code == 0
    after = [s["referenceNumber"] for s in json.loads(cli("--json", "auth", "sessions").stdout)]
    assert other_ref not in after  # KSeF lists active sessions only
    # the revoked login cannot refresh any more: once its access token expires, exit 3
    _expire_access_token("other")
    refused = cli("--profile", "other", "session", "list")
    assert refused.exit_code == ExitCode.AUTH, refused.output
    both = cli("auth", "sessions", "--revoke", other_ref, "--revoke-current")
    assert both.exit_code == ExitCode.USAGE
    assert cli("auth", "sessions", "--revoke-current").exit_code == 0
    _expire_access_token("default")
    assert cli("session", "list").exit_code == ExitCode.AUTH


def _expire_access_token(profile: str) -> None:
    stored = credentials.load(profile)
    assert stored is not None
    expired = stored.access_token.model_copy(
        update={"valid_until": datetime.now(UTC) - timedelta(minutes=1)}
    )
    credentials.save(dataclasses.replace(stored, access_token=expired), profile)


def test_sessions_list_follows_every_page(cli: Any, emulator: Any) -> None:
    nip = random_nip()
    for _ in range(12):  # more than one page of 10
        _cert_login(cli, emulator, nip)
    everything = json.loads(cli("--json", "auth", "sessions", "--page-size", "10").stdout)
    assert len(everything) >= 12
    assert len({s["referenceNumber"] for s in everything}) == len(everything)
    assert cli("auth", "sessions", "--page-size", "5").exit_code == ExitCode.USAGE
