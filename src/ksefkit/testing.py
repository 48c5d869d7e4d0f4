"""Test your KSeF integration against the ksefkit emulator: a pytest plugin and helpers.

With ``ksefkit[emulator]`` installed the plugin registers itself (entry point ``pytest11``)
and offers these fixtures:

* ``ksef_emulator`` — a fresh emulator (in-memory, processing ``immediate``) served on
  127.0.0.1 on a free port, as a :class:`RunningEmulator`;
* ``ksef_subject`` — a test company in it, with a KSeF token;
* ``ksef_client`` / ``ksef_async_client`` — clients already authenticated as that company.

>>> def test_send(ksef_client, ksef_subject):  # doctest: +SKIP
...     with ksef_client.online_session() as session:
...         sent = session.send(my_invoice(seller=ksef_subject.nip))
...         assert session.wait_for_ksef_number(sent.reference_number)

Outside pytest, :func:`run_emulator` gives the same :class:`RunningEmulator` as a context
manager. The emulator modules are imported lazily, so installing ksefkit without the
``emulator`` extra never breaks a test run.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ._async.client import AsyncClient
from ._sync.client import Client

if TYPE_CHECKING:
    from .emulator.server import ThreadedServer
    from .emulator.state import EmulatorState, SeededSubject

__all__ = ["RunningEmulator", "run_emulator"]


@dataclass
class RunningEmulator:
    """An emulator state with its HTTP server.

    ``base_url`` is the server root; ``api_url`` adds ``/v2`` (what clients use), ``qr_url``
    ``/qr`` (the pages KOD I / KOD II links of this emulator open).
    """

    state: EmulatorState
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_url(self) -> str:
        return self.server.base_url + "/v2"

    @property
    def qr_url(self) -> str:
        """Where this emulator's QR verification pages live (``ksefkit.qr`` links base)."""
        return self.server.base_url + "/qr"

    def create_subject(self, nip: str | None = None) -> SeededSubject:
        """A new test company with a KSeF token."""
        return self.state.create_subject(nip)

    def client(self, **kwargs: Any) -> Client:
        """A sync client pointed at this emulator (not yet authenticated)."""
        return Client(base_url=self.api_url, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An async client pointed at this emulator (not yet authenticated)."""
        return AsyncClient(base_url=self.api_url, **kwargs)


@contextlib.contextmanager
def run_emulator(**config: Any) -> Iterator[RunningEmulator]:
    """Start an emulator (``EmulatorConfig`` keywords) on 127.0.0.1 for the ``with`` block.

    >>> with run_emulator(processing="background") as emu:  # doctest: +SKIP
    ...     subject = emu.create_subject()
    """
    from .emulator.app import create_app
    from .emulator.server import ThreadedServer
    from .emulator.state import EmulatorState

    state = EmulatorState(**config)
    try:
        with ThreadedServer(create_app(state)) as server:
            yield RunningEmulator(state, server)
    finally:
        state.close()


@pytest.fixture
def ksef_emulator() -> Iterator[RunningEmulator]:
    """A fresh in-memory emulator with immediate processing, on a free local port."""
    with run_emulator() as emulator:
        yield emulator


@pytest.fixture
def ksef_subject(ksef_emulator: RunningEmulator) -> SeededSubject:
    """A test company (NIP + KSeF token) in ``ksef_emulator``."""
    return ksef_emulator.create_subject()


@pytest.fixture
def ksef_client(ksef_emulator: RunningEmulator, ksef_subject: SeededSubject) -> Iterator[Client]:
    """A sync client authenticated as ``ksef_subject``."""
    with ksef_emulator.client() as client:
        client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        yield client


@pytest.fixture
async def ksef_async_client(
    ksef_emulator: RunningEmulator, ksef_subject: SeededSubject
) -> AsyncIterator[AsyncClient]:
    """An async client authenticated as ``ksef_subject`` (needs an anyio test)."""
    async with ksef_emulator.async_client() as client:
        await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        yield client
