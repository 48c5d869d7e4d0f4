"""Contract test of batch sessions through the SDK: every API request and answer of a batch
send (open, close, statuses, lists, UPO) against open-api.json. Part uploads go to storage,
which the spec does not describe; they are checked for what the spec does say: no bearer."""

from __future__ import annotations

import datetime as dt

from oas import OpenApiSpec
from recording import Recorder

from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_batch_of
from ksefkit.testing import run_emulator

OPERATIONS = ("POST /sessions/batch", "POST /sessions/batch/{referenceNumber}/close")


def test_batch_send_through_the_sdk(oas_spec: OpenApiSpec, tmp_path) -> None:
    recorder = Recorder()
    with run_emulator() as emu, recorder.http_client() as http:
        subject = emu.create_subject()
        today = dt.datetime.now(dt.UTC).date()
        source = list(
            generate_batch_of(12, seller_nip=subject.nip, buyer_nip=random_nip(), issue_date=today)
        )
        with emu.client(http_client=http) as client:
            client.authenticate(subject.token, nip=subject.nip)
            batch = client.batch_session(state_path=tmp_path / "state.json")
            result = batch.send(source, part_size=8_000)
            assert len(result.accepted) == 12
            assert result.upo_pages()
            assert list(client.sessions.invoices(result.reference_number, page_size=10))

    api = [(q, r) for q, r in recorder.exchanges if q.url.path.startswith("/v2/")]
    uploads = [q for q, _ in recorder.exchanges if "/storage/batch/" in q.url.path]
    assert len(uploads) >= 2
    assert all("Authorization" not in q.headers for q in uploads)
    reports = oas_spec.check_all(api)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
