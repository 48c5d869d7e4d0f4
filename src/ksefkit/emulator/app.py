"""The emulator's ASGI app: KSeF routes under ``/v2``, admin under ``/_emulator``.

Routes are thin glue — parse the request, call a backend, serialise the answer. Errors
raised as :class:`~ksefkit.emulator.errors.KsefApiError` are rendered in one handler, in the
shape KSeF uses for the status (and the ``X-Error-Format`` the client asked for); unknown paths
(404), unsupported methods (405) and crashes (500) go through the same renderer, so nothing
answers in Starlette's plain text. Path parameters are named as in open-api.json and checked
against their schema by :func:`path_ids` (400/21405), after authentication as in KSeF.
Pre-signed UPO links and batch part uploads are served under ``/storage/`` without a bearer
token (:mod:`ksefkit.emulator.storage_routes`), the pages QR codes point to under ``/qr/``
(:mod:`ksefkit.emulator.qr_routes`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..crypto import sha256_b64
from .backends import check_ksef_number, check_reference_number
from .backends.auth import Claims, TokenType
from .backends.batch import BATCH_WRITE
from .backends.certificates import check_serial_number
from .backends.collective import check_collective_number
from .backends.permissions import check_permission_id
from .backends.sessions import SESSION_LIST, SESSION_READ, SESSION_WRITE
from .errors import KsefApiError, bad_request, render_error, validation_error
from .middleware import EmulatorApp
from .state import EmulatorConfig, EmulatorState

__all__ = [
    "Handler",
    "api_routes",
    "bearer",
    "client_ip",
    "create_app",
    "json_body",
    "path_ids",
    "request_body",
    "xml_response",
]

log = logging.getLogger("ksefkit.emulator")
Handler = Callable[[Request], Awaitable[Response]]


def create_app(state: EmulatorState | None = None, **config: Any) -> Starlette:
    """The emulator as a Starlette app (``state`` built from ``config`` when omitted).

    >>> app = create_app(processing="manual")
    >>> app.state.emulator.config.processing
    'manual'
    """
    from .admin import admin_routes  # admin imports helpers from this module
    from .qr_routes import qr_routes  # so do the QR verification pages
    from .storage_routes import storage_routes  # so does the storage module

    emulator = state if state is not None else EmulatorState(EmulatorConfig(**config))
    routes: list[BaseRoute] = [
        Mount("/v2", routes=api_routes(emulator)),
        Mount("/_emulator", routes=admin_routes(emulator)),
        *storage_routes(emulator),
        *qr_routes(emulator),
    ]
    _mounts_match_newlines(routes)
    handlers = {KsefApiError: _render, HTTPException: _render_http, Exception: _render_crash}
    # EmulatorApp wraps everything in the fault and rate-limit middleware (middleware.py).
    app = EmulatorApp(routes=routes, exception_handlers=handlers)
    app.state.emulator = emulator
    return app


def _mounts_match_newlines(routes: list[BaseRoute]) -> None:
    """Let a mount's ``{path:path}`` (``.*``) match newlines too.

    Without ``re.DOTALL`` a percent-encoded newline in a path id (``/v2/auth/X%0A``) makes
    the ``/v2`` mount cut the path short and answer 404; KSeF routes it and refuses the id
    (400/21405), and so does the emulator with this.
    """
    for route in routes:
        if isinstance(route, Mount):
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)


async def _render(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KsefApiError)
    return _error_response(request, exc)


async def _render_http(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 / 405 (no route, wrong method) rendered as KSeF errors."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        error = KsefApiError(404, None, f"Nie znaleziono zasobu {request.url.path}.")
    elif exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        error = KsefApiError(
            405,
            None,
            f"Metoda {request.method} nie jest obsługiwana dla zasobu {request.url.path}"
            f" (dozwolone: {allowed}).",
        )
    elif exc.status_code == 400:
        error = validation_error(exc.detail)
    else:
        error = KsefApiError(exc.status_code, None, exc.detail)
    return _error_response(request, error, headers)


async def _render_crash(request: Request, exc: Exception) -> Response:
    """An unexpected exception: logged, answered as a problem-details 500 (never plain text)."""
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    error = KsefApiError(500, None, "Wystąpił nieoczekiwany błąd emulatora.")
    return _error_response(request, error)


def _error_response(
    request: Request, error: KsefApiError, headers: dict[str, str] | None = None
) -> Response:
    state: EmulatorState = request.app.state.emulator
    rendered = render_error(
        error,
        problem_details=request.headers.get("x-error-format", "").lower() == "problem-details",
        instance=request.url.path,
        now=state.clock.now(),
    )
    return JSONResponse(
        rendered.body,
        rendered.status,
        {**(headers or {}), **rendered.headers},
        media_type=rendered.media_type,
    )


# -- request helpers -------------------------------------------------------------------------


#: Media types a JSON body may be sent as (what ASP.NET's JSON input formatter accepts).
JSON_MEDIA_TYPES = ("application/json", "text/json", "application/*+json")
#: ... and an XML one (``POST /auth/xades-signature``).
XML_MEDIA_TYPES = ("application/xml", "text/xml", "application/*+xml")

# Every integer KSeF takes is an int32/int64; larger ones cannot be stored (SQLite INTEGER).
_INT64 = (-(2**63), 2**63 - 1)


async def request_body(request: Request, media_types: tuple[str, ...]) -> bytes:
    """The raw body, at most ``max_request_body`` bytes, sent as one of ``media_types``.

    Larger bodies and a non-empty body of another (or no) ``Content-Type`` are 400/21405:
    the spec declares no 413/415, only the universal validation error. An oversized body is
    read to its end (and dropped) before the answer, so the client sees the 400 rather than
    a connection reset.

    >>> await request_body(request, JSON_MEDIA_TYPES)  # doctest: +SKIP
    b'{"a": 1}'
    """
    state: EmulatorState = request.app.state.emulator
    cap = state.config.max_request_body
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and int(declared) > cap
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        too_big = too_big or size > cap
        if not too_big:
            chunks.append(chunk)
    if too_big:
        raise validation_error(
            f"Treść żądania przekracza dopuszczalny rozmiar {cap} B"
            f" (otrzymano {max(size, int(declared or 0))} B)."
        )
    raw = b"".join(chunks)
    if raw and not _media_type_ok(request.headers.get("content-type"), media_types):
        raise validation_error(
            f"Content-Type: oczekiwano {media_types[0]}"
            f" (otrzymano {request.headers.get('content-type') or 'brak'!r})."
        )
    return raw


def _media_type_ok(content_type: str | None, accepted: tuple[str, ...]) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if "/" not in kind:
        return False
    major, minor = kind.split("/", 1)
    for pattern in accepted:
        p_major, p_minor = pattern.split("/", 1)
        if p_major != major:
            continue
        if p_minor == minor or (p_minor.startswith("*+") and minor.endswith(p_minor[1:])):
            return True
    return False


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} nie jest wartością JSON")


def _int64(text: str) -> int:
    value = int(text)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("liczba całkowita poza zakresem int64")
    return value


def _double(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999999: beyond a double, Python would make it inf
        raise ValueError("liczba poza zakresem double")
    return value


async def json_body(request: Request, *, empty: object = None) -> object:
    """The decoded JSON body (``empty`` when there is none); malformed JSON is 400/21405.

    Malformed also covers what Python's parser would take but JSON and KSeF do not:
    ``NaN``/``Infinity``, numbers beyond a double (``1e999999``), integers outside int64
    and nesting too deep to parse.

    ``empty`` is what an absent (or blank) body stands for: ``{}`` where open-api.json leaves
    the body optional and its schema requires no field (the queries with only filters). A
    literal ``null`` is not an absent body: it stays ``None``, which ``parse_body`` refuses
    as not an object (the schemas are not nullable).

    >>> await json_body(request, empty={})  # doctest: +SKIP
    {}
    """
    raw = await request_body(request, JSON_MEDIA_TYPES)
    try:
        return (
            json.loads(raw, parse_constant=_reject_constant, parse_int=_int64, parse_float=_double)
            if raw.strip()
            else empty
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise validation_error(f"Nieprawidłowy format JSON: {exc}"[:500]) from None


#: Path parameters, named as in open-api.json, and the check of each one's schema.
_PATH_CHECKS: dict[str, Callable[[str, str], str]] = {
    "referenceNumber": check_reference_number,
    "invoiceReferenceNumber": check_reference_number,
    "upoReferenceNumber": check_reference_number,
    "ksefNumber": check_ksef_number,
    "certificateSerialNumber": check_serial_number,
    "serialNumber": check_serial_number,
    "collectiveIdentifierNumber": check_collective_number,
    "permissionId": check_permission_id,
}


def path_ids(request: Request) -> dict[str, str]:
    """The request's path parameters, each checked against its schema in open-api.json.

    Every violation becomes one detail of a single 400/21405 (``ReferenceNumber``: 36
    characters ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC``; ``KsefNumber``: the spec's pattern).
    Routes call it after authentication, as KSeF checks the bearer token first.
    """
    params: dict[str, str] = dict(request.path_params)
    details: list[str] = []
    for name, value in params.items():
        check = _PATH_CHECKS.get(name)
        if check is None:
            raise LookupError(f"no schema known for path parameter {name!r}")
        try:
            check(value, name)
        except KsefApiError as exc:
            details.extend(exc.details)
    if details:
        raise bad_request(21405, *details)
    return params


def xml_response(data: bytes) -> Response:
    """An XML document with its ``x-ms-meta-hash`` (Base64 SHA-256 of the body)."""
    return Response(
        data, media_type="application/xml", headers={"x-ms-meta-hash": sha256_b64(data)}
    )


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def client_ip(request: Request) -> str:
    """The caller's IP as the emulator sees it (``clientIp`` of the challenge)."""
    return request.client.host if request.client else "127.0.0.1"


def bearer(state: EmulatorState, request: Request, *types: TokenType) -> Claims:
    """The verified bearer token of ``request`` (401), checked against its IP policy (403)."""
    return state.auth.verify(
        request.headers.get("authorization"), *types, client_ip=client_ip(request)
    )


def _access(state: EmulatorState, request: Request, any_of: tuple[str, ...]) -> Claims:
    claims = bearer(state, request, "ContextToken")
    state.auth.require(claims, any_of)
    return claims


# -- routes ----------------------------------------------------------------------------------


def api_routes(state: EmulatorState) -> list[BaseRoute]:
    """The KSeF API routes (paths relative to ``/v2``); order matters for shared prefixes."""
    from .auth_routes import auth_extra_routes  # it imports helpers from this module
    from .certificate_routes import certificate_routes  # so does this one
    from .collective_routes import collective_routes  # so does this one
    from .export_routes import export_routes  # so does this one
    from .invoice_routes import invoice_routes  # and this one
    from .limits_routes import limits_routes  # so does this one
    from .permission_routes import permission_routes  # so does this one
    from .testdata_routes import testdata_routes  # so does this one

    return [
        Route("/security/public-key-certificates", _certificates(state), methods=["GET"]),
        *auth_extra_routes(state),
        *limits_routes(state),
        *certificate_routes(state),
        *testdata_routes(state),
        *permission_routes(state),
        *collective_routes(state),
        *invoice_routes(state),
        *export_routes(state),
        *_auth_routes(state),
        *_session_routes(state),
    ]


def _certificates(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        return JSONResponse(state.keys.certificates())

    return handler


def _auth_routes(state: EmulatorState) -> list[BaseRoute]:
    async def challenge(request: Request) -> Response:
        return JSONResponse(state.auth.challenge(client_ip(request)))

    async def ksef_token(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(state.auth.init_token_auth(body, client_ip(request)), 202)

    async def redeem(request: Request) -> Response:
        return JSONResponse(state.auth.redeem(bearer(state, request, "OperationToken")))

    async def refresh(request: Request) -> Response:
        return JSONResponse(state.auth.refresh(bearer(state, request, "RefreshToken")))

    async def status(request: Request) -> Response:
        claims = bearer(state, request, "OperationToken")
        return JSONResponse(state.auth.status(path_ids(request)["referenceNumber"], claims))

    return [
        Route("/auth/challenge", challenge, methods=["POST"]),
        Route("/auth/ksef-token", ksef_token, methods=["POST"]),
        Route("/auth/token/redeem", redeem, methods=["POST"]),
        Route("/auth/token/refresh", refresh, methods=["POST"]),
        Route("/auth/{referenceNumber}", status, methods=["GET"]),
    ]


def _session_routes(state: EmulatorState) -> list[BaseRoute]:
    sessions = state.sessions

    async def open_online(request: Request) -> Response:
        claims = _access(state, request, SESSION_WRITE)
        return JSONResponse(sessions.open_online(claims, await json_body(request)), 201)

    async def send(request: Request) -> Response:
        claims = _access(state, request, SESSION_WRITE)
        ref = path_ids(request)["referenceNumber"]
        body = await json_body(request)
        return JSONResponse(sessions.send_invoice(claims, ref, body), 202)

    async def close(request: Request) -> Response:
        claims = _access(state, request, SESSION_WRITE)
        sessions.close_online(claims, path_ids(request)["referenceNumber"])
        return Response(status_code=204)

    async def open_batch(request: Request) -> Response:
        claims = _access(state, request, BATCH_WRITE)
        body = await json_body(request)
        return JSONResponse(state.batch.open_batch(claims, body, _base_url(request)), 201)

    async def close_batch(request: Request) -> Response:
        claims = _access(state, request, BATCH_WRITE)
        state.batch.close_batch(claims, path_ids(request)["referenceNumber"])
        return Response(status_code=204)

    async def list_sessions(request: Request) -> Response:
        claims = _access(state, request, SESSION_LIST)
        query: dict[str, Any] = dict(request.query_params)
        query["statuses"] = request.query_params.getlist("statuses")
        token = request.headers.get("x-continuation-token")
        return JSONResponse(sessions.list_sessions(claims, query, token))

    async def status(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        ref = path_ids(request)["referenceNumber"]
        return JSONResponse(sessions.session_status(claims, ref, _base_url(request)))

    return [
        Route("/sessions/online", open_online, methods=["POST"]),
        Route("/sessions/online/{referenceNumber}/invoices", send, methods=["POST"]),
        Route("/sessions/online/{referenceNumber}/close", close, methods=["POST"]),
        Route("/sessions/batch", open_batch, methods=["POST"]),
        Route("/sessions/batch/{referenceNumber}/close", close_batch, methods=["POST"]),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{referenceNumber}", status, methods=["GET"]),
        *_invoice_routes(state),
    ]


def _invoice_routes(state: EmulatorState) -> list[BaseRoute]:
    sessions = state.sessions

    def lister(failed_only: bool) -> Handler:
        async def handler(request: Request) -> Response:
            claims = _access(state, request, SESSION_READ)
            body = sessions.list_invoices(
                claims,
                path_ids(request)["referenceNumber"],
                request.query_params.get("pageSize"),
                request.headers.get("x-continuation-token"),
                _base_url(request),
                failed_only=failed_only,
            )
            return JSONResponse(body)

        return handler

    async def invoice(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = path_ids(request)
        ref, inv = p["referenceNumber"], p["invoiceReferenceNumber"]
        return JSONResponse(sessions.invoice_status(claims, ref, inv, _base_url(request)))

    async def upo_by_ksef(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = path_ids(request)
        return xml_response(
            sessions.invoice_upo_by_ksef_number(claims, p["referenceNumber"], p["ksefNumber"])
        )

    async def upo_by_ref(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = path_ids(request)
        return xml_response(
            sessions.invoice_upo(claims, p["referenceNumber"], p["invoiceReferenceNumber"])
        )

    async def session_upo(request: Request) -> Response:
        claims = _access(state, request, SESSION_READ)
        p = path_ids(request)
        return xml_response(
            sessions.session_upo(claims, p["referenceNumber"], p["upoReferenceNumber"])
        )

    return [
        Route("/sessions/{referenceNumber}/invoices", lister(False), methods=["GET"]),
        Route("/sessions/{referenceNumber}/invoices/failed", lister(True), methods=["GET"]),
        Route(
            "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
            upo_by_ksef,
            methods=["GET"],
        ),
        Route(
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
            upo_by_ref,
            methods=["GET"],
        ),
        Route(
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            invoice,
            methods=["GET"],
        ),
        Route("/sessions/{referenceNumber}/upo/{upoReferenceNumber}", session_upo, methods=["GET"]),
    ]
