# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""Client conveniences: token handling, key rotation, idempotent close, send-and-wait."""

from __future__ import annotations

import pytest

from ksefkit import Environment
from ksefkit.identifiers import is_valid_ksef_number


def test_bare_string_tokens_and_refresh_on_401(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as first:
        first.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        access, refresh = first.tokens.access_info, first.tokens.refresh_info
    assert access is not None and refresh is not None
    # Tokens given as plain strings: the expiry is read from the JWT.
    with ksef_emulator.client(access_token=access.token) as client:
        assert client.tokens.access_valid_until is not None
        assert abs((client.tokens.access_valid_until - access.valid_until).total_seconds()) < 1
    # A rejected access token is refreshed once with the refresh token, then the call works.
    with ksef_emulator.client(
        access_token="rejected.token.value", refresh_token=refresh.token
    ) as client:
        assert [s for s in client.sessions.list("online")] == []
        assert client.tokens.access_info is not None
        assert client.tokens.access_info.token != "rejected.token.value"


def test_token_with_trailing_newline_works(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        result = client.authenticate(ksef_subject.token + "\n", nip=ksef_subject.nip)
        assert result.status.status.code == 200


def test_emergency_key_rotation_is_survived(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as client:
        client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        with client.online_session():
            pass  # the key list is now cached
        old_ids = {c.public_key_id for c in client.security.public_key_certificates()}
        new_ids = ksef_emulator.state.keys.rotate(emergency=True)
        assert old_ids.isdisjoint(new_ids)
        # The cached key is withdrawn: KSeF answers 21470, the client re-reads the keys.
        with client.online_session() as session:
            assert session.reference_number
        client.authenticate(ksef_subject.token, nip=ksef_subject.nip)


def test_close_twice_and_send_and_wait(ksef_client, make_invoice) -> None:
    session = ksef_client.online_session().open()
    status = session.send_and_wait(make_invoice())
    assert status.status.code == 200 and is_valid_ksef_number(status.ksef_number or "")
    session.close()
    session.close()  # no second request, no 21180
    assert (session.wait_until_processed()).status.code == 200


def test_environment_names() -> None:
    assert Environment.parse("production") is Environment.PROD
    assert Environment.parse("prd") is Environment.PROD
    assert Environment.parse("Test") is Environment.TEST
    assert Environment.TEST.api_url == "https://api-test.ksef.mf.gov.pl/v2"
    assert Environment.DEMO.api_url == "https://api-demo.ksef.mf.gov.pl/v2"
    assert Environment.PROD.api_url == "https://api.ksef.mf.gov.pl/v2"


def test_base_url_and_environment_choice() -> None:
    from ksefkit import Client

    with Client("demo") as demo:
        assert demo.base_url == "https://api-demo.ksef.mf.gov.pl/v2"
    with Client(base_url="http://127.0.0.1:9") as local:
        assert local.base_url == "http://127.0.0.1:9/v2"
    with Client(base_url="https://proxy.example/ksef/v2/") as proxied:
        assert proxied.base_url == "https://proxy.example/ksef/v2"


def test_connection_refused_is_a_transport_error() -> None:
    from ksefkit import Client, TransportError

    with Client(base_url="http://127.0.0.1:9", timeout=2) as client:
        with pytest.raises(TransportError) as info:
            client.security.public_key_certificates()
    assert info.value.sent is False
    assert "public-key-certificates" in str(info.value)
