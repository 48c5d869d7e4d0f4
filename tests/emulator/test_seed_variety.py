"""Seeding with ``variety``: the emulator's test data as a realistic mix (rates, currencies,
corrections of earlier seeded invoices), each invoice with its own metadata."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from emulator_helpers import START, Ksef

from ksefkit.emulator.backends.metadata import query_invoices
from ksefkit.emulator.state import EmulatorState
from ksefkit.fa3 import check, parse, xsd_errors

SELLER, BUYER = "5265877635", "7740001454"
DAY = dt.timedelta(days=1)


def _rows(state: EmulatorState) -> list[Any]:
    return list(state.store.all("SELECT * FROM invoices ORDER BY ordinal_number"))


def test_variety_seeds_a_realistic_mix(state: EmulatorState) -> None:
    state.seed_invoices(
        35,
        seller_nip=SELLER,
        buyer_nip=BUYER,
        start=START - 20 * DAY,
        end=START - DAY,
        variety=True,
    )
    rows = _rows(state)
    assert len(rows) == 35
    numbers = {r["ksef_number"] for r in rows}
    kinds = [r["invoice_type"] for r in rows]
    assert kinds.count("KOR") == 5 and kinds.count("VAT") == 30
    currencies = set()
    for row in rows:
        invoice = parse(row["xml"])
        assert xsd_errors(row["xml"]) == []
        assert check(invoice, today=dt.date(2026, 12, 31)) == []
        assert invoice.fa.issue_date.isoformat() == row["issue_date"]
        assert invoice.fa.invoice_type.value == row["invoice_type"]
        meta = json.loads(row["metadata"])
        assert meta["grossAmount"] == float(invoice.fa.total)
        assert meta["currency"] == invoice.fa.currency
        currencies.add(invoice.fa.currency)
        for corrected in invoice.fa.corrected_invoices:
            assert corrected.ksef_number in numbers  # a correction of a seeded invoice
    assert "PLN" in currencies and len(currencies) > 1


def test_variety_metadata_filters(state: EmulatorState) -> None:
    state.seed_invoices(
        14,
        seller_nip=SELLER,
        buyer_nip=BUYER,
        start=START - 20 * DAY,
        end=START - DAY,
        variety=True,
    )
    body = {
        "subjectType": "Subject1",
        "dateRange": {"dateType": "PermanentStorage", "from": (START - 40 * DAY).isoformat()},
        "invoiceTypes": ["Kor"],
    }
    rows = query_invoices(state, "Nip", SELLER, body).rows
    assert len(rows) == 2
    assert all(r["invoiceType"] == "Kor" for r in rows)


def test_the_default_stays_uniform(state: EmulatorState) -> None:
    state.seed_invoices(4, seller_nip=SELLER, buyer_nip=BUYER)
    metas = [json.loads(r["metadata"]) for r in _rows(state)]
    assert {(m["invoiceType"], m["grossAmount"]) for m in metas} == {("Vat", 2534.54)}


@pytest.mark.anyio
async def test_seed_route_takes_variety(ksef: Ksef) -> None:
    body = {"count": 8, "sellerNip": SELLER, "variety": True}
    resp = await ksef.http.post("/_emulator/invoices/seed", json=body)
    assert resp.status_code == 201, resp.text
    kinds = {r["invoice_type"] for r in _rows(ksef.state)}
    assert kinds == {"VAT", "KOR"}
    bad = await ksef.http.post("/_emulator/invoices/seed", json={"count": 1, "variety": "yes"})
    assert bad.status_code == 400
