"""``ksefkit offline``: add, list (due/overdue), send (online and batch), correct, outages."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import SeededSubject
from ksefkit.offline import OfflineQueue

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")


@pytest.fixture
def logged_in(cli: Any, emulator: Any, subject: SeededSubject) -> SeededSubject:
    cli.login(emulator, subject)
    return subject


def _broken(path: Path) -> Path:
    path.write_bytes(
        path.read_bytes().replace(b"<KodWaluty>PLN</KodWaluty>", b"<KodWaluty>ZZZ</KodWaluty>")
    )
    return path


def _listed(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("--json", "offline", "list", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_add_and_list_with_deadlines(
    cli: Any, config_dir: Path, tmp_path: Path, make_invoice: Any
) -> None:
    one = make_invoice(tmp_path / "in", "5265877635", "a.xml", "OFF/1")
    two = make_invoice(tmp_path / "in", "5265877635", "b.xml", "OFF/2")
    result = cli("offline", "add", str(one), str(two), "--mode", "offline24")
    assert result.exit_code == 0, result.output
    assert "queued a.xml: deadline 20" in result.stdout
    assert (config_dir / "offline" / "default.sqlite3").is_file()
    document = _listed(cli)
    assert [e["fileName"] for e in document["entries"]] == ["a.xml", "b.xml"]
    assert {e["status"] for e in document["entries"]} == {"queued"}
    assert document["counts"]["queued"] == 2
    assert document["overdue"] == 0 and document["due"] == 2
    assert _listed(cli, "--overdue")["entries"] == []
    assert len(_listed(cli, "--due")["entries"]) == 2
    human = cli("offline", "list")
    assert "OFF/1" in human.stdout and "offline24" in human.stdout
    assert "0 overdue" in human.stdout and "2 due in all" in human.stdout
    # the same file again: refused, the rest of the run goes on
    again = cli("offline", "add", str(one), "--mode", "offline24")
    assert again.exit_code == ExitCode.PROCESSING
    assert "already queued" in again.stdout
    assert again.stderr.strip() == "error: 1 of 1 file(s) could not be queued"


def test_add_refusals(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    good = make_invoice(tmp_path, "5265877635", "good.xml", "OFF/G")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Faktura><unclosed></Faktura>")
    result = cli("--json", "offline", "add", str(good), str(bad), "--mode", "emergency")
    assert result.exit_code == ExitCode.PROCESSING
    rows = json.loads(result.stdout)["added"]
    assert rows[0]["status"] == "queued" and rows[0]["deadline"] is None  # failure not over
    assert "not an invoice" in rows[1]["error"]
    usage = cli("offline", "add", str(good), "--mode", "offline24", "--ended", "2026-03-02")
    assert usage.exit_code == ExitCode.USAGE
    date = cli("offline", "add", str(good), "--mode", "offline", "--ended", "yesterday")
    assert date.exit_code == ExitCode.USAGE


def test_queue_file_from_option_and_environment(
    cli: Any, tmp_path: Path, make_invoice: Any
) -> None:
    path = make_invoice(tmp_path, "5265877635", "a.xml", "OFF/Q")
    mine = tmp_path / "mine.sqlite3"
    assert (
        cli("offline", "add", str(path), "--mode", "offline24", "--queue", str(mine)).exit_code == 0
    )
    listed = cli("--json", "offline", "list", env={"KSEF_OFFLINE_QUEUE": str(mine)})
    assert [e["fileName"] for e in json.loads(listed.stdout)["entries"]] == ["a.xml"]
    assert _listed(cli)["entries"] == []  # the profile's default queue is another file


def test_send_records_ksef_numbers(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    files = [make_invoice(tmp_path, logged_in.nip, f"{n}.xml", f"OFF/S/{n}") for n in (1, 2)]
    assert cli("offline", "add", *map(str, files), "--mode", "offline24").exit_code == 0
    result = cli("offline", "send")
    assert result.exit_code == 0, result.output
    numbers = KSEF_NUMBER.findall(result.stdout)
    assert len(set(numbers)) == 2 and all(n.startswith(logged_in.nip) for n in numbers)
    assert "accepted 1.xml" in result.stdout  # one line per verdict outside a terminal
    entries = _listed(cli)["entries"]
    assert [(e["status"], e["invoicingMode"]) for e in entries] == [("accepted", "Offline")] * 2
    nothing = cli("--json", "offline", "send")
    assert nothing.exit_code == 0
    assert json.loads(nothing.stdout)["entries"] == []


def test_rejected_then_technically_corrected(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    broken = _broken(make_invoice(tmp_path / "orig", logged_in.nip, "x.xml", "OFF/K/1"))
    fine = make_invoice(tmp_path, logged_in.nip, "ok.xml", "OFF/K/2")
    assert cli("offline", "add", str(broken), str(fine), "--mode", "offline24").exit_code == 0
    sent = cli("--json", "offline", "send", "--batch")
    assert sent.exit_code == ExitCode.PROCESSING
    assert sent.stderr.strip() == "error: 1 of 2 invoice(s) not accepted"
    document = json.loads(sent.stdout)
    assert [e["status"] for e in document["entries"]] == ["rejected", "accepted"]
    assert "-SB-" in document["sessions"][0]
    original = document["entries"][0]
    fixed = make_invoice(tmp_path / "fixed", logged_in.nip, "x.xml", "OFF/K/1")
    corrected = cli("--json", "offline", "correct", str(original["id"]), str(fixed))
    assert corrected.exit_code == 0, corrected.output
    correction = json.loads(corrected.stdout)
    assert correction["status"] == "accepted"
    assert correction["corrects"] == original["invoiceHash"]
    statuses = {e["id"]: e["status"] for e in _listed(cli)["entries"]}
    assert statuses[original["id"]] == "corrected"
    # the rules refuse a second correction, and the correction of an accepted invoice
    twice = cli("offline", "correct", str(original["id"]), str(fixed))
    assert twice.exit_code == ExitCode.PROCESSING
    assert "already has an accepted technical correction" in twice.stderr
    accepted = document["entries"][1]
    refused = cli("offline", "correct", accepted["invoiceHash"], str(fixed))
    assert refused.exit_code == ExitCode.PROCESSING
    assert "was accepted" in refused.stderr


def test_outage_end_and_failures(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    path = make_invoice(tmp_path, "5265877635", "a.xml", "OFF/O")
    assert cli("offline", "add", str(path), "--mode", "offline").exit_code == 0
    assert _listed(cli)["waiting"] == 1
    today = dt.date.today()
    ended = cli("offline", "end", today.isoformat(), "--mode", "offline")
    assert ended.exit_code == 0, ended.output
    assert "1 offline invoice(s) got a deadline" in ended.stdout
    assert _listed(cli)["entries"][0]["deadline"] is not None
    started = cli("--json", "offline", "failure", today.isoformat())
    assert json.loads(started.stdout)["end"] is None
    assert _listed(cli)["entries"][0]["deadline"] is None  # suspended while it lasts
    over = cli("offline", "failure", "--end", f"{today.isoformat()}T18:00")
    assert over.exit_code == 0, over.output
    assert "failure from" in over.stdout
    assert _listed(cli)["entries"][0]["deadline"] is not None
    assert cli("offline", "failure").exit_code == ExitCode.USAGE
    closed = cli("offline", "failure", "--end", today.isoformat())
    assert closed.exit_code == ExitCode.CONFIG  # no failure is open any more
    assert (
        cli("offline", "end", today.isoformat(), "--mode", "offline24").exit_code == ExitCode.USAGE
    )


def test_send_needs_a_login(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    path = make_invoice(tmp_path, "5265877635", "a.xml", "OFF/L")
    assert cli("offline", "add", str(path), "--mode", "offline24").exit_code == 0
    result = cli("offline", "send")
    assert result.exit_code == ExitCode.AUTH
    with OfflineQueue(tmp_path / "config" / "offline" / "default.sqlite3") as queue:
        assert [e.status for e in queue.list()] == ["queued"]


def test_a_failure_ending_before_it_starts_is_a_clean_error(cli: Any) -> None:
    backwards = cli("offline", "failure", "2026-03-10", "--end", "2026-03-01")
    assert backwards.exit_code == ExitCode.CONFIG, backwards.output
    assert "cannot end" in backwards.stderr and "ValueError" not in backwards.stderr
    assert cli("offline", "failure", "2026-03-10").exit_code == 0
    early = cli("offline", "failure", "--end", "2026-03-01")
    assert early.exit_code == ExitCode.CONFIG, early.output
    assert "ValueError" not in early.stderr
    # the open failure is still open: a sensible end closes it
    assert cli("offline", "failure", "--end", "2026-03-12").exit_code == 0
