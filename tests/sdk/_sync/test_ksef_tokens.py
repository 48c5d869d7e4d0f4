# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""KSeF tokens: generate, wait until active, use, list, revoke."""

from __future__ import annotations

import pytest

from ksefkit import AuthenticationFailed, BadRequest


def test_token_lifecycle(ksef_emulator, ksef_client, ksef_subject) -> None:
    new = ksef_client.ksef_tokens.generate(
        ["InvoiceRead", "InvoiceWrite"], "ERP import"
    )
    assert new.token not in repr(new)
    active = ksef_client.ksef_tokens.wait_until_active(new.reference_number)
    assert active.status == "Active"
    assert sorted(active.requested_permissions) == ["InvoiceRead", "InvoiceWrite"]
    assert active.description == "ERP import"

    listed = [t for t in ksef_client.ksef_tokens.list(statuses=["Active"])]
    assert new.reference_number in {t.reference_number for t in listed}

    with ksef_emulator.client() as other:
        result = other.authenticate(new.token, nip=ksef_subject.nip)
        assert result.status.status.code == 200

    ksef_client.ksef_tokens.revoke(new.reference_number)
    status = ksef_client.ksef_tokens.status(new.reference_number)
    assert status.status in ("Revoking", "Revoked")
    with ksef_emulator.client() as other:
        with pytest.raises(AuthenticationFailed) as info:
            other.authenticate(new.token, nip=ksef_subject.nip)
    assert info.value.code == 450


def test_token_cannot_exceed_own_permissions(ksef_emulator, ksef_client, ksef_subject):
    narrow = ksef_client.ksef_tokens.generate(["InvoiceRead"], "read only")
    ksef_client.ksef_tokens.wait_until_active(narrow.reference_number)
    with ksef_emulator.client() as reader:
        reader.authenticate(narrow.token, nip=ksef_subject.nip)
        with pytest.raises(BadRequest) as info:
            reader.ksef_tokens.generate(["InvoiceWrite"], "escalate")
    assert info.value.code == 26001
