"""``/_emulator/*``: test-data and control endpoints that real KSeF does not have.

* ``GET  /_emulator/health`` → ``{status, processing, now}``
* ``POST /_emulator/reset`` → 204; forgets subjects, tokens, sessions, invoices (keys stay)
* ``POST /_emulator/subjects`` ``{nip?, permissions?}`` → ``{nip, ksefToken, tokenReferenceNumber}``
* ``POST /_emulator/step`` → ``{processed}`` (runs pending work; meant for manual mode)
* ``POST /_emulator/clock`` ``{advance: seconds}`` → ``{now}`` (ManualClock only)
* ``POST /_emulator/keys/rotate`` ``{emergency?: bool}`` → ``{publicKeyIds}``
* ``POST /_emulator/permissions`` ``{context: {type, value}, subject: {type: Pesel|Nip|Fingerprint,
  value}, permissions: [...]}`` → 204; grants (NIP owners need none in their own context),
  stored as ``System`` grants of the permissions register, so ``/permissions/query/*`` list
  them and ``DELETE /permissions/common/grants/{id}`` revokes them
* ``POST /_emulator/permissions/revoke`` (same body; ``permissions`` optional = all) → 204
* ``POST /_emulator/invoices/seed`` ``{count, sellerNip?, buyerNip?, from?, to?,
  thirdSubjectNip?, authorizedNip?, variety?}`` → 201 ``{count, sellerNip, buyerNip}`` (bulk
  invoices; ``variety: true`` = realistic mix of rates, currencies and corrections)
* ``POST /_emulator/peppol/providers`` ``{id, name}`` → 201 ``PeppolProvider`` (registers a
  Peppol provider, as its first authentication would)
* ``GET  /_emulator/ca.pem`` → the emulator CA certificate (PEM) that
  ``require_trusted_certificates`` trusts
* ``POST /_emulator/faults`` a rule ``{kind, rate?, count?, methods?, path?, ...}``, a list of
  rules (objects or ``--fault`` strings) or ``{rules: [...], seed?}`` → 201 ``{ids}``
  (all or nothing; 400/21405 naming the bad field); ``GET /_emulator/faults`` →
  ``{rules: [{id, kind, ..., hits, remaining?}]}``; ``DELETE /_emulator/faults`` → 204;
  ``DELETE /_emulator/faults/{id}`` → 204 (404 unknown). See :mod:`ksefkit.emulator.faults`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import json_body
from .clock import isoformat
from .collective_routes import peppol_admin_route
from .errors import KsefApiError, validation_error
from .invoice_routes import seed_route
from .state import EmulatorState

__all__ = ["admin_routes"]


def _object(body: object) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise validation_error("Treść żądania musi być obiektem JSON.")
    return body


def admin_routes(state: EmulatorState) -> list[BaseRoute]:
    """The admin routes (paths relative to ``/_emulator``)."""

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "processing": state.config.processing,
                "now": isoformat(state.clock.now()),
            }
        )

    async def reset(request: Request) -> Response:
        state.reset()
        return Response(status_code=204)

    async def subjects(request: Request) -> Response:
        body = _object(await json_body(request))
        nip, perms = body.get("nip"), body.get("permissions")
        if nip is not None and not isinstance(nip, str):
            raise validation_error("nip: oczekiwano tekstu.")
        if perms is not None and not (
            isinstance(perms, list) and all(isinstance(p, str) for p in perms)
        ):
            raise validation_error("permissions: oczekiwano listy tekstów.")
        subject = state.create_subject(nip, perms)
        return JSONResponse(
            {
                "nip": subject.nip,
                "ksefToken": subject.token,
                "tokenReferenceNumber": subject.token_reference,
            },
            201,
        )

    async def step(request: Request) -> Response:
        return JSONResponse({"processed": state.step()})

    async def clock(request: Request) -> Response:
        seconds = _object(await json_body(request)).get("advance", 0)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise validation_error("advance: oczekiwano nieujemnej liczby sekund.")
        try:
            now = state.advance(float(seconds))
        except TypeError:
            raise validation_error("Zegar emulatora nie jest zegarem ręcznym.") from None
        state.processor.kick()
        return JSONResponse({"now": isoformat(now)})

    async def rotate(request: Request) -> Response:
        emergency = _object(await json_body(request)).get("emergency", False) is True
        return JSONResponse({"publicKeyIds": state.keys.rotate(emergency=emergency)})

    async def _grant_body(request: Request, *, optional: bool) -> tuple[Any, Any, Any]:
        body = _object(await json_body(request))
        context, subject, perms = body.get("context"), body.get("subject"), body.get("permissions")
        for name, part in (("context", context), ("subject", subject)):
            if not (
                isinstance(part, dict)
                and isinstance(part.get("type"), str)
                and isinstance(part.get("value"), str)
            ):
                raise validation_error(f"{name}: wymagane pola type i value (tekst).")
        if not (optional and perms is None) and not (
            isinstance(perms, list) and all(isinstance(p, str) for p in perms)
        ):
            raise validation_error("permissions: oczekiwano listy tekstów.")
        return context, subject, perms

    async def permissions(request: Request) -> Response:
        context, subject, perms = await _grant_body(request, optional=False)
        state.grant_permissions(
            (context["type"], context["value"]), (subject["type"], subject["value"]), perms
        )
        return Response(status_code=204)

    async def revoke_permissions(request: Request) -> Response:
        context, subject, perms = await _grant_body(request, optional=True)
        state.rights.revoke(
            context["type"], context["value"], subject["type"], subject["value"], perms
        )
        return Response(status_code=204)

    async def add_faults(request: Request) -> Response:
        specs, seed = _fault_specs(await json_body(request))
        ids: list[str] = []
        try:
            for spec in specs:
                ids.append(state.faults.add_spec(spec))
        except ValueError as exc:
            for added in ids:  # all or nothing
                state.faults.remove(added)
            raise validation_error(f"faults[{len(ids)}]: {exc}") from None
        if seed is not None:
            state.faults.reseed(seed)
        return JSONResponse({"ids": ids}, 201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"rules": state.faults.rules()})

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return Response(status_code=204)

    async def remove_fault(request: Request) -> Response:
        rule_id = request.path_params["id"]
        if not state.faults.remove(rule_id):
            raise KsefApiError(404, None, f"Nie ma reguły awarii {rule_id}.")
        return Response(status_code=204)

    async def ca_pem(request: Request) -> Response:
        return Response(state.ca.certificate_pem(), media_type="application/x-pem-file")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/permissions", permissions, methods=["POST"]),
        Route("/permissions/revoke", revoke_permissions, methods=["POST"]),
        Route("/ca.pem", ca_pem, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/subjects", subjects, methods=["POST"]),
        Route("/step", step, methods=["POST"]),
        Route("/clock", clock, methods=["POST"]),
        Route("/keys/rotate", rotate, methods=["POST"]),
        Route("/faults", add_faults, methods=["POST"]),
        Route("/faults", list_faults, methods=["GET"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/faults/{id}", remove_fault, methods=["DELETE"]),
        seed_route(state),
        peppol_admin_route(state),
    ]


def _fault_specs(body: object) -> tuple[list[object], int | None]:
    """The rules of a ``POST /_emulator/faults`` body and the optional new seed."""
    if isinstance(body, list):
        return list(body), None
    if isinstance(body, dict) and "kind" in body:
        return [body], None
    if isinstance(body, dict) and isinstance(body.get("rules", []), list):
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise validation_error("seed: oczekiwano liczby całkowitej.")
        return list(body.get("rules", [])), seed
    raise validation_error("Oczekiwano reguły awarii, listy reguł albo {rules, seed}.")
