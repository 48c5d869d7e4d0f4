"""Authentication sessions: list, revoke the current one, revoke by reference; IP policy."""

from __future__ import annotations

import pytest

from ksefkit import BadRequest, Forbidden, Unauthorized
from ksefkit.models import AllowedIps, AuthorizationPolicy


@pytest.mark.anyio
async def test_list_and_revoke_current(ksef_emulator, ksef_subject) -> None:
    async with ksef_emulator.async_client() as client:
        first = await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        sessions = [s async for s in client.auth.sessions()]
        current = [s for s in sessions if s.is_current]
        assert [s.reference_number for s in current] == [first.reference_number]
        await client.auth.revoke_current_session()
        # The refresh token no longer works; the access token stays valid until it expires.
        with pytest.raises((BadRequest, Unauthorized)):
            await client.auth.refresh()


@pytest.mark.anyio
async def test_revoke_another_session_by_reference(ksef_emulator, ksef_subject) -> None:
    async with ksef_emulator.async_client() as a, ksef_emulator.async_client() as b:
        await a.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        second = await b.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        listed = {s.reference_number async for s in a.auth.sessions()}
        assert second.reference_number in listed
        await a.auth.revoke_session(second.reference_number)
        with pytest.raises((BadRequest, Unauthorized)):
            await b.auth.refresh()
        after = [s async for s in a.auth.sessions()]
        revoked = [s for s in after if s.reference_number == second.reference_number]
        assert not revoked or revoked[0].status.code == 425


@pytest.mark.anyio
async def test_ip_policy_is_enforced(ksef_emulator, ksef_subject) -> None:
    elsewhere = AuthorizationPolicy(allowed_ips=AllowedIps(ip4_addresses=["10.0.0.1"]))
    async with ksef_emulator.async_client() as client:
        await client.authenticate(
            ksef_subject.token, nip=ksef_subject.nip, authorization_policy=elsewhere
        )
        with pytest.raises(Forbidden) as info:
            await client.online_session().open()
    assert info.value.reason_code == "ip-not-allowed"
    here = AuthorizationPolicy(allowed_ips=AllowedIps(ip4_masks=["127.0.0.0/8"]))
    async with ksef_emulator.async_client() as client:
        await client.authenticate(
            ksef_subject.token, nip=ksef_subject.nip, authorization_policy=here
        )
        async with client.online_session() as session:
            assert session.reference_number
