# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""client.peppol against the emulator: a provider registers by authenticating with its seal,
and the registry is read page by page."""

from __future__ import annotations

import pytest

from ksefkit.testcerts import peppol_provider_seal


def test_provider_registers_on_first_login_and_is_listed(ksef_emulator) -> None:
    with ksef_emulator.client() as anyone:
        assert [p for p in anyone.peppol.providers()] == []
    seal = peppol_provider_seal("PPL424242", organization="Bramka Peppol", key="ec")
    with ksef_emulator.client() as provider:
        result = provider.authenticate(seal.signer(), peppol_id="PPL424242")
        assert result.status.status.code == 200
    with ksef_emulator.client() as anyone:  # the registry is public
        [found] = [p for p in anyone.peppol.providers()]
    assert (found.id, found.name) == ("PPL424242", "Bramka Peppol")


def test_providers_iterates_every_page(ksef_emulator) -> None:
    for n in range(23):
        ksef_emulator.state.peppol.register(f"PDE{n:06d}", f"Dostawca {n}")
    with ksef_emulator.client() as client:
        ids = [p.id for p in client.peppol.providers(page_size=10)]
        first = client.peppol.page(0, page_size=10)
        last = client.peppol.page(2, page_size=10)
    assert sorted(ids) == [f"PDE{n:06d}" for n in range(23)]
    assert len(set(ids)) == 23
    assert (len(first.peppol_providers), first.has_more) == (10, True)
    assert (len(last.peppol_providers), last.has_more) == (3, False)
    dates = [p.date_created for p in first.peppol_providers]
    assert dates == sorted(dates, reverse=True)
