"""``GET /limits/context``: the effective invoice limits of the caller's context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer
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

    return [Route("/limits/context", limits, methods=["GET"])]
