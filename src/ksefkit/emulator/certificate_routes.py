"""Routes of KSeF certificates, subject limits and certificate test data (relative to ``/v2``).

Thin glue over :mod:`.backends.certificates`; every route needs an access token (any
permissions: certificates belong to the authenticated subject, not to the context).

* ``GET /certificates/limits`` · ``GET /certificates/enrollments/data``
* ``POST /certificates/enrollments`` → 202 · ``GET /certificates/enrollments/{referenceNumber}``
* ``POST /certificates/retrieve`` · ``POST /certificates/query`` (``pageSize``, ``pageOffset``)
* ``POST /certificates/{certificateSerialNumber}/revoke`` → 204
* ``GET /limits/subject``
* ``POST`` / ``DELETE /testdata/limits/subject/certificate`` → 200
* ``PUT /testdata/certificates/{serialNumber}`` → 200

The bodies of query, revoke and the limits override are optional in open-api.json (and so is
every field of them): an absent body is ``{}``; a JSON ``null`` or array is refused (21405).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer, json_body, path_ids
from .state import EmulatorState

__all__ = ["certificate_routes"]


def certificate_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes listed in the module docstring (``data`` before ``{referenceNumber}``)."""
    backend = state.certificates

    async def limits(request: Request) -> Response:
        return JSONResponse(backend.limits(bearer(state, request, "ContextToken")))

    async def enrollment_data(request: Request) -> Response:
        return JSONResponse(backend.enrollment_data(bearer(state, request, "ContextToken")))

    async def enroll(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        return JSONResponse(backend.enroll(claims, await json_body(request)), 202)

    async def enrollment_status(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        reference = path_ids(request)["referenceNumber"]
        return JSONResponse(backend.enrollment_status(claims, reference))

    async def retrieve(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        return JSONResponse(backend.retrieve(claims, await json_body(request)))

    async def query(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        body = backend.query(
            claims,
            await json_body(request, empty={}),
            request.query_params.get("pageSize"),
            request.query_params.get("pageOffset"),
        )
        return JSONResponse(body)

    async def revoke(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        serial = path_ids(request)["certificateSerialNumber"]
        backend.revoke(claims, serial, await json_body(request, empty={}))
        return Response(status_code=204)

    async def subject_limits(request: Request) -> Response:
        return JSONResponse(backend.subject_limits(bearer(state, request, "ContextToken")))

    async def set_limits(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        backend.set_limits(claims, await json_body(request, empty={}))
        return Response(status_code=200)

    async def reset_limits(request: Request) -> Response:
        backend.reset_limits(bearer(state, request, "ContextToken"))
        return Response(status_code=200)

    async def update(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        serial = path_ids(request)["serialNumber"]
        backend.update_validity(claims, serial, await json_body(request))
        return Response(status_code=200)

    return [
        Route("/certificates/limits", limits, methods=["GET"]),
        Route("/certificates/enrollments/data", enrollment_data, methods=["GET"]),
        Route("/certificates/enrollments", enroll, methods=["POST"]),
        Route("/certificates/enrollments/{referenceNumber}", enrollment_status, methods=["GET"]),
        Route("/certificates/retrieve", retrieve, methods=["POST"]),
        Route("/certificates/query", query, methods=["POST"]),
        Route("/certificates/{certificateSerialNumber}/revoke", revoke, methods=["POST"]),
        Route("/limits/subject", subject_limits, methods=["GET"]),
        Route("/testdata/limits/subject/certificate", set_limits, methods=["POST"]),
        Route("/testdata/limits/subject/certificate", reset_limits, methods=["DELETE"]),
        Route("/testdata/certificates/{serialNumber}", update, methods=["PUT"]),
    ]
