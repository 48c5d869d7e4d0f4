"""Bad input on every operation of open-api.json: a KSeF-shaped 4xx, never a 5xx.

For each operation of the spec (not a hand list: routes added later are covered as soon as
they exist), sent to an emulator on 127.0.0.1 with the token the operation asks for, in both
error formats (classic ``ExceptionResponse`` and ``X-Error-Format: problem-details``):

* malformed JSON (truncated, trailing comma, not UTF-8, ``NaN``, huge numbers, nesting too
  deep to parse) and malformed XML for the XAdES endpoint (including entity tricks);
* JSON of the wrong type (array, string, number, boolean, null; an empty required body);
* each required field missing, each field of the wrong type, bad Base64 in every
  ``format: byte`` field, bad dates in every ``date`` / ``date-time`` field — all derived
  from the request schema, at every depth, starting from the spec's own example body;
* a body over the emulator's cap (declared by ``Content-Length`` and streamed chunked);
* a wrong or missing ``Content-Type``;
* path identifiers well-formed but unknown, and malformed ones;
* query parameters and headers of the wrong type, outside their enum or bounds, missing.

Each mutated request is first checked against the spec (the contract validator of
``tests/contract/oas.py``): only requests the spec itself refuses count as bad input (a few
the spec allows but KSeF refuses by rule, like a garbage continuation token, are marked so).
Each answer must be a 4xx the operation declares, shaped as §15.1 says, valid against the
operation's response schema for that status. Operations the emulator does not route yet must
answer its KSeF-shaped 404 (see :func:`test_unrouted_operations_are_a_ksef_404`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from live_spec import (
    UNKNOWN_REFERENCE,
    Operation,
    Param,
    World,
    error_codes,
    operations,
    resolve,
    sample,
    spec,
    start_world,
    verdict,
    well_formed,
)

#: A small body cap for the sweep (the default, 10 MB, is checked on its own below).
CAP = 64 * 1024
OPERATIONS = operations()
JSON_TYPE = "application/json"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with start_world(max_request_body=CAP, access_token_lifetime=24 * 3600) as live:
        yield live


# -- cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    """One request; ``bad``: it must be refused with a 4xx."""

    name: str
    content: bytes | None = None
    content_type: str | None = JSON_TYPE
    path: dict[str, str] | None = None  # path parameters (default: well-formed ones)
    query: dict[str, str | list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    bad: bool = True
    #: the body breaks the request schema: the answer must be 400 / 21405
    schema_error: bool = False
    chunked: bool = False


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def base_body(op: Operation) -> Any:
    """The spec's example body of ``op`` when it is valid, else one built from the schema."""
    assert op.body_pointer is not None
    content = spec()._at(op.body_pointer.rsplit("/schema", 1)[0])
    example = content.get("example")
    if example is not None and not spec().validate(
        example, op.body_pointer, where="body", writing=True
    ):
        return copy.deepcopy(example)
    return sample(spec()._at(op.body_pointer))


def body_invalid(op: Operation, body: Any) -> bool:
    """Does the spec refuse ``body`` as the request body of ``op``?"""
    assert op.body_pointer is not None
    return bool(spec().validate(body, op.body_pointer, where="body", writing=True))


def required_query(op: Operation) -> dict[str, str | list[str]]:
    """Valid values of the required query parameters (so a case breaks only one thing)."""
    return {p.name: well_formed(p) for p in op.params if p.where == "query" and p.required}


Path = tuple[str | int, ...]


def fields(
    instance: Any, schema: Mapping[str, Any], path: Path = ()
) -> Iterator[tuple[Path, dict[str, Any], bool]]:
    """(path, resolved schema, required) of every field present in ``instance``, any depth."""
    schema = resolve(schema)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        for key, value in instance.items():
            if key not in props:
                continue
            sub = resolve(props[key])
            yield (*path, key), sub, key in required
            yield from fields(value, sub, (*path, key))
    elif isinstance(instance, list) and instance and "items" in schema:
        yield from fields(instance[0], schema["items"], (*path, 0))


def _set(instance: Any, path: Path, value: Any) -> Any:
    out = copy.deepcopy(instance)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def _delete(instance: Any, path: Path) -> Any:
    out = copy.deepcopy(instance)
    target = out
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return out


def _dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


_WRONG_TYPE: dict[str, Any] = {
    "string": 12345,
    "integer": "1",  # digits in a string: strict JSON types, as System.Text.Json
    "number": "1.5",
    "boolean": "true",
    "array": {"0": "x"},
    "object": ["x"],
}
_BAD_BASE64 = ["not base64!", "QQ", "ąęł=", "QUJD\n"]
_BAD_DATE_TIMES = ["yesterday", "2026-02-30T10:00:00+00:00", "2026-13-01T00:00:00Z", ""]
_BAD_DATES = ["2026-02-30", "10.02.2026", "2026-1-1"]


def _mutations(
    op: Operation,
    change: Callable[[Path, dict[str, Any], bool], list[tuple[str, Any]]],
    *,
    require_invalid: bool = True,
) -> list[Case]:
    """Cases from the example body: ``change`` proposes (label, new value or DELETE) per field.

    Only bodies the spec refuses are kept, unless ``require_invalid`` is off (then each case
    says whether it broke the schema).
    """
    base = base_body(op)
    assert op.body_pointer is not None
    cases = []
    for path, schema, required in fields(base, spec()._at(op.body_pointer)):
        for label, value in change(path, schema, required):
            body = _delete(base, path) if value is DELETE else _set(base, path, value)
            invalid = body_invalid(op, body)
            if invalid or not require_invalid:
                cases.append(Case(f"{_dotted(path)} {label}", _dump(body), schema_error=invalid))
    return cases


DELETE = object()


def missing_required(op: Operation) -> list[Case]:
    return _mutations(op, lambda _p, _s, required: [("missing", DELETE)] if required else [])


def wrong_types(op: Operation) -> list[Case]:
    def change(_p: Path, schema: dict[str, Any], _r: bool) -> list[tuple[str, Any]]:
        kind = schema.get("type") or ("object" if "properties" in schema else "string")
        return [(f"as {type(_WRONG_TYPE[kind]).__name__}", _WRONG_TYPE[kind])]

    return _mutations(op, change)


def bad_base64(op: Operation) -> list[Case]:
    def change(_p: Path, schema: dict[str, Any], _r: bool) -> list[tuple[str, Any]]:
        if schema.get("format") != "byte":
            return []
        return [(f"base64 {v!r}", v) for v in _BAD_BASE64]

    return _mutations(op, change)


def bad_dates(op: Operation) -> list[Case]:
    def change(_p: Path, schema: dict[str, Any], _r: bool) -> list[tuple[str, Any]]:
        values = {"date-time": _BAD_DATE_TIMES, "date": _BAD_DATES}.get(schema.get("format", ""))
        return [(f"date {v!r}", v) for v in values or []]

    return _mutations(op, change)


_MALFORMED_JSON: list[tuple[str, bytes]] = [
    ("truncated", b'{"a": '),
    ("not json", b"not json at all"),
    ("trailing comma", b'{"a": 1,}'),
    ("single quotes", b"{'a': 1}"),
    ("not utf-8", b'{"a": "\xff\xfe"}'),
    ("NaN", b'{"a": NaN}'),
    ("Infinity", b'{"a": -Infinity}'),
    ("huge exponent", b'{"a": 1e999999}'),
    ("huge integer", b'{"a": 1' + b"0" * 30 + b"}"),
    ("too many digits", b'{"a": 1' + b"0" * 5000 + b"}"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("two documents", b"{} {}"),
    ("nul byte", b'{"a": 1}\x00'),
]


def malformed_json(op: Operation) -> list[Case]:
    return [Case(f"malformed JSON: {label}", body) for label, body in _MALFORMED_JSON]


def wrong_json_type(op: Operation) -> list[Case]:
    cases = []
    for value in ([], ["x"], "text", 42, -1.5, True, None):
        if body_invalid(op, value):
            cases.append(Case(f"body is {json.dumps(value)}", _dump(value)))
    if op.body_required:
        cases.append(Case("empty body", b""))
        cases.append(Case("blank body", b"  \n"))
    return cases


def huge_values(op: Operation) -> list[Case]:
    """Integers at and beyond int64, long strings: stored or echoed, they must not crash."""

    def change(_p: Path, schema: dict[str, Any], _r: bool) -> list[tuple[str, Any]]:
        if schema.get("type") == "integer":
            return [("int 2**63", 2**63), ("int -2**63-1", -(2**63) - 1), ("int 2**40", 2**40)]
        if schema.get("type") == "number":
            return [("number 1e308", 1e308), ("number -1e308", -1e308)]
        if schema.get("type") == "string" and "enum" not in schema and not schema.get("format"):
            return [("string of 5000 ą", "ą" * 5000)]
        if schema.get("format") == "date-time":
            return [(f"date-time {v}", v) for v in _EXTREME_DATE_TIMES]
        return []

    return _mutations(op, change, require_invalid=False)


# Valid date-times at the edges of the calendar (were 500s: out of range once in UTC, and a
# year below 1000 written with three digits).
_EXTREME_DATE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0999-01-01T00:00:00Z",
    "0001-01-01T00:00:00",
]


def example_body(op: Operation) -> list[Case]:
    """The spec's own example: valid, but its key ids, challenges and numbers name nothing
    the emulator issued (unknown references inside a body)."""
    return [Case("the spec's example body", _dump(base_body(op)), bad=False)]


def extreme_query(op: Operation) -> list[Case]:
    """Query values the spec allows at the edges: calendar limits, int32 limits."""
    body, kind = _path_case_body(op)
    base_query = required_query(op)
    cases = []
    for param in op.params:
        if param.where != "query":
            continue
        schema = spec()._resolve_schema(param.pointer)
        values: list[str] = []
        if schema.get("format") == "date-time":
            values = _EXTREME_DATE_TIMES
        elif schema.get("type") == "integer":
            values = [str(schema.get("minimum", 0)), str(2**31 - 1)]
        for value in values:
            query = {**base_query, param.name: value}
            cases.append(Case(f"?{param.name}={value}", body, content_type=kind, query=query))
    return cases


def oversized(op: Operation) -> list[Case]:
    body = b'{"pad": "' + b"a" * CAP + b'"}'
    xml = op.body_type != JSON_TYPE
    kind = op.body_type or JSON_TYPE
    if xml:
        body = b"<a>" + b"a" * CAP + b"</a>"
    return [
        Case("oversized (Content-Length)", body, content_type=kind),
        Case("oversized (chunked)", body, content_type=kind, chunked=True),
    ]


def wrong_content_type(op: Operation) -> list[Case]:
    if op.body_type == JSON_TYPE:
        body = _dump(base_body(op))
        kinds = ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
    else:
        body = b"<AuthTokenRequest/>"
        kinds = ["application/json", "text/plain", None]
    return [Case(f"Content-Type {k}", body, content_type=k) for k in kinds]


_MALFORMED_XML: list[tuple[str, bytes]] = [
    ("truncated", b"<AuthTokenRequest><Challenge>"),
    ("not xml", b"not xml at all"),
    ("not utf-8", b"<?xml version='1.0' encoding='utf-8'?><a>\xff\xfe</a>"),
    ("json", b'{"a": 1}'),
    (
        "entity expansion",
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10)
            for i in range(8)
        )
        + b"]><l>&i;</l>",
    ),
    (
        "external entity",
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    ),
    ("deep nesting", b"<a>" * 50_000 + b"</a>" * 50_000),
]


def malformed_xml(op: Operation) -> list[Case]:
    return [
        Case(f"malformed XML: {label}", body, content_type="application/xml")
        for label, body in _MALFORMED_XML
    ]


# Path identifiers that break their schema (or name nothing at all).
_MALFORMED_IDS = [
    "short",
    "x" * 37,
    UNKNOWN_REFERENCE.lower(),
    "20261310-SO-2C3E6C8000-B675CF5D68-07",
    "żółć",
    "\x00",
    UNKNOWN_REFERENCE + "\n",  # the mount must not cut the path at a newline (was a 404)
    " ",
    "a" * 2000,
    "{referenceNumber}",
]


def _path_case_body(op: Operation) -> tuple[bytes | None, str | None]:
    if op.body_type == JSON_TYPE:
        return _dump(base_body(op)), JSON_TYPE
    return None, None


def unknown_ids(op: Operation) -> list[Case]:
    body, kind = _path_case_body(op)
    return [
        Case(
            "well-formed unknown ids",
            body,
            content_type=kind,
            path={p.name: well_formed(p) for p in op.path_params()},
            query=required_query(op),
        )
    ]


def malformed_ids(op: Operation) -> list[Case]:
    body, kind = _path_case_body(op)
    cases = []
    for param in op.path_params():
        for value in _MALFORMED_IDS:
            values = {p.name: well_formed(p) for p in op.path_params()}
            values[param.name] = value
            cases.append(
                Case(
                    f"{param.name}={value[:40]!r}",
                    body,
                    content_type=kind,
                    path=values,
                    query=required_query(op),
                )
            )
    return cases


def _bad_param_values(param: Param) -> list[str]:
    schema = spec()._resolve_schema(param.pointer)
    items = schema.get("items")
    if schema.get("type") == "array" and items:
        schema = resolve(items)
    kind = schema.get("type")
    values: list[str] = []
    if "enum" in schema:
        values += ["NoSuchValue", str(schema["enum"][0]).lower() + "x"]
    if kind == "integer":
        values += ["abc", "1.5", "", "99999999999999999999", "-99999999999999999999"]
        if "minimum" in schema:
            values.append(str(schema["minimum"] - 1))
        if "maximum" in schema:
            values.append(str(schema["maximum"] + 1))
    if kind == "boolean":
        values += ["maybe", "2", ""]
    if schema.get("format") == "date-time":
        values += _BAD_DATE_TIMES[:3]
    if "minLength" in schema:
        values.append("a" * (int(schema["minLength"]) - 1))
    if spec()._is_reference_number(param.pointer):
        values += ["short", UNKNOWN_REFERENCE.lower()]
    return values


def bad_query(op: Operation) -> list[Case]:
    body, kind = _path_case_body(op)
    base_query = required_query(op)
    cases = []
    for param in op.params:
        if param.where != "query":
            continue
        if param.required:
            query = {k: v for k, v in base_query.items() if k != param.name}
            cases.append(Case(f"?{param.name} missing", body, content_type=kind, query=query))
        for value in _bad_param_values(param):
            query = {**base_query, param.name: value}
            cases.append(
                Case(f"?{param.name}={value[:30]!r}", body, content_type=kind, query=query)
            )
    return cases


def bad_headers(op: Operation) -> list[Case]:
    """Header parameters the spec types loosely but KSeF refuses (a garbage continuation)."""
    body, kind = _path_case_body(op)
    cases = []
    for param in op.params:
        if param.where == "header" and param.name.lower() == "x-continuation-token":
            for value in ("garbage", "eyJub3QiOiAidGhlcmUifQ==", "W10=", "%%%"):
                cases.append(
                    Case(
                        f"{param.name}: {value}",
                        body,
                        content_type=kind,
                        query=required_query(op),
                        headers={param.name: value},
                    )
                )
    return cases


# -- families x operations -------------------------------------------------------------------

Family = Callable[[Operation], list[Case]]


def _json_ops(op: Operation) -> bool:
    return op.body_type == JSON_TYPE


def _xml_ops(op: Operation) -> bool:
    return op.body_type is not None and op.body_type != JSON_TYPE


FAMILIES: dict[str, tuple[Family, Callable[[Operation], bool]]] = {
    "malformed-json": (malformed_json, _json_ops),
    "wrong-json-type": (wrong_json_type, _json_ops),
    "missing-required": (missing_required, _json_ops),
    "wrong-types": (wrong_types, _json_ops),
    "bad-base64": (bad_base64, _json_ops),
    "bad-dates": (bad_dates, _json_ops),
    "huge-values": (huge_values, _json_ops),
    "oversized": (oversized, lambda op: op.body_type is not None),
    "content-type": (wrong_content_type, lambda op: op.body_type is not None),
    "malformed-xml": (malformed_xml, _xml_ops),
    "unknown-ids": (unknown_ids, lambda op: bool(op.path_params())),
    "malformed-ids": (malformed_ids, lambda op: bool(op.path_params())),
    "bad-query": (bad_query, lambda op: any(p.where == "query" for p in op.params)),
    "bad-headers": (bad_headers, lambda op: any(p.where == "header" for p in op.params)),
    "extreme-query": (extreme_query, lambda op: any(p.where == "query" for p in op.params)),
    "example-body": (example_body, _json_ops),
}

# Families whose input is bad by KSeF's rules or by what JSON/XML is, not by the OAS (the XAdES
# body is just a string there, Python's JSON parser takes NaN, a garbage continuation token is
# a string, an unknown id is well-formed, the cap is the emulator's; a malformed id the schema
# does not refuse — ``collectiveIdentifierNumber`` is a bare string, ``PermissionId`` only 36
# characters — still names nothing, so it is an unknown id).
BAD_BY_RULE = {
    "malformed-json",
    "malformed-xml",
    "unknown-ids",
    "malformed-ids",
    "bad-headers",
    "oversized",
}

# Families whose cases may be good input: judged for crashes and conformance, not for a 4xx.
NOT_ALWAYS_BAD = {"huge-values", "extreme-query", "example-body"}


def _params() -> list[Any]:
    out = []
    for name, (family, applies) in FAMILIES.items():
        for op in OPERATIONS:
            if applies(op):
                out.append(pytest.param(name, op, id=f"{name}-{op.label}"))
    return out


def _send(world: World, op: Operation, case: Case, problem_details: bool) -> httpx.Response:
    path = case.path if case.path is not None else _default_path(world, op)
    headers = {**world.headers(op), **case.headers}
    if case.content_type is not None and case.content is not None:
        headers["Content-Type"] = case.content_type
    if problem_details:
        headers["X-Error-Format"] = "problem-details"
    content: Any = case.content
    if case.chunked and case.content is not None:
        data = case.content
        content = iter([data[i : i + 8192] for i in range(0, len(data), 8192)])
    return world.http.request(
        op.method, op.path(path), params=case.query or None, headers=headers, content=content
    )


def _default_path(world: World, op: Operation) -> dict[str, str]:
    """Path values that reach the body checks: the world's open online session for sending."""
    values = {p.name: well_formed(p) for p in op.path_params()}
    if op.template.startswith("/sessions/online/{referenceNumber}"):
        values["referenceNumber"] = world.online_session
    return values


def _request_refused_by_spec(op: Operation, response: httpx.Response, case: Case) -> bool:
    request = response.request
    if case.chunked:
        return True  # a body over the cap: the emulator's own limit, not the spec's
    report = spec().check(
        httpx.Request(request.method, request.url, headers=request.headers, content=case.content),
        None,
    )
    return bool(report.problems)


@pytest.mark.parametrize(("family", "op"), _params())
def test_bad_input_gets_a_ksef_4xx(world: World, family: str, op: Operation) -> None:
    cases = FAMILIES[family][0](op)
    problems: list[str] = []
    for case in cases:
        bad = case.schema_error if family in NOT_ALWAYS_BAD else case.bad
        for problem_details in (False, True):
            label = f"{case.name} [{'problem' if problem_details else 'classic'}]"
            try:
                response = _send(world, op, case, problem_details)
            except httpx.TransportError as exc:
                # uvicorn drops the connection after an exception escaped the app (a 500)
                problems.append(f"{label}: connection failed ({exc!r}), after a crash?")
                continue
            if op.template.startswith("/testdata/rate-limits"):
                world.state.rate_limiter.reset()  # limits set by a case would 429 the rest
            found = verdict(world, op, response, bad_input=bad)
            if (
                bad
                and not found
                and world.routed(op)
                and family not in BAD_BY_RULE
                and not _request_refused_by_spec(op, response, case)
            ):
                found.append("the case is not bad input for the spec (fix the test)")
            if case.schema_error and world.routed(op) and response.status_code == 400:
                codes = error_codes(response)
                if 21405 not in codes:
                    found.append(f"schema violation answered with {codes}, not 21405")
            problems += [f"{label}: {p}" for p in found]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])


# -- the cap itself, and routing -------------------------------------------------------------


def test_oversized_body_names_the_cap(world: World) -> None:
    op = next(o for o in OPERATIONS if o.label == "POST /tokens")
    response = _send(world, op, oversized(op)[0], problem_details=False)
    assert response.status_code == 400
    detail = response.json()["exception"]["exceptionDetailList"][0]
    assert detail["exceptionCode"] == 21405
    assert str(CAP) in detail["details"][0]


def test_default_cap_admits_the_largest_invoice() -> None:
    """10 MB: an online invoice with attachments (3 MB) encrypted and in Base64 fits."""
    from ksefkit.emulator.state import EmulatorConfig

    config = EmulatorConfig()
    encrypted = config.max_invoice_size_with_attachment + 16
    assert config.max_request_body > 4 * (encrypted + 2) // 3 + 1024


def test_unrouted_operations_are_a_ksef_404(world: World) -> None:
    """An operation without a route (yet) answers the emulator's KSeF-shaped 404."""
    unrouted = [op for op in OPERATIONS if not world.routed(op)]
    assert len(unrouted) < len(OPERATIONS)
    problems = []
    for op in unrouted:
        values = {p.name: well_formed(p) for p in op.path_params()}
        response = world.http.request(op.method, op.path(values), headers=world.headers(op))
        problems += [f"{op}: {p}" for p in verdict(world, op, response, bad_input=True)]
    assert not problems, "\n".join(problems)


def test_base_bodies_are_valid() -> None:
    """Mutations start from a body the spec accepts, so each case breaks exactly one thing."""
    problems = []
    for op in OPERATIONS:
        if op.body_type == JSON_TYPE:
            assert op.body_pointer is not None
            body = base_body(op)
            problems += spec().validate(body, op.body_pointer, where=op.label, writing=True)
    assert not problems, problems
