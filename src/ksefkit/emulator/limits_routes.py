"""``GET /limits/context``: the effective invoice limits of the caller's context (config)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer
from .state import EmulatorState


def context_limits(state: EmulatorState) -> dict[str, dict[str, int]]:
    """``EffectiveContextLimits`` from the emulator's configuration (sizes in whole MB).

    >>> context_limits(EmulatorState())["batchSession"]["maxInvoices"]
    10000
    """
    cfg = state.config
    size = cfg.max_invoice_size // 1_000_000
    with_attachment = cfg.max_invoice_size_with_attachment // 1_000_000
    return {
        "onlineSession": {
            "maxInvoiceSizeInMB": size,
            "maxInvoiceWithAttachmentSizeInMB": with_attachment,
            "maxInvoices": cfg.session_invoice_limit,
        },
        "batchSession": {
            "maxInvoiceSizeInMB": size,
            "maxInvoiceWithAttachmentSizeInMB": with_attachment,
            "maxInvoices": cfg.batch_max_invoices,
        },
    }


def limits_routes(state: EmulatorState) -> list[BaseRoute]:
    """Routes of the limits area (relative to ``/v2``)."""

    async def limits(request: Request) -> Response:
        bearer(state, request, "ContextToken")  # any authenticated context may read its limits
        return JSONResponse(context_limits(state))

    return [Route("/limits/context", limits, methods=["GET"])]
