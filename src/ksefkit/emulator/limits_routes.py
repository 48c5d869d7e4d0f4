"""The limits area: invoice limits of the context and API rate limits.

* ``GET /limits/context``: the effective invoice limits of the caller's context (configuration and
  the context's ``/testdata/limits/context/session`` overrides);
* ``GET /rate-limits``: ``EffectiveApiRateLimits`` of the caller's context;
* ``POST /testdata/rate-limits`` (``SetRateLimitsRequest``), ``POST
  /testdata/rate-limits/production``, ``DELETE /testdata/rate-limits``: set, set to the PRD
  table, restore the default for the caller's context (200, empty body).

Every one needs a bearer access token of the context; enforcement is in
:mod:`ksefkit.emulator.ratelimit`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer, json_body
from .ratelimit import context_key, parse_rate_limits
from .state import EmulatorState


def context_limits(
    state: EmulatorState, context_type: str = "Nip", context_value: str = ""
) -> dict[str, dict[str, int]]:
    """``EffectiveContextLimits`` of a context: its test-data override
    (``/testdata/limits/context/session``), else the configuration (sizes in whole MB).

    >>> context_limits(EmulatorState())["batchSession"]["maxInvoices"]
    10000
    """
    return state.session_limits.effective(context_type, context_value)


def limits_routes(state: EmulatorState) -> list[BaseRoute]:
    """Routes of the limits area (relative to ``/v2``)."""

    async def limits(request: Request) -> Response:
        # Any authenticated context may read its own limits.
        claims = bearer(state, request, "ContextToken")
        return JSONResponse(context_limits(state, claims.context_type, claims.context_value))

    def context(request: Request) -> str:
        claims = bearer(state, request, "ContextToken")
        return context_key(claims.context_type, claims.context_value)

    async def rate_limits(request: Request) -> Response:
        return JSONResponse(state.rate_limiter.effective_json(context(request)))

    async def set_rate_limits(request: Request) -> Response:
        key = context(request)
        state.rate_limiter.set_limits(key, parse_rate_limits(await json_body(request)))
        return Response(status_code=200)

    async def production(request: Request) -> Response:
        state.rate_limiter.use_production(context(request))
        return Response(status_code=200)

    async def restore(request: Request) -> Response:
        state.rate_limiter.restore_default(context(request))
        return Response(status_code=200)

    return [
        Route("/limits/context", limits, methods=["GET"]),
        Route("/rate-limits", rate_limits, methods=["GET"]),
        Route("/testdata/rate-limits", set_rate_limits, methods=["POST"]),
        Route("/testdata/rate-limits", restore, methods=["DELETE"]),
        Route("/testdata/rate-limits/production", production, methods=["POST"]),
    ]
