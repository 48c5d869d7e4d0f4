"""Fixtures for emulator tests: a state on a manual clock, an ASGI client, a test company."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from emulator_helpers import START, Ksef

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def state(clock: ManualClock) -> Iterator[EmulatorState]:
    with EmulatorState(clock=clock) as s:
        yield s


@pytest.fixture
async def ksef(state: EmulatorState) -> AsyncIterator[Ksef]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
        yield Ksef(http, state)


@pytest.fixture
def subject(state: EmulatorState) -> SeededSubject:
    return state.create_subject()


@pytest.fixture
def session_key() -> tuple[bytes, bytes]:
    return os.urandom(32), os.urandom(16)
