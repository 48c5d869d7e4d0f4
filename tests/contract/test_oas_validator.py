"""The contract validator itself, on hand-made pairs: it passes good ones and catches bad ones."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from oas import ContractReport, OpenApiSpec
from recording import Recorder

API = "https://api-test.ksef.mf.gov.pl/v2"
SESSION = "20250625-SO-2C3E6C8000-B675CF5D68-07"
INVOICE = "20250625-EE-2C3E6C8000-B675CF5D68-07"
UPO_PAGE = "20250625-EU-2C3E6C8000-B675CF5D68-07"
KSEF_NUMBER = "5265877635-20250826-0100001AF629-AF"
BEARER = {"Authorization": "Bearer eyJ.x.y"}
NOW = "2025-07-11T12:23:56.0154302+00:00"

SESSION_STATUS = {
    "status": {"code": 200, "description": "Sesja interaktywna przetworzona pomyślnie"},
    "dateCreated": NOW,
    "dateUpdated": NOW,
    "validUntil": NOW,
    "upo": {
        "pages": [
            {
                "referenceNumber": UPO_PAGE,
                "downloadUrl": "https://ksef.example/upo/1",
                "downloadUrlExpirationDate": NOW,
            }
        ]
    },
    "invoiceCount": 1,
    "successfulInvoiceCount": 1,
    "failedInvoiceCount": 0,
}


@pytest.fixture(scope="module")
def spec(spec_dir) -> OpenApiSpec:
    return OpenApiSpec.load(spec_dir / "open-api.json")


@pytest.fixture(scope="module")
def strict(spec_dir) -> OpenApiSpec:
    return OpenApiSpec.load(spec_dir / "open-api.json", strict_reference_numbers=True)


def exchange(
    spec: OpenApiSpec,
    method: str,
    path: str,
    status: int,
    *,
    body: Any = None,
    request_json: Any = None,
    headers: dict[str, str] | None = None,
    response_headers: dict[str, str] | None = None,
    content: bytes | None = None,
    params: Any = None,
) -> ContractReport:
    request = httpx.Request(
        method,
        API + path,
        params=params,
        json=request_json,
        headers={**BEARER, **(headers or {})},
    )
    if content is not None:
        response = httpx.Response(status, content=content, headers=response_headers)
    elif body is not None:
        response = httpx.Response(status, json=body, headers=response_headers)
    else:
        response = httpx.Response(status, headers=response_headers)
    return spec.check(request, response)


# -- path matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("POST", "/sessions/online", "/sessions/online"),
        ("GET", f"/sessions/{SESSION}", "/sessions/{referenceNumber}"),
        (
            "GET",
            f"/sessions/{SESSION}/invoices/failed",
            "/sessions/{referenceNumber}/invoices/failed",
        ),
        (
            "GET",
            f"/sessions/{SESSION}/invoices/{INVOICE}",
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
        ),
        (
            "GET",
            f"/sessions/{SESSION}/invoices/ksef/{KSEF_NUMBER}/upo",
            "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
        ),
        (
            "GET",
            f"/sessions/{SESSION}/invoices/{INVOICE}/upo",
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
        ),
        (
            "POST",
            f"/sessions/online/{SESSION}/invoices",
            "/sessions/online/{referenceNumber}/invoices",
        ),
        ("GET", "/auth/sessions", "/auth/sessions"),
        ("GET", f"/auth/{SESSION}", "/auth/{referenceNumber}"),
        ("POST", "/auth/token/refresh", "/auth/token/refresh"),
    ],
)
def test_literal_segments_win_over_parameters(spec, method, path, template) -> None:
    matched, problems = spec.match(method, path)
    assert problems == []
    assert matched is not None
    assert matched.template == template


def test_match_extracts_path_parameters(spec) -> None:
    matched, _ = spec.match("GET", f"/sessions/{SESSION}/invoices/{INVOICE}")
    assert matched is not None
    assert matched.params == {"referenceNumber": SESSION, "invoiceReferenceNumber": INVOICE}


def test_unknown_path_and_undeclared_method_are_problems(spec) -> None:
    assert spec.match("GET", "/nothing/here")[1] == ["no path template matches '/nothing/here'"]
    matched, problems = spec.match("DELETE", f"/sessions/{SESSION}")
    assert matched is None
    assert "DELETE" in problems[0]
    report = spec.check(httpx.Request("GET", "https://x/sessions"), httpx.Response(200))
    assert report.problems == ["path '/sessions' lacks the server prefix '/v2'"]


def test_operations_lists_the_document(spec) -> None:
    ops = spec.operations()
    assert "GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}" in ops
    assert "POST /auth/ksef-token" in ops
    assert len(ops) == len(set(ops)) > 70


# -- good pairs ------------------------------------------------------------------------------


def test_a_good_session_status_passes(spec) -> None:
    report = exchange(spec, "GET", f"/sessions/{SESSION}", 200, body=SESSION_STATUS)
    assert report.ok, str(report)
    assert report.operation == "GET /sessions/{referenceNumber}"
    assert "OK" in str(report)


def test_a_good_session_list_query_passes(spec) -> None:
    report = exchange(
        spec,
        "GET",
        "/sessions",
        200,
        params=[
            ("sessionType", "Online"),
            ("statuses", "Succeeded"),
            ("statuses", "InProgress"),
            ("pageSize", "1000"),
            ("dateCreatedFrom", "2025-07-11T12:23:56+02:00"),
        ],
        headers={"x-continuation-token": "abc"},
        body={"continuationToken": None, "sessions": []},
    )
    assert report.ok, str(report)


def test_a_good_upo_passes_and_its_hash_is_checked(spec) -> None:
    xml = b"<Potwierdzenie/>"
    digest = base64.b64encode(hashlib.sha256(xml).digest()).decode()
    path = f"/sessions/{SESSION}/upo/{UPO_PAGE}"
    good = exchange(
        spec,
        "GET",
        path,
        200,
        content=xml,
        headers={"Accept": "application/xml"},
        response_headers={"content-type": "application/xml", "x-ms-meta-hash": digest},
    )
    assert good.ok, str(good)
    missing = exchange(
        spec, "GET", path, 200, content=xml, response_headers={"content-type": "application/xml"}
    )
    assert missing.problems == ["response header 'x-ms-meta-hash' is missing"]
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    wrong = exchange(
        spec,
        "GET",
        path,
        200,
        content=xml,
        response_headers={"content-type": "application/xml", "x-ms-meta-hash": other},
    )
    assert len(wrong.problems) == 1
    assert "is not the SHA-256 of the body" in wrong.problems[0]
    short = exchange(
        spec,
        "GET",
        path,
        200,
        content=xml,
        response_headers={"content-type": "application/xml", "x-ms-meta-hash": "abc="},
    )
    assert any("'abc=' is too short" in p for p in short.problems)


def test_a_good_send_invoice_request_passes(spec) -> None:
    digest = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    report = exchange(
        spec,
        "POST",
        f"/sessions/online/{SESSION}/invoices",
        202,
        request_json={
            "invoiceHash": digest,
            "invoiceSize": 1,
            "encryptedInvoiceHash": digest,
            "encryptedInvoiceSize": 16,
            "encryptedInvoiceContent": base64.b64encode(b"0" * 16).decode(),
            "offlineMode": False,
        },
        body={"referenceNumber": INVOICE},
    )
    assert report.ok, str(report)


# -- bad pairs -------------------------------------------------------------------------------


def test_missing_required_properties_and_wrong_types_are_all_reported(spec) -> None:
    body = {**SESSION_STATUS, "status": {"code": "200"}, "dateCreated": "2025-07-11"}
    del body["dateUpdated"]
    report = exchange(spec, "GET", f"/sessions/{SESSION}", 200, body=body)
    assert report.problems == [
        "response body $: 'dateUpdated' is a required property",
        "response body $.dateCreated: '2025-07-11' is not a 'date-time'",
        "response body $.status: 'description' is a required property",
        "response body $.status.code: '200' is not of type 'integer'",
    ]
    text = str(report)
    assert "GET /sessions/{referenceNumber} -> 200: 4 problem(s)" in text


def test_wrong_enums_and_ranges_in_the_query(spec) -> None:
    report = exchange(
        spec,
        "GET",
        "/sessions",
        200,
        params=[
            ("sessionType", "Interactive"),
            ("statuses", "Succeeded"),
            ("statuses", "Done"),
            ("pageSize", "5"),
            ("colour", "red"),
        ],
        body={"sessions": []},
    )
    assert report.problems == [
        "query parameter 'colour' is not declared",
        "query parameter 'pageSize' $: 5 is less than the minimum of 10",
        "query parameter 'sessionType' $: 'Interactive' is not one of ['Online', 'Batch']",
        "query parameter 'statuses' $[1]: 'Done' is not one of "
        "['InProgress', 'Succeeded', 'Failed', 'Cancelled']",
    ]


def test_query_values_are_coerced_from_text(spec) -> None:
    too_big = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}/invoices",
        200,
        params={"pageSize": "1001"},
        body={"invoices": []},
    )
    assert too_big.problems == [
        "query parameter 'pageSize' $: 1001 is greater than the maximum of 1000"
    ]
    not_int = exchange(
        spec, "GET", "/sessions", 200, params={"sessionType": "Online", "pageSize": "ten"}
    )
    assert "query parameter 'pageSize': 'ten' is not an integer" in not_int.problems
    missing = exchange(spec, "GET", "/sessions", 200, body={"sessions": []})
    assert missing.problems == ["query parameter 'sessionType' is required but missing"]
    empty_date = exchange(
        spec,
        "GET",
        "/sessions",
        200,
        params={"sessionType": "Online", "dateClosedTo": ""},
        body={"sessions": []},
    )
    assert empty_date.problems == ["query parameter 'dateClosedTo' $: '' is not a 'date-time'"]


def test_bad_reference_and_ksef_numbers_in_the_path(spec, strict) -> None:
    short = exchange(spec, "GET", f"/sessions/{SESSION[:-1]}", 200, body=SESSION_STATUS)
    assert short.problems == [f"path parameter 'referenceNumber' $: '{SESSION[:-1]}' is too short"]
    # 36 characters but not the documented shape: only the strict reading objects.
    shaped_wrong = SESSION.lower()
    assert exchange(spec, "GET", f"/sessions/{shaped_wrong}", 200, body=SESSION_STATUS).ok
    flagged = exchange(strict, "GET", f"/sessions/{shaped_wrong}", 200, body=SESSION_STATUS)
    assert flagged.problems == [
        f"path parameter 'referenceNumber': '{shaped_wrong}' is not a KSeF reference number "
        "(YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC)"
    ]
    bad_ksef = KSEF_NUMBER.replace("-2025", "-1999")
    upo = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}/invoices/ksef/{bad_ksef}/upo",
        400,
        body={"exception": {"timestamp": NOW}},
    )
    assert len(upo.problems) == 1
    assert upo.problems[0].startswith("path parameter 'ksefNumber' $: ")
    assert "does not match" in upo.problems[0]


def test_request_body_problems(spec) -> None:
    report = exchange(
        spec,
        "POST",
        "/sessions/online",
        201,
        request_json={
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E"},
            "encryption": {"encryptedSymmetricKey": "not base64!", "initializationVector": "AA=="},
        },
        body={"referenceNumber": SESSION, "validUntil": NOW},
    )
    assert report.problems == [
        "request body $.encryption.encryptedSymmetricKey: 'not base64!' is not a 'byte'",
        "request body $.formCode: 'value' is a required property",
    ]
    no_body = spec.check(
        httpx.Request("POST", API + "/sessions/online", headers=BEARER),
        httpx.Response(201, json={"referenceNumber": SESSION, "validUntil": NOW}),
    )
    assert no_body.problems == []  # the spec does not mark this requestBody required
    stray = exchange(
        spec, "POST", f"/sessions/online/{SESSION}/close", 204, request_json={"force": True}
    )
    assert stray.problems == ["request body: the operation takes none, got 14 bytes"]


def test_security_needs_a_bearer_token(spec) -> None:
    request = httpx.Request("GET", API + f"/sessions/{SESSION}")
    report = spec.check(request, httpx.Response(200, json=SESSION_STATUS))
    assert report.problems == ["security: the operation needs 'Authorization: Bearer <token>'"]
    public = httpx.Request("POST", API + "/auth/challenge")
    answer = {
        "challenge": "20250514-CR-226FB7B000-3ACF9BE4C0-10",
        "timestamp": NOW,
        "timestampMs": 1752236636015,
        "clientIp": "127.0.0.1",
    }
    assert spec.check(public, httpx.Response(200, json=answer)).ok


def test_undeclared_status_and_content_types(spec) -> None:
    assert exchange(spec, "GET", f"/sessions/{SESSION}", 404).problems == [
        "status 404 is not declared (declared: ['200', '400', '401', '403', '429'])"
    ]
    html = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}",
        400,
        content=b"<html/>",
        response_headers={"content-type": "text/html"},
    )
    assert html.problems == [
        "response content type 'text/html' not declared for 400 (declared: "
        "['application/json', 'application/problem+json'])"
    ]
    json_401 = exchange(
        spec, "GET", f"/sessions/{SESSION}", 401, body={"title": "Unauthorized", "status": 401}
    )
    assert json_401.problems[0].startswith("response content type 'application/json' not declared")
    body_204 = exchange(spec, "POST", f"/sessions/online/{SESSION}/close", 204, body={"ok": True})
    assert body_204.problems == [
        "response body: status 204 declares no content, got 11 bytes of application/json"
    ]


def test_error_format_follows_the_request_header(spec) -> None:
    classic = {
        "exception": {
            "exceptionDetailList": [{"exceptionCode": 21173, "exceptionDescription": "Brak"}],
            "timestamp": NOW,
        }
    }
    assert exchange(spec, "GET", f"/sessions/{SESSION}", 400, body=classic).ok
    asked = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}",
        400,
        body=classic,
        headers={"X-Error-Format": "problem-details"},
    )
    assert asked.problems == [
        "error format: X-Error-Format problem-details expects application/problem+json,"
        " got application/json"
    ]
    problem = {
        "title": "Bad Request",
        "status": 400,
        "instance": f"/v2/sessions/{SESSION}",
        "detail": "Żądanie jest nieprawidłowe.",
        "errors": [{"code": 21173, "description": "Brak sesji"}],
        "timestamp": NOW,
        "traceId": "673843e023c432286660bc0501a3af44",
    }
    unasked = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}",
        400,
        content=httpx.Response(200, json=problem).content,
        response_headers={"content-type": "application/problem+json"},
    )
    assert unasked.problems == [
        "error format: X-Error-Format absent expects application/json, got application/problem+json"
    ]
    incomplete = exchange(
        spec,
        "GET",
        f"/sessions/{SESSION}",
        400,
        content=httpx.Response(200, json={**problem, "errors": [{"code": 1}]}).content,
        response_headers={"content-type": "application/problem+json"},
        headers={"X-Error-Format": "problem-details"},
    )
    assert incomplete.problems == [
        "response body $.errors[0]: 'description' is a required property"
    ]


def test_date_times_need_an_offset(spec) -> None:
    def with_timestamp(value: str) -> ContractReport:
        return exchange(
            spec, "GET", f"/sessions/{SESSION}", 400, body={"exception": {"timestamp": value}}
        )

    assert with_timestamp("2025-10-11T12:23:56.0154302Z").ok
    assert with_timestamp("2025-10-11T12:23:56+02:00").ok
    assert with_timestamp("2025-10-11T12:23:56.0154302").problems == [
        "response body $.exception.timestamp: '2025-10-11T12:23:56.0154302' is not a 'date-time'"
    ]
    assert not with_timestamp("2025-02-30T12:23:56Z").ok


def test_nullable_next_to_all_of(spec_dir) -> None:
    body = {"exception": {"referenceNumber": None, "timestamp": NOW}}
    lenient = OpenApiSpec.load(spec_dir / "open-api.json")
    assert exchange(lenient, "GET", f"/sessions/{SESSION}", 400, body=body).ok
    literal = OpenApiSpec.load(spec_dir / "open-api.json", nullable_refs=False)
    report = exchange(literal, "GET", f"/sessions/{SESSION}", 400, body=body)
    assert "response body $.exception.referenceNumber: None for not nullable" in report.problems
    # A null where the spec says nothing about null is a problem either way.
    not_nullable = {**SESSION_STATUS, "dateCreated": None}
    report = exchange(lenient, "GET", f"/sessions/{SESSION}", 200, body=not_nullable)
    assert "response body $.dateCreated: None for not nullable" in report.problems
    assert all(p.startswith("response body $.dateCreated: ") for p in report.problems)


def test_accept_must_admit_a_success_type(spec) -> None:
    path = f"/sessions/{SESSION}/invoices/{INVOICE}/upo"
    request = httpx.Request("GET", API + path, headers={**BEARER, "Accept": "application/json"})
    report = spec.check(request, None)
    assert report.problems == [
        "Accept 'application/json' admits none of the success media types ['application/xml']"
    ]
    for accept in (
        "application/xml",
        "*/*",
        "application/*",
        "application/json, text/*;q=0.5, */*",
    ):
        request = httpx.Request("GET", API + path, headers={**BEARER, "Accept": accept})
        assert spec.check(request, None).ok, accept
    refused = httpx.Request(
        "GET", API + path, headers={**BEARER, "Accept": "application/json, */*;q=0"}
    )
    assert not spec.check(refused, None).ok


# -- the recorder ----------------------------------------------------------------------------


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/challenge"):
        return httpx.Response(200, json={"seen": request.content.decode()})
    raise httpx.ConnectError("refused", request=request)


def test_recorder_keeps_pairs_bodies_and_unanswered_requests() -> None:
    recorder = Recorder()
    with recorder.http_client(transport=httpx.MockTransport(_answer)) as http:
        http.post(API + "/auth/challenge", json={"a": 1})
        with pytest.raises(httpx.ConnectError):
            http.get(API + "/security/public-key-certificates")
    assert len(recorder.exchanges) == 1
    request, response = recorder.exchanges[0]
    assert request.content == b'{"a":1}'
    assert response is not None
    assert response.json() == {"seen": '{"a":1}'}
    assert [r.url.path for r in recorder.unanswered()] == ["/v2/security/public-key-certificates"]
    recorder.clear()
    assert recorder.exchanges == []
    assert recorder.unanswered() == []


@pytest.mark.anyio
async def test_async_recorder() -> None:
    recorder = Recorder()
    async with recorder.async_http_client(transport=httpx.MockTransport(_answer)) as http:
        await http.post(API + "/auth/challenge", content=b"x")
    assert [(req.content, resp.status_code) for req, resp in recorder.exchanges] == [(b"x", 200)]
