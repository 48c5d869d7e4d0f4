"""KSeF tokens: generate, wait until active, use, list, revoke."""

from __future__ import annotations

import pytest

from ksefkit import AuthenticationFailed, BadRequest


@pytest.mark.anyio
async def test_token_lifecycle(ksef_emulator, ksef_async_client, ksef_subject) -> None:
    new = await ksef_async_client.ksef_tokens.generate(
        ["InvoiceRead", "InvoiceWrite"], "ERP import"
    )
    assert new.token not in repr(new)
    active = await ksef_async_client.ksef_tokens.wait_until_active(new.reference_number)
    assert active.status == "Active"
    assert sorted(active.requested_permissions) == ["InvoiceRead", "InvoiceWrite"]
    assert active.description == "ERP import"

    listed = [t async for t in ksef_async_client.ksef_tokens.list(statuses=["Active"])]
    assert new.reference_number in {t.reference_number for t in listed}

    async with ksef_emulator.async_client() as other:
        result = await other.authenticate(new.token, nip=ksef_subject.nip)
        assert result.status.status.code == 200

    await ksef_async_client.ksef_tokens.revoke(new.reference_number)
    status = await ksef_async_client.ksef_tokens.status(new.reference_number)
    assert status.status in ("Revoking", "Revoked")
    async with ksef_emulator.async_client() as other:
        with pytest.raises(AuthenticationFailed) as info:
            await other.authenticate(new.token, nip=ksef_subject.nip)
    assert info.value.code == 450


@pytest.mark.anyio
async def test_token_cannot_exceed_own_permissions(ksef_emulator, ksef_async_client, ksef_subject):
    narrow = await ksef_async_client.ksef_tokens.generate(["InvoiceRead"], "read only")
    await ksef_async_client.ksef_tokens.wait_until_active(narrow.reference_number)
    async with ksef_emulator.async_client() as reader:
        await reader.authenticate(narrow.token, nip=ksef_subject.nip)
        with pytest.raises(BadRequest) as info:
            await reader.ksef_tokens.generate(["InvoiceWrite"], "escalate")
    assert info.value.code == 26001
