"""``ksefkit invoice validate`` (XSD + business checks, per file, exit 5 on errors) and
``ksefkit invoice render`` (one HTML page, to stdout or a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ksefkit import schemas
from ksefkit.cli._errors import ExitCode

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "samples" / "FA3"
SAMPLE_1 = SAMPLES / "FA_3_Przyklad_1.xml"  # one rounding warning (P_15 2051 vs 2050.99)
SAMPLE_9 = SAMPLES / "FA_3_Przyklad_9.xml"  # clean
LATE = "2026-12-31"  # after every sample's issue date


def bad_nip(tmp_path: Path) -> Path:
    path = tmp_path / "bad-nip.xml"
    path.write_bytes(SAMPLE_9.read_bytes().replace(b"<NIP>1111111111<", b"<NIP>1111111112<", 1))
    return path


def test_validate_clean_files(cli: Any) -> None:
    result = cli("invoice", "validate", str(SAMPLE_9), str(SAMPLE_1), "--today", LATE)
    assert result.exit_code == 0, result.output
    assert f"✓ {SAMPLE_9}: valid" in result.stdout
    assert f"✓ {SAMPLE_1}: valid, 1 warning(s)" in result.stdout
    assert "warning P15_SUM_ROUNDING: Fa/P_15 2051: expected 2050.99" in result.stdout
    assert "2 of 2 file(s) valid" in result.stdout


def test_validate_reports_each_file_and_fails_with_exit_code_5(cli: Any, tmp_path: Path) -> None:
    bad = bad_nip(tmp_path)
    result = cli("invoice", "validate", str(SAMPLE_9), str(bad), "--today", LATE)
    assert result.exit_code == ExitCode.PROCESSING == 5
    assert f"✗ {bad}: 1 error(s), 0 warning(s)" in result.stdout
    assert (
        "error NIP_CHECKSUM: Podmiot2/DaneIdentyfikacyjne/NIP 1111111112: invalid NIP checksum"
        in result.stdout
    )
    assert "1 of 2 file(s) valid" in result.stdout
    assert result.stderr.strip() == "error: 1 of 2 file(s) failed validation"


def test_validate_json(cli: Any, tmp_path: Path) -> None:
    bad = bad_nip(tmp_path)
    result = cli("--json", "invoice", "validate", str(SAMPLE_1), str(bad), "--today", LATE)
    assert result.exit_code == 5
    document = json.loads(result.stdout)
    assert document["valid"] is False
    first, second = document["files"]
    assert (first["file"], first["valid"], first["xsdErrors"]) == (str(SAMPLE_1), True, [])
    assert [f["code"] for f in first["findings"]] == ["P15_SUM_ROUNDING"]
    assert second["valid"] is False
    assert second["findings"] == [
        {
            "code": "NIP_CHECKSUM",
            "path": "Faktura/Podmiot2/DaneIdentyfikacyjne/NIP",
            "message": "Podmiot2/DaneIdentyfikacyjne/NIP 1111111112: invalid NIP checksum",
            "severity": "error",
        }
    ]


def test_validate_strict_fails_on_warnings(cli: Any) -> None:
    result = cli("invoice", "validate", "--strict", str(SAMPLE_1), "--today", LATE)
    assert result.exit_code == 5
    assert f"✗ {SAMPLE_1}: 0 error(s), 1 warning(s)" in result.stdout


def test_validate_checks_dates_against_today(cli: Any) -> None:
    result = cli("invoice", "validate", str(SAMPLE_9), "--today", "2026-02-14")  # P_1 02-15
    assert result.exit_code == 5
    assert "error ISSUE_DATE_FUTURE: Fa/P_1 2026-02-15: in the future" in result.stdout
    assert cli("invoice", "validate", str(SAMPLE_9), "--today", "15.02.2026").exit_code == 2


def test_validate_xsd_errors_and_broken_files(cli: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<Faktura>")
    unknown = tmp_path / "unknown.xml"
    unknown.write_bytes(SAMPLE_9.read_bytes().replace(b"<P_2>", b"<Kolor>x</Kolor><P_2>", 1))
    result = cli("--json", "invoice", "validate", str(broken), str(unknown), "--today", LATE)
    assert result.exit_code == 5
    first, second = json.loads(result.stdout)["files"]
    assert "not well-formed" in first["xsdErrors"][0] and first["findings"] == []
    assert second["xsdErrors"]
    assert [(f["code"], f["path"]) for f in second["findings"]] == [("PARSE", "Faktura/Fa/Kolor")]


def test_validate_without_schemas_is_a_configuration_error(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSEFKIT_SCHEMA_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    schemas.reset_default_store()
    try:
        result = cli("invoice", "validate", str(SAMPLE_9))
    finally:
        schemas.reset_default_store()
    assert result.exit_code == ExitCode.CONFIG == 6
    assert result.stderr.startswith("error: XSD")


def test_validate_needs_existing_files(cli: Any, tmp_path: Path) -> None:
    assert cli("invoice", "validate", str(tmp_path / "missing.xml")).exit_code == 2


def test_render_to_stdout(cli: Any) -> None:
    result = cli("invoice", "render", str(SAMPLE_1))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert "<title>Faktura VAT FV2026/02/150</title>" in result.stdout


def test_render_to_a_file(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "invoice.html"
    result = cli("invoice", "render", str(SAMPLE_9), "-o", str(target))
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f"-> {target}" in result.stdout
    document = json.loads(
        cli("--json", "invoice", "render", str(SAMPLE_9), "-o", str(target)).stdout
    )
    assert document == {"file": str(SAMPLE_9), "output": str(target), "bytes": len(page.encode())}


def test_render_json_without_output_carries_the_page(cli: Any) -> None:
    document = json.loads(cli("--json", "invoice", "render", str(SAMPLE_9)).stdout)
    assert document["html"].startswith("<!DOCTYPE html>")


def test_render_refuses_what_is_not_an_fa3_invoice(cli: Any, tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_bytes(b"<Faktura/>")
    result = cli("invoice", "render", str(other))
    assert result.exit_code == 5
    assert result.stderr.startswith("error: other.xml: not an FA(3) invoice: Faktura:")
    assert result.stdout == ""


def test_invoice_help_lists_the_commands(cli: Any) -> None:
    result = cli("invoice", "--help")
    assert result.exit_code == 0
    for name in ("validate", "render", "status"):
        assert name in result.stdout
