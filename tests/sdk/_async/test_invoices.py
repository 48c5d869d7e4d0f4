"""``client.invoices``: download by KSeF number (hash, 21164, 21165) and the metadata query
iterator past KSeF's 10 000-record cap, against the emulator."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import httpx
import pytest

from ksefkit import BadRequest, InvoiceNotAvailableYet
from ksefkit.emulator.clock import ManualClock
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import run_emulator

BUYER = "7740001454"


def filters(subject_type: str, start: dt.datetime, **extra: object) -> InvoiceQueryFilters:
    return InvoiceQueryFilters(
        subject_type=subject_type,
        date_range=InvoiceQueryDateRange(date_type="PermanentStorage", from_=start),
        **extra,
    )


def month_ago() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=31)


@pytest.mark.anyio
async def test_download_verifies_hash(ksef_emulator, ksef_subject, ksef_async_client):
    ksef_emulator.state.seed_invoices(3, seller_nip=ksef_subject.nip, buyer_nip=BUYER)
    found = [
        m async for m in ksef_async_client.invoices.query_metadata(filters("Subject1", month_ago()))
    ]
    assert len(found) == 3
    for meta in found:
        xml = await ksef_async_client.invoices.download(meta.ksef_number)
        assert base64.b64encode(hashlib.sha256(xml).digest()).decode() == meta.invoice_hash
        assert xml.lstrip().startswith(b"<?xml")
    with pytest.raises(BadRequest) as caught:
        await ksef_async_client.invoices.download(found[0].ksef_number[:-6] + "000000-00")
    assert caught.value.code in (21164, 21405)


@pytest.mark.anyio
async def test_download_before_permanent_storage_is_not_available_yet(invoice_factory):
    with run_emulator(clock=ManualClock()) as emulator:
        subject = emulator.create_subject()
        async with emulator.async_client() as client:
            await client.authenticate(subject.token, nip=subject.nip)
            async with client.online_session() as session:
                sent = await session.send(invoice_factory(subject.nip)())
                number = (await session.wait_for_invoice(sent.reference_number)).ksef_number
            assert number
            with pytest.raises(InvoiceNotAvailableYet) as caught:
                await client.invoices.download(number)
            assert isinstance(caught.value, BadRequest)
            assert caught.value.code == 21165
            emulator.state.advance(5)
            assert await client.invoices.download(number)


@pytest.mark.anyio
async def test_query_metadata_past_the_cap_gives_each_invoice_once():
    """10 000 + invoices in groups sharing a timestamp: the iterator restarts at the last
    date with page 0 (KSeF's truncation rule) and still yields the exact set, once each."""
    with run_emulator() as emulator:
        subject = emulator.create_subject()
        total = 10_000 + 157
        emulator.state.seed_invoices(total, seller_nip=subject.nip, buyer_nip=BUYER, tie_group=7)
        offsets: list[str] = []

        async def hook(request: httpx.Request) -> None:
            if request.url.path.endswith("/invoices/query/metadata"):
                offsets.append(request.url.params["pageOffset"])

        async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
            async with emulator.async_client(http_client=http) as client:
                await client.authenticate(subject.token, nip=subject.nip)
                numbers = [
                    m.ksef_number
                    async for m in client.invoices.query_metadata(filters("Subject1", month_ago()))
                ]
                dates = [
                    m.permanent_storage_date
                    async for m in client.invoices.query_metadata(
                        filters("Subject1", month_ago()), sort_order="Desc"
                    )
                ]
                raw = await client.invoices.query_metadata_page(
                    filters("Subject1", month_ago()), page_size=10
                )
        assert len(numbers) == total
        assert len(set(numbers)) == total
        assert offsets.count("0") >= 4  # two restarts per direction past 10 000
        assert len(dates) == total
        assert dates == sorted(dates, reverse=True)
        assert raw.has_more and not raw.is_truncated and len(raw.invoices) == 10
        assert raw.permanent_storage_hwm_date is not None
