"""``emulator serve`` wiring, ``schemas``, ``--ca-file`` over TLS, token refresh write-back,
closing a session opened elsewhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ksefkit import Client, schemas
from ksefkit.cli import credentials
from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.app import create_app
from ksefkit.emulator.server import ThreadedServer, make_tls_files
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.formcodes import FormCode


def test_emulator_serve_passes_options(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("ksefkit.emulator.server.serve", lambda **kw: calls.append(kw))
    result = cli("emulator", "serve", "--port", "9999", "--tls", "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 9999,
            "data_dir": tmp_path / "d",
            "tls": True,
            "public_url": None,
            "seed": True,
            "processing": "background",
            "db_path": None,
            "processing_delay": 0.0,
            "rate_limits": "off",
            "faults": [],
            "fault_seed": None,
        }
    ]
    defaults = cli("emulator", "serve")
    assert defaults.exit_code == 0
    assert calls[1]["port"] == 8765
    assert calls[1]["data_dir"] == Path(".ksefkit-emulator")
    db = tmp_path / "e.db"
    args = ["--db", str(db), "--processing", "manual", "--processing-delay", "0.5", "--no-seed"]
    chosen = cli("emulator", "serve", *args)
    assert chosen.exit_code == 0, chosen.output
    assert calls[2]["db_path"] == db
    assert (calls[2]["processing"], calls[2]["processing_delay"]) == ("manual", 0.5)
    assert calls[2]["seed"] is False
    assert cli("emulator", "serve", "--processing", "later").exit_code == 2


def test_schemas_where_finds_the_spec_copy(cli: Any, spec_dir: Path) -> None:
    document = json.loads(cli("--json", "schemas", "where").stdout)
    found = {s["name"]: s["foundAt"] for s in document["schemas"]}
    assert found["FA (3)"] is not None
    assert Path(found["FA (3)"]).is_relative_to(spec_dir)
    assert found["UPO v4-3"] is not None
    table = cli("schemas", "where")
    assert table.exit_code == 0
    assert "FA (3)" in table.stdout


def test_schemas_where_reports_missing(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KSEFKIT_SCHEMA_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "cache"))
    result = cli("schemas", "where")
    assert result.exit_code == 0
    assert "missing" in result.stdout
    assert "ksefkit schemas fetch" in result.stdout
    strict = cli("schemas", "where", "--strict")
    assert strict.exit_code == ExitCode.CONFIG
    assert not (tmp_path / "cache").exists()  # `where` never downloads


def test_schemas_fetch_prints_paths(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fetched = [tmp_path / "a.xsd", tmp_path / "b.xsd"]
    monkeypatch.setattr(schemas.SchemaStore, "fetch_all", lambda self: fetched)
    result = cli("--json", "schemas", "fetch")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == [str(p) for p in fetched]


def test_schemas_fetch_failure_is_exit_6(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self: schemas.SchemaStore) -> list[Path]:
        raise schemas.SchemaNotFoundError("https://raw.githubusercontent.com/...: ConnectError")

    monkeypatch.setattr(schemas.SchemaStore, "fetch_all", offline)
    result = cli("schemas", "fetch")
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.startswith("error: https://raw.githubusercontent.com")


def test_ca_file_makes_tls_work(cli: Any, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    with (
        EmulatorState(processing="immediate") as state,
        ThreadedServer(
            create_app(state), ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key)
        ) as server,
    ):
        subject = state.create_subject()
        args = ["--base-url", server.base_url + "/v2", "auth", "login", "--nip", subject.nip]
        env = {"KSEF_TOKEN": subject.token}
        untrusted = cli(*args, env=env)
        assert untrusted.exit_code == ExitCode.API
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr or "certificate" in untrusted.stderr
        trusted = cli("--ca-file", str(tls.ca), *args, env=env)
        assert trusted.exit_code == 0, trusted.output
        assert server.base_url.startswith("https://")


def test_expired_access_token_is_refreshed_and_saved(
    cli: Any, emulator: Any, subject: SeededSubject, config_dir: Path
) -> None:
    cli.login(emulator, subject)
    path = config_dir / "credentials.json"
    stored = credentials.load()
    assert stored is not None
    expired = stored.access_token.model_copy(
        update={"valid_until": datetime.now(UTC) - timedelta(minutes=1)}
    )
    credentials.save(
        credentials.Credentials(
            base_url=stored.base_url,
            environment=stored.environment,
            context=stored.context,
            access_token=expired,
            refresh_token=stored.refresh_token,
        )
    )
    result = cli("session", "list")
    assert result.exit_code == 0, result.output
    after = credentials.load()
    assert after is not None
    assert after.access_token.valid_until > datetime.now(UTC)
    assert after.refresh_token.token == stored.refresh_token.token
    assert (path.stat().st_mode & 0o777) == 0o600


def test_close_a_session_opened_elsewhere(cli: Any, emulator: Any, subject: SeededSubject) -> None:
    cli.login(emulator, subject)
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(subject.token, nip=subject.nip)
        session = client.online_session(FormCode.FA3).open()
        reference = session.reference_number
        assert client.sessions.status(reference).status.code == 100
        result = cli("session", "close", reference)
        assert result.exit_code == 0, result.output
        assert reference in result.stdout
        assert client.sessions.status(reference).status.code != 100
