"""Routes of XAdES authentication, authentication sessions, KSeF tokens and context blocking.

Thin glue over :mod:`.backends.auth`, :mod:`.backends.auth_sessions`, :mod:`.backends.tokens`
and :mod:`.backends.rights` (paths relative to ``/v2``; they come before ``/auth/{ref}``):

* ``POST /auth/xades-signature`` (``application/xml``; ``?verifyCertificateChain=true|false``;
  ``X-KSeF-Feature: enforce-xades-compliance`` is accepted — the emulator always validates
  strictly) → 202 ``AuthenticationInitResponse``
* ``GET /auth/sessions`` · ``DELETE /auth/sessions/current`` · ``DELETE /auth/sessions/{ref}``
* ``POST /tokens`` → 202 · ``GET /tokens`` · ``GET /tokens/{ref}`` · ``DELETE /tokens/{ref}`` → 204
* ``POST /testdata/context/block`` · ``POST /testdata/context/unblock`` → 200 (no auth)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import XML_MEDIA_TYPES, bearer, client_ip, json_body, path_ids, request_body
from .errors import validation_error
from .state import EmulatorState

__all__ = ["auth_extra_routes"]

_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def auth_extra_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes listed in the module docstring."""
    return [
        *_xades_routes(state),
        *_session_routes(state),
        *_token_routes(state),
        *_testdata_routes(state),
    ]


def _xades_routes(state: EmulatorState) -> list[BaseRoute]:
    async def xades(request: Request) -> Response:
        raw = request.query_params.get("verifyCertificateChain")
        verify_chain = False
        if raw is not None:
            if raw.lower() not in _BOOLEANS:
                raise validation_error("verifyCertificateChain: oczekiwano true lub false.")
            verify_chain = _BOOLEANS[raw.lower()]
        body = await request_body(request, XML_MEDIA_TYPES)
        init = state.auth.init_xades_auth(body, client_ip(request), verify_chain=verify_chain)
        return JSONResponse(init, 202)

    return [Route("/auth/xades-signature", xades, methods=["POST"])]


def _session_routes(state: EmulatorState) -> list[BaseRoute]:
    sessions = state.auth_sessions

    async def list_sessions(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        body = sessions.list_sessions(
            claims,
            request.query_params.get("pageSize"),
            request.headers.get("x-continuation-token"),
        )
        return JSONResponse(body)

    async def revoke_current(request: Request) -> Response:
        sessions.revoke_current(bearer(state, request, "ContextToken", "RefreshToken"))
        return Response(status_code=204)

    async def revoke(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        sessions.revoke(claims, path_ids(request)["referenceNumber"])
        return Response(status_code=204)

    return [
        Route("/auth/sessions", list_sessions, methods=["GET"]),
        Route("/auth/sessions/current", revoke_current, methods=["DELETE"]),
        Route("/auth/sessions/{referenceNumber}", revoke, methods=["DELETE"]),
    ]


def _token_routes(state: EmulatorState) -> list[BaseRoute]:
    tokens = state.tokens

    async def generate(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        return JSONResponse(tokens.generate(claims, await json_body(request)), 202)

    async def list_tokens(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        query: dict[str, Any] = dict(request.query_params)
        query["status"] = request.query_params.getlist("status")
        token = request.headers.get("x-continuation-token")
        return JSONResponse(tokens.list_tokens(claims, query, token))

    async def status(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        return JSONResponse(tokens.status(claims, path_ids(request)["referenceNumber"]))

    async def revoke(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        tokens.revoke(claims, path_ids(request)["referenceNumber"])
        return Response(status_code=204)

    return [
        Route("/tokens", generate, methods=["POST"]),
        Route("/tokens", list_tokens, methods=["GET"]),
        Route("/tokens/{referenceNumber}", status, methods=["GET"]),
        Route("/tokens/{referenceNumber}", revoke, methods=["DELETE"]),
    ]


def _testdata_routes(state: EmulatorState) -> list[BaseRoute]:
    def handler(blocked: bool) -> Any:
        async def change(request: Request) -> Response:
            body = await json_body(request)
            if not isinstance(body, dict):
                raise validation_error("Treść żądania musi być obiektem JSON.")
            context = body.get("contextIdentifier")
            if not (
                isinstance(context, dict)
                and isinstance(context.get("type"), str)
                and isinstance(context.get("value"), str)
            ):
                raise validation_error("contextIdentifier: wymagane pola type i value.")
            state.block_context(context["type"], context["value"], blocked=blocked)
            return Response(status_code=200)

        return change

    return [
        Route("/testdata/context/block", handler(True), methods=["POST"]),
        Route("/testdata/context/unblock", handler(False), methods=["POST"]),
    ]
