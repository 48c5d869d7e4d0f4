"""Lists that span pages: continuation tokens are followed for the user."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.mark.anyio
async def test_session_invoices_all_pages(ksef_async_client, make_invoice) -> None:
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    async with ksef_async_client.online_session() as session:
        refs = [(await session.send(make_invoice())).reference_number for _ in range(11)]
        bad = (await session.send(make_invoice(issue_date=future))).reference_number
        for ref in refs:
            await session.wait_for_invoice(ref)
        await session.wait_for_invoice(bad, raise_on_error=False)
    invoices = [
        i async for i in ksef_async_client.sessions.invoices(session.reference_number, page_size=10)
    ]
    assert sorted(i.reference_number for i in invoices) == sorted([*refs, bad])
    assert sorted(i.ordinal_number for i in invoices) == list(range(1, 13))
    failed = [i async for i in session.failed_invoices()]
    assert [i.reference_number for i in failed] == [bad]


@pytest.mark.anyio
async def test_list_sessions_with_filters(ksef_async_client, make_invoice) -> None:
    opened = []
    for _ in range(11):
        session = await ksef_async_client.online_session().open()
        opened.append(session)
    await opened[0].send(make_invoice())
    await opened[0].close()
    await opened[0].wait_until_processed()

    refs = {s.reference_number for s in opened}
    listed = [s async for s in ksef_async_client.sessions.list("Online", page_size=10)]
    assert refs <= {s.reference_number for s in listed}
    assert len(listed) == len({s.reference_number for s in listed})  # no duplicates across pages

    done = [s async for s in ksef_async_client.sessions.list("Online", statuses=["Succeeded"])]
    assert [s.reference_number for s in done] == [opened[0].reference_number]
    assert done[0].successful_invoice_count == 1

    running = [s async for s in ksef_async_client.sessions.list("Online", statuses=["InProgress"])]
    assert {s.reference_number for s in running} == refs - {opened[0].reference_number}

    one = [
        s
        async for s in ksef_async_client.sessions.list(
            "Online", reference_number=opened[3].reference_number
        )
    ]
    assert [s.reference_number for s in one] == [opened[3].reference_number]

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    none = [s async for s in ksef_async_client.sessions.list("Online", date_created_from=later)]
    assert none == []
    batch = [s async for s in ksef_async_client.sessions.list("Batch")]
    assert batch == []
