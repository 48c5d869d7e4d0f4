"""client.collective_identifiers against the emulator: create, query (100-day windows), the
invoices of an identifier and lookup by KSeF number."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit import BadRequest, ConfigurationError, Forbidden
from ksefkit.emulator.backends.auth import Claims
from ksefkit.emulator.clock import ManualClock
from ksefkit.identifiers import random_nip
from ksefkit.models import CollectiveIdentifierInvoice, CollectiveIdentifierInvoicePayment
from ksefkit.testing import run_emulator


def _seed(state, seller: str, buyer: str, count: int, **dates: dt.datetime) -> list[str]:
    before = {r["ksef_number"] for r in state.store.all("SELECT ksef_number FROM invoices")}
    state.seed_invoices(count, seller_nip=seller, buyer_nip=buyer, **dates)
    rows = state.store.all("SELECT ksef_number FROM invoices WHERE seller_nip = ?", (seller,))
    return sorted(r["ksef_number"] for r in rows if r["ksef_number"] not in before)


@pytest.mark.anyio
async def test_create_query_invoices_and_lookup(ksef_emulator, ksef_subject) -> None:
    buyer = ksef_emulator.create_subject()
    numbers = _seed(ksef_emulator.state, ksef_subject.nip, buyer.nip, 3)
    paid = CollectiveIdentifierInvoice(
        ksef_number=numbers[0],
        payment=CollectiveIdentifierInvoicePayment(amount=199.99, currency="PLN"),
        description="Pierwsza rata",
    )
    async with ksef_emulator.async_client() as seller:
        await seller.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        created = await seller.collective_identifiers.create([paid, *numbers[1:]])
        number = created.collective_identifier_number
        assert number.startswith(f"{ksef_subject.nip}-IZ")
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        [listed] = [i async for i in seller.collective_identifiers.query(since)]
        assert (listed.collective_identifier_number, listed.invoice_count) == (number, 3)
        assert listed.created_in_current_context is True
        items = [i async for i in seller.collective_identifiers.invoices(number, page_size=10)]
        assert sorted(i.ksef_number for i in items) == numbers
        first = next(i for i in items if i.ksef_number == numbers[0])
        assert first.payment is not None and first.payment.amount == 199.99
        assert first.description == "Pierwsza rata"
        holders = [i async for i in seller.collective_identifiers.by_ksef_number(numbers[1])]
        assert [h.collective_identifier_number for h in holders] == [number]
        with pytest.raises(BadRequest) as info:
            await seller.collective_identifiers.create(["5265877635-20260101-000000000000-00"])
        assert info.value.code == 71001
    stranger = ksef_emulator.create_subject()
    async with ksef_emulator.async_client() as other:
        await other.authenticate(stranger.token, nip=stranger.nip)
        items = [i async for i in other.collective_identifiers.invoices(number)]
        hidden = next(i for i in items if i.ksef_number == numbers[0])
        assert hidden.details_hidden is True and hidden.payment is None
        assert [i async for i in other.collective_identifiers.by_ksef_number(numbers[0])] == []


@pytest.mark.anyio
async def test_query_longer_than_100_days_walks_windows() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = ManualClock(now)
    with run_emulator(clock=clock) as emu:
        seller = emu.create_subject()
        to = now - dt.timedelta(hours=1)
        stored = to - dt.timedelta(days=400)  # visible at every instant the test visits
        [invoice] = _seed(emu.state, seller.nip, random_nip(), 1, end=stored)
        claims = _claims(seller.nip, now)
        made = {}
        # One exactly on the boundary of the first two windows (it is in both answers).
        for days in (0.5, 100, 150, 230, 320):
            clock.set(to - dt.timedelta(days=days))
            body = {"invoices": [{"ksefNumber": invoice}]}
            made[days] = emu.state.collective.generate(claims, body)["collectiveIdentifierNumber"]
        clock.set(now)
        async with emu.async_client() as client:
            await client.authenticate(seller.token, nip=seller.nip)
            since = to - dt.timedelta(days=300)
            found = [
                i.collective_identifier_number
                async for i in client.collective_identifiers.query(since, to, page_size=10)
            ]
    assert found == [made[d] for d in (0.5, 100, 150, 230)]


@pytest.mark.anyio
async def test_permission_is_required(ksef_emulator) -> None:
    narrow = ksef_emulator.state.create_subject(permissions=["CredentialsRead"])
    async with ksef_emulator.async_client() as client:
        await client.authenticate(narrow.token, nip=narrow.nip)
        with pytest.raises(Forbidden):
            await client.collective_identifiers.create(["5265877635-20260101-000000000000-00"])


def _claims(nip: str, now: dt.datetime) -> Claims:
    return Claims(
        token_type="ContextToken",
        reference_number="20260210-AU-0000000000-0000000000-00",
        context_type="Nip",
        context_value=nip,
        subject_value=nip,
        permissions=("InvoiceRead",),
        expires=now + dt.timedelta(hours=1),
    )


@pytest.mark.anyio
async def test_query_refuses_a_naive_datetime(ksef_async_client) -> None:
    naive = dt.datetime(2026, 1, 1, 12, 0)
    with pytest.raises(ConfigurationError, match="aware"):
        [i async for i in ksef_async_client.collective_identifiers.query(naive)]
