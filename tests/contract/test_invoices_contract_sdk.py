"""Contract test of invoice retrieval through the SDK: metadata queries, download, exports and
a sync — every API request and answer against open-api.json; part downloads go to storage
(outside the spec) and must carry no bearer token."""

from __future__ import annotations

import datetime as dt
import time

from oas import OpenApiSpec
from recording import Recorder

from ksefkit.identifiers import random_nip
from ksefkit.models import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /invoices/query/metadata",
    "GET /invoices/ksef/{ksefNumber}",
    "POST /invoices/exports",
    "GET /invoices/exports/{referenceNumber}",
)


def test_retrieval_through_the_sdk(oas_spec: OpenApiSpec, tmp_path) -> None:
    recorder = Recorder()
    now = dt.datetime.now(dt.UTC)
    with run_emulator(export_part_size=4_000) as emu, recorder.http_client() as http:
        subject = emu.create_subject()
        emu.state.seed_invoices(
            25,
            seller_nip=subject.nip,
            buyer_nip=random_nip(),
            start=now - dt.timedelta(days=2),
            end=now - dt.timedelta(minutes=5),
        )
        time.sleep(emu.state.config.hwm_lag + 0.1)
        window = InvoiceQueryDateRange(
            date_type="PermanentStorage", from_=now - dt.timedelta(days=3)
        )
        filters = InvoiceQueryFilters(subject_type="Subject1", date_range=window)
        with emu.client(http_client=http) as client:
            client.authenticate(subject.token, nip=subject.nip)
            found = list(client.invoices.query_metadata(filters, page_size=10))
            assert len(found) == 25
            assert client.invoices.download(found[0].ksef_number)
            exported = client.invoices.export(filters, into=tmp_path / "export")
            assert len(exported.invoices) == 25
            client.invoices.sync(
                "Subject1", into=tmp_path / "sync", start=now - dt.timedelta(days=3)
            )

    api = [(q, r) for q, r in recorder.exchanges if q.url.path.startswith("/v2/")]
    storage = [q for q, _ in recorder.exchanges if q.url.path.startswith("/storage/")]
    assert storage and all("Authorization" not in q.headers for q in storage)
    reports = oas_spec.check_all(api)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
