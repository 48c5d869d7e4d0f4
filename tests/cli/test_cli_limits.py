"""``ksefkit limits`` and ``ksefkit testdata rate-limits`` against the emulator."""

from __future__ import annotations

import json
from typing import Any

from ksefkit.cli._errors import ExitCode


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_limits_context_subject_and_rate(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    context = json.loads(_ok(cli("--json", "limits", "context")).stdout)
    assert context["onlineSession"]["maxInvoices"] == 10_000
    assert "batch" in _ok(cli("limits", "context")).stdout
    certificates = json.loads(_ok(cli("--json", "limits", "subject")).stdout)
    assert certificates["certificate"]["maxCertificates"] == 100
    assert "active certificates" in _ok(cli("limits", "subject")).stdout
    rates = json.loads(_ok(cli("--json", "limits", "rate")).stdout)
    assert set(rates) >= {"invoiceSend", "sessionList", "other"}
    assert "invoiceSend" in _ok(cli("limits", "rate")).stdout


def test_testdata_rate_limits_set_production_reset(cli: Any, emulator: Any, subject: Any) -> None:
    cli.login(emulator, subject)
    result = _ok(cli("--json", "testdata", "rate-limits", "set", "invoiceSend=2/10/100"))
    assert json.loads(result.stdout) == {"set": {"invoiceSend": [2, 10, 100]}}
    rates = json.loads(_ok(cli("--json", "limits", "rate")).stdout)
    assert rates["invoiceSend"] == {"perSecond": 2, "perMinute": 10, "perHour": 100}
    _ok(cli("testdata", "rate-limits", "production"))
    rates = json.loads(_ok(cli("--json", "limits", "rate")).stdout)
    assert rates["invoiceSend"] == {"perSecond": 10, "perMinute": 30, "perHour": 180}
    _ok(cli("testdata", "rate-limits", "reset"))
    rates = json.loads(_ok(cli("--json", "limits", "rate")).stdout)
    assert rates["invoiceSend"]["perSecond"] > 10
    assert cli("testdata", "rate-limits", "set", "invoiceSend=2/10").exit_code == 2
    unknown = cli("testdata", "rate-limits", "set", "noSuchGroup=1/1/1")
    assert unknown.exit_code == 2 and "noSuchGroup" in unknown.output


def test_limits_need_a_login(cli: Any, emulator: Any) -> None:
    result = cli("--base-url", emulator.api_url, "limits", "rate")
    assert result.exit_code == ExitCode.AUTH
