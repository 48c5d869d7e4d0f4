"""Contract test of collective identifiers and the Peppol registry through the SDK: every
request the SDK sends and every emulator answer (errors included) against open-api.json."""

from __future__ import annotations

import datetime as dt

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import BadRequest
from ksefkit.identifiers import random_nip
from ksefkit.models import CollectiveIdentifierInvoice, CollectiveIdentifierInvoicePayment
from ksefkit.testcerts import peppol_provider_seal
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /collective-identifiers",
    "POST /collective-identifiers/query",
    "GET /collective-identifiers/{collectiveIdentifierNumber}/invoices",
    "GET /collective-identifiers/ksef/{ksefNumber}",
    "GET /peppol/query",
)


def test_collective_identifiers_and_peppol_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    with run_emulator() as emu, recorder.http_client() as http:
        seller = emu.create_subject()
        emu.state.seed_invoices(12, seller_nip=seller.nip, buyer_nip=random_nip())
        rows = emu.state.store.all(
            "SELECT ksef_number FROM invoices WHERE seller_nip = ?", (seller.nip,)
        )
        numbers = [r["ksef_number"] for r in rows]
        paid = CollectiveIdentifierInvoice(
            ksef_number=numbers[0],
            payment=CollectiveIdentifierInvoicePayment(amount=10.5, currency="EUR"),
            description="Zaliczka",
        )
        with emu.client(http_client=http) as client:
            client.authenticate(seller.token, nip=seller.nip)
            created = client.collective_identifiers.create([paid, *numbers[1:]])
            number = created.collective_identifier_number
            for _ in range(11):  # enough for a second page of the query
                client.collective_identifiers.create([numbers[1]])
            since = dt.datetime.now(dt.UTC) - dt.timedelta(days=150)  # two windows
            assert len(list(client.collective_identifiers.query(since, page_size=10))) == 12
            assert len(list(client.collective_identifiers.invoices(number, page_size=10))) == 12
            assert len(list(client.collective_identifiers.by_ksef_number(numbers[1]))) == 12
            with pytest.raises(BadRequest):  # 71001: an error body is checked too
                client.collective_identifiers.create(["5265877635-20260101-000000000000-00"])
        with emu.client(http_client=http) as provider:
            seal = peppol_provider_seal("PPL000777", organization="Bramka Peppol")
            provider.authenticate(seal.signer(), peppol_id="PPL000777")
            assert [p.id for p in provider.peppol.providers(page_size=10)] == ["PPL000777"]

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
