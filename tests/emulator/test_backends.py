"""Backends and helpers without HTTP: errors rendering, JWTs, paging, store, auth rules."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit.emulator import jwt
from ksefkit.emulator.backends import paginate
from ksefkit.emulator.backends.sessions import common_status
from ksefkit.emulator.clock import ManualClock, isoformat, parse_datetime, warsaw_date
from ksefkit.emulator.errors import (
    KsefApiError,
    bad_request,
    forbidden,
    render_error,
    too_many_requests,
)
from ksefkit.emulator.state import EmulatorState
from ksefkit.emulator.store import Store

NOW = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)


def test_render_400_legacy_and_problem_details() -> None:
    err = bad_request(21173, "Sesja X nie została znaleziona.")
    legacy = render_error(err, problem_details=False, instance="/v2/sessions/X", now=NOW)
    entry = legacy.body["exception"]["exceptionDetailList"][0]
    assert legacy.media_type == "application/json"
    assert entry == {
        "exceptionCode": 21173,
        "exceptionDescription": "Brak sesji o wskazanym numerze referencyjnym.",
        "details": ["Sesja X nie została znaleziona."],
    }
    problem = render_error(err, problem_details=True, instance="/v2/sessions/X", now=NOW)
    assert problem.media_type == "application/problem+json"
    assert problem.body["errors"] == [
        {"code": 21173, "description": entry["exceptionDescription"], "details": entry["details"]}
    ]
    assert problem.body["instance"] == "/v2/sessions/X"


def test_render_403_and_429() -> None:
    f = render_error(
        forbidden("ip-not-allowed", "IP", {"clientIp": "1.2.3.4"}),
        problem_details=False,
        instance="/v2/x",
        now=NOW,
    )
    assert (f.status, f.body["reasonCode"], f.body["security"]) == (
        403,
        "ip-not-allowed",
        {"clientIp": "1.2.3.4"},
    )
    legacy = render_error(
        too_many_requests(30, "limit"), problem_details=False, instance="/", now=NOW
    )
    assert legacy.headers == {"Retry-After": "30"}
    assert legacy.body == {
        "status": {"code": 429, "description": "Too Many Requests", "details": ["limit"]}
    }
    problem = render_error(
        too_many_requests(30, "limit"), problem_details=True, instance="/", now=NOW
    )
    assert problem.body["title"] == "Too Many Requests"
    assert problem.headers["Retry-After"] == "30"


def test_jwt_roundtrip_and_tamper() -> None:
    token = jwt.encode({"sub": "x"}, b"secret")
    assert jwt.decode(token, b"secret") == {"sub": "x"}
    header, _payload, sig = token.split(".")
    with pytest.raises(jwt.JwtError):
        jwt.decode(f"{header}.{jwt.b64url_encode(b'{}')}.{sig}", b"secret")
    with pytest.raises(jwt.JwtError):
        jwt.decode("ąę.x.y", b"secret")


def test_paginate_and_bad_token() -> None:
    items = list(range(21))
    page1, t1 = paginate(items, None, 10)
    page2, t2 = paginate(items, t1, 10)
    page3, t3 = paginate(items, t2, 10)
    assert page1 + page2 + page3 == items
    assert t3 is None
    with pytest.raises(KsefApiError) as err:
        paginate(items, "bm90IGpzb24=", 10)
    assert err.value.code == 21418


def test_clock_helpers() -> None:
    assert isoformat(NOW) == "2026-02-10T09:30:00.0000000+00:00"
    assert parse_datetime(isoformat(NOW)) == NOW
    # No offset = Europe/Warsaw (UTC+1 in February).
    assert parse_datetime("2026-02-10T10:30:00") == NOW
    assert warsaw_date(dt.datetime(2026, 2, 10, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 2, 11)
    assert [common_status(c) for c in (100, 200, 415, 440)] == [
        "InProgress",
        "Succeeded",
        "Failed",
        "Cancelled",
    ]


def test_store_rolls_back_failed_transaction() -> None:
    store = Store()

    def failing() -> None:
        with store.tx():
            store.set_meta("k", b"v")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert store.get_meta("k") is None


def test_auth_backend_without_http() -> None:
    with EmulatorState(clock=ManualClock(NOW), processing="manual") as state:
        subject = state.create_subject()
        challenge = state.auth.challenge("10.0.0.1")
        assert challenge["clientIp"] == "10.0.0.1"
        assert challenge["timestampMs"] == int(NOW.timestamp() * 1000)
        body = {
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": subject.nip},
            "encryptedToken": "AAAA",
        }
        state.auth.init_token_auth(body, "10.0.0.1")
        assert state.auth.pending() == []  # auth completes inline outside background mode
        row = state.store.one("SELECT status_code, status_details FROM auth_operations")
        assert row is not None
        assert row["status_code"] == 450
        assert "Nieprawidłowe szyfrowanie tokena" in row["status_details"]
        assert "token=" not in repr(subject)
        assert subject.token not in repr(subject)
