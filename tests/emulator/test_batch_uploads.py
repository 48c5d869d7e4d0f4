"""The pre-signed part-upload endpoint: signatures, expiry, headers, size/hash, streaming."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import pytest
from batch_helpers import Package, close, code, details, open_batch, upload, zip_bytes
from emulator_helpers import Ksef, invoice
from lxml import etree

from ksefkit.emulator.state import SeededSubject

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]


def _error_code(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(resp.content)
    assert root.tag == "Error"
    assert resp.headers["x-ms-error-code"] == root.findtext("Code")
    return str(root.findtext("Code"))


async def _opened(
    ksef: Ksef, subject: SeededSubject, key: Key, parts: int = 2
) -> tuple[dict[str, str], Package, dict[str, Any]]:
    headers = await ksef.bearer(subject)
    files = {f"{i}.xml": invoice(subject.nip, f"UP/{i}") for i in range(3)}
    pkg = Package.build(zip_bytes(files, 0), *key, parts=parts)
    return headers, pkg, await open_batch(ksef, headers, pkg)


async def test_upload_needs_no_bearer_and_answers_201_with_etag(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    _, pkg, opened = await _opened(ksef, subject, session_key)
    request = opened["partUploadRequests"][0]
    resp = await upload(ksef, request, pkg.parts[0])
    assert resp.status_code == 201, resp.text
    assert resp.headers["etag"].startswith('"0x')
    assert resp.content == b""
    # Re-uploading the same part replaces it (new ETag, still 201).
    again = await upload(ksef, request, pkg.parts[0])
    assert again.status_code == 201
    assert again.headers["etag"] != resp.headers["etag"]
    stored = list(ksef.state.batch.session_dir(opened["referenceNumber"]).iterdir())
    assert [p.name for p in stored] == ["part-1.bin"]


async def test_wrong_size_and_hash_are_400_and_keep_the_previous_part(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, pkg, opened = await _opened(ksef, subject, session_key)
    request = opened["partUploadRequests"][0]
    assert (await upload(ksef, request, pkg.parts[0])).status_code == 201
    short = await upload(ksef, request, pkg.parts[0][:-16])
    assert short.status_code == 400
    assert _error_code(short) == "InvalidBlobOrBlock"

    async def longer() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check first
        yield pkg.parts[0]
        yield b"0" * 16

    long = await upload(ksef, request, longer())
    assert long.status_code == 400
    assert _error_code(long) == "InvalidBlobOrBlock"
    tampered = bytes([pkg.parts[0][0] ^ 1]) + pkg.parts[0][1:]
    bad_hash = await upload(ksef, request, tampered)
    assert bad_hash.status_code == 400
    assert _error_code(bad_hash) == "Md5Mismatch"
    directory = ksef.state.batch.session_dir(opened["referenceNumber"])
    assert [p.name for p in directory.iterdir()] == ["part-1.bin"]  # no partial files left
    assert (directory / "part-1.bin").read_bytes() == pkg.parts[0]
    # Part 2 never arrived: close names it.
    resp = await close(ksef, headers, opened["referenceNumber"])
    assert code(resp) == 21205
    assert details(resp) == ["Nie przesłano zadeklarowanej '2' części pliku."]


async def test_signature_expiry_header_and_method_checks(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    _, pkg, opened = await _opened(ksef, subject, session_key, parts=2)
    request = opened["partUploadRequests"][0]
    url = urllib.parse.urlsplit(request["url"])
    query = dict(urllib.parse.parse_qsl(url.query))

    def with_query(**changes: str) -> dict[str, Any]:
        q = {**query, **changes}
        return {**request, "url": url._replace(query=urllib.parse.urlencode(q)).geturl()}

    forged = await upload(ksef, with_query(sig="A" * 43 + "="), pkg.parts[0])
    assert (forged.status_code, _error_code(forged)) == (403, "AuthenticationFailed")
    later = await upload(ksef, with_query(se="2099-01-01T00:00:00Z"), pkg.parts[0])
    assert (later.status_code, _error_code(later)) == (403, "AuthenticationFailed")
    other_part = {**request, "url": request["url"].replace("/batch-parts/1?", "/batch-parts/2?")}
    assert (await upload(ksef, other_part, pkg.parts[1])).status_code == 403
    unsigned = {**request, "url": request["url"].split("?")[0]}
    assert (await upload(ksef, unsigned, pkg.parts[0])).status_code == 401
    no_header = {**request, "headers": {}}
    resp = await upload(ksef, no_header, pkg.parts[0])
    assert (resp.status_code, _error_code(resp)) == (400, "MissingRequiredHeader")
    assert etree.fromstring(resp.content).findtext("HeaderName") == "x-ms-blob-type"
    append = {**request, "headers": {"x-ms-blob-type": "AppendBlob"}}
    resp = await upload(ksef, append, pkg.parts[0])
    assert (resp.status_code, _error_code(resp)) == (400, "InvalidHeaderValue")
    resp = await ksef.http.get(request["url"])
    assert (resp.status_code, _error_code(resp)) == (405, "UnsupportedHttpVerb")
    # The window is 20 min × 2 parts for every part: 39:59 ok, 40:00 expired.
    ksef.state.advance(40 * 60 - 1)
    assert (await upload(ksef, request, pkg.parts[0])).status_code == 201
    ksef.state.advance(1)
    expired = await upload(ksef, request, pkg.parts[0])
    assert (expired.status_code, _error_code(expired)) == (403, "AuthenticationFailed")
    assert b"time frame" in expired.content


async def test_uploads_after_close_are_refused(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, pkg, opened = await _opened(ksef, subject, session_key)
    for request in opened["partUploadRequests"]:
        assert (
            await upload(ksef, request, pkg.parts[request["ordinalNumber"] - 1])
        ).status_code == 201
    assert (await close(ksef, headers, opened["referenceNumber"])).status_code == 204
    resp = await upload(ksef, opened["partUploadRequests"][0], pkg.parts[0])
    assert (resp.status_code, _error_code(resp)) == (403, "AuthorizationFailure")
    ksef.state.reset()
    resp = await upload(ksef, opened["partUploadRequests"][0], pkg.parts[0])
    assert (resp.status_code, _error_code(resp)) == (404, "BlobNotFound")


async def test_upload_streams_to_disk(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    """A 6 MB part sent chunked: each chunk is on disk before the next one is pulled."""
    headers = await ksef.bearer(subject)
    chunk = 256 * 1024
    pkg = Package.build(os.urandom(6 * 1024 * 1024 - 1), *session_key)
    opened = await open_batch(ksef, headers, pkg)
    directory = ksef.state.batch.session_dir(opened["referenceNumber"])
    data = pkg.parts[0]
    seen: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), chunk):
            partial = list(directory.glob("*.upload"))
            seen.append(partial[0].stat().st_size if partial else -1)
            yield data[offset : offset + chunk]

    resp = await upload(ksef, opened["partUploadRequests"][0], body())
    assert resp.status_code == 201, resp.text
    assert "content-length" not in {k.lower() for k in resp.request.headers}
    # The partial file grew chunk by chunk while the body was still being sent.
    assert len(seen) == 24
    assert seen == [i * chunk for i in range(len(seen))]
    assert (directory / "part-1.bin").stat().st_size == len(data)
