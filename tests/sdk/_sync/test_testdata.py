# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""client.testdata against the emulator: test persons and subjects, context blocking, and
per-context session limits as sessions honour them."""

from __future__ import annotations

import pytest

from ksefkit import AuthenticationFailed, BadRequest, ConfigurationError, FormCode, SessionFailed
from ksefkit.errors import BatchPreflightError, InvoiceRejected
from ksefkit.identifiers import random_nip
from ksefkit.models import (
    BatchSessionContextLimitsOverride,
    OnlineSessionContextLimitsOverride,
    Subunit,
)
from ksefkit.testcerts import company_seal, person_by_pesel

PESEL = "90010112345"


def _online(max_invoices: int, size_mb: int = 1) -> OnlineSessionContextLimitsOverride:
    return OnlineSessionContextLimitsOverride(
        max_invoice_size_in_mb=size_mb,
        max_invoice_with_attachment_size_in_mb=3,
        max_invoices=max_invoices,
    )


def test_a_created_person_authenticates_as_the_owner(ksef_emulator) -> None:
    nip = random_nip()
    signer = person_by_pesel(PESEL, key="ec").signer()
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as before:
            client.authenticate(signer, nip=nip)
        assert before.value.code == 415
        client.testdata.create_person(nip, PESEL, "Właściciel JDG")
        with pytest.raises(BadRequest) as twice:
            client.testdata.create_person(nip, PESEL, "Właściciel JDG")
        assert twice.value.code == 30001
        result = client.authenticate(signer, nip=nip)
        assert result.status.status.code == 200
        # The owner may do what an owner does, e.g. manage KSeF tokens of the context.
        token = client.ksef_tokens.generate(["InvoiceRead"], "token właściciela")
        client.ksef_tokens.wait_until_active(token.reference_number)
        client.testdata.remove_person(nip)
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as after:
            client.authenticate(signer, nip=nip)
        assert after.value.code == 415
        with pytest.raises(AuthenticationFailed) as token_after:
            client.authenticate(token.token, nip=nip)
        assert token_after.value.code == 450  # the person's token was revoked with them


def test_deceased_person_is_470(ksef_emulator) -> None:
    nip = random_nip()
    with ksef_emulator.client() as client:
        client.testdata.create_person(nip, PESEL, "Osoba zmarła", is_deceased=True)
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(person_by_pesel(PESEL).signer(), nip=nip)
    assert info.value.code == 470


def test_blocked_context_is_480_until_unblocked(ksef_emulator, ksef_subject) -> None:
    with ksef_emulator.client() as admin:
        admin.testdata.block_context(nip=ksef_subject.nip)
        admin.testdata.block_context(nip=ksef_subject.nip)  # twice: still just blocked
    with ksef_emulator.client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        assert info.value.code == 480
        with pytest.raises(AuthenticationFailed):
            client.authenticate(company_seal(ksef_subject.nip).signer(), nip=ksef_subject.nip)
        client.testdata.unblock_context(nip=ksef_subject.nip)
        result = client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        assert result.status.status.code == 200
    with pytest.raises(ConfigurationError):
        client.testdata.block_context()  # exactly one context is needed


def test_subjects_with_subunits(ksef_emulator) -> None:
    group, member = random_nip(), random_nip()
    with ksef_emulator.client() as client:
        client.testdata.create_subject(
            group,
            "VatGroup",
            "Grupa VAT testowa",
            subunits=[
                (member, "Członek grupy"),
                Subunit(subject_nip=random_nip(), description="Drugi członek"),
            ],
        )
        with pytest.raises(BadRequest) as info:
            client.testdata.create_subject(member, "JST", "Jednostka samorządu")
        assert info.value.code == 30001
        roles = ksef_emulator.state.testdata.subordinate_roles(group)
        assert member in {r["subordinateEntityIdentifier"]["value"] for r in roles}
        client.testdata.remove_subject(group)
        assert ksef_emulator.state.testdata.subordinate_roles(group) == []
        with pytest.raises(BadRequest) as gone:
            client.testdata.remove_subject(group)
        assert gone.value.code == 21405


def test_session_limit_refuses_the_next_invoice_and_large_ones(
    ksef_emulator, ksef_subject, ksef_client, make_invoice
) -> None:
    # Only the count changes; the sizes and the batch side keep their effective values.
    ksef_client.testdata.set_session_limits(online={"max_invoices": 2})
    with ksef_client.online_session(FormCode.FA3) as session:
        for _ in range(2):
            session.send_and_wait(make_invoice())
        with pytest.raises(BadRequest) as info:
            session.send(make_invoice())
        assert info.value.code == 21155
    # The batch side kept its defaults (read back before setting the online side).
    limits = ksef_emulator.state.session_limits.effective("Nip", ksef_subject.nip)
    assert limits["onlineSession"] == {
        "maxInvoiceSizeInMB": 1,
        "maxInvoiceWithAttachmentSizeInMB": 3,
        "maxInvoices": 2,
    }
    assert limits["batchSession"]["maxInvoices"] == 10_000

    ksef_client.testdata.set_session_limits(online=_online(10, size_mb=0))
    with ksef_client.online_session(FormCode.FA3) as session:
        with pytest.raises(InvoiceRejected) as rejected:
            session.send_and_wait(make_invoice())
        assert rejected.value.code == 430

    ksef_client.testdata.reset_session_limits()
    with ksef_client.online_session(FormCode.FA3) as session:
        status = session.send_and_wait(make_invoice())
        assert status.status.code == 200


def test_batch_session_honours_the_limit(ksef_client, make_invoice) -> None:
    batch = BatchSessionContextLimitsOverride(
        max_invoice_size_in_mb=1, max_invoice_with_attachment_size_in_mb=3, max_invoices=2
    )
    ksef_client.testdata.set_session_limits(batch=batch)
    files = [(f"fv{n}.xml", make_invoice()) for n in range(3)]
    # The SDK reads the context's limit and refuses to build the package ...
    with pytest.raises(BatchPreflightError, match="more than 2 invoices"):
        ksef_client.batch_session().send(files)
    # ... and the emulator refuses it too when the SDK is told otherwise (status 420).
    with pytest.raises(SessionFailed) as info:
        ksef_client.batch_session().send(files, max_invoices=10)
    assert info.value.code == 420
    two = ksef_client.batch_session().send(files[:2])
    assert len(two.accepted) == 2


def test_set_session_limits_needs_a_side(ksef_client) -> None:
    with pytest.raises(ConfigurationError):
        ksef_client.testdata.set_session_limits()
    with pytest.raises(ConfigurationError, match="max_invoice"):
        ksef_client.testdata.set_session_limits(online={"max_invoice": 3})
