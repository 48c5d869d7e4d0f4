"""``ksefkit session`` / ``invoice`` / ``upo`` against a session created in the test."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import SeededSubject
from ksefkit.upo import parse_upo

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")


@dataclass
class Sent:
    session: str
    good_ref: str
    good_ksef: str
    bad_ref: str


@pytest.fixture
def sent(
    cli: Any, emulator: Any, subject: SeededSubject, tmp_path: Path, make_invoice: Any
) -> Sent:
    """A processed session with one accepted invoice and one rejected at KSeF (not pre-flight)."""
    cli.login(emulator, subject)
    good = make_invoice(tmp_path / "in", subject.nip, "good.xml", "FV/S/1")
    other = make_invoice(tmp_path / "in", subject.nip, "foreign.xml", "FV/S/2")
    # Another seller's NIP: KSeF refuses it in this context (410) after pre-flight passed.
    other.write_bytes(other.read_bytes().replace(subject.nip.encode(), b"5265877635", 1))
    result = cli("--json", "send", str(good), str(other))
    assert result.exit_code == ExitCode.PROCESSING, result.output
    document = json.loads(result.stdout)
    rows = {Path(r["file"]).name: r for r in document["invoices"]}
    assert rows["good.xml"]["statusCode"] == 200
    assert rows["foreign.xml"]["statusCode"] not in (None, 200)
    return Sent(
        document["sessionReferenceNumber"],
        rows["good.xml"]["invoiceReferenceNumber"],
        rows["good.xml"]["ksefNumber"],
        rows["foreign.xml"]["invoiceReferenceNumber"],
    )


def test_session_status(cli: Any, sent: Sent) -> None:
    result = cli("session", "status", sent.session)
    assert result.exit_code == 0, result.output
    assert "200" in result.stdout
    document = json.loads(cli("--json", "session", "status", sent.session).stdout)
    assert document["status"]["code"] == 200
    assert document["successfulInvoiceCount"] == 1
    assert document["failedInvoiceCount"] == 1
    assert document["upo"]["pages"]


def test_session_invoices_and_failed(cli: Any, sent: Sent) -> None:
    result = cli("session", "invoices", sent.session)
    assert result.exit_code == 0, result.output
    assert sent.good_ksef in result.stdout
    assert sent.bad_ref in result.stdout
    failed = json.loads(cli("--json", "session", "invoices", sent.session, "--failed").stdout)
    assert [i["referenceNumber"] for i in failed["invoices"]] == [sent.bad_ref]


def test_session_list(cli: Any, sent: Sent) -> None:
    document = json.loads(cli("--json", "session", "list", "--status", "Succeeded").stdout)
    assert sent.session in [s["referenceNumber"] for s in document["sessions"]]
    table = cli("session", "list", "--type", "online")
    assert table.exit_code == 0
    assert sent.session in table.stdout


def test_invoice_status(cli: Any, sent: Sent) -> None:
    result = cli("invoice", "status", sent.session, sent.good_ref)
    assert result.exit_code == 0, result.output
    assert sent.good_ksef in result.stdout
    bad = json.loads(cli("--json", "invoice", "status", sent.session, sent.bad_ref).stdout)
    assert bad["status"]["code"] not in (100, 150, 200)
    assert bad.get("ksefNumber") is None


def test_upo_get_variants(cli: Any, sent: Sent, tmp_path: Path) -> None:
    by_ref = cli("upo", "get", sent.session, "--invoice", sent.good_ref)
    assert by_ref.exit_code == 0, by_ref.output
    assert parse_upo(by_ref.stdout_bytes).documents[0].ksef_number == sent.good_ksef

    target = tmp_path / "by-number.xml"
    by_number = cli("upo", "get", sent.session, "--ksef-number", sent.good_ksef, "-o", str(target))
    assert by_number.exit_code == 0, by_number.output
    assert parse_upo(target.read_bytes()).documents[0].ksef_number == sent.good_ksef

    folder = tmp_path / "upos"
    folder.mkdir()
    whole = cli("--json", "upo", "get", sent.session, "--session", "-o", str(folder))
    assert whole.exit_code == 0, whole.output
    (path,) = json.loads(whole.stdout)["files"]
    assert Path(path).parent == folder.resolve()
    assert sent.session in Path(path).name
    upo = parse_upo(Path(path).read_bytes())
    assert upo.session_reference == sent.session
    assert [d.ksef_number for d in upo.documents] == [sent.good_ksef]


def test_upo_get_needs_exactly_one_selector(cli: Any, sent: Sent) -> None:
    assert cli("upo", "get", sent.session).exit_code == ExitCode.USAGE
    both = cli("upo", "get", sent.session, "--session", "--invoice", sent.good_ref)
    assert both.exit_code == ExitCode.USAGE


def test_upo_of_rejected_invoice_is_api_error(cli: Any, sent: Sent) -> None:
    result = cli("upo", "get", sent.session, "--invoice", sent.bad_ref)
    assert result.exit_code == ExitCode.API, result.output
    assert result.stderr.startswith("error: ")
    assert "HTTP" in result.stderr


def test_unknown_session_is_api_error(cli: Any, emulator: Any, subject: SeededSubject) -> None:
    cli.login(emulator, subject)
    result = cli("session", "status", "20250101-SO-0000000000-0000000000-00")
    assert result.exit_code == ExitCode.API, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_session_close_then_status(
    cli: Any, emulator: Any, subject: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    cli.login(emulator, subject)
    path = make_invoice(tmp_path, subject.nip, "c.xml", "FV/C/1")
    sent = json.loads(cli("--json", "send", "--no-wait", str(path)).stdout)
    session = sent["sessionReferenceNumber"]
    # --no-wait already closed it: closing again is an API error from KSeF (21180).
    again = cli("session", "close", session)
    assert again.exit_code == ExitCode.API
    status = json.loads(cli("--json", "session", "status", session).stdout)
    assert status["status"]["code"] in (170, 200)
    assert KSEF_NUMBER.search(cli("session", "invoices", session).stdout)
