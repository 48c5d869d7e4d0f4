"""Online sessions over HTTP: send, process, statuses, UPOs, failures and paging."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from emulator_helpers import TODAY, Ksef, invoice, send_body
from lxml import etree

from ksefkit.emulator.clock import parse_datetime
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.identifiers import is_valid_ksef_number
from ksefkit.upo import parse_upo, validate_upo, verify_upo_signature

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]


def _code(resp: object) -> int:
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])  # type: ignore[attr-defined]


async def _ready(ksef: Ksef, subject: SeededSubject, key: Key) -> tuple[dict[str, str], str]:
    headers = await ksef.bearer(subject)
    return headers, await ksef.open_session(headers, *key)


async def test_happy_path_numbers_dates_and_upos(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    assert re.fullmatch(r"\d{8}-SO-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}", ref)
    xml = invoice(subject.nip)
    sent = await ksef.send(headers, ref, send_body(xml, *session_key))
    assert sent.status_code == 202, sent.text
    inv = sent.json()["referenceNumber"]
    status = await ksef.invoice_status(headers, ref, inv)
    assert status["status"] == {"code": 200, "description": "Sukces"}
    number = status["ksefNumber"]
    assert is_valid_ksef_number(number)
    assert number.startswith(f"{subject.nip}-{TODAY:%Y%m%d}-")
    assert parse_datetime(status["acquisitionDate"]) < parse_datetime(
        status["permanentStorageDate"]
    )
    assert status["invoicingMode"] == "Online"
    assert status["invoiceNumber"] == "FV/1/2026"
    # UPO by invoice reference, by KSeF number and through the pre-signed link agree.
    upo = await ksef.http.get(f"/v2/sessions/{ref}/invoices/{inv}/upo", headers=headers)
    assert upo.headers["content-type"].startswith("application/xml")
    assert (
        upo.headers["x-ms-meta-hash"]
        == base64.b64encode(hashlib.sha256(upo.content).digest()).decode()
    )
    by_number = await ksef.http.get(
        f"/v2/sessions/{ref}/invoices/ksef/{number}/upo", headers=headers
    )
    assert by_number.content == upo.content
    link = status["upoDownloadUrl"]
    assert link.startswith("http://emulator.test/storage/upo/")
    assert (await ksef.http.get(link)).content == upo.content
    parsed = parse_upo(upo.content)
    assert parsed.documents[0].ksef_number == number
    assert validate_upo(upo.content) == []
    signer = ksef.state.upo_signer.certificate
    assert verify_upo_signature(upo.content, certificate=signer) == signer
    # Close → session UPO.
    await ksef.close(headers, ref)
    session = await ksef.session_status(headers, ref)
    assert session["status"]["code"] == 200
    assert (
        session["invoiceCount"],
        session["successfulInvoiceCount"],
        session["failedInvoiceCount"],
    ) == (1, 1, 0)
    page = session["upo"]["pages"][0]
    page_resp = await ksef.http.get(
        f"/v2/sessions/{ref}/upo/{page['referenceNumber']}", headers=headers
    )
    assert (
        page_resp.headers["x-ms-meta-hash"]
        == base64.b64encode(hashlib.sha256(page_resp.content).digest()).decode()
    )
    assert (await ksef.http.get(page["downloadUrl"])).content == page_resp.content
    assert validate_upo(page_resp.content) == []
    verify_upo_signature(page_resp.content)
    root = etree.fromstring(page_resp.content)
    ns = {"u": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}
    assert root.findtext("u:OpisPotwierdzenia/u:CalkowitaLiczbaDokumentow", namespaces=ns) == "1"


async def test_sync_checks_size_hash_and_base64(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    body = send_body(invoice(subject.nip), *session_key)
    assert _code(await ksef.send(headers, ref, {**body, "encryptedInvoiceSize": 17})) == 21402
    assert (
        _code(await ksef.send(headers, ref, {**body, "encryptedInvoiceHash": "A" * 43 + "="}))
        == 21403
    )
    assert _code(await ksef.send(headers, ref, {**body, "encryptedInvoiceContent": "%%%"})) == 21405
    assert _code(await ksef.send(headers, ref, {**body, "invoiceSize": "12"})) == 21405
    assert _code(await ksef.send(headers, "20260210-SO-0000000000-0000000000-00", body)) == 21173


async def test_wrong_aes_key_is_435(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    other = (bytes(32), session_key[1])
    sent = await ksef.send(headers, ref, send_body(invoice(subject.nip), *other))
    status = await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 435
    assert "ksefNumber" not in status


async def test_invalid_xml_is_430(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    bad = invoice(subject.nip).replace(b"<P_2>", b"<P_2x>").replace(b"</P_2>", b"</P_2x>")
    sent = await ksef.send(headers, ref, send_body(bad, *session_key))
    status = await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 430
    assert status["status"]["details"]


async def test_duplicate_is_440_with_extensions(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    xml = invoice(subject.nip)
    first = await ksef.send(headers, ref, send_body(xml, *session_key))
    original = await ksef.invoice_status(headers, ref, first.json()["referenceNumber"])
    ref2 = await ksef.open_session(headers, *session_key)
    again = await ksef.send(headers, ref2, send_body(xml, *session_key))
    status = await ksef.invoice_status(headers, ref2, again.json()["referenceNumber"])
    assert status["status"]["code"] == 440
    assert status["status"]["extensions"] == {
        "originalSessionReferenceNumber": ref,
        "originalKsefNumber": original["ksefNumber"],
    }
    assert status["invoiceNumber"] == "FV/1/2026"


async def test_future_issue_date_is_450_and_past_is_offline(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    import datetime as dt

    headers, ref = await _ready(ksef, subject, session_key)
    future = invoice(subject.nip, "FV/F/1", TODAY + dt.timedelta(days=1))
    sent = await ksef.send(headers, ref, send_body(future, *session_key))
    assert (await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"]))["status"][
        "code"
    ] == 450
    past = invoice(subject.nip, "FV/P/1", TODAY - dt.timedelta(days=1))
    sent = await ksef.send(headers, ref, send_body(past, *session_key))
    status = await ksef.invoice_status(headers, ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 200
    assert status["invoicingMode"] == "Offline"
    failed = (await ksef.http.get(f"/v2/sessions/{ref}/invoices/failed", headers=headers)).json()
    assert [i["status"]["code"] for i in failed["invoices"]] == [450]


async def test_close_without_invoices_is_440(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    await ksef.close(headers, ref)
    status = await ksef.session_status(headers, ref)
    assert status["status"] == {
        "code": 440,
        "description": "Sesja anulowana",
        "details": ["Nie przesłano faktur"],
    }
    again = await ksef.http.post(f"/v2/sessions/online/{ref}/close", headers=headers)
    assert _code(again) == 21180


async def test_close_with_only_invalid_is_445(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    await ksef.send(headers, ref, send_body(invoice(subject.nip), bytes(32), session_key[1]))
    await ksef.close(headers, ref)
    status = await ksef.session_status(headers, ref)
    assert status["status"]["code"] == 445
    assert "upo" not in status
    assert (
        _code(await ksef.send(headers, ref, send_body(invoice(subject.nip), *session_key))) == 21180
    )


async def test_undecryptable_session_key_is_415(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    ref = await ksef.open_session(headers, *session_key, wrapped=b"\x00" * 256)
    assert (await ksef.session_status(headers, ref))["status"]["code"] == 415


async def test_unsupported_form_code_is_21405(ksef: Ksef, subject: SeededSubject) -> None:
    headers = await ksef.bearer(subject)
    body = {
        "formCode": {"systemCode": "FA (9)", "schemaVersion": "1", "value": "FA"},
        "encryption": {"encryptedSymmetricKey": "AA==", "initializationVector": "AA=="},
    }
    resp = await ksef.http.post("/v2/sessions/online", json=body, headers=headers)
    assert _code(resp) == 21405


async def test_session_auto_closes_after_12h(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    await ksef.send(headers, ref, send_body(invoice(subject.nip), *session_key))
    state.advance(12 * 3600 + 1)
    headers = await ksef.bearer(subject)
    assert (await ksef.session_status(headers, ref))["status"]["code"] == 200


async def test_session_list_paging_and_filters(
    ksef: Ksef, subject: SeededSubject, session_key: Key
) -> None:
    headers = await ksef.bearer(subject)
    refs = [await ksef.open_session(headers, *session_key) for _ in range(12)]
    await ksef.close(headers, refs[0])
    first = (await ksef.http.get("/v2/sessions?sessionType=Online", headers=headers)).json()
    assert len(first["sessions"]) == 10
    assert first["continuationToken"]
    second = await ksef.http.get(
        "/v2/sessions?sessionType=Online",
        headers={**headers, "x-continuation-token": first["continuationToken"]},
    )
    body = second.json()
    assert body["continuationToken"] is None
    seen = [s["referenceNumber"] for s in first["sessions"] + body["sessions"]]
    assert sorted(seen) == sorted(refs)
    cancelled = (
        await ksef.http.get("/v2/sessions?sessionType=Online&statuses=Cancelled", headers=headers)
    ).json()
    assert [s["referenceNumber"] for s in cancelled["sessions"]] == [refs[0]]
    item = cancelled["sessions"][0]
    assert {
        "referenceNumber",
        "status",
        "dateCreated",
        "dateUpdated",
        "totalInvoiceCount",
        "successfulInvoiceCount",
        "failedInvoiceCount",
    } <= set(item)
    bad = await ksef.http.get(
        "/v2/sessions?sessionType=Online", headers={**headers, "x-continuation-token": "!!"}
    )
    assert _code(bad) == 21418
    assert _code(await ksef.http.get("/v2/sessions", headers=headers)) == 21405
    assert (
        _code(await ksef.http.get("/v2/sessions?sessionType=Online&pageSize=5", headers=headers))
        == 21405
    )


async def test_invoice_list_paging(ksef: Ksef, subject: SeededSubject, session_key: Key) -> None:
    headers, ref = await _ready(ksef, subject, session_key)
    for n in range(11):
        await ksef.send(headers, ref, send_body(invoice(subject.nip, f"FV/{n}"), *session_key))
    first = (await ksef.http.get(f"/v2/sessions/{ref}/invoices", headers=headers)).json()
    assert [i["ordinalNumber"] for i in first["invoices"]] == list(range(1, 11))
    rest = (
        await ksef.http.get(
            f"/v2/sessions/{ref}/invoices",
            headers={**headers, "x-continuation-token": first["continuationToken"]},
        )
    ).json()
    assert [i["ordinalNumber"] for i in rest["invoices"]] == [11]
    assert rest["continuationToken"] is None


async def test_other_company_cannot_see_session(
    ksef: Ksef, subject: SeededSubject, session_key: Key, state: EmulatorState
) -> None:
    _headers, ref = await _ready(ksef, subject, session_key)
    stranger = await ksef.bearer(state.create_subject())
    assert _code(await ksef.http.get(f"/v2/sessions/{ref}", headers=stranger)) == 21173
