"""The root command: help, global options, the error handler and the exit-code mapping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ksefkit.cli._errors import ExitCode, NotLoggedIn, SomeInvoicesFailed, exit_code_for
from ksefkit.errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    ConfigurationError,
    Forbidden,
    InvoiceRejected,
    PreflightError,
    ProcessingError,
    SchemaNotFoundError,
    ServerError,
    SessionFailed,
    TransportError,
    Unauthorized,
    WaitTimeout,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AuthenticationFailed(450, "bad token"), ExitCode.AUTH),
        (Unauthorized(401), ExitCode.AUTH),
        (NotLoggedIn("no login"), ExitCode.AUTH),
        (BadRequest(400), ExitCode.API),
        (BadRequest(400, operation="POST /auth/token/refresh"), ExitCode.AUTH),
        (Forbidden(403), ExitCode.API),
        (ServerError(503), ExitCode.API),
        (ApiError(418), ExitCode.API),
        (TransportError("refused"), ExitCode.API),
        (ProcessingError(500, "x"), ExitCode.PROCESSING),
        (InvoiceRejected(440, "duplicate"), ExitCode.PROCESSING),
        (SessionFailed(445, "no valid invoices"), ExitCode.PROCESSING),
        (PreflightError(["BOM"]), ExitCode.PROCESSING),
        (WaitTimeout("too slow"), ExitCode.PROCESSING),
        (SomeInvoicesFailed("1 of 2"), ExitCode.PROCESSING),
        (ConfigurationError("bad"), ExitCode.CONFIG),
        (SchemaNotFoundError("no xsd"), ExitCode.CONFIG),
        (RuntimeError("bug"), ExitCode.UNEXPECTED),
        (OSError("disk"), ExitCode.UNEXPECTED),
    ],
)
def test_exit_code_mapping(error: Exception, code: ExitCode) -> None:
    assert exit_code_for(error) is code


def test_help_lists_groups_and_documents_exit_codes(cli: Any) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("demo", "emulator", "schemas", "auth", "send", "session", "invoice", "upo"):
        assert name in result.stdout
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 ok, 1 unexpected error, 2 usage error, 3 authentication error" in text
    assert "6 configuration error" in text
    for var in ("KSEF_ENV", "KSEF_BASE_URL", "KSEF_CA_FILE"):
        assert var in text


def test_unknown_command_is_usage_error(cli: Any) -> None:
    result = cli("no-such-command")
    assert result.exit_code == ExitCode.USAGE


def test_bad_environment_is_usage_error(cli: Any) -> None:
    result = cli("--env", "MARS", "session", "list")
    assert result.exit_code == ExitCode.USAGE
    assert "MARS" in result.stderr


def test_not_logged_in_is_exit_3_with_one_error_line(cli: Any) -> None:
    result = cli("session", "status", "20250101-SO-0000000000-0000000000-00")
    assert result.exit_code == ExitCode.AUTH
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: not logged in")
    assert "ksefkit auth login" in lines[0]
    assert result.stdout == ""


def test_transport_error_is_exit_4(cli: Any) -> None:
    # Port 9 (discard) on localhost: nothing listens, the connection is refused at once.
    result = cli(
        "--base-url",
        "http://127.0.0.1:9/v2",
        "--timeout",
        "2",
        "auth",
        "login",
        "--nip",
        "5265877635",
        env={"KSEF_TOKEN": "whatever"},
    )
    assert result.exit_code == ExitCode.API, result.output
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "whatever" not in result.output


def test_console_script_help_runs_as_subprocess() -> None:
    script = Path(sys.executable).with_name("ksefkit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ksefkit.cli.main"]
    done = subprocess.run(
        [*command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Exit codes" in done.stdout
    assert "send" in done.stdout


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ksefkit.cli.main", "schemas", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "fetch" in done.stdout
    assert "where" in done.stdout


def test_unexpected_error_is_exit_1_one_line_and_traceback_only_with_verbose(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(path: Path | None = None) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ksefkit.cli.credentials.load", boom)
    quiet = cli("session", "list")
    assert quiet.exit_code == ExitCode.UNEXPECTED
    assert quiet.stderr == "error: RuntimeError: boom\n"
    loud = cli("-v", "session", "list")
    assert loud.exit_code == ExitCode.UNEXPECTED
    assert "Traceback" in loud.stderr
    assert loud.stderr.rstrip().splitlines()[-1] == "error: RuntimeError: boom"


def test_verbose_logs_requests_to_stderr_only_for_that_run(
    cli: Any, emulator: Any, subject: Any
) -> None:
    cli.login(emulator, subject)
    loud = cli("-v", "session", "list")
    assert loud.exit_code == 0, loud.output
    assert "HTTP Request: GET" in loud.stderr
    assert subject.token not in loud.stderr
    quiet = cli("session", "list")
    assert quiet.stderr == ""
