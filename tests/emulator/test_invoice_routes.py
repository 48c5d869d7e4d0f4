"""HTTP: POST /invoices/query/metadata (paging, cap, HWM field), GET /invoices/ksef/{n}
(XML + hash, 21164, 21165), permissions, and the admin seed route."""

from __future__ import annotations

import datetime as dt
import hashlib
from base64 import b64encode
from typing import Any

import pytest
from emulator_helpers import BUYER, START, Ksef, b64sha, invoice, send_body

from ksefkit.emulator.state import SeededSubject

pytestmark = pytest.mark.anyio
DAY = dt.timedelta(days=1)
URL = "/v2/invoices/query/metadata"


def _body(subject: str = "Subject1", date_type: str = "PermanentStorage", **rng: Any) -> Any:
    return {
        "subjectType": subject,
        "dateRange": {"dateType": date_type, "from": (START - 40 * DAY).isoformat(), **rng},
    }


async def _seed(ksef: Ksef, count: int, **body: Any) -> dict[str, Any]:
    body.setdefault("from", (START - 20 * DAY).isoformat())
    body.setdefault("to", (START - DAY).isoformat())
    resp = await ksef.http.post("/_emulator/invoices/seed", json={"count": count, **body})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_paging(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    await _seed(ksef, 25, sellerNip=subject.nip)
    seen: list[str] = []
    for offset, expected, more in ((0, 10, True), (1, 10, True), (2, 5, False)):
        resp = await ksef.http.post(
            f"{URL}?pageOffset={offset}&pageSize=10", json=_body(), headers=headers
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert (len(page["invoices"]), page["hasMore"], page["isTruncated"]) == (
            expected,
            more,
            False,
        )
        assert page["permanentStorageHwmDate"] is not None
        seen += [m["ksefNumber"] for m in page["invoices"]]
    assert len(set(seen)) == 25
    resp = await ksef.http.post(f"{URL}?sortOrder=Desc&pageSize=25", json=_body(), headers=headers)
    assert [m["ksefNumber"] for m in resp.json()["invoices"]] == seen[::-1]
    resp = await ksef.http.post(URL, json=_body(date_type="Invoicing"), headers=headers)
    assert resp.json()["permanentStorageHwmDate"] is None
    assert len(resp.json()["invoices"]) == 10  # default pageSize


async def test_cap_truncates(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    await _seed(ksef, 10_001, sellerNip=subject.nip)
    last = await ksef.http.post(f"{URL}?pageOffset=39&pageSize=250", json=_body(), headers=headers)
    page = last.json()
    assert (len(page["invoices"]), page["hasMore"], page["isTruncated"]) == (250, True, True)
    first = (await ksef.http.post(f"{URL}?pageSize=250", json=_body(), headers=headers)).json()
    assert (first["hasMore"], first["isTruncated"]) == (True, False)
    beyond = await ksef.http.post(
        f"{URL}?pageOffset=40&pageSize=250", json=_body(), headers=headers
    )
    assert beyond.json()["invoices"] == [] and beyond.json()["isTruncated"] is True
    # the client's next window starts at the last returned date
    rest = _body(**{"from": page["invoices"][-1]["permanentStorageDate"]})
    tail = (await ksef.http.post(f"{URL}?pageSize=250", json=rest, headers=headers)).json()
    assert tail["isTruncated"] is False and tail["hasMore"] is False
    assert tail["invoices"][0]["ksefNumber"] == page["invoices"][-1]["ksefNumber"]


async def test_bad_query_parameters(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    for query in ("pageSize=9", "pageSize=251", "pageOffset=-1", "pageSize=x", "sortOrder=Up"):
        resp = await ksef.http.post(f"{URL}?{query}", json=_body(), headers=headers)
        assert resp.status_code == 400, query
        assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21405
    for body in (b"[1]", b"{", b'{"subjectType": "Subject1"}'):
        resp = await ksef.http.post(URL, content=body, headers=headers)
        assert resp.status_code == 400, body


async def test_requires_invoice_read(ksef: Ksef, subject: SeededSubject) -> None:
    assert (await ksef.http.post(URL, json=_body())).status_code == 401
    writer = ksef.state.create_subject(permissions=["InvoiceWrite"])
    headers = await ksef.bearer(writer)
    resp = await ksef.http.post(URL, json=_body(), headers=headers)
    assert resp.status_code == 403, resp.text  # a token without InvoiceRead


async def test_download(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    await _seed(ksef, 1, sellerNip=subject.nip)
    meta = (await ksef.http.post(URL, json=_body(), headers=headers)).json()["invoices"][0]
    resp = await ksef.http.get(f"/v2/invoices/ksef/{meta['ksefNumber']}", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/xml")
    digest = b64encode(hashlib.sha256(resp.content).digest()).decode()
    assert resp.headers["x-ms-meta-hash"] == digest == meta["invoiceHash"]


async def test_download_errors(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    unknown = "5265877635-20260210-0100001AF629-AF"
    resp = await ksef.http.get(f"/v2/invoices/ksef/{unknown}", headers=headers)
    assert resp.status_code == 400
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21164
    resp = await ksef.http.get("/v2/invoices/ksef/nope", headers=headers)
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21405
    # someone else's invoice is invisible (21164), a future one is not yet available (21165)
    other = ksef.state.create_subject()
    await _seed(ksef, 1, sellerNip=other.nip, buyerNip=BUYER)
    await _seed(ksef, 1, sellerNip=subject.nip, to=(START + DAY).isoformat(), **{"from": None})
    rows = ksef.state.store.all("SELECT ksef_number, seller_nip FROM invoices")
    for row in rows:
        resp = await ksef.http.get(f"/v2/invoices/ksef/{row['ksef_number']}", headers=headers)
        code = resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"]
        assert code == (21165 if row["seller_nip"] == subject.nip else 21164)


async def test_pipeline_invoice_round_trip(
    ksef: Ksef, subject: SeededSubject, session_key: tuple[bytes, bytes]
) -> None:
    """An invoice sent through an online session: 21165 until stored, then listed and served."""
    headers = await ksef.bearer(subject)
    key, iv = session_key
    ref = await ksef.open_session(headers, key, iv)
    xml = invoice(subject.nip)
    resp = await ksef.http.post(
        f"/v2/sessions/online/{ref}/invoices", json=send_body(xml, key, iv), headers=headers
    )
    assert resp.status_code == 202, resp.text
    row = ksef.state.store.one("SELECT ksef_number FROM invoices WHERE status_code = 200")
    assert row is not None
    number = row["ksef_number"]
    resp = await ksef.http.get(f"/v2/invoices/ksef/{number}", headers=headers)
    assert resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21165
    ksef.state.advance(2)
    resp = await ksef.http.get(f"/v2/invoices/ksef/{number}", headers=headers)
    assert resp.content == xml and resp.headers["x-ms-meta-hash"] == b64sha(xml)
    page = (await ksef.http.post(URL, json=_body(), headers=headers)).json()
    assert [m["ksefNumber"] for m in page["invoices"]] == [number]
    hwm = dt.datetime.fromisoformat(page["permanentStorageHwmDate"])
    stored = dt.datetime.fromisoformat(page["invoices"][0]["permanentStorageDate"])
    assert stored <= hwm  # stored 0.5 s after acceptance, HWM trails the clock by 1 s


async def test_seed_route_validation(ksef: Ksef) -> None:
    for body in ({}, {"count": "3"}, {"count": -1}, {"count": 1, "from": "soon"}, [1]):
        resp = await ksef.http.post("/_emulator/invoices/seed", json=body)
        assert resp.status_code == 400, body
    out = await _seed(ksef, 2)
    assert out["count"] == 2 and len(out["sellerNip"]) == 10
