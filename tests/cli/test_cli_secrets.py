"""No secret in any output: a whole working day of commands (also with -v and --json) is run,
and neither the KSeF tokens, the session tokens nor the key password appear on stdout or
stderr — except the new token in the output of ``tokens create``, which is its product."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ksefkit import testcerts
from ksefkit.cli import credentials
from ksefkit.emulator.state import SeededSubject
from ksefkit.identifiers import random_nip

PASSWORD = "s3cret key password"


def test_no_secret_in_any_output(
    cli: Any, emulator: Any, subject: SeededSubject, tmp_path: Path, config_dir: Path
) -> None:
    nip = random_nip()
    cert, key = testcerts.company_seal(nip).save(tmp_path, password=PASSWORD)
    env = {"KSEF_KEY_PASSWORD": PASSWORD}
    url = ("--base-url", emulator.api_url)
    outputs: list[str] = []

    def run(*args: str, **kw: Any) -> Any:
        result = cli(*args, **kw)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout + result.stderr)
        return result

    run(*url, "-v", "auth", "login", "--nip", nip, "--cert", str(cert), "--key", str(key), env=env)
    run("-v", "--json", "auth", "status")
    run("-v", "auth", "sessions")
    created = cli("--json", "tokens", "create", "--permission", "InvoiceWrite",
                  "--description", "read only", "--wait")  # fmt: skip
    assert created.exit_code == 0, created.output
    new_token = json.loads(created.stdout)["token"]
    run("-v", "tokens", "list")
    run("--json", "tokens", "show", json.loads(created.stdout)["referenceNumber"])
    run(*url, "--profile", "erp", "-v", "auth", "login", "--nip", nip, "--save-token",
        env={"KSEF_TOKEN": new_token})  # fmt: skip
    run(*url, "--profile", "seeded", "auth", "login", "--nip", subject.nip,
        input=subject.token + "\n")  # fmt: skip
    run("--profile", "erp", "-v", "session", "list")
    run("--json", "profile", "list")
    run("profile", "show", "erp")
    session_tokens = []
    for profile in ("default", "erp", "seeded"):
        stored = credentials.load(profile)
        assert stored is not None
        session_tokens += [stored.access_token.token, stored.refresh_token.token]
    run("-v", "--profile", "erp", "auth", "logout")
    run("-v", "auth", "logout")

    everything = "\n".join(outputs)
    for secret in (PASSWORD, new_token, subject.token, *session_tokens):
        assert secret not in everything
    assert "HTTP Request" in everything  # -v did log the requests
    assert PASSWORD not in (config_dir / "credentials.json").read_text()
    profiles_text = (config_dir / "profiles.toml").read_text()
    for secret in (PASSWORD, new_token, subject.token, *session_tokens):
        assert secret not in profiles_text
