# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""The online-session workflow end to end: open, send, wait, UPOs, close, resume."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from ksefkit import FormCode, OnlineSessionState
from ksefkit.identifiers import is_valid_ksef_number
from ksefkit.upo import parse_upo, validate_upo, verify_upo_signature


def _b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_send_wait_upo_close(ksef_client, ksef_subject, make_invoice) -> None:
    xml = make_invoice()
    with ksef_client.online_session(FormCode.FA3) as session:
        sent = session.send(xml)
        assert sent.invoice_hash == _b64sha(xml)
        assert sent.invoice_size == len(xml)
        status = session.wait_for_invoice(sent.reference_number)
        assert status.status.code == 200
        ksef_number = status.ksef_number
        assert ksef_number and is_valid_ksef_number(ksef_number)
        assert ksef_number.startswith(ksef_subject.nip + "-")
        assert status.acquisition_date is not None
        assert status.permanent_storage_date is None or (
            status.permanent_storage_date > status.acquisition_date
        )
        assert status.invoicing_mode == "Online"

        by_ref = session.invoice_upo(sent.reference_number)
        by_number = session.invoice_upo_by_ksef_number(ksef_number)
        for upo_xml in (by_ref, by_number):
            upo = parse_upo(upo_xml)
            assert [d.ksef_number for d in upo.documents] == [ksef_number]
            assert upo.documents[0].invoice_hash == sent.invoice_hash
            assert upo.session_reference == session.reference_number
            assert validate_upo(upo_xml) == []
            verify_upo_signature(upo_xml)
        if status.upo_download_url:
            assert ksef_client.sessions.download_upo(status.upo_download_url) == by_ref
    assert not session.is_open
    final = session.wait_until_processed()
    assert final.status.code == 200
    assert final.successful_invoice_count == 1
    pages = session.session_upo()
    assert len(pages) == 1
    session_upo = parse_upo(pages[0])
    assert [d.ksef_number for d in session_upo.documents] == [ksef_number]
    assert validate_upo(pages[0]) == []
    verify_upo_signature(pages[0])


def test_session_state_json_and_resume(ksef_emulator, ksef_subject, make_invoice) -> None:
    with ksef_emulator.client() as first:
        first.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        session = first.online_session().open()
        sent = session.send(make_invoice())
        text = session.state.model_dump_json()
    key_b64 = session.state.symmetric_key.get_secret_value()
    assert key_b64 in text  # JSON is the persistence format and must carry the key
    assert key_b64 not in repr(session.state) and key_b64 not in str(session.state)

    # A new client (as in another process) picks the session up from the JSON.
    with ksef_emulator.client() as second:
        second.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        resumed = second.resume_online_session(OnlineSessionState.model_validate_json(text))
        assert resumed.reference_number == session.reference_number
        again = resumed.send(make_invoice())
        for ref in (sent.reference_number, again.reference_number):
            assert (resumed.wait_for_invoice(ref)).status.code == 200
        resumed.close()
        final = resumed.wait_until_processed()
        assert final.successful_invoice_count == 2


def test_upo_v43_header_and_injected_http_client(ksef_emulator, ksef_subject) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> None:
        seen.append(request)

    with httpx.Client(event_hooks={"request": [record]}) as http:
        with ksef_emulator.client(http_client=http) as client:
            client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            with client.online_session(upo_v43=True):
                pass
        assert not http.is_closed  # the client does not close what it did not create
    opens = [r for r in seen if r.url.path.endswith("/sessions/online")]
    assert len(opens) == 1
    assert opens[0].headers["X-KSeF-Feature"] == "upo-v4-3"
    assert opens[0].headers["Authorization"].startswith("Bearer ")


def test_manual_open_close_and_status(ksef_client) -> None:
    session = ksef_client.online_session("FA (3)")
    session.open()
    status = session.status()
    assert status.status.code == 100
    session.close()
    final = session.wait_until_processed(raise_on_error=False)
    assert final.status.code == 440  # closed with no invoices


@pytest.mark.parametrize("form_code", list(FormCode), ids=lambda f: f.name)
def test_every_form_code_opens(ksef_client, form_code) -> None:
    with ksef_client.online_session(form_code) as session:
        assert session.state.form_code == form_code.system_code
        assert (session.status()).status.code == 100
    listed = [s for s in ksef_client.sessions.list("Online")]
    assert session.reference_number in {s.reference_number for s in listed}
