"""``/invoices/exports`` (bearer, ``InvoiceRead``) and ``GET /storage/exports/{ref}/{partName}``.

The part download is Azure-Blob-like: no bearer token, not rate limited, the encrypted part
streamed from disk with ``x-ms-meta-hash`` (Base64 SHA-256 of the encrypted part); a forged
or expired link is 403 ``AuthenticationFailed``, a vanished part 404 ``BlobNotFound``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer, json_body, path_ids
from .backends.batch_storage import StorageError
from .backends.exports import EXPORT_READ
from .state import EmulatorState
from .storage_routes import azure_error

__all__ = ["export_routes", "export_storage_routes"]


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def export_routes(state: EmulatorState) -> list[BaseRoute]:
    """Routes of the export area (relative to ``/v2``)."""

    async def start(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        state.auth.require(claims, EXPORT_READ)
        body = await json_body(request)
        return JSONResponse(state.exports.start(claims, body), 201)

    async def status(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        state.auth.require(claims, EXPORT_READ)
        ref = path_ids(request)["referenceNumber"]
        return JSONResponse(state.exports.status(claims, ref, _base_url(request)))

    return [
        Route("/invoices/exports", start, methods=["POST"]),
        Route("/invoices/exports/{referenceNumber}", status, methods=["GET"]),
    ]


def export_storage_routes(state: EmulatorState) -> list[BaseRoute]:
    """The part download route (absolute path, no bearer)."""

    async def download(request: Request) -> Response:
        try:
            part = state.exports.part_file(
                request.path_params["reference"],
                request.path_params["name"],
                dict(request.query_params),
            )
        except StorageError as exc:
            return azure_error(exc, state.clock.now())
        return FileResponse(
            part.path,
            media_type="application/octet-stream",
            headers={"x-ms-meta-hash": part.encrypted_hash, "x-ms-blob-type": "BlockBlob"},
        )

    return [Route("/storage/exports/{reference}/{name}", download, methods=["GET"])]
