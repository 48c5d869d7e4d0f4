"""What the bad-input sweep and the fuzzer share: open-api.json read as a list of operations,
a live emulator with tokens of every kind, and the one verdict on an answer.

* :class:`Operation` — one ``METHOD /template`` of the spec with its parameters, body schema
  and the kind of token it wants (read from the spec's "Sposób uwierzytelnienia" line);
* :func:`sample` — a schema-valid value of any schema (its ``example`` when valid, else built
  from type, format, pattern, enum and bounds);
* :class:`World` — an emulator served on 127.0.0.1 (uvicorn, a background thread), a test
  company, its access / refresh / authentication tokens, an open online session; it knows
  which operations the emulator routes;
* :func:`verdict` — the problems of one answer: a 5xx, an undeclared status, a body or
  content type the spec does not declare for it, an error that is not shaped as KSeF's
  (§15.1), or, for an operation the emulator does not route yet, anything but its 404.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from oas import _WRITE, FORMAT_CHECKER, SPEC_URI, OpenApiSpec, _pointer, media_type
from starlette.routing import Mount, Route

from ksefkit.emulator.app import create_app
from ksefkit.emulator.server import ThreadedServer
from ksefkit.emulator.state import EmulatorState

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "open-api.json"
METHODS = ("get", "put", "post", "delete", "patch")
NOW = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

#: A well-formed reference number no emulator ever issues (CRC deliberately wrong).
UNKNOWN_REFERENCE = "20260210-SO-2C3E6C8000-B675CF5D68-00"
PROBLEM_TYPE = "application/problem+json"


@functools.cache
def spec() -> OpenApiSpec:
    """``open-api.json``, reference-number parameters checked against their documented shape."""
    return OpenApiSpec.load(SPEC_PATH, strict_reference_numbers=True)


def document() -> dict[str, Any]:
    return dict(spec().document)


# -- operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query | header
    required: bool
    pointer: str  # JSON pointer to its schema


@dataclass(frozen=True)
class Operation:
    """One operation of the spec."""

    method: str
    template: str
    params: tuple[Param, ...]
    body_type: str | None  # the request body's media type, None: the operation takes none
    body_pointer: str | None
    body_required: bool
    auth: str  # none | AccessToken | AuthenticationToken | RefreshToken
    responses: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def __str__(self) -> str:
        return self.label

    def path_params(self) -> list[Param]:
        return [p for p in self.params if p.where == "path"]

    def path(self, values: Mapping[str, str]) -> str:
        """The concrete path (under ``/v2``) with ``values`` percent-encoded."""
        out = self.template
        for name, value in values.items():
            out = out.replace("{" + name + "}", quote(value, safe=""))
        return "/v2" + out

    def declares(self, status: int) -> bool:
        key = str(status)
        return (
            key in self.responses
            or f"{key[0]}XX" in self.responses
            or "default" in (self.responses)
        )


# "Sposób uwierzytelnienia: `AuthenticationToken` ..." in the operation's description names
# the token it takes; operations that say nothing take the access token.
_AUTH_LINE = re.compile(r"Sposób uwierzytelnienia:\s*`(\w+)`")


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of open-api.json, in document order."""
    doc = document()
    out = []
    for template, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            op_ptr = ("paths", template, method)
            params: dict[tuple[str, str], Param] = {}
            for base, plist in (
                (("paths", template), item.get("parameters", [])),
                (op_ptr, op.get("parameters", [])),
            ):
                for i, prm in enumerate(plist):
                    prm = spec()._deref(prm)
                    params[(prm["in"], prm["name"])] = Param(
                        prm["name"],
                        prm["in"],
                        bool(prm.get("required")),
                        _pointer(*base, "parameters", str(i), "schema"),
                    )
            body = op.get("requestBody")
            body_type = body_pointer = None
            body_required = False
            if body is not None:
                body = spec()._deref(body)
                body_type = next(iter(body["content"]))
                body_pointer = _pointer(*op_ptr, "requestBody", "content", body_type, "schema")
                body_required = bool(body.get("required"))
            secured = op.get("security", doc.get("security"))
            auth = "none"
            if secured:
                found = _AUTH_LINE.search(op.get("description", ""))
                auth = found.group(1) if found else "AccessToken"
            out.append(
                Operation(
                    method.upper(),
                    template,
                    tuple(params.values()),
                    body_type,
                    body_pointer,
                    body_required,
                    auth,
                    tuple(op["responses"]),
                )
            )
    return tuple(out)


def operation(label: str) -> Operation:
    return next(op for op in operations() if op.label == label)


# -- sample values ---------------------------------------------------------------------------


def resolve(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref`` followed and ``allOf`` merged (properties, required)."""
    schema = spec()._deref(schema)
    if "allOf" not in schema:
        return dict(schema)
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = resolve(part)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            else:
                merged.setdefault(key, value)
    return merged


def _valid(instance: Any, schema: Mapping[str, Any]) -> bool:
    """Is ``instance`` valid for a (possibly inline) schema of the document?"""
    return not _errors(instance, schema)


def _errors(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    # Inline schemas hold local refs ("#/components/..."): point them at the document.
    validator = _WRITE[True](
        _rebase(dict(schema), SPEC_URI), registry=spec()._registry, format_checker=FORMAT_CHECKER
    )
    return [e.message for e in validator.iter_errors(instance)]


def _rebase(schema: Any, uri: str) -> Any:
    if isinstance(schema, dict):
        return {
            k: (uri + v if k == "$ref" and v.startswith("#") else _rebase(v, uri))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v, uri) for v in schema]
    return schema


@functools.cache
def _from_pattern(pattern: str, min_len: int, max_len: int) -> str:
    """The simplest string that fully matches ``pattern`` (hypothesis shrinks to it)."""
    strategy = st.from_regex(pattern.replace(r"\d", "[0-9]"), fullmatch=True).filter(
        lambda s: s.isascii() and min_len <= len(s) <= max_len
    )
    quiet = settings(database=None, suppress_health_check=list(HealthCheck), max_examples=2000)
    return str(find(strategy, lambda _: True, settings=quiet))


def sample(schema: Mapping[str, Any], *, optional: bool = True) -> Any:
    """A value valid for ``schema``: its example when valid, else one built from the schema.

    ``optional=False`` leaves optional object properties out.
    """
    raw = spec()._deref(schema)
    s = resolve(raw)
    for example in (raw.get("example"), s.get("example")):
        if example is not None and _valid(example, raw):
            return copy.deepcopy(example)
    value = _build(s, optional)
    if optional and not _valid(value, raw):
        value = _build(s, False)
    return value


def _build(s: Mapping[str, Any], optional: bool) -> Any:
    if "enum" in s:
        return s["enum"][0]
    for key in ("oneOf", "anyOf"):
        if key in s:
            return sample(s[key][0], optional=optional)
    kind = s.get("type") or ("object" if "properties" in s else None)
    if kind == "object":
        props = s.get("properties", {})
        names = list(props) if optional else list(s.get("required", []))
        out = {}
        for name in names:
            if props.get(name, {}).get("readOnly"):
                continue
            out[name] = sample(props.get(name, {}), optional=optional)
        return out
    if kind == "array":
        count = max(1, int(s.get("minItems", 1)))
        return [sample(s.get("items", {}), optional=optional) for _ in range(count)]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        low = s.get("minimum", 1)
        high = s.get("maximum", max(low, 1))
        return int(low) if low <= high else int(high)
    if kind == "string" or kind is None:
        return _string(s)
    raise AssertionError(f"no sample for {s}")


def _string(s: Mapping[str, Any]) -> str:
    fmt = s.get("format")
    if fmt == "date-time":
        return NOW.isoformat()
    if fmt == "date":
        return NOW.date().isoformat()
    if fmt == "byte":
        return base64.b64encode(bytes(32)).decode()
    if fmt == "uri":
        return "https://example.com/ksef"
    low, high = int(s.get("minLength", 1)), int(s.get("maxLength", 64))
    if "pattern" in s:
        return _from_pattern(s["pattern"], low, high)
    if low == high == 36:  # ReferenceNumber / PermissionId: length only in the spec
        return UNKNOWN_REFERENCE
    return "a" * max(low, min(8, high))


def well_formed(param: Param) -> str:
    """A value of ``param``'s schema that names nothing the emulator knows."""
    schema = spec()._resolve_schema(param.pointer)
    if spec()._is_reference_number(param.pointer):
        return UNKNOWN_REFERENCE
    value = sample(schema)
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- the live emulator -----------------------------------------------------------------------


@dataclass
class Tokens:
    access: str
    refresh: str
    authentication: str
    auth_reference: str


@dataclass
class World:
    """A running emulator, a company in it, tokens of each kind and an open online session."""

    state: EmulatorState
    base_url: str
    http: httpx.Client
    routes: list[Route]
    nip: str
    ksef_token: str
    tokens: Tokens
    online_session: str
    _routed: dict[str, bool] = field(default_factory=dict, repr=False)

    # -- auth ----------------------------------------------------------------------------

    def login(self) -> Tokens:
        """A fresh authentication of the company: every token kind."""
        init = self._start_auth()
        op = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
        status = self.http.get(f"/v2/auth/{init['referenceNumber']}", headers=op)
        assert status.json()["status"]["code"] == 200, status.text
        redeemed = self.http.post("/v2/auth/token/redeem", headers=op)
        assert redeemed.status_code == 200, redeemed.text
        # A second operation, never redeemed: its token stays good for GET /auth/{ref} and
        # for POST /auth/token/redeem.
        second = self._start_auth()
        return Tokens(
            access=redeemed.json()["accessToken"]["token"],
            refresh=redeemed.json()["refreshToken"]["token"],
            authentication=second["authenticationToken"]["token"],
            auth_reference=second["referenceNumber"],
        )

    def _start_auth(self) -> dict[str, Any]:
        challenge = self.http.post("/v2/auth/challenge").json()
        key, key_id = self._public_key("KsefTokenEncryption")
        plain = f"{self.ksef_token}|{challenge['timestampMs']}".encode()
        body = {
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": self.nip},
            "encryptedToken": base64.b64encode(key.encrypt(plain, OAEP)).decode(),
            "publicKeyId": key_id,
        }
        resp = self.http.post("/v2/auth/ksef-token", json=body)
        assert resp.status_code == 202, resp.text
        return dict(resp.json())

    def _public_key(self, usage: str) -> tuple[Any, str]:
        certs = self.http.get("/v2/security/public-key-certificates").json()
        item = next(c for c in certs if usage in c["usage"])
        cert = x509.load_der_x509_certificate(base64.b64decode(item["certificate"]))
        return cert.public_key(), item["publicKeyId"]

    def headers(self, op: Operation, tokens: Tokens | None = None) -> dict[str, str]:
        """The ``Authorization`` header ``op`` wants (none for public operations)."""
        tokens = tokens or self.tokens
        token = {
            "AccessToken": tokens.access,
            "AuthenticationToken": tokens.authentication,
            "RefreshToken": tokens.refresh,
        }.get(op.auth)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def open_online_session(self) -> str:
        key, key_id = self._public_key("SymmetricKeyEncryption")
        body = {
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {
                "encryptedSymmetricKey": base64.b64encode(
                    key.encrypt(os.urandom(32), OAEP)
                ).decode(),
                "initializationVector": base64.b64encode(os.urandom(16)).decode(),
                "publicKeyId": key_id,
            },
        }
        resp = self.http.post(
            "/v2/sessions/online",
            json=body,
            headers={"Authorization": f"Bearer {self.tokens.access}"},
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["referenceNumber"])

    # -- routing -------------------------------------------------------------------------

    def routed(self, op: Operation) -> bool:
        """Does the emulator serve ``op`` (a route of its path template and method)?"""
        if op.label not in self._routed:
            path = op.path({p.name: well_formed(p) for p in op.path_params()})[len("/v2") :]
            self._routed[op.label] = any(
                r.path_regex.match(path) and op.method in (r.methods or ()) for r in self.routes
            )
        return self._routed[op.label]


@contextmanager
def start_world(**config: Any) -> Iterator[World]:
    """An emulator (``EmulatorConfig`` keywords) on 127.0.0.1 with a logged-in company."""
    with ExitStack() as stack:
        state = stack.enter_context(EmulatorState(**config))
        app = create_app(state)
        server = stack.enter_context(ThreadedServer(app))
        http = stack.enter_context(httpx.Client(base_url=server.base_url, timeout=60))
        subject = state.create_subject()
        mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/v2")
        world = World(
            state=state,
            base_url=server.base_url,
            http=http,
            routes=[r for r in mount.routes if isinstance(r, Route)],
            nip=subject.nip,
            ksef_token=subject.token,
            tokens=Tokens("", "", "", ""),
            online_session="",
        )
        world.tokens = world.login()
        world.online_session = world.open_online_session()
        # Decide routing (and draw pattern samples, with hypothesis) now, outside any test
        # that hypothesis itself runs.
        for op in operations():
            world.routed(op)
        yield world


# -- the verdict on one answer ---------------------------------------------------------------

_RESPONSE_PROBLEMS = ("response", "status", "error format")
_PROBLEM_KEYS = {"title", "status", "detail", "timestamp"}


def verdict(world: World, op: Operation, response: httpx.Response, *, bad_input: bool) -> list[str]:
    """Every problem of ``response`` to a request for ``op`` (empty: a good answer).

    ``bad_input``: the request is one the spec (or KSeF's rules) refuses, so the answer must
    be a 4xx. An operation the emulator does not route must answer its KSeF-shaped 404.
    """
    status = response.status_code
    if not world.routed(op):
        if status != 404:
            return [f"not routed, yet answered {status}: {response.text[:200]}"]
        return _problem_shape(response, 404)
    problems: list[str] = []
    if status >= 500:
        problems.append(f"server error {status}: {response.text[:300]}")
    elif bad_input and not 400 <= status < 500:
        problems.append(f"bad input accepted with {status}: {response.text[:200]}")
    # The request side is deliberately wrong; only the answer is judged against the spec.
    stand_in = httpx.Request(
        response.request.method, response.request.url, headers=response.request.headers
    )
    report = spec().check(stand_in, response)
    problems += [p for p in report.problems if p.startswith(_RESPONSE_PROBLEMS)]
    if 400 <= status < 600:
        problems += ksef_error_shape(response)
    return problems


def ksef_error_shape(response: httpx.Response) -> list[str]:
    """§15.1: the shape of a KSeF error answer for its status (and ``X-Error-Format``)."""
    status = response.status_code
    wants_problem = response.request.headers.get("x-error-format", "").lower() == "problem-details"
    if status == 400 and not wants_problem:
        return _exception_shape(response)
    if status == 429:
        retry = response.headers.get("retry-after", "")
        problems = [] if retry.isdigit() else [f"429 without an integer Retry-After ({retry!r})"]
        if not wants_problem:
            body = _json(response)
            if not (isinstance(body, dict) and isinstance(body.get("status"), dict)):
                problems.append(f"429 body is not TooManyRequestsResponse: {response.text[:200]}")
            return problems
        return problems + _problem_shape(response, 429)
    return _problem_shape(response, status)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _exception_shape(response: httpx.Response) -> list[str]:
    if media_type(response.headers.get("content-type")) != "application/json":
        return [f"400 is not application/json: {response.headers.get('content-type')}"]
    body = _json(response)
    exc = body.get("exception") if isinstance(body, dict) else None
    entries = exc.get("exceptionDetailList") if isinstance(exc, dict) else None
    if not (isinstance(entries, list) and entries):
        return [f"400 is not an ExceptionResponse: {response.text[:300]}"]
    problems = []
    for entry in entries:
        if not (
            isinstance(entry.get("exceptionCode"), int)
            and isinstance(entry.get("exceptionDescription"), str)
            and entry["exceptionDescription"]
            and isinstance(entry.get("details"), list)
            and all(isinstance(d, str) for d in entry["details"])
        ):
            problems.append(f"ExceptionDetail without code/description/details: {entry}")
    return problems


def _problem_shape(response: httpx.Response, status: int) -> list[str]:
    if media_type(response.headers.get("content-type")) != PROBLEM_TYPE:
        return [f"{status} is not {PROBLEM_TYPE}: {response.headers.get('content-type')}"]
    body = _json(response)
    if not (isinstance(body, dict) and set(body) >= _PROBLEM_KEYS):
        return [f"{status} problem details lack {_PROBLEM_KEYS}: {response.text[:300]}"]
    problems = []
    if body["status"] != status:
        problems.append(f"problem status {body['status']} != HTTP {status}")
    if status == 400:
        errors = body.get("errors")
        if not (
            isinstance(errors, list)
            and errors
            and all(isinstance(e.get("code"), int) and e.get("description") for e in errors)
        ):
            problems.append(f"400 problem details without errors[code, description]: {body}")
    if status == 403 and not body.get("reasonCode"):
        problems.append(f"403 without reasonCode: {body}")
    return problems


def error_codes(response: httpx.Response) -> list[int]:
    """The KSeF exception codes of a 400 (either format)."""
    body = _json(response)
    if not isinstance(body, dict):
        return []
    if "exception" in body:
        return [e.get("exceptionCode") for e in body["exception"].get("exceptionDetailList", [])]
    return [e.get("code") for e in body.get("errors", []) if isinstance(e, dict)]
