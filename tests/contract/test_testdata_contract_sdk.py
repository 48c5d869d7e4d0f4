"""Contract test of the test-data API through the SDK: subjects, persons, context blocking and
session limits — every request the SDK sends and every emulator answer (errors included),
against open-api.json."""

from __future__ import annotations

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import AuthenticationFailed, BadRequest
from ksefkit.identifiers import random_nip
from ksefkit.models import OnlineSessionContextLimitsOverride
from ksefkit.testcerts import person_by_pesel
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /testdata/subject",
    "POST /testdata/subject/remove",
    "POST /testdata/person",
    "POST /testdata/person/remove",
    "POST /testdata/context/block",
    "POST /testdata/context/unblock",
    "POST /testdata/limits/context/session",
    "DELETE /testdata/limits/context/session",
    "GET /limits/context",
)


def test_testdata_operations_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    group, member, person_nip = random_nip(), random_nip(), random_nip()
    with run_emulator() as emu, recorder.http_client() as http:
        subject = emu.create_subject()
        with emu.client(http_client=http) as client:
            client.testdata.create_subject(
                group, "VatGroup", "Grupa VAT testowa", subunits=[(member, "Członek grupy")]
            )
            with pytest.raises(BadRequest):  # 30001: an error body is checked too
                client.testdata.create_subject(group, "VatGroup", "Grupa VAT testowa")
            client.testdata.remove_subject(group)
            client.testdata.create_person(person_nip, "90010112345", "Komornik", is_bailiff=True)
            client.authenticate(person_by_pesel("90010112345").signer(), nip=person_nip)
            client.testdata.remove_person(person_nip)
            client.testdata.block_context(nip=subject.nip)
            with emu.client(http_client=http) as blocked:
                with pytest.raises(AuthenticationFailed):
                    blocked.authenticate(subject.token, nip=subject.nip)
            client.testdata.unblock_context(nip=subject.nip)
        with emu.client(http_client=http, problem_details=True) as owner:
            owner.authenticate(subject.token, nip=subject.nip)
            online = OnlineSessionContextLimitsOverride(
                max_invoice_size_in_mb=1, max_invoice_with_attachment_size_in_mb=3, max_invoices=5
            )
            owner.testdata.set_session_limits(online=online)
            owner.testdata.reset_session_limits()

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
