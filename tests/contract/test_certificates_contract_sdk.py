"""Contract test of KSeF certificates through the SDK: enrollment, status, retrieval, query,
revocation and the certificate test data — every request the SDK sends and every emulator
answer (successes and the documented 400/403 errors), against open-api.json."""

from __future__ import annotations

import datetime as dt

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import BadRequest, Forbidden
from ksefkit.certificates import CertificateRequest
from ksefkit.identifiers import random_nip
from ksefkit.testcerts import company_seal
from ksefkit.testing import run_emulator

OPERATIONS = (
    "GET /certificates/limits",
    "GET /certificates/enrollments/data",
    "POST /certificates/enrollments",
    "GET /certificates/enrollments/{referenceNumber}",
    "POST /certificates/retrieve",
    "POST /certificates/query",
    "POST /certificates/{certificateSerialNumber}/revoke",
    "POST /testdata/limits/subject/certificate",
    "DELETE /testdata/limits/subject/certificate",
    "PUT /testdata/certificates/{serialNumber}",
)


def test_certificate_operations_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    nip = random_nip()
    with run_emulator() as emu, recorder.http_client() as http:
        subject = emu.create_subject(nip)
        with emu.client(http_client=http) as owner:
            owner.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
            assert owner.certificates.limits().can_request
            data = owner.certificates.enrollment_data()
            request = CertificateRequest.create(data)
            sent = owner.certificates.enroll("Kontrakt", request, certificate_type="Offline")
            done = owner.certificates.wait_for_enrollment(sent.reference_number)
            serial = done.certificate_serial_number
            assert serial is not None
            enrolled = owner.certificates.enroll_and_wait("Kontrakt logowanie", key_type="rsa")
            assert len(owner.certificates.retrieve([serial, enrolled.serial_number])) == 2
            listed = list(owner.certificates.query(page_size=10, certificate_type="Offline"))
            assert [c.certificate_serial_number for c in listed] == [serial]
            owner.testdata.update_certificate(
                serial, valid_to=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
            )
            owner.certificates.revoke(enrolled.serial_number, reason="Superseded")
            owner.testdata.set_certificate_limits(max_enrollments=2, max_certificates=1)
            with pytest.raises(BadRequest):  # 25006: the two enrollments made are the limit
                owner.certificates.enroll("Ponad limit", CertificateRequest.create(data))
            with pytest.raises(BadRequest):  # 25009
                owner.certificates.revoke(enrolled.serial_number)
            with pytest.raises(BadRequest):  # 25005
                owner.certificates.enrollment_status("20260101-EH-0000000000-0000000000-00")
            owner.testdata.reset_certificate_limits()
        with emu.client(http_client=http) as by_token:
            by_token.authenticate(subject.token, nip=nip)
            with pytest.raises(BadRequest):  # 25001
                by_token.certificates.enrollment_data()
            with pytest.raises(Forbidden):  # auth-method-not-allowed
                by_token.certificates.revoke(serial)

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    seen = {r.operation for r in reports}
    assert [op for op in OPERATIONS if op not in seen] == []
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
    errors = {(r.operation, r.status) for r in reports if r.status and r.status >= 400}
    assert ("POST /certificates/{certificateSerialNumber}/revoke", 403) in errors
    assert ("GET /certificates/enrollments/data", 400) in errors
