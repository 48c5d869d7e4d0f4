# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""KSeF-token authentication through the SDK against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksefkit import AuthenticationFailed, ConfigurationError, Unauthorized
from ksefkit.models import TokenInfo


def test_authenticate_installs_tokens(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        result = client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        assert result.status.status.code == 200
        assert client.tokens.authenticated
        assert result.access_token.valid_until > datetime.now(UTC)
        assert result.refresh_token.valid_until > result.access_token.valid_until
        # The token must never show up in reprs.
        assert ksef_subject.token not in repr(result)
        assert result.access_token.token not in repr(client)
        # An authenticated call works.
        assert [s for s in client.sessions.list("Online")] == []


def test_wrong_token_fails_with_450(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(ksef_subject.token + "x", nip=ksef_subject.nip)
        assert info.value.code == 450
        assert info.value.reference_number


def test_token_of_another_context_fails(ksef_emulator, ksef_subject) -> None:
    other = ksef_emulator.create_subject()
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(ksef_subject.token, nip=other.nip)
        assert info.value.code in (415, 450)


def test_access_token_is_refreshed_before_expiry(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        old = client.tokens.access_valid_until
        assert old is not None
        # Pretend the access token is about to expire: the next call must refresh it first.
        nearly = TokenInfo(
            token="expired-token", valid_until=datetime.now(UTC) + timedelta(seconds=5)
        )
        client.tokens.set(nearly)
        with client.online_session() as session:
            assert session.reference_number
        assert client.tokens.access_valid_until is not None
        assert client.tokens.access_valid_until > datetime.now(UTC) + timedelta(minutes=1)


def test_unauthenticated_call_is_a_clear_error(ksef_emulator) -> None:
    with ksef_emulator.client() as client:
        with pytest.raises(ConfigurationError, match="not authenticated"):
            client.sessions.status("20250625-SO-2C3E6C8000-B675CF5D68-07")


def test_bad_access_token_gives_401(ksef_emulator) -> None:
    token = TokenInfo(token="not-a-jwt", valid_until=datetime.now(UTC) + timedelta(hours=1))
    with ksef_emulator.client(access_token=token) as client:
        with pytest.raises(Unauthorized) as info:
            client.sessions.status("20250625-SO-2C3E6C8000-B675CF5D68-07")
        assert info.value.status_code == 401


def test_exactly_one_context_required(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        with pytest.raises(ConfigurationError):
            client.authenticate(ksef_subject.token)
        with pytest.raises(ConfigurationError):
            client.authenticate(ksef_subject.token, nip="1", internal_id="2")
