"""Validate concrete HTTP exchanges against the KSeF OpenAPI document (OAS 3.0).

>>> spec = OpenApiSpec.load(spec_dir / "open-api.json")  # doctest: +SKIP
>>> report = spec.check(request, response)  # doctest: +SKIP
>>> assert report.ok, str(report)  # doctest: +SKIP

What is checked, for one (request, response) pair; every problem is collected, none stops
the others:

* the path (after the server prefix, ``/v2``) matches a template of the spec, literal
  segments winning over parameters (``/sessions/online`` before ``/sessions/{referenceNumber}``),
  and the template declares the method;
* path parameters against their schemas; query parameters: names known, required ones
  present, values coerced from text (integer, boolean, repeated names for arrays) and
  validated (enums, ``minimum``/``maximum``, formats); header parameters that are sent;
* an ``Accept`` header admits a media type of some success response;
* ``security: Bearer`` operations carry ``Authorization: Bearer ...``;
* the request body: present when required, absent when the operation takes none, its
  content type declared, JSON validated against the schema (write direction: ``readOnly``
  properties may not be sent);
* the response status is declared; the response content type is declared for that status
  (a body where the spec has none is a problem, and so is a missing one); JSON bodies are
  validated (read direction), ``application/xml`` bodies must be text;
* declared response headers that are present are validated against their schemas; the
  headers in :data:`REQUIRED_RESPONSE_HEADERS` must be present, and ``x-ms-meta-hash`` must be
  the Base64 SHA-256 of the body;
* error-format negotiation: a 400 answer is ``application/problem+json`` exactly when the
  request carried ``X-Error-Format: problem-details``.

Formats: ``date-time`` (RFC 3339, offset required), ``date``, ``uri``, ``byte`` (strict
Base64), ``int32``/``int64``.

``nullable: true`` beside ``allOf`` admits ``null`` (see :func:`_nullable_all_of`;
``nullable_refs=False`` for the strict OAS 3.0.3 reading). One deliberate tightening, off
by default: ``strict_reference_numbers=True`` checks path and
query parameters typed ``ReferenceNumber`` against the documented shape
``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC`` (the UPO XSD regex); the OAS itself only fixes the
length (36).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from jsonschema import FormatChecker, ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = [
    "REQUIRED_RESPONSE_HEADERS",
    "ContractReport",
    "OpenApiSpec",
    "PathMatch",
]

SPEC_URI = "urn:ksef:open-api"

# Headers the spec documents but does not mark ``required`` (OAS response headers have no
# such flag in this document) although the KSeF docs say they are always sent:
# (header, status) -> why. Checked on every operation that declares the header for that status.
REQUIRED_RESPONSE_HEADERS: Mapping[tuple[str, str], str] = {
    ("x-ms-meta-hash", "200"): "SHA-256 of the returned document (UPO/invoice downloads)",
    ("retry-after", "429"): "seconds to wait before retrying",
}

# UPO XSD (upo-v4-3.xsd, TNumerReferencyjny); the OAS ReferenceNumber schema has length only.
REFERENCE_NUMBER_RE = re.compile(
    r"^(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})(0[1-9]|1[0-2])(0[1-9]|[1-2][0-9]|3[0-1])"
    r"-([0-9A-Z]{2})-([0-9A-F]{10})-([0-9A-F]{10})-([0-9A-F]{2})$"
)

JSON_TYPES = ("application/json", "application/problem+json")
PROBLEM_DETAILS = "problem-details"

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
)


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    # Python < 3.11 rejects 7 fractional digits; 3.11+ fromisoformat handles them and
    # checks the calendar (month 13, Feb 30).
    try:
        dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or bool(parts.path)) and " " not in value


def _is_byte(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, func in oas30_format_checker.checkers.items():
        checker.checkers[name] = func
    checker.checks("date-time")(_is_date_time)
    checker.checks("date")(_is_date)
    checker.checks("uri")(_is_uri)
    checker.checks("byte")(_is_byte)
    return checker


FORMAT_CHECKER = _format_checker()


def _nullable_all_of(
    validator: Any, all_of: list[Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``allOf`` that lets ``null`` through when the same schema says ``nullable: true``.

    The KSeF document (generated by Swashbuckle) writes a nullable reference as
    ``{"allOf": [{"$ref": ...}], "nullable": true}``. Read strictly (OAS 3.0.3), ``nullable``
    without ``type`` has no effect and ``null`` fails the referenced schema; the generator
    means "this reference or null", and so does this validator unless told otherwise.
    """
    if instance is None and schema.get("nullable") is True:
        return
    yield from _OAS_ALL_OF(validator, all_of, instance, schema)


_OAS_ALL_OF = OAS30ReadValidator.VALIDATORS["allOf"]
_READ = {
    True: extend(OAS30ReadValidator, {"allOf": _nullable_all_of}),
    False: OAS30ReadValidator,
}
_WRITE = {
    True: extend(OAS30WriteValidator, {"allOf": _nullable_all_of}),
    False: OAS30WriteValidator,
}


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class PathMatch:
    """A concrete path matched to a template of the spec."""

    template: str
    params: Mapping[str, str]


@dataclass
class ContractReport:
    """The verdict on one exchange: which operation, which status, every problem found."""

    method: str
    url: str
    status: int | None
    operation: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.operation or self.method + ' ' + self.url} -> {self.status}"
        if self.ok:
            return f"{head}: OK"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{head}: {len(self.problems)} problem(s) [{self.method} {self.url}]\n{lines}"


class OpenApiSpec:
    """One loaded OpenAPI document; validates exchanges against it."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        strict_reference_numbers: bool = False,
        nullable_refs: bool = True,
    ) -> None:
        self.document = document
        self.strict_reference_numbers = strict_reference_numbers
        self.nullable_refs = nullable_refs
        servers = document.get("servers") or [{"url": ""}]
        self.prefix = urlsplit(servers[0]["url"]).path.rstrip("/")
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self._registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self._templates = [
            (template, template.strip("/").split("/")) for template in document["paths"]
        ]

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        strict_reference_numbers: bool = False,
        nullable_refs: bool = True,
    ) -> OpenApiSpec:
        """Parse ``open-api.json`` (cached per path and flags)."""
        return _load(str(Path(path).resolve()), strict_reference_numbers, nullable_refs)

    # -- lookup -------------------------------------------------------------------------

    def operations(self) -> list[str]:
        """Every ``"METHOD /template"`` of the document."""
        return [
            f"{method.upper()} {template}"
            for template, item in self.document["paths"].items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch", "head", "options")
        ]

    def match(self, method: str, path: str) -> tuple[PathMatch | None, list[str]]:
        """The template for a concrete API path (without the server prefix).

        Literal segments beat parameters, position by position; returns ``(None, problems)``
        when no template matches or none declares the method.
        """
        segments = [unquote(s) for s in path.strip("/").split("/")]
        candidates: list[tuple[tuple[bool, ...], str, dict[str, str]]] = []
        for template, parts in self._templates:
            if len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            rank: list[bool] = []
            for part, seg in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    if not seg:
                        break
                    params[part[1:-1]] = seg
                    rank.append(False)
                elif part == seg:
                    rank.append(True)
                else:
                    break
            else:
                candidates.append((tuple(rank), template, params))
        if not candidates:
            return None, [f"no path template matches {path!r}"]
        candidates.sort(key=lambda c: c[0], reverse=True)
        for _, template, params in candidates:
            if method.lower() in self.document["paths"][template]:
                return PathMatch(template, params), []
        allowed = sorted({t for _, t, _ in candidates})
        return None, [f"method {method.upper()} is not declared for {allowed[0]!r}"]

    # -- validation ---------------------------------------------------------------------

    def validate(
        self, instance: Any, pointer: str, *, where: str, writing: bool = False
    ) -> list[str]:
        """Every schema error of ``instance`` against the schema at JSON pointer ``pointer``."""
        cls = (_WRITE if writing else _READ)[self.nullable_refs]
        validator = cls(
            {"$ref": SPEC_URI + pointer}, registry=self._registry, format_checker=FORMAT_CHECKER
        )
        problems: list[str] = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: e.json_path):
            problem = f"{where} {error.json_path}: {_short(error.message)}"
            if problem not in problems:  # allOf + a sibling `required` report twice
                problems.append(problem)
        return problems

    def check(self, request: httpx.Request, response: httpx.Response | None) -> ContractReport:
        """Check one exchange (``response`` may be ``None`` to check the request alone)."""
        report = ContractReport(
            method=request.method,
            url=str(request.url.copy_with(query=None)),
            status=response.status_code if response is not None else None,
        )
        path = request.url.path
        if self.prefix and not path.startswith(self.prefix + "/"):
            report.problems.append(f"path {path!r} lacks the server prefix {self.prefix!r}")
            return report
        matched, problems = self.match(request.method, path[len(self.prefix) :])
        report.problems += problems
        if matched is None:
            return report
        report.operation = f"{request.method.upper()} {matched.template}"
        op_pointer = ("paths", matched.template, request.method.lower())
        operation = self.document["paths"][matched.template][request.method.lower()]
        report.problems += self._check_request(request, matched, operation, op_pointer)
        if response is not None:
            report.problems += self._check_response(request, response, operation, op_pointer)
        return report

    def check_all(
        self, exchanges: Iterable[tuple[httpx.Request, httpx.Response | None]]
    ) -> list[ContractReport]:
        return [self.check(req, resp) for req, resp in exchanges]

    # -- request ------------------------------------------------------------------------

    def _parameters(
        self, template: str, operation: Mapping[str, Any], op_pointer: Sequence[str]
    ) -> list[tuple[dict[str, Any], str]]:
        """(parameter, JSON pointer to its schema): path-level, then operation-level."""
        found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        item = self.document["paths"][template]
        for i, prm in enumerate(item.get("parameters", [])):
            prm = self._deref(prm)
            found[(prm["in"], prm["name"].lower())] = (
                prm,
                _pointer("paths", template, "parameters", str(i), "schema"),
            )
        for i, prm in enumerate(operation.get("parameters", [])):
            prm = self._deref(prm)
            found[(prm["in"], prm["name"].lower())] = (
                prm,
                _pointer(*op_pointer, "parameters", str(i), "schema"),
            )
        return list(found.values())

    def _check_request(
        self,
        request: httpx.Request,
        matched: PathMatch,
        operation: Mapping[str, Any],
        op_pointer: Sequence[str],
    ) -> list[str]:
        problems: list[str] = []
        params = self._parameters(matched.template, operation, op_pointer)
        query = request.url.params
        known_query = {p["name"] for p, _ in params if p["in"] == "query"}
        for name in sorted(set(query.keys()) - known_query):
            problems.append(f"query parameter {name!r} is not declared")
        for prm, pointer in params:
            name, where = prm["name"], prm["in"]
            label = f"{where} parameter {name!r}"
            if where == "path":
                values = [matched.params[name]] if name in matched.params else []
            elif where == "query":
                values = query.get_list(name)
            elif where == "header":
                values = [request.headers[name]] if name in request.headers else []
            else:
                continue
            if not values:
                if prm.get("required"):
                    problems.append(f"{label} is required but missing")
                continue
            value, coerce_problem = self._coerce(values, pointer)
            if coerce_problem:
                problems.append(f"{label}: {coerce_problem}")
                continue
            problems += self.validate(value, pointer, where=label, writing=True)
            if self.strict_reference_numbers and self._is_reference_number(pointer):
                for v in value if isinstance(value, list) else [value]:
                    if not REFERENCE_NUMBER_RE.match(v):
                        problems.append(
                            f"{label}: {v!r} is not a KSeF reference number "
                            "(YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC)"
                        )
        if operation.get("security") or (
            "security" not in operation and self.document.get("security")
        ):
            auth = request.headers.get("authorization", "")
            if not re.match(r"(?i)bearer \S+", auth):
                problems.append("security: the operation needs 'Authorization: Bearer <token>'")
        problems += self._check_request_body(request, operation, op_pointer)
        problems += self._check_accept(request, operation)
        return problems

    @staticmethod
    def _check_accept(request: httpx.Request, operation: Mapping[str, Any]) -> list[str]:
        """An ``Accept`` header must admit a media type of some success response."""
        accept = request.headers.get("accept")
        if not accept:
            return []
        offered = {
            media_type(ctype)
            for status, resp in operation.get("responses", {}).items()
            if status.startswith("2")
            for ctype in (resp.get("content") or {})
        }
        if not offered:
            return []
        ranges = []
        for item in accept.split(","):
            kind, _, params = item.strip().partition(";")
            q = re.search(r"(?:^|;)\s*q\s*=\s*([0-9.]+)", params)
            if q and float(q.group(1)) == 0:
                continue
            ranges.append(kind.strip().lower())

        def admitted(ctype: str) -> bool:
            major = ctype.split("/")[0]
            return any(r in ("*/*", ctype, f"{major}/*") for r in ranges)

        if any(admitted(c) for c in offered):
            return []
        return [f"Accept {accept!r} admits none of the success media types {sorted(offered)}"]

    def _check_request_body(
        self, request: httpx.Request, operation: Mapping[str, Any], op_pointer: Sequence[str]
    ) -> list[str]:
        body = request.content
        spec_body = operation.get("requestBody")
        if spec_body is None:
            if body:
                return [f"request body: the operation takes none, got {len(body)} bytes"]
            return []
        spec_body = self._deref(spec_body)
        if not body:
            return ["request body: required but empty"] if spec_body.get("required") else []
        ctype = media_type(request.headers.get("content-type"))
        content = spec_body.get("content", {})
        if ctype not in content:
            return [f"request body: content type {ctype!r} not in {sorted(content)}"]
        if ctype not in JSON_TYPES and not ctype.endswith("+json"):
            return []
        try:
            instance = json.loads(body)
        except (ValueError, RecursionError) as error:
            return [f"request body: not JSON ({error})"]
        pointer = _pointer(*op_pointer, "requestBody", "content", ctype, "schema")
        return self.validate(instance, pointer, where="request body", writing=True)

    # -- response -----------------------------------------------------------------------

    def _check_response(
        self,
        request: httpx.Request,
        response: httpx.Response,
        operation: Mapping[str, Any],
        op_pointer: Sequence[str],
    ) -> list[str]:
        status = str(response.status_code)
        responses = operation.get("responses", {})
        key = status if status in responses else f"{status[0]}XX"
        if key not in responses:
            key = "default"
        if key not in responses:
            return [f"status {status} is not declared (declared: {sorted(responses)})"]
        spec_response = self._deref(responses[key])
        problems = self._check_response_headers(response, spec_response, key, op_pointer)
        content = spec_response.get("content") or {}
        body = response.content
        ctype = media_type(response.headers.get("content-type"))
        if not content:
            if body:
                problems.append(
                    f"response body: status {status} declares no content, got {len(body)} bytes"
                    f" of {ctype or 'no content type'}"
                )
            return problems
        if ctype not in content:
            problems.append(
                f"response content type {ctype or '(none)'!r} not declared for {status}"
                f" (declared: {sorted(content)})"
            )
            return problems
        if status == "400" and {"application/json", "application/problem+json"} <= set(content):
            wants_problem = (
                request.headers.get("x-error-format", "").strip().lower() == PROBLEM_DETAILS
            )
            expected = "application/problem+json" if wants_problem else "application/json"
            if ctype != expected:
                problems.append(
                    f"error format: X-Error-Format "
                    f"{'problem-details' if wants_problem else 'absent'} expects {expected},"
                    f" got {ctype}"
                )
        pointer = _pointer(*op_pointer, "responses", key, "content", ctype, "schema")
        if ctype in JSON_TYPES or ctype.endswith("+json"):
            try:
                instance = json.loads(body)
            except (ValueError, RecursionError) as error:
                problems.append(f"response body: not JSON ({error})")
                return problems
        else:
            try:
                instance = body.decode("utf-8")
            except UnicodeDecodeError:
                problems.append("response body: not UTF-8 text")
                return problems
            if not instance:
                problems.append("response body: empty")
        problems += self.validate(instance, pointer, where="response body")
        return problems

    def _check_response_headers(
        self,
        response: httpx.Response,
        spec_response: Mapping[str, Any],
        key: str,
        op_pointer: Sequence[str],
    ) -> list[str]:
        problems: list[str] = []
        for name, header in (spec_response.get("headers") or {}).items():
            header = self._deref(header)
            label = f"response header {name!r}"
            value = response.headers.get(name)
            if value is None:
                if header.get("required") or (name.lower(), key) in REQUIRED_RESPONSE_HEADERS:
                    problems.append(f"{label} is missing")
                continue
            pointer = _pointer(*op_pointer, "responses", key, "headers", name, "schema")
            coerced, coerce_problem = self._coerce([value], pointer)
            if coerce_problem:
                problems.append(f"{label}: {coerce_problem}")
                continue
            problems += self.validate(coerced, pointer, where=label)
            if name.lower() == "x-ms-meta-hash":
                digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
                if value != digest:
                    problems.append(
                        f"{label}: {value!r} is not the SHA-256 of the body ({digest!r})"
                    )
        return problems

    # -- helpers ------------------------------------------------------------------------

    def _deref(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Follow a ``$ref`` to a component (parameters, responses, headers, bodies)."""
        seen = 0
        while "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"external $ref {ref!r} is not supported")
            obj = self._at(ref)
            seen += 1
            if seen > 20:
                raise ValueError(f"$ref loop at {ref!r}")
        return dict(obj)

    def _at(self, pointer: str) -> Any:
        """The object at a local JSON pointer, its own ``$ref`` not followed."""
        target: Any = self.document
        for raw in pointer.removeprefix("#/").split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        return target

    def _resolve_schema(self, pointer: str) -> dict[str, Any]:
        """The schema at ``pointer`` with ``$ref`` and single-branch ``allOf`` followed."""
        schema: Mapping[str, Any] = self._deref({"$ref": pointer})
        for _ in range(20):
            if "$ref" in schema:
                schema = self._deref(schema)
            elif "type" not in schema and len(schema.get("allOf", [])) == 1:
                schema = schema["allOf"][0]
            else:
                break
        return dict(schema)

    def _is_reference_number(self, pointer: str) -> bool:
        schema: Mapping[str, Any] = self._at(pointer)
        for _ in range(20):
            ref = schema.get("$ref")
            if ref == "#/components/schemas/ReferenceNumber":
                return True
            if ref:
                schema = self._deref(schema)
            elif len(schema.get("allOf", [])) == 1:
                schema = schema["allOf"][0]
            elif schema.get("type") == "array" and "items" in schema:
                schema = schema["items"]
            else:
                return False
        return False

    def _coerce(self, values: list[str], pointer: str) -> tuple[Any, str | None]:
        """Text values (query, path, header) -> the JSON value the schema describes."""
        schema = self._resolve_schema(pointer)
        if schema.get("type") == "array":
            items_pointer = pointer + "/items"
            out = []
            for value in values:
                item, problem = self._coerce_one(value, self._resolve_schema(items_pointer))
                if problem:
                    return None, problem
                out.append(item)
            return out, None
        if len(values) > 1:
            return None, f"given {len(values)} times, the schema is not an array"
        return self._coerce_one(values[0], schema)

    @staticmethod
    def _coerce_one(value: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
        kind = schema.get("type")
        if kind == "integer":
            if not re.fullmatch(r"[+-]?\d+", value.strip()):
                return None, f"{value!r} is not an integer"
            return int(value), None
        if kind == "number":
            try:
                return float(value), None
            except ValueError:
                return None, f"{value!r} is not a number"
        if kind == "boolean":
            if value not in ("true", "false"):
                return None, f"{value!r} is not a boolean (true/false)"
            return value == "true", None
        return value, None


@functools.cache
def _load(path: str, strict_reference_numbers: bool, nullable_refs: bool) -> OpenApiSpec:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return OpenApiSpec(
        document, strict_reference_numbers=strict_reference_numbers, nullable_refs=nullable_refs
    )


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
