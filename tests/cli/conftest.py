"""Fixtures for CLI tests: a clean environment, a CliRunner, an emulator served over HTTP."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ksefkit import schemas
from ksefkit.cli.main import app
from ksefkit.emulator.app import create_app
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")
SESSION_REF = re.compile(r"\b\d{8}-SO-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\b")
INVOICE_REF = re.compile(r"\b\d{8}-EE-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\b")

_KSEF_VARS = (
    "KSEF_TOKEN",
    "KSEF_NIP",
    "KSEF_INTERNAL_ID",
    "KSEF_NIP_VAT_UE",
    "KSEF_PEPPOL_ID",
    "KSEF_ENV",
    "KSEF_BASE_URL",
    "KSEF_CA_FILE",
    "XDG_CONFIG_HOME",
)


@dataclass
class Emulator:
    state: EmulatorState
    server: ThreadedServer

    @property
    def api_url(self) -> str:
        return self.server.base_url + "/v2"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator per test module (immediate processing); tests use their own subjects."""
    with EmulatorState(processing="immediate") as state, ThreadedServer(create_app(state)) as srv:
        yield Emulator(state, srv)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No KSEF_* leaks in from the outside; credentials go to a per-test directory."""
    for name in _KSEF_VARS:
        monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "config"
    monkeypatch.setenv("KSEFKIT_CONFIG_DIR", str(config_dir))
    monkeypatch.chdir(tmp_path)
    schemas.reset_default_store()
    yield config_dir
    schemas.reset_default_store()


@pytest.fixture
def config_dir(clean_env: Path) -> Path:
    return clean_env


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def subject(emulator: Emulator) -> SeededSubject:
    return emulator.state.create_subject()


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``ksefkit *args`` in-process (exceptions are kept on the result, not raised)."""
    return runner.invoke(app, list(args), env=env)


def login(runner: CliRunner, emulator: Emulator, subject: SeededSubject) -> Result:
    """``ksefkit --base-url <emulator> auth login --nip <nip>`` with KSEF_TOKEN set."""
    result = invoke(
        runner,
        "--base-url",
        emulator.api_url,
        "auth",
        "login",
        "--nip",
        subject.nip,
        env={"KSEF_TOKEN": subject.token},
    )
    assert result.exit_code == 0, result.output
    return result


def write_invoice(directory: Path, seller_nip: str, name: str, number: str) -> Path:
    """A valid FA(3) invoice file issued by ``seller_nip``."""
    xml = generate_fa3(
        seller_nip=seller_nip,
        buyer_nip=random_nip(),
        invoice_number=number,
        issue_date=dt.date.today(),
    )
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xml)
    return path
