"""Contract test of issue 3 through the SDK: XAdES login, KSeF tokens, authentication
sessions — every request the SDK sends and every emulator answer, against open-api.json."""

from __future__ import annotations

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import AuthenticationFailed
from ksefkit.identifiers import random_nip
from ksefkit.testcerts import company_seal, person_by_pesel
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /auth/xades-signature",
    "GET /auth/sessions",
    "DELETE /auth/sessions/current",
    "DELETE /auth/sessions/{referenceNumber}",
    "POST /tokens",
    "GET /tokens",
    "GET /tokens/{referenceNumber}",
    "DELETE /tokens/{referenceNumber}",
)


def test_issue3_operations_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    nip = random_nip()
    seal = company_seal(nip, key="ec")
    with run_emulator() as emu, recorder.http_client() as http:
        with emu.client(http_client=http) as owner:
            owner.authenticate(seal.signer(), nip=nip, enforce_xades_compliance=True)
            new = owner.ksef_tokens.generate(["InvoiceRead"], "contract test")
            owner.ksef_tokens.wait_until_active(new.reference_number)
            assert [t.reference_number for t in owner.ksef_tokens.list(page_size=10)]
            with emu.client(http_client=http) as second:
                second.authenticate(new.token, nip=nip)
                listed = list(owner.auth.sessions(page_size=10))
                others = [s.reference_number for s in listed if not s.is_current]
                owner.auth.revoke_session(others[0])
            owner.ksef_tokens.revoke(new.reference_number)
            with emu.client(http_client=http) as stranger:
                with pytest.raises(AuthenticationFailed):
                    stranger.authenticate(person_by_pesel("90010112345").signer(), nip=nip)
            owner.auth.revoke_current_session()

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    seen = {r.operation for r in reports}
    assert [op for op in OPERATIONS if op not in seen] == []
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
