"""GET /peppol/query: the Peppol provider registry, auto-registration on a provider's first
XAdES authentication in its PeppolId context, admin seeding, sorting and paging."""

from __future__ import annotations

import pytest
from emulator_helpers import Ksef
from xades_helpers import code_of, jwt_claims, post_xades, real_now, signed_request, xades_login

from ksefkit.emulator.clock import ManualClock
from ksefkit.testcerts import peppol_provider_seal

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(real_now())


async def _providers(ksef: Ksef, **params: object) -> dict[str, object]:
    resp = await ksef.http.get("/v2/peppol/query", params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_first_authentication_registers_the_provider(ksef: Ksef, clock: ManualClock) -> None:
    assert await _providers(ksef) == {"peppolProviders": [], "hasMore": False}
    seal = peppol_provider_seal("PPL000123", organization="Peppol Access Point", key="ec")
    tokens = await xades_login(ksef, seal, ("PeppolId", "PPL000123"))
    claims = jwt_claims(tokens)
    assert claims["permissions"] == ["PefInvoiceWrite"]
    assert claims["context-identifier-type"] == "PeppolId"
    listed = await _providers(ksef)
    assert listed["hasMore"] is False
    [provider] = listed["peppolProviders"]  # type: ignore[misc]
    assert provider["id"] == "PPL000123"
    assert provider["name"] == "Peppol Access Point"
    # A later login (another name in the seal) changes neither the name nor the date.
    clock.advance(5)
    renamed = peppol_provider_seal("PPL000123", organization="Renamed", key="ec")
    await xades_login(ksef, renamed, ("PeppolId", "PPL000123"))
    assert (await _providers(ksef))["peppolProviders"] == [provider]


async def test_a_seal_for_another_peppol_id_is_21117_and_registers_nothing(ksef: Ksef) -> None:
    seal = peppol_provider_seal("PPL000123", key="ec")
    body = await signed_request(ksef, seal, ("PeppolId", "PPL999999"))
    assert code_of(await post_xades(ksef, body)) == 21117
    assert (await _providers(ksef))["peppolProviders"] == []


async def test_paging_and_sorting(ksef: Ksef, clock: ManualClock) -> None:
    ids = [f"PPL{n:06d}" for n in range(23)]
    for n, peppol_id in enumerate(ids):
        if n % 2 == 0:
            clock.advance(1)  # pairs share a date: the id breaks the tie (ascending)
        resp = await ksef.http.post(
            "/_emulator/peppol/providers", json={"id": peppol_id, "name": f"Dostawca {n}"}
        )
        assert resp.status_code == 201, resp.text
    pages = []
    for offset in range(3):
        page = await _providers(ksef, pageOffset=offset, pageSize=10)
        pages.append(page)
    assert [p["hasMore"] for p in pages] == [True, True, False]
    seen = [p["id"] for page in pages for p in page["peppolProviders"]]  # type: ignore[attr-defined]
    assert len(seen) == 23
    dates = [p["dateCreated"] for page in pages for p in page["peppolProviders"]]  # type: ignore[attr-defined]
    expected = sorted(ids, key=lambda i: (-(ids.index(i) // 2), i))
    assert seen == expected
    assert dates == sorted(dates, reverse=True)
    beyond = await _providers(ksef, pageOffset=5, pageSize=10)
    assert beyond == {"peppolProviders": [], "hasMore": False}


@pytest.mark.parametrize(
    "params",
    [{"pageSize": 9}, {"pageSize": 101}, {"pageOffset": -1}, {"pageSize": "x"}],
)
async def test_bad_paging_is_21405(ksef: Ksef, params: dict[str, object]) -> None:
    assert code_of(await ksef.http.get("/v2/peppol/query", params=params)) == 21405


async def test_admin_seeding_validates_and_is_idempotent(ksef: Ksef) -> None:
    bad = await ksef.http.post(
        "/_emulator/peppol/providers", json={"id": "P123456789", "name": "x"}
    )
    assert code_of(bad) == 21405  # the OAS example's id breaks the schema's own pattern
    first = await ksef.http.post(
        "/_emulator/peppol/providers", json={"id": "PDE123456", "name": "A"}
    )
    again = await ksef.http.post(
        "/_emulator/peppol/providers", json={"id": "PDE123456", "name": "B"}
    )
    assert first.json() == again.json()
    assert first.json()["name"] == "A"
