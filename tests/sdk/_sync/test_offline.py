# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""The offline workflow against the emulator: queued invoices sent when KSeF is back (online
and batch, marked offline), deadlines reported, in-flight entries reconciled after a crash,
and technical corrections accepted or refused (locally, and by KSeF with 21166 / 21167)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter

import pytest

from ksefkit import BadRequest, ConfigurationError, CorrectionNotAllowed, FormCode
from ksefkit._sync._wait import poll_until
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.offline import OfflineQueue

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _broken(xml: bytes) -> bytes:
    """Not XSD-valid (KSeF: 430), yet P_1 and the seller still readable."""
    return xml.replace(b"<KodWaluty>PLN</KodWaluty>", b"<KodWaluty>ZZZ</KodWaluty>")


def _sent_hashes(emulator) -> Counter[str]:
    rows = emulator.state.store.all("SELECT invoice_hash FROM invoices")
    return Counter(r["invoice_hash"] for r in rows)


def test_queued_invoices_are_sent_offline_when_ksef_is_back(
    ksef_client, ksef_subject, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    late = queue.add(make_invoice(issue_date=YESTERDAY - dt.timedelta(days=9)), mode="offline24")
    fresh = queue.add(make_invoice(issue_date=YESTERDAY), mode="offline24")
    before = queue.report()
    assert [e.id for e in before.overdue] == [late.id]
    assert [e.id for e in before.due] == [fresh.id]
    events = []
    result = ksef_client.offline(queue, progress=events.append).send()
    assert [e.status for e in result.entries] == ["accepted", "accepted"]
    assert len(result.sessions) == 1
    for entry in result.accepted:
        assert entry.ksef_number.startswith(ksef_subject.nip + "-")
        assert entry.invoicing_mode == "Offline"
        assert entry.sent_at is not None
    assert queue.get(late.id).late and not queue.get(fresh.id).late
    after = queue.report()
    assert after.counts["accepted"] == 2
    assert not after.overdue and not after.due
    assert [e.id for e in after.late] == [late.id]
    phases = [(e.phase, e.entry.id) for e in events]
    for entry in (late, fresh):
        assert phases.index(("sending", entry.id)) < phases.index(("sent", entry.id))
        assert ("accepted", entry.id) in phases
    # KSeF keeps them as offline invoices (the metadata says so).
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    filters = InvoiceQueryFilters(
        subject_type="Subject1",
        date_range=InvoiceQueryDateRange(date_type="PermanentStorage", from_=since),
    )

    def metadata() -> dict[str, str]:
        return {
            m.ksef_number: m.invoicing_mode
            for m in ksef_client.invoices.query_metadata(filters)
        }

    # Listed once permanently stored (a moment after acceptance).
    found = poll_until(
        metadata, lambda f: all(e.ksef_number in f for e in result.accepted), timeout=10, what="x"
    )
    assert {found[e.ksef_number] for e in result.accepted} == {"Offline"}
    queue.close()


def test_batch_send_of_the_queue(
    ksef_client, ksef_emulator, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    entries = [queue.add(make_invoice(), mode="emergency", ended=YESTERDAY) for _ in range(3)]
    rejected = queue.add(_broken(make_invoice()), mode="offline24")
    result = ksef_client.offline(queue).send(batch=True)
    assert [e.status for e in result.entries] == ["accepted"] * 3 + ["rejected"]
    assert all(e.invoicing_mode == "Offline" for e in result.accepted)
    assert queue.get(rejected.id).status_code == 430
    assert len(result.sessions) == 1 and "-SB-" in result.sessions[0]
    assert {e.session_reference for e in result.entries} == set(result.sessions)
    # The batch state (it holds the session key) and its parts are gone.
    assert list((tmp_path / "offline.sqlite3.batches").iterdir()) == []
    assert all(_sent_hashes(ksef_emulator)[e.invoice_hash] == 1 for e in entries)
    queue.close()


def test_a_crash_mid_send_is_reconciled_not_resent(
    ksef_client, ksef_emulator, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    reached, lost = (queue.add(make_invoice(), mode="offline24") for _ in range(2))
    # What a process killed mid-send leaves behind: both marked ``sending``; the first
    # request reached KSeF (its answer never recorded), the second was never made.
    with ksef_client.online_session() as session:
        ref = session.reference_number
        queue.mark_sending([reached.id], session_reference=ref)
        session.send(queue.xml(reached), offline_mode=True)
        queue.mark_sending([lost.id], session_reference=ref)
    sender = ksef_client.offline(queue)
    settled = {e.id: e for e in sender.reconcile()}
    assert settled[reached.id].status == "accepted"
    assert settled[reached.id].session_reference == ref
    assert settled[lost.id].status == "queued"
    assert "did not reach" in settled[lost.id].error
    result = sender.send()
    assert [(e.id, e.status) for e in result.entries] == [(lost.id, "accepted")]
    assert [e.status for e in queue.list()] == ["accepted", "accepted"]
    counts = _sent_hashes(ksef_emulator)
    assert counts[reached.invoice_hash] == 1
    assert counts[lost.invoice_hash] == 1
    queue.close()


def test_a_session_this_login_cannot_see_is_not_guessed(
    ksef_client, ksef_emulator, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    entry = queue.add(make_invoice(), mode="offline24")
    with ksef_client.online_session() as session:
        queue.mark_sending([entry.id], session_reference=session.reference_number)
        session.send(queue.xml(entry), offline_mode=True)
    other = ksef_emulator.create_subject()
    with ksef_emulator.client() as client:
        client.authenticate(other.token, nip=other.nip)
        with pytest.raises(ConfigurationError, match="not visible to this login"):
            client.offline(queue).send()
    assert queue.get(entry.id).status == "sending"  # left for the login that sent it
    ksef_client.offline(queue).reconcile()
    assert queue.get(entry.id).status == "accepted"
    queue.close()


def test_a_crashed_batch_is_resumed(
    ksef_client, ksef_emulator, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    packaged = [queue.add(make_invoice(), mode="offline24") for _ in range(2)]
    never = queue.add(make_invoice(), mode="offline24")
    state = tmp_path / "crashed-batch.json"
    batch = ksef_client.batch_session(FormCode.FA3, offline_mode=True, state_path=state)
    batch.prepare([(f"{e.id}.xml", queue.xml(e)) for e in packaged])
    queue.mark_sending([e.id for e in packaged], batch_state=str(state))
    queue.mark_sending([never.id], batch_state=str(tmp_path / "never-built.json"))
    settled = {e.id: e for e in ksef_client.offline(queue).reconcile()}
    assert [settled[e.id].status for e in packaged] == ["accepted", "accepted"]
    assert settled[never.id].status == "queued"
    assert not state.exists()
    assert all(_sent_hashes(ksef_emulator)[e.invoice_hash] == 1 for e in packaged)
    queue.close()


def test_technical_correction_after_a_rejected_offline_invoice(
    ksef_client, ksef_emulator, make_invoice, tmp_path
) -> None:
    queue = OfflineQueue(tmp_path / "offline.sqlite3")
    number = f"KT/{tmp_path.name[-6:]}"
    original = queue.add(_broken(make_invoice(number=number)), mode="offline24")
    accepted = queue.add(make_invoice(), mode="offline24")
    sender = ksef_client.offline(queue)
    sender.send()
    rejected = queue.get(original.id)
    assert rejected.status == "rejected" and rejected.status_code == 430
    correction = sender.correct_rejected(rejected, make_invoice(number=number))
    assert correction.status == "accepted"
    assert correction.corrects == original.invoice_hash
    assert correction.invoicing_mode == "Offline"
    corrected = queue.get(original.id)
    assert corrected.status == "corrected"
    assert corrected.corrected_by == correction.invoice_hash
    link = ksef_emulator.state.corrections.corrected_by(original.invoice_hash)
    assert link is not None and link.ksef_number == correction.ksef_number
    # Refused locally, before KSeF is asked: corrected already, accepted, the same document.
    with pytest.raises(CorrectionNotAllowed, match="already has an accepted"):
        sender.correct_rejected(original.id, make_invoice(number=number))
    with pytest.raises(CorrectionNotAllowed, match="was accepted"):
        sender.correct_rejected(accepted, make_invoice())
    with pytest.raises(CorrectionNotAllowed, match="is itself a technical correction"):
        sender.correct_rejected(correction, make_invoice(number=number))
    # Refused by KSeF (a queue that does not know the history): no trace is kept.
    other = OfflineQueue(tmp_path / "other.sqlite3")
    with pytest.raises(BadRequest) as again:
        ksef_client.offline(other).correct_rejected(
            original.invoice_hash, make_invoice(number=number)
        )
    assert again.value.code == 21166
    with pytest.raises(BadRequest) as done:
        ksef_client.offline(other).correct_rejected(
            accepted.invoice_hash, make_invoice()
        )
    assert done.value.code == 21167
    assert other.list() == []
    other.close()
    queue.close()


def test_same_document_is_no_correction(ksef_client, make_invoice, tmp_path) -> None:
    path = tmp_path / "offline.sqlite3"
    xml = _broken(make_invoice())
    with OfflineQueue(path) as queue:
        entry = queue.add(xml, mode="offline24")
    with ksef_client.offline(path) as sender:  # opens the file, closes it after
        sender.send()
        with pytest.raises(CorrectionNotAllowed, match="same SHA-256") as info:
            sender.correct_rejected(entry, xml)
        assert "the original itself" in info.value.problems[0]
        with pytest.raises(CorrectionNotAllowed, match="issue date"):
            sender.correct_rejected(entry, make_invoice(issue_date=YESTERDAY))
        assert sender.queue.get(entry.id).status == "rejected"
    with pytest.raises(sqlite3.ProgrammingError):
        sender.queue.list()
