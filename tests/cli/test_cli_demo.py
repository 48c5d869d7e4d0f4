"""``ksefkit demo``: the whole flow against an in-process emulator, with and without XSDs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ksefkit import fa3, schemas
from ksefkit.upo import parse_upo

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")

FULL_KSEF_NUMBER = re.compile(r"^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$")


def test_demo_sends_an_invoice_and_saves_both_upos(cli: Any, tmp_path: Path) -> None:
    result = cli("demo", "--keep-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "XSD validation is off" not in result.output
    summary = dict(
        line.split(":", 1)
        for line in result.stdout.splitlines()
        if line.startswith(("KSeF number:", "invoice UPO:", "session UPO:"))
    )
    ksef_number = summary["KSeF number"].strip()
    assert FULL_KSEF_NUMBER.match(ksef_number)
    invoice_upo = parse_upo(Path(summary["invoice UPO"].strip()).read_bytes())
    session_upo = parse_upo(Path(summary["session UPO"].strip()).read_bytes())
    assert [d.ksef_number for d in invoice_upo.documents] == [ksef_number]
    assert [d.ksef_number for d in session_upo.documents] == [ksef_number]
    assert invoice_upo.session_reference == session_upo.session_reference
    # Steps are printed as they happen, in order.
    order = [
        "start the emulator",
        "authenticate",
        "send the invoice",
        "wait for the KSeF number",
        "close the session",
        "download the session UPO",
    ]
    positions = [result.stdout.index(step) for step in order]
    assert positions == sorted(positions)
    assert str((tmp_path / "out").resolve()) in result.stdout


def test_demo_json_summary(cli: Any, tmp_path: Path) -> None:
    result = cli("--json", "demo")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert FULL_KSEF_NUMBER.match(document["ksefNumber"])
    assert document["sessionReferenceNumber"] in document["sessionUpoPaths"][0]
    assert document["invoiceReferenceNumber"]
    assert document["xsdValidation"] is True
    assert Path(document["directory"]) == (tmp_path / "ksefkit-demo").resolve()
    upo = parse_upo(Path(document["invoiceUpoPath"]).read_bytes())
    assert upo.documents[0].ksef_number == document["ksefNumber"]
    names = [step["name"] for step in document["steps"]]
    assert "wait until the session is processed" in names
    # The invoice is built with the FA(3) builder, checked, and saved with its HTML rendering.
    checked = next(s for s in document["steps"] if s["name"].startswith("check the invoice"))
    assert checked["detail"] == "no findings"
    invoice = fa3.parse(Path(document["invoicePath"]).read_bytes())
    assert invoice.fa.number == document["invoiceNumber"]
    assert len(invoice.fa.lines) >= 2
    page = Path(document["invoiceHtmlPath"]).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and invoice.fa.number in page
    assert all(step["seconds"] >= 0 for step in document["steps"])
    # The emulator processes in the background after a delay: the wait was real.
    waited = next(s for s in document["steps"] if s["name"] == "wait for the KSeF number")
    assert waited["seconds"] >= 0.2


def test_demo_without_schemas_still_runs(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-schemas"
    empty.mkdir()
    monkeypatch.setenv("KSEFKIT_SCHEMA_DIR", str(empty))
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    schemas.reset_default_store()
    result = cli("demo", "--keep-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "XSD validation is off:" in text
    assert "KSEFKIT_SCHEMA_DIR" in text
    assert "ksefkit schemas fetch" in text
    assert KSEF_NUMBER.search(result.stdout)
    assert list((tmp_path / "out").glob("UPO-*.xml"))
