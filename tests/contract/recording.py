"""Record every HTTP exchange an SDK client makes, for contract checks.

>>> recorder = Recorder()
>>> with recorder.http_client() as http:  # doctest: +SKIP
...     with emulator.client(http_client=http) as client:
...         client.security.public_key_certificates()
>>> recorder.exchanges[0][1].status_code  # doctest: +SKIP
200
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Recorder"]


@dataclass
class Recorder:
    """Collects ``(request, response)`` pairs through ``httpx`` event hooks.

    The response hook reads the body, so it stays available after the SDK is done.
    Requests that never got an answer (transport errors) are kept with ``None``.
    """

    exchanges: list[tuple[httpx.Request, httpx.Response | None]] = field(default_factory=list)
    _pending: list[httpx.Request] = field(default_factory=list)

    def on_request(self, request: httpx.Request) -> None:
        # Materialise streamed bodies so the request can be inspected later.
        request.read()
        self._pending.append(request)

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        if response.request in self._pending:
            self._pending.remove(response.request)
        self.exchanges.append((response.request, response))

    def unanswered(self) -> list[httpx.Request]:
        """Requests sent without a response (e.g. a refused connection)."""
        return list(self._pending)

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """A sync ``httpx.Client`` wired to this recorder (caller closes it)."""
        return httpx.Client(
            event_hooks={"request": [self.on_request], "response": [self.on_response]},
            **kwargs,
        )

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to this recorder (caller closes it)."""

        async def on_request(request: httpx.Request) -> None:
            await request.aread()
            self._pending.append(request)

        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            if response.request in self._pending:
                self._pending.remove(response.request)
            self.exchanges.append((response.request, response))

        return httpx.AsyncClient(
            event_hooks={"request": [on_request], "response": [on_response]}, **kwargs
        )

    def clear(self) -> None:
        self.exchanges.clear()
        self._pending.clear()
