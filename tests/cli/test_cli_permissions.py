"""``ksefkit permissions``: grant (each kind waits for its operation), list (tables and --json),
revoke, status, roles, attachments; failed operations exit with the processing-error code."""

from __future__ import annotations

import json
from typing import Any

from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import make_internal_id, random_nip

PESEL = "90010112345"
NAMES = ("--first-name", "Anna", "--last-name", "Nowak")


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_grant_list_revoke_a_person(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    granted = cli(
        "permissions", "grant", "person", "--pesel", PESEL, "--permission", "InvoiceRead",
        "--permission", "InvoiceWrite", "--description", "Księgowa", *NAMES,
    )  # fmt: skip
    assert granted.exit_code == 0, granted.output
    assert "✓ operation" in granted.stdout and "200 Operacja zakończona sukcesem" in granted.stdout

    table = cli("permissions", "list")
    assert table.exit_code == 0, table.output
    assert f"Pesel {PESEL} (Anna Nowak)" in table.stdout
    assert "InvoiceWrite" in table.stdout
    listed = _json(cli("--json", "permissions", "list", "--permission", "InvoiceWrite"))
    assert [(p["permissionScope"], p["authorizedIdentifier"]["value"]) for p in listed] == [
        ("InvoiceWrite", PESEL)
    ]
    done = _json(cli("--json", "permissions", "revoke", listed[0]["id"]))
    assert done["status"]["code"] == 200
    again = _json(cli("--json", "permissions", "status", done["referenceNumber"]))
    assert again == done
    left = _json(cli("--json", "permissions", "list"))
    assert [p["permissionScope"] for p in left] == ["InvoiceRead"]


def test_failed_operation_exits_with_its_status(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    result = cli(
        "permissions", "grant", "person", "--pesel", PESEL, "--permission",
        "EnforcementOperations", "--description", "Egzekucja", *NAMES,
    )  # fmt: skip
    assert result.exit_code == ExitCode.PROCESSING, result.output
    assert result.stderr.startswith("error: ") and "430" in result.stderr
    assert result.stderr.count("\n") == 1


def test_no_wait_then_status(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    result = cli(
        "--json", "permissions", "grant", "entity", random_nip(), "--permission", "InvoiceRead",
        "--delegable", "InvoiceRead", "--description", "Biuro rachunkowe",
        "--name", "Biuro Rachunkowe sp. z o.o.", "--no-wait",
    )  # fmt: skip
    started = _json(result)
    assert started["status"]["code"] == 100
    final = _json(cli("--json", "permissions", "status", started["referenceNumber"], "--wait"))
    assert final["status"]["code"] == 200
    shown = _json(cli("--json", "permissions", "list", "persons"))
    assert [(p["permissionScope"], p["canDelegate"]) for p in shown] == [("InvoiceRead", True)]


def test_authorizations_subunits_roles_and_attachments(
    cli: Any, emulator: Any, subject: Any
) -> None:
    cli.login(emulator, subject)
    buyer, member = random_nip(), random_nip()
    result = cli(
        "permissions", "grant", "authorization", "--nip", buyer, "--permission", "SelfInvoicing",
        "--description", "Samofakturowanie", "--name", "Nabywca sp. z o.o.",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    grants = _json(cli("--json", "permissions", "list", "authorizations-granted"))
    assert [
        (g["authorizationScope"], g["authorizedEntityIdentifier"]["value"]) for g in grants
    ] == [("SelfInvoicing", buyer)]
    revoked = cli("permissions", "revoke", grants[0]["id"], "--authorization")
    assert revoked.exit_code == 0, revoked.output
    assert _json(cli("--json", "permissions", "list", "authorizations-granted")) == []

    created = cli(
        "testdata", "subject", "create", subject.nip, "--type", "JST", "--description",
        "Gmina testowa", "--subunit", f"{member}=Szkoła podstawowa",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    roles = cli("permissions", "roles")
    assert roles.exit_code == 0 and "LocalGovernmentUnit" in roles.stdout
    subordinate = _json(cli("--json", "permissions", "roles", "--subordinate"))
    assert [r["subordinateEntityIdentifier"]["value"] for r in subordinate] == [member]
    unit = make_internal_id(subject.nip, "0003")
    result = cli(
        "permissions", "grant", "subunit", "--pesel", PESEL, "--internal-id", unit,
        "--subunit-name", "Oddział 3", "--description", "Administrator oddziału", *NAMES,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    admins = _json(cli("--json", "permissions", "list", "subunits"))
    assert [(a["subunitIdentifier"]["value"], a["subunitName"]) for a in admins] == [
        (unit, "Oddział 3")
    ]

    allowed = cli("permissions", "attachments")
    assert allowed.exit_code == 0 and "attachments allowed: yes" in allowed.stdout
    assert _json(cli("--json", "permissions", "attachments")) == {"isAttachmentAllowed": True}


def test_usage_errors(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    both = cli(
        "permissions", "grant", "person", "--pesel", PESEL, "--nip", subject.nip,
        "--permission", "InvoiceRead", "--description", "Księgowa", *NAMES,
    )  # fmt: skip
    assert both.exit_code == ExitCode.USAGE
    short = cli(
        "permissions", "grant", "person", "--pesel", PESEL, "--permission", "InvoiceRead",
        "--description", "abc", *NAMES,
    )  # fmt: skip
    assert short.exit_code == ExitCode.USAGE
    unnamed = cli(
        "permissions", "grant", "person", "--pesel", PESEL, "--permission", "InvoiceRead",
        "--description", "Księgowa",
    )  # fmt: skip
    assert unnamed.exit_code == ExitCode.USAGE
