# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""Everything that must fail, fails with the right code and a typed error."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit import BadRequest, InvoiceRejected, PreflightError, SessionFailed
from ksefkit.crypto import SymmetricKey, encrypt_invoice
from ksefkit.models import SendInvoiceRequest


def test_wrong_key_gives_435(ksef_client, make_invoice) -> None:
    with ksef_client.online_session() as session:
        # Encrypted with a key KSeF does not know: decryption in processing fails.
        stranger = encrypt_invoice(make_invoice(), SymmetricKey.generate())
        request = SendInvoiceRequest.model_validate(stranger.to_wire())
        sent = ksef_client.sessions.send_invoice(session.reference_number, request)
        with pytest.raises(InvoiceRejected) as info:
            session.wait_for_invoice(sent.reference_number)
        assert info.value.code == 435


def test_hash_and_size_mismatch_are_rejected_synchronously(
    ksef_client, make_invoice
) -> None:
    with ksef_client.online_session() as session:
        encrypted = encrypt_invoice(make_invoice(), session.state.key)
        wire = encrypted.to_wire()
        bad_hash = SendInvoiceRequest.model_validate(
            {**wire, "encryptedInvoiceHash": encrypted.invoice_hash}
        )
        with pytest.raises(BadRequest) as info:
            ksef_client.sessions.send_invoice(session.reference_number, bad_hash)
        assert info.value.code == 21403
        bad_size = SendInvoiceRequest.model_validate(
            {**wire, "encryptedInvoiceSize": encrypted.encrypted_invoice_size + 16}
        )
        with pytest.raises(BadRequest) as info:
            ksef_client.sessions.send_invoice(session.reference_number, bad_size)
        assert info.value.code == 21402


def test_invalid_xml_caught_by_preflight_or_rejected_with_430(
    ksef_client, make_invoice
) -> None:
    broken = (
        make_invoice().replace(b"<P_2>", b"<P_2_WRONG>", 1).replace(b"</P_2>", b"</P_2_WRONG>", 1)
    )
    with ksef_client.online_session() as checked:
        with pytest.raises(PreflightError) as info:
            checked.send(broken, file_name="broken.xml")
        assert info.value.file_name == "broken.xml"
        assert info.value.problems
    with ksef_client.online_session(preflight=False) as unchecked:
        sent = unchecked.send(broken)
        with pytest.raises(InvoiceRejected) as rejected:
            unchecked.wait_for_invoice(sent.reference_number)
        assert rejected.value.code == 430


def test_bom_is_caught_before_sending(ksef_client, make_invoice) -> None:
    with ksef_client.online_session() as session:
        with pytest.raises(PreflightError, match="BOM"):
            session.send(b"\xef\xbb\xbf" + make_invoice())


def test_duplicate_gives_440_with_original(ksef_client, make_invoice) -> None:
    xml = make_invoice(number="DUP/1")
    with ksef_client.online_session() as session:
        first = session.send(xml)
        original = session.wait_for_ksef_number(first.reference_number)
        second = session.send(xml)
        with pytest.raises(InvoiceRejected) as info:
            session.wait_for_invoice(second.reference_number)
    assert info.value.code == 440
    assert info.value.extensions["originalKsefNumber"] == original
    assert info.value.extensions["originalSessionReferenceNumber"] == session.reference_number
    failed = [i for i in session.failed_invoices()]
    assert [f.reference_number for f in failed] == [second.reference_number]
    assert failed[0].invoice_number == "DUP/1"


def test_future_issue_date_gives_450(ksef_client, make_invoice) -> None:
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    with ksef_client.online_session() as session:
        sent = session.send(make_invoice(issue_date=future))
        status = session.wait_for_invoice(sent.reference_number, raise_on_error=False)
    assert status.status.code == 450
    assert status.ksef_number is None


def test_session_without_invoices_is_440(ksef_client) -> None:
    with ksef_client.online_session() as session:
        pass
    with pytest.raises(SessionFailed) as info:
        session.wait_until_processed()
    assert info.value.code == 440


def test_session_without_valid_invoices_is_445(ksef_client, make_invoice) -> None:
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    with ksef_client.online_session() as session:
        session.send(make_invoice(issue_date=future))
    with pytest.raises(SessionFailed) as info:
        session.wait_until_processed()
    assert info.value.code == 445


def test_send_to_closed_session_is_21180(ksef_client, make_invoice) -> None:
    with ksef_client.online_session() as session:
        pass
    reopened = ksef_client.resume_online_session(
        session.state.model_copy(update={"closed": False})
    )
    with pytest.raises(BadRequest) as info:
        reopened.send(make_invoice())
    assert info.value.code == 21180


def test_unknown_session_is_21173(ksef_client) -> None:
    with pytest.raises(BadRequest) as info:
        ksef_client.sessions.status("20250625-SO-2C3E6C8000-B675CF5D68-07")
    assert info.value.code == 21173
