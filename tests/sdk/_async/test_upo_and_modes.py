"""Paged session UPOs and the invoicing mode (offline flag and the auto-offline rule)."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit.testing import run_emulator
from ksefkit.upo import parse_upo, validate_upo, verify_upo_signature


@pytest.mark.anyio
async def test_session_upo_every_page(invoice_factory) -> None:
    with run_emulator(upo_page_size=2) as emu:
        subject = emu.create_subject()
        make = invoice_factory(subject.nip)
        async with emu.async_client() as client:
            await client.authenticate(subject.token, nip=subject.nip)
            async with client.online_session() as session:
                numbers = [(await session.send_and_wait(make())).ksef_number for _ in range(5)]
            status = await session.wait_until_processed()
            assert status.upo is not None and len(status.upo.pages) == 3
            pages = await session.session_upo()
    parsed = [parse_upo(page) for page in pages]
    assert [p.page.page for p in parsed if p.page] == [1, 2, 3]
    assert all(p.page and p.page.pages == 3 and p.page.total == 5 for p in parsed)
    assert [d.ksef_number for p in parsed for d in p.documents] == numbers
    for page in pages:
        assert validate_upo(page) == []
        verify_upo_signature(page)


@pytest.mark.anyio
async def test_offline_flag_and_auto_offline(ksef_async_client, make_invoice) -> None:
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    async with ksef_async_client.online_session() as session:
        online = await session.send_and_wait(make_invoice())
        flagged = await session.send_and_wait(make_invoice(), offline_mode=True)
        # Issued on an earlier day than it reaches KSeF: marked Offline automatically.
        late = await session.send_and_wait(make_invoice(issue_date=yesterday))
        upo = parse_upo(await session.invoice_upo(late.reference_number))
    assert online.invoicing_mode == "Online"
    assert flagged.invoicing_mode == "Offline"
    assert late.invoicing_mode == "Offline"
    assert upo.documents[0].mode == "Offline"
