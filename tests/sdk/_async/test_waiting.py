"""Waiting adapts: the first look is fast, later looks back off, deadlines hold."""

from __future__ import annotations

import pytest

from ksefkit import WaitTimeout, _polling


@pytest.mark.anyio
async def test_first_poll_is_fast_and_backs_off(
    background_emulator, invoice_factory, monkeypatch
) -> None:
    sleeps: list[float] = []
    real_async, real_sync = _polling.async_sleep, _polling.sync_sleep

    async def spy_async(seconds: float) -> None:
        sleeps.append(seconds)
        await real_async(seconds)

    def spy_sync(seconds: float) -> None:
        sleeps.append(seconds)
        real_sync(seconds)

    monkeypatch.setattr(_polling, "async_sleep", spy_async)
    monkeypatch.setattr(_polling, "sync_sleep", spy_sync)
    subject = background_emulator.create_subject()
    make = invoice_factory(subject.nip)
    async with background_emulator.async_client() as client:
        await client.authenticate(subject.token, nip=subject.nip)
        async with client.online_session() as session:
            sleeps.clear()
            sent = await session.send(make())
            number = await session.wait_for_ksef_number(sent.reference_number, timeout=30)
    assert number
    assert sleeps, "processing takes 0.3 s, so the waiter must have slept"
    assert sleeps[0] <= 0.1
    assert sleeps == sorted(sleeps)  # never shrinking
    assert sum(sleeps) < 5


@pytest.mark.anyio
async def test_deadline_raises_wait_timeout(manual_emulator, invoice_factory) -> None:
    subject = manual_emulator.create_subject()
    async with manual_emulator.async_client() as client:
        await client.authenticate(subject.token, nip=subject.nip)
        async with client.online_session() as session:
            sent = await session.send(invoice_factory(subject.nip)())
            with pytest.raises(WaitTimeout) as info:
                await session.wait_for_invoice(sent.reference_number, timeout=0.3)
            assert info.value.last is not None
            assert info.value.last.status.code in (100, 150)
            manual_emulator.state.step()
            assert (await session.wait_for_invoice(sent.reference_number)).status.code == 200
