"""Contract test of the limits area through the SDK: context, subject and API rate limits, and
the rate-limit test data — every request and answer against open-api.json."""

from __future__ import annotations

from oas import OpenApiSpec
from recording import Recorder

from ksefkit.testing import run_emulator

OPERATIONS = (
    "GET /limits/context",
    "GET /limits/subject",
    "GET /rate-limits",
    "POST /testdata/rate-limits",
    "POST /testdata/rate-limits/production",
    "DELETE /testdata/rate-limits",
)


def test_limits_operations_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    with run_emulator() as emu, recorder.http_client() as http:
        subject = emu.create_subject()
        with emu.client(http_client=http) as client:
            client.authenticate(subject.token, nip=subject.nip)
            assert client.limits.context().online_session.max_invoices == 10_000
            assert client.limits.subject().certificate is not None
            generous = client.limits.rate_limits()
            client.testdata.set_rate_limits({"invoiceSend": (2, 10, 100)})
            assert client.limits.rate_limits().invoice_send.per_minute == 10
            client.testdata.use_production_rate_limits()
            assert client.limits.rate_limits().invoice_send.per_minute == 30
            client.testdata.reset_rate_limits()
            assert client.limits.rate_limits() == generous

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
