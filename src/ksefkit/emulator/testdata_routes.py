"""Routes of test subjects and persons and of per-context session limits (TEST-only API).

Thin glue over :mod:`.backends.testdata` and :mod:`.backends.session_limits` (paths relative
to ``/v2``):

* ``POST /testdata/subject`` · ``POST /testdata/subject/remove`` → 200 (no auth)
* ``POST /testdata/person`` · ``POST /testdata/person/remove`` → 200 (no auth)
* ``POST /testdata/limits/context/session`` · ``DELETE /testdata/limits/context/session``
  → 200 (bearer: the limits of the caller's context)
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .app import Handler, bearer, json_body
from .state import EmulatorState

__all__ = ["testdata_routes"]


def testdata_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes listed in the module docstring."""
    data = state.testdata

    def public(action: Callable[[object], None]) -> Handler:
        async def handler(request: Request) -> Response:
            action(await json_body(request))
            return Response(status_code=200)

        return handler

    async def set_limits(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        body = await json_body(request)
        state.session_limits.set(claims.context_type, claims.context_value, body)
        return Response(status_code=200)

    async def reset_limits(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        state.session_limits.reset(claims.context_type, claims.context_value)
        return Response(status_code=200)

    return [
        Route("/testdata/subject", public(data.create_subject), methods=["POST"]),
        Route("/testdata/subject/remove", public(data.remove_subject), methods=["POST"]),
        Route("/testdata/person", public(data.create_person), methods=["POST"]),
        Route("/testdata/person/remove", public(data.remove_person), methods=["POST"]),
        Route("/testdata/limits/context/session", set_limits, methods=["POST"]),
        Route("/testdata/limits/context/session", reset_limits, methods=["DELETE"]),
    ]
