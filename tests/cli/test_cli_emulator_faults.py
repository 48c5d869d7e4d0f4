"""``ksefkit emulator serve --rate-limits/--fault/--fault-seed``: parsing and the real wiring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest


def test_fault_flags_reach_the_server(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("ksefkit.emulator.server.serve", lambda **kw: calls.append(kw))
    result = cli(
        "emulator",
        "serve",
        "--rate-limits",
        "production",
        "--fault",
        "server_error:rate=0.05:html=1",
        "--fault",
        "drop_after:rate=0.02:path=/sessions/online/.*/invoices",
        "--fault-seed",
        "3",
    )
    assert result.exit_code == 0, result.output
    [kw] = calls
    assert kw["rate_limits"] == "production"
    assert kw["faults"] == [
        "server_error:rate=0.05:html=1",
        "drop_after:rate=0.02:path=/sessions/online/.*/invoices",
    ]
    assert kw["fault_seed"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "explode:rate=1"], "kind: one of"),
        (["--fault", "server_error:status=404"], "status"),
        (["--fault", "latency"], "delay"),
        (["--fault", "rate_limit:rate=often"], "not a number"),
        (["--rate-limits", "fast"], "fast"),
    ],
)
def test_bad_flags_are_usage_errors(
    cli: Any, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("ksefkit.emulator.server.serve", lambda **kw: calls.append(kw))
    result = cli("emulator", "serve", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert calls == []


def test_help_documents_the_fault_syntax(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    text = cli("emulator", "serve", "--help").output
    words = set(text.replace("│", " ").replace(",", " ").split())
    for word in ("--fault", "server_error:rate=0.05", "latency:delay=2:methods=GET."):
        assert word in words
    for word in ("--fault-seed", "--rate-limits", "<off|production>", "docs/emulator-faults.md."):
        assert word in words


def test_serve_process_applies_faults_and_limits(tmp_path: Path) -> None:
    """The real command: a served emulator answers with the configured fault first."""
    args = [
        "emulator",
        "serve",
        "--port",
        "0",
        "--db",
        str(tmp_path / "e.sqlite3"),
        "--no-seed",
        "--rate-limits",
        "production",
        "--fault",
        "server_error:count=1:html=1:path=/security/.*",
    ]
    code = "import sys; from ksefkit.cli.main import run; sys.argv[0] = 'ksefkit'; run()"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("KSeF API:"):
                break
        base = lines[-1].split()[-1].removesuffix("/v2")
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Fault "):
                break
        assert "Rate limits: production\n" in lines
        with httpx.Client(base_url=base, timeout=10) as http:
            first = http.get("/v2/security/public-key-certificates")
            assert first.status_code == 503 and "text/html" in first.headers["content-type"]
            assert http.get("/v2/security/public-key-certificates").status_code == 200
            [rule] = http.get("/_emulator/faults").json()["rules"]
            assert (rule["kind"], rule["hits"], rule["remaining"]) == ("server_error", 1, 0)
    finally:
        process.terminate()
        process.communicate(timeout=20)
