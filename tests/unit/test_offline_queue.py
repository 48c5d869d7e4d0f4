"""The durable offline queue: adding, deadlines, reports, transitions, outages, durability,
one transaction per change, the sender lock — and the local technical-correction rules."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ksefkit.errors import ConfigurationError
from ksefkit.formcodes import FormCode
from ksefkit.invoices.generate import generate_fa3
from ksefkit.offline import OfflineMode, OfflineQueue, correction_problems
from ksefkit.offline.calendar import WARSAW, end_of_day

SELLER = "5265877635"
BUYER = "7740001454"


def invoice(number: str, issued: dt.date = dt.date(2026, 3, 2), seller: str = SELLER) -> bytes:
    return generate_fa3(
        seller_nip=seller, buyer_nip=BUYER, invoice_number=number, issue_date=issued
    )


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WARSAW)


@pytest.fixture
def queue(tmp_path: Path):
    with OfflineQueue(tmp_path / "q" / "offline.sqlite3") as q:
        yield q


def test_add_reads_the_invoice_and_computes_the_deadline(queue: OfflineQueue) -> None:
    xml = invoice("FV/1")
    entry = queue.add(xml, mode="offline24", file_name="FV-1.xml")
    assert entry.id == 1
    assert entry.status == "queued"
    assert entry.seller_nip == SELLER
    assert entry.invoice_number == "FV/1"
    assert entry.issue_date == dt.date(2026, 3, 2)
    assert entry.form_code is FormCode.FA3
    assert entry.mode is OfflineMode.OFFLINE24
    assert entry.deadline == end_of_day(dt.date(2026, 3, 3))
    assert entry.file_name == "FV-1.xml"
    assert queue.xml(entry) == xml
    assert queue.get(entry.invoice_hash) == entry == queue.get("1") == queue.get(1)
    json.dumps(entry.to_dict())  # JSON-ready


def test_the_same_invoice_is_queued_once(queue: OfflineQueue) -> None:
    xml = invoice("FV/1")
    first = queue.add(xml, mode="offline24")
    with pytest.raises(ConfigurationError, match="already queued"):
        queue.add(xml, mode="offline24")
    assert queue.add(xml, mode="emergency", exist_ok=True) == first
    assert len(queue.list()) == 1


def test_what_cannot_be_queued(queue: OfflineQueue) -> None:
    with pytest.raises(ConfigurationError, match="not an invoice"):
        queue.add(b"<broken", mode="offline24")
    no_date = invoice("FV/2").replace(b"<P_1>2026-03-02</P_1>", b"")
    with pytest.raises(ConfigurationError, match="no P_1"):
        queue.add(no_date, mode="offline24")
    with pytest.raises(ValueError, match="OfflineMode"):
        queue.add(invoice("FV/3"), mode="offline48")
    assert queue.list() == []
    with pytest.raises(ConfigurationError, match="no invoice 7"):
        queue.get(7)


def test_list_filters(queue: OfflineQueue) -> None:
    early = queue.add(invoice("A", dt.date(2026, 3, 2)), mode="offline24")  # due 3 March
    late = queue.add(invoice("B", dt.date(2026, 3, 5)), mode="offline24")  # due 6 March
    waiting = queue.add(invoice("C"), mode="offline")  # outage not over: no deadline
    now = at(dt.date(2026, 3, 4))
    assert [e.id for e in queue.list(overdue=True, now=now)] == [early.id]
    assert [e.id for e in queue.list(overdue=False, now=now)] == [late.id, waiting.id]
    assert [e.id for e in queue.list(due_before=end_of_day(dt.date(2026, 3, 6)))] == [
        early.id,
        late.id,
    ]
    assert queue.list(statuses=["accepted"]) == []
    with pytest.raises(ConfigurationError, match="unknown status"):
        queue.list(statuses=["lost"])
    with pytest.raises(ConfigurationError, match="aware"):
        queue.list(overdue=True, now=dt.datetime(2026, 3, 4))


def test_report(queue: OfflineQueue) -> None:
    overdue = queue.add(invoice("A", dt.date(2026, 3, 2)), mode="offline24")
    today = queue.add(invoice("B", dt.date(2026, 3, 3)), mode="offline24")  # due 4 March
    later = queue.add(invoice("C", dt.date(2026, 3, 4)), mode="offline24")
    waiting = queue.add(invoice("D"), mode="emergency")
    free = queue.add(invoice("E"), mode="total_failure")
    sent = queue.add(invoice("F"), mode="offline24")
    rejected = queue.add(invoice("G"), mode="offline24")
    accepted_late = queue.add(invoice("H"), mode="offline24")
    for entry in (sent, rejected, accepted_late):
        queue.mark_sending([entry.id], session_reference="SO-1")
        queue.mark_sent(entry.id, invoice_reference=f"EE-{entry.id}")
    queue.mark_rejected(rejected.id, status_code=440, error="Duplikat faktury")
    queue.mark_accepted(accepted_late.id, ksef_number="K-1", sent_at=at(dt.date(2026, 3, 4)))
    report = queue.report(at(dt.date(2026, 3, 4), 9))
    assert [e.id for e in report.overdue] == [overdue.id]
    assert [e.id for e in report.due] == [today.id, later.id]
    assert [e.id for e in report.due_today] == [today.id]
    assert report.next_deadline == end_of_day(dt.date(2026, 3, 4))
    assert [e.id for e in report.waiting] == [waiting.id]
    assert [e.id for e in report.no_obligation] == [free.id]
    assert [e.id for e in report.in_flight] == [sent.id]
    assert [e.id for e in report.rejected] == [rejected.id]
    assert [e.id for e in report.late] == [accepted_late.id]
    assert report.counts == {
        "queued": 5,
        "sending": 0,
        "sent": 1,
        "accepted": 1,
        "rejected": 1,
        "corrected": 0,
    }
    document = report.to_dict()
    assert [e["id"] for e in document["overdue"]] == [overdue.id]
    json.dumps(document)


def test_outage_end_and_failures_recompute_deadlines(queue: OfflineQueue) -> None:
    offline = queue.add(invoice("A"), mode="offline")
    emergency = queue.add(invoice("B"), mode="emergency")
    plain = queue.add(invoice("C"), mode="offline24")
    done = queue.add(invoice("D"), mode="offline24")
    queue.mark_sending([done.id], session_reference="SO-1")
    queue.mark_accepted(done.id, ksef_number="K-1")
    assert queue.record_end("offline", dt.date(2026, 3, 4)) == 1
    assert queue.get(offline.id).deadline == end_of_day(dt.date(2026, 3, 5))
    assert queue.get(emergency.id).deadline is None
    with pytest.raises(ConfigurationError, match="no outage end"):
        queue.record_end("offline24", dt.date(2026, 3, 4))
    # A failure announced while the deadlines run: none until it ends, then 7 business days.
    queue.add_failure(dt.date(2026, 3, 3))
    assert queue.get(plain.id).deadline is None
    assert queue.get(offline.id).deadline is None
    queue.end_failure(dt.date(2026, 3, 6))
    assert queue.get(plain.id).deadline == end_of_day(dt.date(2026, 3, 17))
    assert queue.get(offline.id).deadline == end_of_day(dt.date(2026, 3, 17))
    assert queue.get(done.id).deadline == end_of_day(dt.date(2026, 3, 3))  # sent: kept
    assert queue.record_end("emergency", dt.date(2026, 3, 6)) == 1
    assert queue.get(emergency.id).deadline == end_of_day(dt.date(2026, 3, 17))
    assert [(f.start, f.end) for f in queue.failures()] == [
        (dt.date(2026, 3, 3), dt.date(2026, 3, 6))
    ]
    with pytest.raises(ConfigurationError, match="no announced failure is open"):
        queue.end_failure(dt.date(2026, 3, 7))
    # new entries see the recorded failures too
    later = queue.add(invoice("E", dt.date(2026, 3, 5)), mode="offline24")
    assert later.deadline == end_of_day(dt.date(2026, 3, 17))


def test_transitions(queue: OfflineQueue) -> None:
    entry = queue.add(invoice("A"), mode="offline24")
    with pytest.raises(ConfigurationError, match="is queued, not sending or sent"):
        queue.mark_sent(entry.id, invoice_reference="EE-1")
    queue.mark_sending([entry.id], session_reference="SO-1")
    sending = queue.get(entry.id)
    assert sending.status == "sending" and sending.session_reference == "SO-1"
    assert sending.unsent
    sent = queue.mark_sent(entry.id, invoice_reference="EE-1")
    assert (sent.status, sent.invoice_reference, sent.session_reference) == ("sent", "EE-1", "SO-1")
    with pytest.raises(ConfigurationError, match="entry 1 is sent: wait"):
        queue.remove(entry.id)
    with pytest.raises(ConfigurationError):
        queue.requeue(entry.id)
    accepted = queue.mark_accepted(entry.id, ksef_number="K-1", invoicing_mode="Offline")
    assert (accepted.status, accepted.ksef_number, accepted.status_code) == ("accepted", "K-1", 200)
    assert accepted.invoice_reference == "EE-1"  # kept
    queue.remove(entry.id)
    assert queue.find(entry.id) is None


def test_requeue_clears_the_session(queue: OfflineQueue) -> None:
    entry = queue.add(invoice("A"), mode="offline24")
    queue.mark_sending([entry.id], batch_state="/tmp/b.json")
    back = queue.requeue(entry.id, error="did not reach")
    assert (back.status, back.batch_state, back.session_reference, back.error) == (
        "queued",
        None,
        None,
        "did not reach",
    )


def test_an_accepted_correction_marks_its_original(queue: OfflineQueue) -> None:
    original = queue.add(invoice("A"), mode="offline24")
    queue.mark_sending([original.id], session_reference="SO-1")
    queue.mark_rejected(original.id, status_code=430, error="XSD")
    fix = queue.add(
        invoice("A", seller=SELLER) + b"\n", mode="offline24", corrects=original.invoice_hash
    )
    queue.mark_sending([fix.id], session_reference="SO-2")
    queue.mark_accepted(fix.id, ksef_number="K-2")
    corrected = queue.get(original.id)
    assert corrected.status == "corrected"
    assert corrected.corrected_by == fix.invoice_hash


def test_one_transaction_per_change(queue: OfflineQueue) -> None:
    first = queue.add(invoice("A"), mode="offline24")
    with pytest.raises(ConfigurationError, match="no invoice 99"):
        queue.mark_sending([first.id, 99], session_reference="SO-1")
    assert queue.get(first.id).status == "queued"  # rolled back as a whole


def test_the_file_survives_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "offline.sqlite3"
    with OfflineQueue(path) as queue:
        entry = queue.add(invoice("A"), mode="offline24")
        queue.mark_sending([entry.id], session_reference="SO-1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with OfflineQueue(path) as again:
        assert again.get(entry.id).status == "sending"
        mode = again._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_killed_process_leaves_a_consistent_queue(tmp_path: Path) -> None:
    """A process dies (no clean-up) right after a change: the change is there, intact."""
    path = tmp_path / "offline.sqlite3"
    script = (
        "import os, signal, sys, datetime as dt\n"
        "from ksefkit.offline import OfflineQueue\n"
        "from ksefkit.invoices.generate import generate_fa3\n"
        "q = OfflineQueue(sys.argv[1])\n"
        "for n in range(3):\n"
        "    xml = generate_fa3(seller_nip='5265877635', buyer_nip='7740001454',\n"
        "        invoice_number=f'K/{n}', issue_date=dt.date(2026, 3, 2))\n"
        "    e = q.add(xml, mode='offline24')\n"
        "q.mark_sending([1, 2], session_reference='SO-1')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    if os.name != "posix":
        pytest.skip("SIGKILL")
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert done.returncode == -9
    with OfflineQueue(path) as queue:
        assert [e.status for e in queue.list()] == ["sending", "sending", "queued"]


def test_one_sender_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "offline.sqlite3"
    with OfflineQueue(path) as one, OfflineQueue(path) as two:
        with one.sending_lock():
            with pytest.raises(ConfigurationError, match="another process is sending"):
                with two.sending_lock():
                    pass
        with two.sending_lock():  # released
            pass
    with OfflineQueue(":memory:") as memory, memory.sending_lock():
        pass


def test_correction_rules(queue: OfflineQueue) -> None:
    original = queue.add(invoice("A"), mode="offline24")
    fixed = queue.xml(original) + b"\n"
    # not sent yet
    assert "not rejected" in correction_problems(queue.get(1), original.invoice_hash, fixed)[0]
    queue.mark_sending([original.id], session_reference="SO-1")
    queue.mark_rejected(original.id, status_code=410, error="Nieprawidłowy zakres uprawnień")
    problems = correction_problems(queue.get(1), original.invoice_hash, fixed)
    assert problems == [
        "the original was rejected for missing permissions (410):"
        " a technical correction does not apply"
    ]
    queue.mark_rejected(original.id, status_code=440, error="Duplikat faktury")
    rejected = queue.get(original.id)
    assert correction_problems(rejected, original.invoice_hash, fixed) == []
    assert (
        "same SHA-256"
        in correction_problems(rejected, original.invoice_hash, queue.xml(original))[0]
    )
    other_seller = invoice("A", seller=BUYER)
    assert "seller NIP" in correction_problems(rejected, original.invoice_hash, other_seller)[0]
    other_day = invoice("A", dt.date(2026, 3, 3))
    assert "issue date" in correction_problems(rejected, original.invoice_hash, other_day)[0]
    # a hash unknown to the queue: only the document itself can be checked
    assert correction_problems(None, "x" * 44, fixed) == []
