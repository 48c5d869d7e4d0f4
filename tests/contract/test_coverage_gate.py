"""The coverage gate: every operation of open-api.json has an SDK method, an emulator route
and a contract test that calls it through the SDK against the emulator (see ``coverage.py``)."""

from __future__ import annotations

from pathlib import Path

from api_coverage import ROOT, collect, render

DOC = ROOT / "docs" / "coverage.md"


def test_every_operation_has_sdk_method_route_and_contract_test(spec_dir: Path) -> None:
    rows = collect(spec_dir / "open-api.json")
    assert len(rows) == 83, "open-api.json 2.7.0 has 83 operations"
    missing = [
        f"{r.operation}: "
        + ", ".join(
            part
            for part, ok in (("SDK method", r.sdk), ("emulator route", r.route), ("test", r.tests))
            if not ok
        )
        for r in rows
        if not r.complete
    ]
    assert missing == [], "operations not covered:\n" + "\n".join(missing)


def test_coverage_table_in_docs_is_current(spec_dir: Path) -> None:
    expected = render(collect(spec_dir / "open-api.json"))
    actual = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert actual == expected, "run `python scripts/coverage_table.py`"


def test_gate_sees_what_it_should() -> None:
    # The readings themselves must work: known operations found in each.
    from api_coverage import contract_tests, emulator_routes, sdk_methods

    assert "client.sessions.open_online" in sdk_methods()["POST /sessions/online"]
    assert "GET /sessions/{}" in emulator_routes()
    assert "test_slice_contract.py" in contract_tests()["POST /sessions/online"]
