"""Client conveniences: token handling, key rotation, idempotent close, send-and-wait."""

from __future__ import annotations

import pytest

from ksefkit import Environment
from ksefkit.identifiers import is_valid_ksef_number


@pytest.mark.anyio
async def test_bare_string_tokens_and_refresh_on_401(ksef_emulator, ksef_subject) -> None:
    async with ksef_emulator.async_client() as first:
        await first.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        access, refresh = first.tokens.access_info, first.tokens.refresh_info
    assert access is not None and refresh is not None
    # Tokens given as plain strings: the expiry is read from the JWT.
    async with ksef_emulator.async_client(access_token=access.token) as client:
        assert client.tokens.access_valid_until is not None
        assert abs((client.tokens.access_valid_until - access.valid_until).total_seconds()) < 1
    # A rejected access token is refreshed once with the refresh token, then the call works.
    async with ksef_emulator.async_client(
        access_token="rejected.token.value", refresh_token=refresh.token
    ) as client:
        assert [s async for s in client.sessions.list("online")] == []
        assert client.tokens.access_info is not None
        assert client.tokens.access_info.token != "rejected.token.value"


@pytest.mark.anyio
async def test_token_with_trailing_newline_works(ksef_emulator, ksef_subject) -> None:
    async with ksef_emulator.async_client() as client:
        result = await client.authenticate(ksef_subject.token + "\n", nip=ksef_subject.nip)
        assert result.status.status.code == 200


@pytest.mark.anyio
async def test_emergency_key_rotation_is_survived(ksef_emulator, ksef_subject) -> None:
    async with ksef_emulator.async_client() as client:
        await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        async with client.online_session():
            pass  # the key list is now cached
        old_ids = {c.public_key_id for c in await client.security.public_key_certificates()}
        new_ids = ksef_emulator.state.keys.rotate(emergency=True)
        assert old_ids.isdisjoint(new_ids)
        # The cached key is withdrawn: KSeF answers 21470, the client re-reads the keys.
        async with client.online_session() as session:
            assert session.reference_number
        await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)


@pytest.mark.anyio
async def test_close_twice_and_send_and_wait(ksef_async_client, make_invoice) -> None:
    session = await ksef_async_client.online_session().open()
    status = await session.send_and_wait(make_invoice())
    assert status.status.code == 200 and is_valid_ksef_number(status.ksef_number or "")
    await session.close()
    await session.close()  # no second request, no 21180
    assert (await session.wait_until_processed()).status.code == 200


def test_environment_names() -> None:
    assert Environment.parse("production") is Environment.PROD
    assert Environment.parse("prd") is Environment.PROD
    assert Environment.parse("Test") is Environment.TEST
    assert Environment.TEST.api_url == "https://api-test.ksef.mf.gov.pl/v2"
    assert Environment.DEMO.api_url == "https://api-demo.ksef.mf.gov.pl/v2"
    assert Environment.PROD.api_url == "https://api.ksef.mf.gov.pl/v2"


@pytest.mark.anyio
async def test_base_url_and_environment_choice() -> None:
    from ksefkit import AsyncClient

    async with AsyncClient("demo") as demo:
        assert demo.base_url == "https://api-demo.ksef.mf.gov.pl/v2"
    async with AsyncClient(base_url="http://127.0.0.1:9") as local:
        assert local.base_url == "http://127.0.0.1:9/v2"
    async with AsyncClient(base_url="https://proxy.example/ksef/v2/") as proxied:
        assert proxied.base_url == "https://proxy.example/ksef/v2"


@pytest.mark.anyio
async def test_connection_refused_is_a_transport_error() -> None:
    from ksefkit import AsyncClient, TransportError

    async with AsyncClient(base_url="http://127.0.0.1:9", timeout=2) as client:
        with pytest.raises(TransportError) as info:
            await client.security.public_key_certificates()
    assert info.value.sent is False
    assert "public-key-certificates" in str(info.value)
