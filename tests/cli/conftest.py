"""Fixtures for CLI tests: a clean environment, ``cli`` (runs ksefkit in-process), an emulator
served over HTTP, ``make_invoice``. Fixtures only: test modules never import this file (the
suite may run with ``--import-mode=importlib``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from typer.testing import CliRunner, Result

from ksefkit import schemas
from ksefkit.cli.main import app
from ksefkit.emulator.app import create_app
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3

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
    "KSEF_PROFILE",
    "KSEF_KEY_PASSWORD",
    "KSEF_P12_PASSWORD",
    "KSEFKIT_KEYRING",
    "PYTHON_KEYRING_BACKEND",
)


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict: tests never touch the OS keyring of the machine they run on."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every CLI test gets an empty in-memory keyring (``PYTHON_KEYRING_BACKEND`` overrides it)."""
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


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


class Cli:
    """Runs ``ksefkit`` in-process: ``cli("send", "a.xml")``; ``cli.login(emulator, subject)``."""

    def __init__(self, runner: CliRunner) -> None:
        self.runner = runner

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        """Exceptions are kept on the result (exit code 1), never raised into the test."""
        return self.runner.invoke(app, list(args), env=env, input=input)

    def login(self, emulator: Emulator, subject: SeededSubject) -> Result:
        """``ksefkit --base-url <emulator> auth login --nip <nip>`` with KSEF_TOKEN set."""
        result = self(
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


@pytest.fixture
def cli(runner: CliRunner) -> Cli:
    return Cli(runner)


def _write_invoice(directory: Path, seller_nip: str, name: str, number: str) -> Path:
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


@pytest.fixture
def make_invoice() -> Callable[[Path, str, str, str], Path]:
    """``make_invoice(directory, seller_nip, file_name, invoice_number)``: a valid FA(3) file."""
    return _write_invoice
