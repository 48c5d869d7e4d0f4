"""Routes of ``/permissions/*`` and of the test-data permission and attachment calls.

Thin glue over :mod:`.backends.permissions` (paths relative to ``/v2``). Every
``/permissions`` route needs an access token and, where open-api.json names them
(``x-required-permissions``), one of the listed permissions (403 ``missing-permissions``
otherwise) before the body is read:

* grants → 202 ``{referenceNumber}``: ``persons`` · ``entities`` · ``authorizations`` ·
  ``indirect`` (``CredentialsManage``), ``subunits`` (``SubunitManage``),
  ``eu-entities/administration`` (``CredentialsManage``), ``eu-entities`` (``VatUeManage``);
* ``DELETE /permissions/common/grants/{permissionId}`` (``CredentialsManage``,
  ``VatUeManage`` or ``SubunitManage``), ``DELETE
  /permissions/authorizations/grants/{permissionId}`` (``CredentialsManage``) → 202;
* ``GET /permissions/operations/{referenceNumber}`` → 200 status (410 after 30 days);
* ``GET /permissions/attachments/status`` (``CredentialsManage``/``CredentialsRead``);
* the eight queries ``/permissions/query/*`` (``pageOffset``, ``pageSize`` query parameters);
* ``POST /testdata/permissions`` · ``/testdata/permissions/revoke`` · ``/testdata/attachment``
  · ``/testdata/attachment/revoke`` → 200, no authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import Handler, bearer, json_body, path_ids
from .backends.auth import Claims
from .state import EmulatorState

__all__ = ["permission_routes"]

_MANAGE = ("CredentialsManage",)
_READ = ("CredentialsManage", "CredentialsRead")
_READ_UNITS = ("CredentialsManage", "CredentialsRead", "SubunitManage")

Grant = Callable[[Claims, object], dict[str, Any]]
Query = Callable[[Claims, object, dict[str, Any]], dict[str, Any]]


def permission_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes listed in the module docstring."""
    backend, queries = state.permissions, state.permissions.queries

    def claims_for(request: Request, any_of: tuple[str, ...]) -> Claims:
        claims = bearer(state, request, "ContextToken")
        if any_of:
            state.auth.require(claims, any_of)
        return claims

    def grant(action: Grant, any_of: tuple[str, ...]) -> Handler:
        async def handler(request: Request) -> Response:
            claims = claims_for(request, any_of)
            return JSONResponse(action(claims, await json_body(request)), 202)

        return handler

    def revoke(action: Callable[[Claims, str], dict[str, str]], any_of: tuple[str, ...]) -> Handler:
        async def handler(request: Request) -> Response:
            claims = claims_for(request, any_of)
            return JSONResponse(action(claims, path_ids(request)["permissionId"]), 202)

        return handler

    def query(action: Query, any_of: tuple[str, ...]) -> Handler:
        async def handler(request: Request) -> Response:
            claims = claims_for(request, any_of)
            # The query bodies are optional in open-api.json: none means no filters.
            body = await json_body(request, empty={})
            return JSONResponse(action(claims, body, dict(request.query_params)))

        return handler

    async def operation(request: Request) -> Response:
        claims = claims_for(request, ())
        reference = path_ids(request)["referenceNumber"]
        return JSONResponse(backend.operation_status(claims, reference))

    async def attachments(request: Request) -> Response:
        return JSONResponse(backend.attachments.status(claims_for(request, _READ)))

    async def roles(request: Request) -> Response:
        claims = claims_for(request, _READ)
        return JSONResponse(queries.entity_roles(claims, dict(request.query_params)))

    def public(action: Callable[[object], None]) -> Handler:
        async def handler(request: Request) -> Response:
            action(await json_body(request))
            return Response(status_code=200)

        return handler

    grants = "/permissions/{}/grants"
    return [
        Route(grants.format("persons"), grant(backend.grant_persons, _MANAGE), methods=["POST"]),
        Route(grants.format("entities"), grant(backend.grant_entities, _MANAGE), methods=["POST"]),
        Route(
            grants.format("authorizations"),
            grant(backend.grant_authorization, _MANAGE),
            methods=["POST"],
        ),
        Route(grants.format("indirect"), grant(backend.grant_indirect, _MANAGE), methods=["POST"]),
        Route(
            grants.format("subunits"),
            grant(backend.grant_subunit, ("SubunitManage",)),
            methods=["POST"],
        ),
        Route(
            grants.format("eu-entities/administration"),
            grant(backend.grant_eu_admin, _MANAGE),
            methods=["POST"],
        ),
        Route(
            grants.format("eu-entities"),
            grant(backend.grant_eu_representative, ("VatUeManage",)),
            methods=["POST"],
        ),
        Route(
            "/permissions/common/grants/{permissionId}",
            revoke(backend.revoke, ("CredentialsManage", "VatUeManage", "SubunitManage")),
            methods=["DELETE"],
        ),
        Route(
            "/permissions/authorizations/grants/{permissionId}",
            revoke(backend.revoke_authorization, _MANAGE),
            methods=["DELETE"],
        ),
        Route("/permissions/operations/{referenceNumber}", operation, methods=["GET"]),
        Route("/permissions/attachments/status", attachments, methods=["GET"]),
        Route("/permissions/query/personal/grants", query(queries.personal, ()), methods=["POST"]),
        Route(
            "/permissions/query/persons/grants",
            query(queries.persons, _READ_UNITS),
            methods=["POST"],
        ),
        Route(
            "/permissions/query/subunits/grants",
            query(queries.subunits, _READ_UNITS),
            methods=["POST"],
        ),
        Route(
            "/permissions/query/entities/grants", query(queries.entities, _READ), methods=["POST"]
        ),
        Route("/permissions/query/entities/roles", roles, methods=["GET"]),
        Route(
            "/permissions/query/subordinate-entities/roles",
            query(queries.subordinate_roles, _READ_UNITS),
            methods=["POST"],
        ),
        Route(
            "/permissions/query/authorizations/grants",
            query(queries.authorizations, (*_READ, "PefInvoiceWrite")),
            methods=["POST"],
        ),
        Route(
            "/permissions/query/eu-entities/grants",
            query(queries.eu_entities, (*_READ, "VatUeManage")),
            methods=["POST"],
        ),
        Route("/testdata/permissions", public(backend.testdata_grant), methods=["POST"]),
        Route("/testdata/permissions/revoke", public(backend.testdata_revoke), methods=["POST"]),
        Route("/testdata/attachment", public(backend.attachments.allow), methods=["POST"]),
        Route("/testdata/attachment/revoke", public(backend.attachments.revoke), methods=["POST"]),
    ]
