"""``ksefkit send``: several files in one session, pre-flight failures per file, JSON, UPOs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import SeededSubject
from ksefkit.upo import parse_upo

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")
SESSION_REF = re.compile(r"\b\d{8}-SO-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\b")


@pytest.fixture
def logged_in(cli: Any, emulator: Any, subject: SeededSubject) -> SeededSubject:
    cli.login(emulator, subject)
    return subject


def test_send_two_invoices_prints_their_ksef_numbers(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    one = make_invoice(tmp_path / "in", logged_in.nip, "a.xml", "FV/1/CLI")
    two = make_invoice(tmp_path / "in", logged_in.nip, "b.xml", "FV/2/CLI")
    result = cli("send", str(one), str(two))
    assert result.exit_code == 0, result.output
    numbers = KSEF_NUMBER.findall(result.stdout)
    assert len(set(numbers)) == 2
    assert all(n.startswith(logged_in.nip) for n in numbers)
    assert "a.xml" in result.stdout
    assert "b.xml" in result.stdout
    assert SESSION_REF.search(result.stdout)


def test_malformed_file_fails_preflight_and_the_others_succeed(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    folder = tmp_path / "batch"
    make_invoice(folder, logged_in.nip, "1-good.xml", "FV/10/CLI")
    (folder / "2-broken.xml").write_bytes(b"<Faktura><unclosed></Faktura>")
    make_invoice(folder, logged_in.nip, "3-good.xml", "FV/11/CLI")
    (folder / "notes.txt").write_text("not an invoice")  # directories expand to *.xml only
    result = cli("--json", "send", str(folder), "--upo-dir", str(tmp_path / "upo"))
    assert result.exit_code == ExitCode.PROCESSING, result.output
    assert result.stderr.strip() == "error: 1 of 3 invoice(s) failed"
    document = json.loads(result.stdout)
    rows = {Path(row["file"]).name: row for row in document["invoices"]}
    assert sorted(rows) == ["1-good.xml", "2-broken.xml", "3-good.xml"]
    broken = rows["2-broken.xml"]
    assert broken["invoiceReferenceNumber"] is None
    assert broken["error"].startswith("pre-flight:")
    for name in ("1-good.xml", "3-good.xml"):
        row = rows[name]
        assert row["statusCode"] == 200
        assert KSEF_NUMBER.fullmatch(row["ksefNumber"])
        upo = parse_upo(Path(row["upo"]).read_bytes())
        assert upo.documents[0].ksef_number == row["ksefNumber"]
    assert document["sessionStatus"]["code"] == 200
    (session_upo,) = document["sessionUpo"]
    listed = {d.ksef_number for d in parse_upo(Path(session_upo).read_bytes()).documents}
    assert listed == {rows["1-good.xml"]["ksefNumber"], rows["3-good.xml"]["ksefNumber"]}


def test_malformed_file_row_in_the_table(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    good = make_invoice(tmp_path, logged_in.nip, "good.xml", "FV/20/CLI")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())  # a BOM: KSeF rejects it
    result = cli("send", str(good), str(bad))
    assert result.exit_code == ExitCode.PROCESSING
    bad_line = next(
        line for line in result.stdout.splitlines() if "bad.xml" in line and "pre-flight" in line
    )
    assert "BOM" in bad_line or "byte order mark" in bad_line.lower()
    good_line = next(
        line for line in result.stdout.splitlines() if "good.xml" in line and "200" in line
    )
    assert KSEF_NUMBER.search(good_line)


def test_duplicate_is_rejected_with_exit_5(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    path = make_invoice(tmp_path, logged_in.nip, "dup.xml", "FV/30/CLI")
    assert cli("send", str(path)).exit_code == 0
    again = cli("--json", "send", str(path))
    assert again.exit_code == ExitCode.PROCESSING
    (row,) = json.loads(again.stdout)["invoices"]
    assert row["statusCode"] == 440
    assert row["ksefNumber"] is None


def test_no_wait_only_sends(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    path = make_invoice(tmp_path, logged_in.nip, "quick.xml", "FV/40/CLI")
    result = cli("--json", "send", "--no-wait", str(path))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (row,) = document["invoices"]
    assert row["invoiceReferenceNumber"]
    assert row["ksefNumber"] is None
    assert document["sessionStatus"] is None


def test_send_usage_errors(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    assert cli("send").exit_code == ExitCode.USAGE
    assert cli("send", str(tmp_path / "missing.xml")).exit_code == ExitCode.USAGE
    (tmp_path / "empty").mkdir()
    assert cli("send", str(tmp_path / "empty")).exit_code == ExitCode.USAGE
    path = make_invoice(tmp_path, logged_in.nip, "x.xml", "FV/50/CLI")
    assert cli("send", "--form", "FA9", str(path)).exit_code == ExitCode.USAGE


def test_send_without_login_is_exit_3(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    path = make_invoice(tmp_path, "5265877635", "x.xml", "FV/60/CLI")
    result = cli("send", str(path))
    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.startswith("error: not logged in")


def test_send_with_env_token_authenticates_on_the_fly(
    cli: Any,
    emulator: Any,
    subject: SeededSubject,
    tmp_path: Path,
    config_dir: Path,
    make_invoice: Any,
) -> None:
    path = make_invoice(tmp_path, subject.nip, "env.xml", "FV/70/CLI")
    result = cli(
        "--base-url",
        emulator.api_url,
        "send",
        str(path),
        env={"KSEF_TOKEN": subject.token, "KSEF_NIP": subject.nip},
    )
    assert result.exit_code == 0, result.output
    assert KSEF_NUMBER.search(result.stdout)
    assert subject.token not in result.output
    assert not (config_dir / "credentials.json").exists()


def test_missing_schemas_is_exit_6_unless_no_validate(
    cli: Any,
    logged_in: SeededSubject,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_invoice: Any,
) -> None:
    from ksefkit import schemas

    monkeypatch.setenv("KSEFKIT_SCHEMA_DIR", str(tmp_path / "no-schemas"))
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "no-cache"))
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    schemas.reset_default_store()
    path = make_invoice(tmp_path, logged_in.nip, "v.xml", "FV/80/CLI")
    result = cli("send", str(path))
    assert result.exit_code == ExitCode.CONFIG
    assert "KSEFKIT_SCHEMA_DIR" in result.stderr
    assert "ksefkit schemas fetch" in result.stderr
    assert cli("send", "--no-validate", str(path)).exit_code == 0


def test_offline_flag_marks_invoices_offline(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    path = make_invoice(tmp_path, logged_in.nip, "off.xml", "FV/90/CLI")
    sent = json.loads(cli("--json", "send", "--offline", str(path)).stdout)
    (row,) = sent["invoices"]
    status = cli(
        "--json",
        "invoice",
        "status",
        sent["sessionReferenceNumber"],
        row["invoiceReferenceNumber"],
    )
    assert json.loads(status.stdout)["invoicingMode"] == "Offline"
