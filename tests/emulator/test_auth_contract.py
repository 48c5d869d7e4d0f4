"""Contract check of the issue-3 endpoints: every exchange of a XAdES / tokens / auth-sessions
/ context-block scenario is validated against open-api.json (tests/contract/oas.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from emulator_helpers import Ksef
from oas import OpenApiSpec
from recording import Recorder
from xades_helpers import (
    XML,
    bearer,
    post_xades,
    real_now,
    signed_request,
    xades_login,
    xades_status,
)

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState
from ksefkit.testcerts import company_seal, person_by_pesel

pytestmark = pytest.mark.anyio

NIP = "5265877635"
OPERATIONS = {
    "POST /auth/xades-signature",
    "GET /auth/sessions",
    "DELETE /auth/sessions/current",
    "DELETE /auth/sessions/{referenceNumber}",
    "POST /tokens",
    "GET /tokens",
    "GET /tokens/{referenceNumber}",
    "DELETE /tokens/{referenceNumber}",
    "POST /testdata/context/block",
    "POST /testdata/context/unblock",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(real_now())


@pytest.fixture
async def recorded(state: EmulatorState) -> AsyncIterator[tuple[Ksef, Recorder]]:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=create_app(state))
    async with recorder.async_http_client(
        transport=transport, base_url="http://emulator.test"
    ) as http:
        yield Ksef(http, state), recorder


async def test_issue3_endpoints_follow_the_spec(
    recorded: tuple[Ksef, Recorder], spec_dir: Path
) -> None:
    ksef, recorder = recorded
    seal = company_seal(NIP, key="ec")
    # XAdES: success, a signature error in both formats, a 415.
    owner = await xades_login(ksef, seal, ("Nip", NIP))
    second = await xades_login(ksef, seal, ("Nip", NIP), masks=("127.0.0.0/8",))
    broken = (await signed_request(ksef, seal, ("Nip", NIP))).replace(b"<Nip>", b"<Nip> ")
    await post_xades(ksef, broken)
    await ksef.http.post(
        "/v2/auth/xades-signature",
        content=b"<x/>",
        headers={**XML, "X-Error-Format": "problem-details"},
    )
    await xades_status(ksef, person_by_pesel("90010112345", key="ec"), ("Nip", NIP))
    # Tokens.
    headers = bearer(owner)
    made = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceRead"], "description": "Token kontraktowy"},
        headers=headers,
    )
    ref = made.json()["referenceNumber"]
    await ksef.http.get(
        "/v2/tokens",
        params={"status": ["Active", "Revoked"], "pageSize": 10, "description": "kontrakt"},
        headers=headers,
    )
    await ksef.http.get(f"/v2/tokens/{ref}", headers=headers)
    await ksef.http.delete(f"/v2/tokens/{ref}", headers=headers)
    reader = await ksef.bearer(ksef.state.create_subject(permissions=["InvoiceRead"]))
    refused = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceWrite"], "description": "Za dużo"},
        headers=reader,
    )
    assert refused.status_code == 400
    # Auth sessions.
    await ksef.http.get("/v2/auth/sessions", params={"pageSize": 10}, headers=headers)
    listed = (await ksef.http.get("/v2/auth/sessions", headers=bearer(second))).json()
    other = next(i["referenceNumber"] for i in listed["items"] if not i["isCurrent"])
    await ksef.http.delete(f"/v2/auth/sessions/{other}", headers=bearer(second))
    await ksef.http.delete("/v2/auth/sessions/current", headers=bearer(second, "refreshToken"))
    # IP policy and a foreign token: 403 problem details.
    fenced = await xades_login(ksef, seal, ("Nip", NIP), addresses=("10.0.0.1",))
    assert (await ksef.http.get("/v2/tokens", headers=bearer(fenced))).status_code == 403
    # Blocking.
    context = {"contextIdentifier": {"type": "Nip", "value": NIP}}
    await ksef.http.post("/v2/testdata/context/block", json=context)
    await ksef.http.post("/v2/testdata/context/unblock", json=context)

    spec = OpenApiSpec.load(spec_dir / "open-api.json", strict_reference_numbers=True)
    problems, seen = [], set()
    for request, response in recorder.exchanges:
        if request.url.path.startswith("/_emulator"):
            continue
        report = spec.check(request, response)
        seen.add(report.operation)
        if not report.ok:
            problems.append(str(report))
    assert not problems, "\n".join(problems)
    assert seen >= OPERATIONS
