"""Contract test of the offline workflow through the SDK: the queue sent online and in a batch
with ``offlineMode``, a reconcile, a technical correction and KSeF's 21166 / 21167 refusals —
every API request and answer against open-api.json."""

from __future__ import annotations

import datetime as dt

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import BadRequest
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.offline import OfflineQueue
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /sessions/online",
    "POST /sessions/online/{referenceNumber}/invoices",
    "POST /sessions/online/{referenceNumber}/close",
    "GET /sessions/{referenceNumber}/invoices",
    "GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
    "POST /sessions/batch",
    "POST /sessions/batch/{referenceNumber}/close",
)


def test_offline_workflow_through_the_sdk(oas_spec: OpenApiSpec, tmp_path) -> None:
    recorder = Recorder()
    today = dt.datetime.now(dt.UTC).date()
    with run_emulator() as emu, recorder.http_client() as http:
        subject = emu.create_subject()

        def invoice(number: str) -> bytes:
            return generate_fa3(
                seller_nip=subject.nip,
                buyer_nip=random_nip(),
                invoice_number=number,
                issue_date=today,
            )

        queue = OfflineQueue(tmp_path / "offline.sqlite3")
        broken = invoice("OC/1").replace(b">PLN<", b">ZZZ<")
        original = queue.add(broken, mode="offline24")
        queue.add(invoice("OC/2"), mode="offline24")
        with emu.client(http_client=http) as client:
            client.authenticate(subject.token, nip=subject.nip)
            sender = client.offline(queue)
            # marked in flight in a session it never reached: the reconcile requeues it
            with client.online_session() as session:
                queue.mark_sending([original.id], session_reference=session.reference_number)
                session.send(invoice("OC/OPEN"))
            assert [e.status for e in sender.reconcile()] == ["queued"]
            sender.send()
            assert queue.get(original.id).status == "rejected"
            batched = queue.add(invoice("OC/3"), mode="emergency", ended=today)
            sender.send(batch=True)
            assert queue.get(batched.id).status == "accepted"
            fixed = sender.correct_rejected(original, invoice("OC/1"))
            assert fixed.status == "accepted"
            other = client.offline(OfflineQueue(tmp_path / "other.sqlite3"))
            with pytest.raises(BadRequest) as twice:
                other.correct_rejected(original.invoice_hash, invoice("OC/1"))
            assert twice.value.code == 21166
            with pytest.raises(BadRequest) as accepted:
                other.correct_rejected(fixed.invoice_hash, invoice("OC/1"))
            assert accepted.value.code == 21167

    api = [(q, r) for q, r in recorder.exchanges if q.url.path.startswith("/v2/")]
    reports = oas_spec.check_all(api)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
    refused = [r for r in reports if r.status == 400]
    assert len(refused) == 2  # the 21166 and 21167 answers, valid ExceptionResponse bodies
