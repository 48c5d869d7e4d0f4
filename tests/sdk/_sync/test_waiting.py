# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""Waiting adapts: the first look is fast, later looks back off, deadlines hold."""

from __future__ import annotations

import pytest

from ksefkit import WaitTimeout, _polling


def test_first_poll_is_fast_and_backs_off(
    background_emulator, invoice_factory, monkeypatch
) -> None:
    sleeps: list[float] = []
    real_async, real_sync = _polling.sync_sleep, _polling.sync_sleep

    def spy_async(seconds: float) -> None:
        sleeps.append(seconds)
        real_async(seconds)

    def spy_sync(seconds: float) -> None:
        sleeps.append(seconds)
        real_sync(seconds)

    monkeypatch.setattr(_polling, "sync_sleep", spy_async)
    monkeypatch.setattr(_polling, "sync_sleep", spy_sync)
    subject = background_emulator.create_subject()
    make = invoice_factory(subject.nip)
    with background_emulator.client() as client:
        client.authenticate(subject.token, nip=subject.nip)
        with client.online_session() as session:
            sleeps.clear()
            sent = session.send(make())
            number = session.wait_for_ksef_number(sent.reference_number, timeout=30)
    assert number
    assert sleeps, "processing takes 0.3 s, so the waiter must have slept"
    assert sleeps[0] <= 0.1
    assert sleeps == sorted(sleeps)  # never shrinking
    assert sum(sleeps) < 5


def test_deadline_raises_wait_timeout(manual_emulator, invoice_factory) -> None:
    subject = manual_emulator.create_subject()
    with manual_emulator.client() as client:
        client.authenticate(subject.token, nip=subject.nip)
        with client.online_session() as session:
            sent = session.send(invoice_factory(subject.nip)())
            with pytest.raises(WaitTimeout) as info:
                session.wait_for_invoice(sent.reference_number, timeout=0.3)
            assert info.value.last is not None
            assert info.value.last.status.code in (100, 150)
            manual_emulator.state.step()
            assert (session.wait_for_invoice(sent.reference_number)).status.code == 200
