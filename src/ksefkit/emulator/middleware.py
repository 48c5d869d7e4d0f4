"""The emulator's one ASGI middleware: injected faults and API rate limits around the app.

For every request except ``/_emulator/*``, in this order:

1. faults before the API (:meth:`~ksefkit.emulator.faults.Faults.before`): latency, then a
   ``rate_limit`` / ``server_error`` / ``drop_before`` / ``expire_links`` rule answers instead;
2. the rate limiter (:mod:`~ksefkit.emulator.ratelimit`; ``/v2`` only — pre-signed
   ``/storage`` links are not limited): 429 with ``Retry-After``;
3. the app;
4. ``drop_after``: the app runs to completion, its answer is discarded, the connection dropped.

It sits outside Starlette's own error handling (:class:`EmulatorApp`), so a deliberate drop
is neither rendered as a 500 nor logged as a crash.
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import jwt
from .clock import parse_datetime
from .errors import KsefApiError, render_error, too_many_requests
from .faults import ConnectionDropped, FaultRule, silence_dropped_connection_logs
from .ratelimit import RouteTable, classify, context_key

if TYPE_CHECKING:
    from .state import EmulatorState

__all__ = ["EmulatorApp", "FaultsAndLimits"]


class EmulatorApp(Starlette):
    """Starlette whose middleware stack is wrapped in :class:`FaultsAndLimits`.

    ``app.state.emulator`` must be set before the first request.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return FaultsAndLimits(
            super().build_middleware_stack(), self.state.emulator, _api_routes(self.routes)
        )


def _api_routes(routes: list[BaseRoute]) -> RouteTable:
    mounted = [r for r in routes if isinstance(r, Mount) and r.path == "/v2"]
    return RouteTable(mounted[0].routes if mounted else [])


class FaultsAndLimits:
    """Pure ASGI: faults before → rate limiter → app → faults after."""

    def __init__(self, app: ASGIApp, state: EmulatorState, routes: RouteTable) -> None:
        self.app = app
        self.state = state
        self.routes = routes
        silence_dropped_connection_logs()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        api = path.startswith("/v2/")
        fault_path = path[3:] if api else path
        decided = self.state.faults.before(method, fault_path)
        if decided.delay:
            await anyio.sleep(decided.delay)
        if decided.rule is not None:
            await self._answer(decided.rule, scope, receive, send)
            return
        if api:
            refused = self._limit(scope, method, fault_path)
            if refused is not None:
                await refused(scope, receive, send)
                return
            self._due_work()
        if self.state.faults.drop_after(method, fault_path):
            await self.app(scope, receive, _discard)
            await _drop(send)
            return
        await self.app(scope, receive, send)

    # -- rate limits -----------------------------------------------------------------------

    def _limit(self, scope: Scope, method: str, path: str) -> Response | None:
        limiter = self.state.rate_limiter
        if not limiter.active:
            return None
        template = self.routes.template(method, path)
        if template is None:
            return None  # no such endpoint: 404/405, not counted
        client = scope.get("client")
        ip = client[0] if client else "127.0.0.1"
        refusal = limiter.check(classify(method, template), self._context(scope), ip)
        if refusal is None:
            return None
        return self._error(scope, too_many_requests(refusal.retry_after, refusal.detail))

    def _context(self, scope: Scope) -> str | None:
        """The bearer token's context (signature checked, expiry not: an expired token still
        names its context); None without a readable token."""
        authorization = _header(scope, b"authorization")
        if not authorization.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(authorization[7:].strip(), self.state.jwt_secret)
        except jwt.JwtError:
            return None
        kind, value = claims.get("context-identifier-type"), claims.get("context-identifier-value")
        return context_key(str(kind), str(value)) if kind and value else None

    def _due_work(self) -> None:
        """``slow_processing`` in immediate mode: work that became due runs now."""
        state = self.state
        if state.config.processing == "immediate" and state.faults.processing_delay() > 0:
            state.processor.run_pending()

    # -- faults ----------------------------------------------------------------------------

    async def _answer(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        if rule.kind == "drop_before":
            await _drain(receive)
            await _drop(send)
            return
        if rule.kind == "rate_limit":
            retry = rule.retry_after or 1
            detail = f"Przekroczono limit żądań. Spróbuj ponownie po {retry} sekundach."
            response = self._error(scope, too_many_requests(retry, detail))
        elif rule.kind == "server_error":
            response = self._server_error(scope, rule)
        else:  # expire_links
            response = self._expired_link(scope)
        await response(scope, receive, send)

    def _server_error(self, scope: Scope, rule: FaultRule) -> Response:
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after else {}
        if rule.html:
            return Response(_gateway_page(rule.status), rule.status, headers, "text/html")
        error = KsefApiError(rule.status, None, "Usługa jest chwilowo niedostępna.")
        response = self._error(scope, error)
        response.headers.update(headers)
        return response

    def _expired_link(self, scope: Scope) -> Response:
        now = self.state.clock.now()
        if scope["path"].startswith("/storage/upo/"):
            # The same answer as a UPO link past its expiry (sessions backend).
            error = KsefApiError(
                403, None, "Link wygasł.", reason_code="insufficient-resource-access"
            )
            return self._error(scope, error)
        from .backends.batch_storage import StorageError  # storage imports the app module
        from .storage_routes import azure_error

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            expiry = parse_datetime(query["se"][0])
        except (KeyError, ValueError):
            expiry = now
        return azure_error(
            StorageError(
                403,
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of"
                " Authorization header is formed correctly including the signature.",
                AuthenticationErrorDetail="Signature not valid in the specified time frame:"
                f" Expiry [{_http_date(expiry)}] - Current [{_http_date(now)}]",
            ),
            now,
        )

    def _error(self, scope: Scope, error: KsefApiError) -> Response:
        wanted = _header(scope, b"x-error-format").lower() == "problem-details"
        rendered = render_error(
            error, problem_details=wanted, instance=scope["path"], now=self.state.clock.now()
        )
        return JSONResponse(
            rendered.body, rendered.status, rendered.headers, media_type=rendered.media_type
        )


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _discard(message: Message) -> None:
    """The answer of a ``drop_after`` request: lost with the connection."""


async def _drain(receive: Receive) -> None:
    """Read the request body, so the client is not cut off while still sending it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _drop(send: Send) -> None:
    """Close the connection without a usable answer (see :class:`ConnectionDropped`)."""
    silence_dropped_connection_logs()  # uvicorn may have reconfigured its loggers since
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            # A body is promised and never sent: the client cannot take this for an answer.
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1")],
        }
    )
    raise ConnectionDropped("connection dropped by an injected fault")


def _gateway_page(status: int) -> bytes:
    """The HTML page a gateway in front of the API sends for a 5xx."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Server Error"
    title = f"{status} {phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>gateway</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _http_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
