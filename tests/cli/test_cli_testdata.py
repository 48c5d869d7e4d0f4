"""``ksefkit testdata``: subjects, persons, block/unblock and session limits against the
emulator, with their effects checked through the emulator's state and authentication."""

from __future__ import annotations

import json
from typing import Any

from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import random_nip


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_subject_create_and_remove(cli: Any, emulator: Any) -> None:
    group, member = random_nip(), random_nip()
    url = ("--base-url", emulator.api_url)
    created = _ok(
        cli(
            *url, "--json", "testdata", "subject", "create", group, "--type", "vatgroup",
            "--description", "Grupa VAT testowa", "--subunit", f"{member}=Członek grupy",
            "--created", "2026-01-05T10:00:00+00:00",
        )
    )  # fmt: skip
    assert json.loads(created.stdout) == {
        "subjectNip": group,
        "subjectType": "VatGroup",
        "subunits": [member],
    }
    [role] = emulator.state.testdata.subordinate_roles(group)
    assert role["subordinateEntityIdentifier"]["value"] == member
    assert role["startDate"].startswith("2026-01-05T10:00:00")
    again = cli(
        *url,
        "testdata",
        "subject",
        "create",
        group,
        "--type",
        "JST",
        "--description",
        "Gmina testowa",
    )
    assert again.exit_code == ExitCode.API, again.output
    assert again.stderr.startswith("error: ") and "30001" in again.stderr
    removed = _ok(cli(*url, "testdata", "subject", "remove", group))
    assert f"removed subject {group}" in removed.stdout
    assert emulator.state.testdata.subordinate_roles(group) == []


def test_subject_usage_errors(cli: Any, emulator: Any) -> None:
    url = ("--base-url", emulator.api_url)
    bad = cli(
        *url, "testdata", "subject", "create", random_nip(), "--type", "JST", "--description", "abc"
    )
    assert bad.exit_code == 2
    pair = cli(
        *url, "testdata", "subject", "create", random_nip(), "--type", "JST",
        "--description", "Gmina testowa", "--subunit", "no-equals-sign",
    )  # fmt: skip
    assert pair.exit_code == 2
    assert "NIP=DESCRIPTION" in pair.output


def test_person_then_login_as_owner_and_remove(cli: Any, emulator: Any) -> None:
    nip, pesel = random_nip(), "90010112345"
    url = ("--base-url", emulator.api_url)
    out = _ok(
        cli(
            *url,
            "testdata",
            "person",
            "create",
            nip,
            pesel,
            "--description",
            "Komornik sądowy",
            "--bailiff",
        )
    )
    assert "bailiff" in out.stdout
    assert [r["role"] for r in emulator.state.testdata.entity_roles(nip)] == ["CourtBailiff"]
    perms = emulator.state.rights.permissions("Nip", nip, "Pesel", pesel)
    assert "EnforcementOperations" in perms
    _ok(cli(*url, "testdata", "person", "remove", nip))
    assert emulator.state.rights.permissions("Nip", nip, "Pesel", pesel) == ()
    missing = cli(*url, "testdata", "person", "remove", nip)
    assert missing.exit_code == ExitCode.API


def test_block_and_unblock(cli: Any, emulator: Any, subject: Any) -> None:
    url = ("--base-url", emulator.api_url)
    _ok(cli(*url, "testdata", "block", "--nip", subject.nip))
    login = cli(*url, "auth", "login", "--nip", subject.nip, env={"KSEF_TOKEN": subject.token})
    assert login.exit_code == ExitCode.AUTH, login.output
    assert "480" in login.stderr
    _ok(cli(*url, "--json", "testdata", "unblock", "--nip", subject.nip))
    cli.login(emulator, subject)
    two = cli(*url, "testdata", "block", "--nip", subject.nip, "--peppol-id", "PPL123456")
    assert two.exit_code == 2


def test_session_limits_set_and_reset(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    result = _ok(
        cli(
            "--json",
            "testdata",
            "session-limits",
            "set",
            "--online-max-invoices",
            "3",
            "--batch-max-size-mb",
            "2",
        )
    )
    assert json.loads(result.stdout) == {
        "online": {"max_invoices": 3},
        "batch": {"max_invoice_size_in_mb": 2},
    }
    limits = emulator.state.session_limits.effective("Nip", subject.nip)
    assert limits["onlineSession"] == {
        "maxInvoiceSizeInMB": 1,
        "maxInvoiceWithAttachmentSizeInMB": 3,
        "maxInvoices": 3,
    }
    assert limits["batchSession"]["maxInvoiceSizeInMB"] == 2
    assert limits["batchSession"]["maxInvoices"] == 10_000
    _ok(cli("testdata", "session-limits", "reset"))
    assert (
        emulator.state.session_limits.effective("Nip", subject.nip)["onlineSession"]["maxInvoices"]
        == 10_000
    )
    assert cli("testdata", "session-limits", "set").exit_code == 2
    assert cli("testdata", "session-limits", "set", "--online-max-size-mb", "6").exit_code == 2


def test_session_limits_need_a_login(cli: Any, emulator: Any) -> None:
    result = cli("--base-url", emulator.api_url, "testdata", "session-limits", "reset")
    assert result.exit_code == ExitCode.AUTH
