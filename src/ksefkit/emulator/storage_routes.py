"""``/storage/*``: the emulator's stand-in for KSeF's Azure Blob storage (no bearer token).

* ``GET /storage/upo/{token}`` — pre-signed UPO downloads (XML + ``x-ms-meta-hash``);
  a forged or expired link is 403, a vanished UPO 404.
* ``PUT /storage/batch/{ref}/batch-parts/{n}?sv=…&se=…&sr=b&sp=w&sig=…`` — batch part
  uploads, the URLs of ``partUploadRequests``. The body is streamed to disk chunk by chunk
  (never held whole); ``x-ms-blob-type: BlockBlob`` is required. Not rate limited. Success is
  ``201`` with an ``ETag``; errors are Azure-style XML
  (``<Error><Code>…</Code><Message>…</Message>…</Error>`` and ``x-ms-error-code``):

  ====== =============================== ================================================
  status code                            when
  ====== =============================== ================================================
  400    MissingRequiredHeader           no ``x-ms-blob-type``
  400    InvalidHeaderValue              ``x-ms-blob-type`` other than ``BlockBlob``
  400    InvalidBlobOrBlock              size (``Content-Length`` or body) ≠ declared
  400    Md5Mismatch                     SHA-256 of the body ≠ declared ``fileHash``
  401    NoAuthenticationInformation     no ``sig``
  403    AuthenticationFailed            bad signature, or the link expired (checked when
                                         the request starts; an upload in progress is
                                         not cut off)
  403    AuthorizationFailure            the session is no longer accepting parts
  404    BlobNotFound                    the session or part no longer exists (reset)
  405    UnsupportedHttpVerb             any method but ``PUT``
  ====== =============================== ================================================
"""

from __future__ import annotations

import datetime as dt
import uuid
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .app import Handler, xml_response
from .backends.batch_storage import StorageError
from .state import EmulatorState

__all__ = ["azure_error", "storage_routes"]

_VERSION = "2025-01-05"


def storage_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes under ``/storage`` (absolute paths)."""
    from .export_routes import export_storage_routes  # it imports azure_error from here

    return [
        *export_storage_routes(state),
        Route("/storage/upo/{token}", _download(state), methods=["GET"]),
        Route(
            "/storage/batch/{reference}/batch-parts/{ordinal}",
            _upload(state),
            methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        ),
    ]


def azure_error(error: StorageError, now: dt.datetime) -> Response:
    """An Azure Blob error answer.

    >>> r = azure_error(StorageError(403, "AuthenticationFailed", "No."), dt.datetime(2026, 1, 1))
    >>> r.status_code, r.headers["x-ms-error-code"], b"<Code>AuthenticationFailed</Code>" in r.body
    (403, 'AuthenticationFailed', True)
    """
    request_id = str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in error.extra.items())
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{error.code}</Code><Message>{escape(error.message)}\n"
        f"RequestId:{request_id}\nTime:{stamp}</Message>{extra}</Error>"
    )
    return Response(
        body.encode(),
        error.status,
        headers={
            "x-ms-error-code": error.code,
            "x-ms-request-id": request_id,
            "x-ms-version": _VERSION,
        },
        media_type="application/xml",
    )


def _download(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        return xml_response(state.sessions.download(request.path_params["token"]))

    return handler


def _upload(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        try:
            if request.method != "PUT":
                raise StorageError(
                    405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb."
                )
            upload = state.batch.storage.begin_upload(
                request.path_params["reference"],
                request.path_params["ordinal"],
                dict(request.query_params),
                request.headers.get("x-ms-blob-type"),
                request.headers.get("content-length"),
            )
            with upload:
                async for chunk in request.stream():
                    if chunk:
                        upload.write(chunk)
                etag = upload.finish()
        except StorageError as exc:
            return azure_error(exc, state.clock.now())
        now = state.clock.now()
        return Response(
            status_code=201,
            headers={
                "ETag": etag,
                "Last-Modified": now.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                "x-ms-request-id": str(uuid.uuid4()),
                "x-ms-version": _VERSION,
                "x-ms-request-server-encrypted": "true",
            },
        )

    return handler
