"""``ksefkit send`` in batch sessions (--batch, the threshold, tar.gz, parts, pre-flight,
UPO pages, JSON) and ``ksefkit session resume`` of an interrupted batch send."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from rich.console import Console

from ksefkit import Client, FormCode
from ksefkit.batch_state import BatchSessionState
from ksefkit.cli._errors import ExitCode, exit_code_for, message_for
from ksefkit.cli._output import Output
from ksefkit.cli.batch import BatchProgress
from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.errors import StorageError
from ksefkit.upo import parse_upo

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")
BATCH_REF = re.compile(r"\b\d{8}-SB-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\b")
ONLINE_REF = re.compile(r"\b\d{8}-SO-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\b")


@pytest.fixture
def logged_in(cli: Any, emulator: Any, subject: SeededSubject) -> SeededSubject:
    cli.login(emulator, subject)
    return subject


def _invoices(make_invoice: Any, folder: Path, nip: str, count: int, tag: str) -> list[Path]:
    return [
        make_invoice(folder, nip, f"inv-{n:02d}.xml", f"FV/{tag}/{n}") for n in range(1, count + 1)
    ]


def _rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(row["file"]).name: row for row in document["invoices"]}


def test_batch_in_several_parts_prints_every_ksef_number(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    files = _invoices(make_invoice, tmp_path / "in", logged_in.nip, 5, "B1")
    state = tmp_path / "new" / "dir" / "state.json"  # parent directories are made
    result = cli(
        "send", "--batch", "--part-size", "1500", "--state", str(state), str(tmp_path / "in")
    )
    assert result.exit_code == 0, result.output
    assert f"state: {state}" in result.stdout
    assert f"ksefkit session resume {state}" in result.stdout
    assert re.search(
        r"package: 5 invoice\(s\), Zip archive of \d+ bytes in [2-9] part", result.stdout
    )
    assert BATCH_REF.search(result.stdout)
    assert not ONLINE_REF.search(result.stdout)
    assert "packing: 100%" in result.stdout
    assert "uploading: 100%" in result.stdout
    for path in files:
        line = next(line for line in result.stdout.splitlines() if path.name in line)
        number = KSEF_NUMBER.search(line)
        assert number is not None, line
        assert number.group().startswith(logged_in.nip)
    assert len(set(KSEF_NUMBER.findall(result.stdout))) == 5
    saved = BatchSessionState.model_validate_json(state.read_text())
    assert saved.closed
    assert len(saved.part_ordinals) > 1
    assert sorted(saved.uploaded) == sorted(saved.part_ordinals)
    assert not list(state.parent.glob("state.parts/*.aes"))  # part files go after success


def test_json_output_of_a_batch_parses(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any, config_dir: Path
) -> None:
    _invoices(make_invoice, tmp_path / "in", logged_in.nip, 3, "B2")
    result = cli("--json", "send", "--batch", "--part-size", "1000", str(tmp_path / "in"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert BATCH_REF.fullmatch(document["sessionReferenceNumber"])
    assert document["sessionType"] == "Batch"
    assert document["sessionStatus"]["code"] == 200
    assert document["package"]["compression"] == "Zip"
    assert document["package"]["invoices"] == 3
    assert document["package"]["parts"] > 1
    rows = _rows(document)
    assert sorted(rows) == ["inv-01.xml", "inv-02.xml", "inv-03.xml"]
    for row in rows.values():
        assert row["statusCode"] == 200
        assert KSEF_NUMBER.fullmatch(row["ksefNumber"])
        assert row["error"] is None
    # No --state: a new file under the config directory, named on stderr before the upload.
    state = Path(document["statePath"])
    assert state.parent == config_dir / "batches"
    assert state.is_file()
    assert f"ksefkit session resume {state}" in result.stderr
    assert "uploading: 100%" in result.stderr
    assert not result.stderr.count("error")


def test_threshold_switches_to_batch(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    _invoices(make_invoice, tmp_path / "a", logged_in.nip, 3, "T1")
    batch = cli("--json", "send", "--batch-threshold", "2", str(tmp_path / "a"))
    assert batch.exit_code == 0, batch.output
    document = json.loads(batch.stdout)
    assert BATCH_REF.fullmatch(document["sessionReferenceNumber"])
    assert all(KSEF_NUMBER.fullmatch(r["ksefNumber"]) for r in document["invoices"])

    _invoices(make_invoice, tmp_path / "b", logged_in.nip, 3, "T2")
    online = cli("--json", "send", str(tmp_path / "b"), env={"KSEF_BATCH_THRESHOLD": "3"})
    assert online.exit_code == 0, online.output
    assert ONLINE_REF.fullmatch(json.loads(online.stdout)["sessionReferenceNumber"])

    _invoices(make_invoice, tmp_path / "c", logged_in.nip, 3, "T3")
    via_env = cli("--json", "send", str(tmp_path / "c"), env={"KSEF_BATCH_THRESHOLD": "2"})
    assert via_env.exit_code == 0, via_env.output
    assert BATCH_REF.fullmatch(json.loads(via_env.stdout)["sessionReferenceNumber"])

    _invoices(make_invoice, tmp_path / "d", logged_in.nip, 3, "T4")
    forced = cli("--json", "send", "--online", "--batch-threshold", "0", str(tmp_path / "d"))
    assert forced.exit_code == 0, forced.output
    assert ONLINE_REF.fullmatch(json.loads(forced.stdout)["sessionReferenceNumber"])


def test_tar_gz_package(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    files = _invoices(make_invoice, tmp_path / "in", logged_in.nip, 3, "TG")
    result = cli(
        "--json",
        "send",
        "--batch",
        "--compression",
        "TARGZ",
        "--part-size",
        "900",
        *map(str, files),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["package"]["compression"] == "TarGz"
    assert document["package"]["parts"] > 1
    assert {r["statusCode"] for r in document["invoices"]} == {200}
    assert len({r["ksefNumber"] for r in document["invoices"]}) == 3


def test_session_upo_pages_saved_with_upo_dir(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    _invoices(make_invoice, tmp_path / "in", logged_in.nip, 3, "U")
    result = cli(
        "--json", "send", "--batch", str(tmp_path / "in"), "--upo-dir", str(tmp_path / "upo")
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["sessionUpo"]
    listed = set()
    for page in document["sessionUpo"]:
        path = Path(page)
        assert path.parent == tmp_path / "upo"
        assert document["sessionReferenceNumber"] in path.name
        listed |= {d.ksef_number for d in parse_upo(path.read_bytes()).documents}
    assert listed == {r["ksefNumber"] for r in document["invoices"]}


def test_malformed_files_refuse_the_whole_package_before_anything_is_opened(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    folder = tmp_path / "in"
    make_invoice(folder, logged_in.nip, "1-good.xml", "FV/P/1")
    (folder / "2-broken.xml").write_bytes(b"<Faktura><unclosed></Faktura>")
    good = make_invoice(folder, logged_in.nip, "3-good.xml", "FV/P/3")
    (folder / "4-bom.xml").write_bytes(
        b"\xef\xbb\xbf" + good.read_bytes().replace(b"FV/P/3", b"FV/P/4")
    )
    state = tmp_path / "state.json"
    result = cli("--json", "send", "--batch", "--state", str(state), str(folder))
    assert result.exit_code == ExitCode.PROCESSING, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "error: pre-flight refused the package: 2 of 4 file(s) have problems; nothing was sent"
    )
    document = json.loads(result.stdout)
    assert document["sessionReferenceNumber"] is None
    rows = _rows(document)
    assert sorted(rows) == ["2-broken.xml", "4-bom.xml"]
    assert rows["2-broken.xml"]["error"].startswith("pre-flight: ")
    assert "BOM" in rows["4-bom.xml"]["error"] or "byte order mark" in rows["4-bom.xml"]["error"]
    assert all(row["invoiceReferenceNumber"] is None for row in rows.values())
    assert not state.exists()
    sessions = cli("--json", "session", "list", "--type", "Batch")
    assert json.loads(sessions.stdout)["sessions"] == []

    table = cli("send", "--batch", str(folder))
    assert table.exit_code == ExitCode.PROCESSING
    assert "nothing sent" in table.stdout
    assert "2-broken.xml" in table.stdout
    assert "4-bom.xml" in table.stdout
    assert "1-good.xml" not in table.stdout


def test_invoice_rejected_by_ksef_is_exit_5_and_the_others_get_numbers(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    folder = tmp_path / "in"
    make_invoice(folder, logged_in.nip, "good.xml", "FV/R/1")
    foreign = make_invoice(folder, logged_in.nip, "foreign.xml", "FV/R/2")
    # Another seller's NIP: pre-flight passes, KSeF refuses it in this context (410).
    foreign.write_bytes(foreign.read_bytes().replace(logged_in.nip.encode(), b"5265877635", 1))
    result = cli("--json", "send", "--batch", str(folder))
    assert result.exit_code == ExitCode.PROCESSING, result.output
    assert result.stderr.strip().splitlines()[-1] == "error: 1 of 2 invoice(s) failed"
    document = json.loads(result.stdout)
    assert document["sessionStatus"]["code"] == 200
    rows = _rows(document)
    assert KSEF_NUMBER.fullmatch(rows["good.xml"]["ksefNumber"])
    assert rows["foreign.xml"]["statusCode"] == 410
    assert rows["foreign.xml"]["ksefNumber"] is None
    assert rows["foreign.xml"]["error"]


def _interrupted_send(
    emulator: Any, subject: SeededSubject, files: list[Path], state: Path, *, parts: int
) -> BatchSessionState:
    """What a crashed ``send`` leaves: the package built, the session open and only
    ``parts`` of its parts uploaded and recorded in the state file."""
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(subject.token, nip=subject.nip)
        batch = client.batch_session(FormCode.FA3, state_path=state)
        package = batch.prepare(files, part_size=1200)
        assert len(package.parts) > parts
        batch.open()
        saved = batch.state
        for link in saved.part_uploads[:parts]:
            body = package.part(link.ordinal_number).path.read_bytes()
            response = httpx.request(
                link.method, link.url.get_secret_value(), headers=link.headers, content=body
            )
            assert response.status_code == 201, response.text
            saved = saved.with_uploaded(link.ordinal_number)
        saved.save(state)
        return saved


def test_resume_finishes_an_interrupted_send(
    cli: Any,
    emulator: Any,
    logged_in: SeededSubject,
    tmp_path: Path,
    make_invoice: Any,
) -> None:
    files = _invoices(make_invoice, tmp_path / "in", logged_in.nip, 4, "RS")
    state = tmp_path / "state.json"
    saved = _interrupted_send(emulator, logged_in, files, state, parts=1)
    assert saved.reference_number is not None
    assert saved.uploaded == (1,)

    result = cli("session", "resume", str(state), "--upo-dir", str(tmp_path / "upo"))
    assert result.exit_code == 0, result.output
    assert f"resuming batch session {saved.reference_number}" in result.stdout
    assert "uploading: 100%" in result.stdout
    for path in files:
        line = next(line for line in result.stdout.splitlines() if path.name in line)
        assert KSEF_NUMBER.search(line), line
    assert list((tmp_path / "upo").glob(f"UPO-{saved.reference_number}*.xml"))
    finished = BatchSessionState.model_validate_json(state.read_text())
    assert finished.closed
    assert not list(tmp_path.glob("state.parts/*.aes"))

    # Again: nothing left to upload; the same result, each invoice once.
    again = cli("--json", "session", "resume", str(state))
    assert again.exit_code == 0, again.output
    document = json.loads(again.stdout)
    assert document["sessionReferenceNumber"] == saved.reference_number
    assert len({r["ksefNumber"] for r in document["invoices"]}) == 4
    listed = json.loads(cli("--json", "session", "invoices", saved.reference_number).stdout)
    assert len(listed["invoices"]) == 4


def test_resume_of_a_package_never_opened(
    cli: Any, emulator: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    files = _invoices(make_invoice, tmp_path / "in", logged_in.nip, 2, "RO")
    state = tmp_path / "state.json"
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(logged_in.token, nip=logged_in.nip)
        client.batch_session(FormCode.FA3, state_path=state).prepare(files)
    result = cli("--json", "session", "resume", str(state))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert BATCH_REF.fullmatch(document["sessionReferenceNumber"])
    assert {r["statusCode"] for r in document["invoices"]} == {200}
    assert "resuming batch session (not opened yet)" in result.stderr


def test_resume_errors(cli: Any, logged_in: SeededSubject, tmp_path: Path) -> None:
    assert cli("session", "resume", str(tmp_path / "missing.json")).exit_code == ExitCode.USAGE
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = cli("session", "resume", str(broken))
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.startswith(f"error: {broken} is not a ksefkit batch state file")
    online = tmp_path / "online.json"  # some other JSON
    online.write_text(json.dumps({"kind": "online", "reference_number": "x"}))
    assert cli("session", "resume", str(online)).exit_code == ExitCode.CONFIG


def test_batch_usage_errors(
    cli: Any, logged_in: SeededSubject, tmp_path: Path, make_invoice: Any
) -> None:
    path = make_invoice(tmp_path, logged_in.nip, "x.xml", "FV/X/1")
    for args in (
        ("--batch", "--online"),
        ("--batch", "--form", "PEF3"),
        ("--batch", "--no-wait"),
        ("--batch", "--compression", "rar"),
        ("--batch", "--part-size", "0"),
        ("--batch", "--parallel", "0"),
    ):
        result = cli("send", *args, str(path))
        assert result.exit_code == ExitCode.USAGE, (args, result.output)
    existing = tmp_path / "taken.json"
    existing.write_text("{}")
    result = cli("send", "--batch", "--state", str(existing), str(path))
    assert result.exit_code == ExitCode.CONFIG
    assert "exists" in result.stderr


def test_storage_errors_are_api_errors_and_notes_join_the_message() -> None:
    failed = StorageError("part 2: storage answered 500", status_code=500, ordinal_number=2)
    assert exit_code_for(failed) is ExitCode.API
    failed.add_note("resume with: ksefkit session resume s.json")
    assert message_for(failed) == (
        "part 2: storage answered 500 - resume with: ksefkit session resume s.json"
    )


def test_resume_after_the_upload_window_passed(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    """Parts uploaded too late: exit 4 with the hint; --reopen-expired sends the package in a
    new session (the unclosed one is never processed, so nothing goes twice)."""
    with (
        EmulatorState(processing="immediate", clock=ManualClock()) as state,
        ThreadedServer(create_app(state)) as server,
    ):
        emulator = SimpleNamespace(api_url=server.base_url + "/v2")
        subject = state.create_subject()
        files = _invoices(make_invoice, tmp_path / "in", subject.nip, 3, "EX")
        state_file = tmp_path / "state.json"
        saved = _interrupted_send(emulator, subject, files, state_file, parts=1)
        state.advance(3 * 3600)  # past 20 min x parts
        env = {"KSEF_TOKEN": subject.token, "KSEF_NIP": subject.nip}
        base = ("--base-url", emulator.api_url)

        late = cli(*base, "session", "resume", str(state_file), env=env)
        assert late.exit_code == ExitCode.API, late.output
        assert late.stderr.startswith("error: upload of part ")
        assert "?…" in late.stderr  # the link's signature is never shown
        assert late.stderr.rstrip().endswith(
            f"- resume with: ksefkit session resume {state_file} --reopen-expired"
        ), late.stderr

        fresh = cli(
            *base, "--json", "session", "resume", "--reopen-expired", str(state_file), env=env
        )
        assert fresh.exit_code == 0, fresh.output
        document = json.loads(fresh.stdout)
        assert document["sessionReferenceNumber"] != saved.reference_number
        assert {r["statusCode"] for r in document["invoices"]} == {200}
        assert BatchSessionState.load(state_file).abandoned == (saved.reference_number,)


def test_progress_draws_bars_on_a_terminal_and_lines_elsewhere() -> None:
    terminal = Output()
    screen = io.StringIO()
    terminal.console = Console(file=screen, force_terminal=True, width=100, highlight=False)
    with BatchProgress(terminal) as progress:
        progress.message("package: 2 invoice(s)")
        for phase, total in (("pack", 4000), ("encrypt", 1500), ("upload", 1600)):
            for done in range(0, total + 1, 500):
                progress(phase, min(done, total), total)
    drawn = screen.getvalue()
    assert "\x1b[" in drawn  # colours and cursor moves: a live display
    for label in ("package: 2 invoice(s)", "packing", "encrypting", "uploading"):
        assert label in drawn

    plain = Output()
    plain.console = Console(file=io.StringIO(), width=200)
    with BatchProgress(plain) as progress:
        for done in range(0, 1001, 100):
            progress("upload", done, 1000)
    lines = plain.console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines == [
        "uploading: 0% (0 of 1000 bytes)",
        "uploading: 30% (300 of 1000 bytes)",
        "uploading: 50% (500 of 1000 bytes)",
        "uploading: 80% (800 of 1000 bytes)",
        "uploading: 100% (1000 of 1000 bytes)",
    ]
