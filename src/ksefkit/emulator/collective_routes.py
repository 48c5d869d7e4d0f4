"""Routes of collective identifiers and the Peppol provider registry.

Thin glue over :mod:`.backends.collective` and :mod:`.backends.peppol` (paths relative to
``/v2``):

* ``POST /collective-identifiers`` → 201 · ``POST /collective-identifiers/query`` ·
  ``GET /collective-identifiers/{collectiveIdentifierNumber}/invoices`` ·
  ``GET /collective-identifiers/ksef/{ksefNumber}`` (bearer; ``InvoiceRead``,
  ``InvoiceWrite`` or ``CollectiveIdentifierManage``; lists paged with
  ``x-continuation-token``)
* ``GET /peppol/query`` (no auth; ``pageOffset``/``pageSize``)

and, under ``/_emulator``, ``POST /peppol/providers {id, name}`` → 201 (seed a provider).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer, json_body, path_ids
from .backends.auth import Claims
from .backends.collective import COLLECTIVE_PERMISSIONS
from .errors import validation_error
from .state import EmulatorState

__all__ = ["collective_routes", "peppol_admin_route"]


def collective_routes(state: EmulatorState) -> list[BaseRoute]:
    """The KSeF routes listed in the module docstring."""
    backend = state.collective

    def access(request: Request) -> Claims:
        claims = bearer(state, request, "ContextToken")
        state.auth.require(claims, COLLECTIVE_PERMISSIONS)
        return claims

    async def generate(request: Request) -> Response:
        claims = access(request)
        return JSONResponse(backend.generate(claims, await json_body(request)), 201)

    async def query(request: Request) -> Response:
        claims = access(request)
        body = await json_body(request)
        answer = backend.query(
            claims,
            body,
            request.query_params.get("pageSize"),
            request.headers.get("x-continuation-token"),
        )
        return JSONResponse(answer)

    async def invoices(request: Request) -> Response:
        claims = access(request)
        number = path_ids(request)["collectiveIdentifierNumber"]
        answer = backend.invoices(
            claims,
            number,
            request.query_params.get("pageSize"),
            request.headers.get("x-continuation-token"),
        )
        return JSONResponse(answer)

    async def by_ksef_number(request: Request) -> Response:
        claims = access(request)
        ksef_number = path_ids(request)["ksefNumber"]
        answer = backend.by_ksef_number(
            claims,
            ksef_number,
            request.query_params.get("pageSize"),
            request.headers.get("x-continuation-token"),
        )
        return JSONResponse(answer)

    async def providers(request: Request) -> Response:
        params = request.query_params
        return JSONResponse(state.peppol.query(params.get("pageOffset"), params.get("pageSize")))

    return [
        Route("/collective-identifiers", generate, methods=["POST"]),
        Route("/collective-identifiers/query", query, methods=["POST"]),
        Route("/collective-identifiers/ksef/{ksefNumber}", by_ksef_number, methods=["GET"]),
        Route(
            "/collective-identifiers/{collectiveIdentifierNumber}/invoices",
            invoices,
            methods=["GET"],
        ),
        Route("/peppol/query", providers, methods=["GET"]),
    ]


def peppol_admin_route(state: EmulatorState) -> BaseRoute:
    """``POST /_emulator/peppol/providers {id, name}`` → 201 ``PeppolProvider``."""

    async def seed(request: Request) -> Response:
        body: Any = await json_body(request)
        if not (
            isinstance(body, dict)
            and isinstance(body.get("id"), str)
            and isinstance(body.get("name"), str)
        ):
            raise validation_error("Wymagane pola id i name (tekst).")
        return JSONResponse(state.peppol.register(body["id"], body["name"]), 201)

    return Route("/peppol/providers", seed, methods=["POST"])
