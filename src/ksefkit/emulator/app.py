"""The emulator's ASGI app: KSeF routes under ``/v2``, admin under ``/_emulator``.

Routes are thin glue — parse the request, call a backend, serialise the answer. Errors
raised as :class:`~ksefkit.emulator.errors.KsefApiError` are rendered in one handler, in the
shape KSeF uses for the status (and the ``X-Error-Format`` the client asked for).
Pre-signed UPO links are served under ``/storage/upo/{token}`` without a bearer token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..crypto import sha256_b64
from .backends.auth import Claims, TokenType
from .backends.sessions import SESSION_LIST, SESSION_READ, SESSION_WRITE
from .errors import KsefApiError, render_error, validation_error
from .state import EmulatorConfig, EmulatorState

__all__ = ["api_routes", "create_app", "json_body", "xml_response"]

log = logging.getLogger("ksefkit.emulator")
Handler = Callable[[Request], Awaitable[Response]]


def create_app(state: EmulatorState | None = None, **config: Any) -> Starlette:
    """The emulator as a Starlette app (``state`` built from ``config`` when omitted).

    >>> app = create_app(processing="manual")
    >>> app.state.emulator.config.processing
    'manual'
    """
    from .admin import admin_routes  # admin imports helpers from this module

    emulator = state if state is not None else EmulatorState(EmulatorConfig(**config))
    routes: list[BaseRoute] = [
        Mount("/v2", routes=api_routes(emulator)),
        Mount("/_emulator", routes=admin_routes(emulator)),
        Route("/storage/upo/{token}", _download(emulator), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={KsefApiError: _render})
    app.state.emulator = emulator
    return app


async def _render(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KsefApiError)
    state: EmulatorState = request.app.state.emulator
    rendered = render_error(
        exc,
        problem_details=request.headers.get("x-error-format", "").lower() == "problem-details",
        instance=request.url.path,
        now=state.clock.now(),
    )
    return JSONResponse(
        rendered.body, rendered.status, rendered.headers, media_type=rendered.media_type
    )


# -- request helpers -------------------------------------------------------------------------


async def json_body(request: Request) -> object:
    """The decoded JSON body; malformed JSON is 400/21405."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error(f"Nieprawidłowy format JSON: {exc}") from None


def xml_response(data: bytes) -> Response:
    """An XML document with its ``x-ms-meta-hash`` (Base64 SHA-256 of the body)."""
    return Response(
        data, media_type="application/xml", headers={"x-ms-meta-hash": sha256_b64(data)}
    )


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


def _bearer(state: EmulatorState, request: Request, *types: TokenType) -> Claims:
    return state.auth.verify(request.headers.get("authorization"), *types)


def _access(state: EmulatorState, request: Request, any_of: tuple[str, ...]) -> Claims:
    claims = _bearer(state, request, "ContextToken")
    state.auth.require(claims, any_of)
    return claims


# -- routes ----------------------------------------------------------------------------------


def api_routes(state: EmulatorState) -> list[BaseRoute]:
    """The KSeF API routes (paths relative to ``/v2``); order matters for shared prefixes."""
    return [
        Route("/security/public-key-certificates", _certificates(state), methods=["GET"]),
        *_auth_routes(state),
        *_session_routes(state),
    ]


def _certificates(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        return JSONResponse(state.keys.certificates())

    return handler


def _auth_routes(state: EmulatorState) -> list[BaseRoute]:
    async def challenge(request: Request) -> Response:
        return JSONResponse(state.auth.challenge(_client_ip(request)))

    async def ksef_token(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(state.auth.init_token_auth(body, _client_ip(request)), 202)

    async def redeem(request: Request) -> Response:
        return JSONResponse(state.auth.redeem(_bearer(state, request, "OperationToken")))

    async def refresh(request: Request) -> Response:
        return JSONResponse(state.auth.refresh(_bearer(state, request, "RefreshToken")))

    async def status(request: Request) -> Response:
        claims = _bearer(state, request, "OperationToken")
        return JSONResponse(state.auth.status(request.path_params["ref"], claims))

    return [
        Route("/auth/challenge", challenge, methods=["POST"]),
        Route("/auth/ksef-token", ksef_token, methods=["POST"]),
        Route("/auth/token/redeem", redeem, methods=["POST"]),
        Route("/auth/token/refresh", refresh, methods=["POST"]),
        Route("/auth/{ref}", status, methods=["GET"]),
    ]


def _session_routes(state: EmulatorState) -> list[BaseRoute]:
    sessions = state.sessions

    async def open_online(request: Request) -> Response:
        claims = _access(state, request, SESSION_WRITE)
        return JSONResponse(sessions.open_online(claims, await json_body(request)), 201)

    async def send(request: Request) -> Response:
        claims = _access(state, request, SESSION_WRITE)
        body = await json_body(request)
        return JSONResponse(sessions.send_invoice(claims, request.path_params["ref"], body), 202)

    async def close(request: Request) -> Response:
        sessions.close_online(_access(state, request, SESSION_WRITE), request.path_params["ref"])
        return Response(status_code=204)

    async def list_sessions(request: Request) -> Response:
        claims = _access(state, request, SESSION_LIST)
        query: dict[str, Any] = dict(request.query_params)
        query["statuses"] = request.query_params.getlist("statuses")
        token = request.headers.get("x-continuation-token")
        return JSONResponse(sessions.list_sessions(claims, query, token))

    async def status(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        ref = request.path_params["ref"]
        return JSONResponse(sessions.session_status(claims, ref, _base_url(request)))

    return [
        Route("/sessions/online", open_online, methods=["POST"]),
        Route("/sessions/online/{ref}/invoices", send, methods=["POST"]),
        Route("/sessions/online/{ref}/close", close, methods=["POST"]),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{ref}", status, methods=["GET"]),
        *_invoice_routes(state),
    ]


def _invoice_routes(state: EmulatorState) -> list[BaseRoute]:
    sessions = state.sessions

    def lister(failed_only: bool) -> Handler:
        async def handler(request: Request) -> Response:
            claims = _access(state, request, SESSION_READ)
            body = sessions.list_invoices(
                claims,
                request.path_params["ref"],
                request.query_params.get("pageSize"),
                request.headers.get("x-continuation-token"),
                _base_url(request),
                failed_only=failed_only,
            )
            return JSONResponse(body)

        return handler

    async def invoice(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = request.path_params
        return JSONResponse(sessions.invoice_status(claims, p["ref"], p["inv"], _base_url(request)))

    async def upo_by_ksef(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = request.path_params
        return xml_response(sessions.invoice_upo_by_ksef_number(claims, p["ref"], p["ksef"]))

    async def upo_by_ref(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = request.path_params
        return xml_response(sessions.invoice_upo(claims, p["ref"], p["inv"]))

    async def session_upo(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = request.path_params
        return xml_response(sessions.session_upo(claims, p["ref"], p["upo"]))

    return [
        Route("/sessions/{ref}/invoices", lister(False), methods=["GET"]),
        Route("/sessions/{ref}/invoices/failed", lister(True), methods=["GET"]),
        Route("/sessions/{ref}/invoices/ksef/{ksef}/upo", upo_by_ksef, methods=["GET"]),
        Route("/sessions/{ref}/invoices/{inv}/upo", upo_by_ref, methods=["GET"]),
        Route("/sessions/{ref}/invoices/{inv}", invoice, methods=["GET"]),
        Route("/sessions/{ref}/upo/{upo}", session_upo, methods=["GET"]),
    ]


def _download(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        return xml_response(state.sessions.download(request.path_params["token"]))

    return handler
