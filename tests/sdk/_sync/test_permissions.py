# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""``client.permissions`` and the permission test data against the emulator: every grant kind,
waits, revocations, the queries over all pages — and grants changing what a second subject may
do (authenticate, send for the seller, see its invoices and sessions)."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit import AuthenticationFailed, Forbidden, InvoiceRejected, PermissionOperationFailed
from ksefkit.identifiers import make_internal_id, random_nip
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.permissions import Identifier
from ksefkit.testcerts import company_seal, person_by_pesel

PESEL = "90010112345"
PESEL2 = "85121298765"
BUYER = "7740001454"
ALL_THREE = ["InvoiceRead", "InvoiceWrite", "Introspection"]


def seller_invoices() -> InvoiceQueryFilters:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    return InvoiceQueryFilters(
        subject_type="Subject1",
        date_range=InvoiceQueryDateRange(date_type="PermanentStorage", from_=start),
    )


def grant_and_wait(client, subject: Identifier, permissions: list[str], **kw) -> None:
    op = client.permissions.grant_to_person(
        subject,
        permissions,
        description="Uprawnienie testowe",
        first_name="Anna",
        last_name="Nowak",
        **kw,
    )
    status = client.permissions.wait_for_operation(op.reference_number)
    assert status.status.code == 200


def revoke_scope(client, subject: Identifier, scope: str) -> None:
    found = [
        p
        for p in client.permissions.query_persons(
            authorized=subject, permission_types=[scope]
        )
    ]
    assert len(found) == 1, found
    op = client.permissions.revoke(found[0].id)
    client.permissions.wait_for_operation(op.reference_number)


def test_a_grant_lets_another_subject_send_and_see_and_revoking_stops_it(
    ksef_emulator, ksef_subject, ksef_client, make_invoice
) -> None:
    seller = ksef_subject.nip
    other = random_nip()
    signer = company_seal(other, key="ec").signer()
    ksef_emulator.state.seed_invoices(3, seller_nip=seller, buyer_nip=BUYER)
    with ksef_client.online_session() as own:
        sent = own.send(make_invoice())
        own.wait_for_ksef_number(sent.reference_number)
    owners_session = own.reference_number

    with ksef_emulator.client() as stranger:
        with pytest.raises(AuthenticationFailed) as refused:
            stranger.authenticate(signer, nip=seller)
    assert refused.value.code == 415

    grant_and_wait(ksef_client, Identifier.nip(other), ALL_THREE)

    with ksef_emulator.client() as agent:
        agent.authenticate(signer, nip=seller)
        with agent.online_session() as session:  # sends in the seller's name
            sent = session.send(make_invoice())
            number = session.wait_for_ksef_number(sent.reference_number)
        assert number.startswith(seller + "-")
        seen = [m.ksef_number for m in agent.invoices.query_metadata(seller_invoices())]
        assert len(seen) >= 3
        sessions = [s.reference_number for s in agent.sessions.list("Online")]
        assert {owners_session, session.reference_number} <= set(sessions)
        assert (agent.sessions.status(owners_session)).status.code == 200

    # Take the permissions back one by one: each outcome changes at the next login.
    revoke_scope(ksef_client, Identifier.nip(other), "InvoiceWrite")
    with ksef_emulator.client() as agent:
        agent.authenticate(signer, nip=seller)
        with pytest.raises(Forbidden) as no_write:
            with agent.online_session():
                pass
        assert no_write.value.reason_code == "missing-permissions"
        assert len([m for m in agent.invoices.query_metadata(seller_invoices())]) >= 3

    revoke_scope(ksef_client, Identifier.nip(other), "InvoiceRead")
    with ksef_emulator.client() as agent:
        agent.authenticate(signer, nip=seller)
        with pytest.raises(Forbidden):
            [m for m in agent.invoices.query_metadata(seller_invoices())]
        assert owners_session in {s.reference_number for s in agent.sessions.list("Online")}

    revoke_scope(ksef_client, Identifier.nip(other), "Introspection")
    with ksef_emulator.client() as agent:
        with pytest.raises(AuthenticationFailed) as refused:
            agent.authenticate(signer, nip=seller)
    assert refused.value.code == 415
    assert [p for p in ksef_client.permissions.query_persons()] == []


def test_entity_delegation_through_an_intermediary(
    ksef_emulator, ksef_subject, ksef_client
) -> None:
    office = ksef_emulator.create_subject()
    op = ksef_client.permissions.grant_to_entity(
        office.nip,
        ["InvoiceRead", "InvoiceWrite"],
        description="Biuro rachunkowe",
        full_name="Biuro Rachunkowe sp. z o.o.",
        can_delegate=["InvoiceRead"],
    )
    ksef_client.permissions.wait_for_operation(op.reference_number)

    with ksef_emulator.client() as office_client:
        office_client.authenticate(office.token, nip=office.nip)
        received = [p for p in office_client.permissions.query_entities()]
        assert {(p.permission_scope, p.can_delegate) for p in received} == {
            ("InvoiceRead", True),
            ("InvoiceWrite", False),
        }
        assert {p.context_identifier.value for p in received} == {ksef_subject.nip}
        op = office_client.permissions.grant_indirect(
            Identifier.pesel(PESEL),
            ["InvoiceRead"],
            target=Identifier.nip(ksef_subject.nip),
            description="Obsługa klienta",
            first_name="Anna",
            last_name="Nowak",
        )
        office_client.permissions.wait_for_operation(op.reference_number)
        op = office_client.permissions.grant_indirect(
            Identifier.pesel(PESEL),
            ["InvoiceWrite"],
            target=Identifier.nip(ksef_subject.nip),
            description="Obsługa klienta",
            first_name="Anna",
            last_name="Nowak",
        )
        with pytest.raises(PermissionOperationFailed) as failed:
            office_client.permissions.wait_for_operation(op.reference_number)
        assert failed.value.code == 440
        assert failed.value.reference_number == op.reference_number
        granted = [
            p
            for p in office_client.permissions.query_persons(
                "PermissionsGrantedInCurrentContext", target=Identifier.nip(ksef_subject.nip)
            )
        ]
        assert [(p.authorized_identifier.value, p.permission_state) for p in granted] == [
            (PESEL, "Active")
        ]

    with ksef_emulator.client() as employee:
        result = employee.authenticate(
            person_by_pesel(PESEL, key="ec").signer(), nip=ksef_subject.nip
        )
        assert result.status.status.code == 200
        mine = [p for p in employee.permissions.query_personal()]
        assert [(p.permission_scope, p.context_identifier.value) for p in mine] == [
            ("InvoiceRead", office.nip)
        ]
        assert mine[0].target_identifier.value == ksef_subject.nip


def test_queries_iterate_every_page(ksef_client) -> None:
    pesels = [f"900101{n:05d}" for n in range(13)]
    for pesel in pesels:
        ksef_client.permissions.grant_to_person(
            Identifier.pesel(pesel),
            ["InvoiceRead"],
            description="Pracownik",
            first_name="Jan",
            last_name="Kowalski",
        )
    listed = [p for p in ksef_client.permissions.query_persons(page_size=10)]
    assert sorted(p.authorized_identifier.value for p in listed) == sorted(pesels)
    assert len({p.id for p in listed}) == 13
    only = [
        p
        for p in ksef_client.permissions.query_persons(
            authorized=Identifier.pesel(pesels[5]), state="Active"
        )
    ]
    assert [p.authorized_identifier.value for p in only] == [pesels[5]]


def test_self_invoicing_authorization(
    ksef_emulator, ksef_subject, ksef_client, invoice_factory
) -> None:
    buyer = ksef_emulator.create_subject()
    for_seller = invoice_factory(ksef_subject.nip)
    with ksef_emulator.client() as buyer_client:
        buyer_client.authenticate(buyer.token, nip=buyer.nip)
        with buyer_client.online_session() as session:
            sent = session.send(for_seller())
            with pytest.raises(InvoiceRejected) as rejected:
                session.wait_for_invoice(sent.reference_number)
        assert rejected.value.code == 410

        op = ksef_client.permissions.grant_authorization(
            Identifier.nip(buyer.nip),
            "SelfInvoicing",
            description="Samofakturowanie",
            full_name="Nabywca sp. z o.o.",
        )
        ksef_client.permissions.wait_for_operation(op.reference_number)
        with buyer_client.online_session() as session:
            sent = session.send(for_seller())
            number = session.wait_for_ksef_number(sent.reference_number)
        assert number.startswith(ksef_subject.nip + "-")

        received = [g for g in buyer_client.permissions.query_authorizations("Received")]
        assert [
            (g.authorizing_entity_identifier.value, g.authorization_scope) for g in received
        ] == [(ksef_subject.nip, "SelfInvoicing")]
    granted = [
        g
        for g in ksef_client.permissions.query_authorizations(
            "Granted", authorized=Identifier.nip(buyer.nip), permission_types=["SelfInvoicing"]
        )
    ]
    assert [g.id for g in granted] == [received[0].id]
    op = ksef_client.permissions.revoke_authorization(granted[0].id)
    ksef_client.permissions.wait_for_operation(op.reference_number)
    assert [g for g in ksef_client.permissions.query_authorizations()] == []


def test_subunits_and_entity_roles(ksef_emulator, ksef_subject, ksef_client) -> None:
    member = random_nip()
    ksef_client.testdata.create_subject(
        ksef_subject.nip, "VatGroup", "Grupa VAT testowa", subunits=[(member, "Członek grupy")]
    )
    roles = [r.role for r in ksef_client.permissions.query_entity_roles()]
    assert roles == ["VatGroupUnit"]
    members = [m for m in ksef_client.permissions.query_subordinate_entities()]
    assert [(m.subordinate_entity_identifier.value, m.role) for m in members] == [
        (member, "VatGroupSubUnit")
    ]
    unit = make_internal_id(ksef_subject.nip, "0007")
    for target, name in (
        (Identifier.nip(member), None),
        (Identifier.internal_id(unit), "Oddział 7"),
    ):
        op = ksef_client.permissions.grant_subunit(
            Identifier.pesel(PESEL),
            target,
            subunit_name=name,
            description="Administrator jednostki",
            first_name="Anna",
            last_name="Nowak",
        )
        ksef_client.permissions.wait_for_operation(op.reference_number)
    admins = [a for a in ksef_client.permissions.query_subunits()]
    assert {(a.subunit_identifier.value, a.subunit_name) for a in admins} == {
        (member, None),
        (unit, "Oddział 7"),
    }
    with ksef_emulator.client() as admin:
        admin.authenticate(person_by_pesel(PESEL, key="ec").signer(), internal_id=unit)
        grant_and_wait(admin, Identifier.pesel(PESEL2), ["InvoiceWrite"])
        inside = [p for p in admin.permissions.query_persons()]
        assert {p.authorized_identifier.value for p in inside} == {PESEL, PESEL2}


def test_eu_entity_administrator_and_representative(
    ksef_emulator, ksef_subject, ksef_client
) -> None:
    admin_cert, rep_cert = person_by_pesel(PESEL, key="ec"), person_by_pesel(PESEL2, key="ec")
    eu_context = f"{ksef_subject.nip}-DE123456789"
    op = ksef_client.permissions.grant_eu_entity_administration(
        admin_cert.fingerprint,
        eu_context,
        description="Administrator podmiotu unijnego",
        eu_entity_name="Muster GmbH",
        eu_entity_address="Berlin, Unter den Linden 1",
        first_name="Hans",
        last_name="Muster",
        identifier=Identifier.pesel(PESEL),
    )
    ksef_client.permissions.wait_for_operation(op.reference_number)
    appointed = [p for p in ksef_client.permissions.query_eu_entities()]
    assert {p.permission_scope for p in appointed} == {
        "VatUeManage",
        "InvoiceWrite",
        "InvoiceRead",
        "Introspection",
    }
    assert appointed[0].eu_entity_name == "Muster GmbH, Berlin, Unter den Linden 1"
    assert appointed[0].eu_entity_details.address == "Berlin, Unter den Linden 1"

    with ksef_emulator.client() as admin:
        admin.authenticate(
            admin_cert.signer(),
            nip_vat_ue=eu_context,
            subject_identifier_type="certificateFingerprint",
        )
        op = admin.permissions.grant_eu_entity(
            rep_cert.fingerprint,
            ["InvoiceRead", "InvoiceWrite"],
            description="Reprezentant",
            entity_name="Muster AG",
            entity_address="Wien",
        )
        admin.permissions.wait_for_operation(op.reference_number)
        everyone = [p for p in admin.permissions.query_eu_entities(vat_ue="DE123456789")]
        assert len(everyone) == 6
        reps = [
            p
            for p in admin.permissions.query_eu_entities(
                fingerprint=rep_cert.fingerprint[:20].lower(), permission_types=["InvoiceWrite"]
            )
        ]
        assert [(p.subject_entity_details.full_name, p.permission_scope) for p in reps] == [
            ("Muster AG", "InvoiceWrite")
        ]
    with ksef_emulator.client() as rep:
        result = rep.authenticate(
            rep_cert.signer(),
            nip_vat_ue=eu_context,
            subject_identifier_type="certificateFingerprint",
        )
        assert result.status.status.code == 200


def test_operations_progress_with_processing(manual_emulator) -> None:
    subject = manual_emulator.create_subject()
    with manual_emulator.client() as client:
        client.authenticate(subject.token, nip=subject.nip)
        op = client.permissions.grant_to_person(
            Identifier.pesel(PESEL),
            ["InvoiceRead"],
            description="Czeka na przetworzenie",
            first_name="Anna",
            last_name="Nowak",
        )
        pending = client.permissions.operation_status(op.reference_number)
        assert pending.status.code == 100
        manual_emulator.state.step()
        done = client.permissions.wait_for_operation(op.reference_number, timeout=5)
        assert done.status.description == "Operacja zakończona sukcesem"


def test_background_operations_are_waited_for(background_emulator) -> None:
    subject = background_emulator.create_subject()
    with background_emulator.client() as client:
        client.authenticate(subject.token, nip=subject.nip)
        grant_and_wait(
            client,
            Identifier.fingerprint("ab" * 32),
            ["InvoiceRead"],
            identifier=Identifier.pesel(PESEL),
        )
        listed = [p for p in client.permissions.query_persons()]
        assert [p.authorized_identifier.value for p in listed] == ["AB" * 32]


def test_testdata_permissions_and_attachment_consent(
    ksef_emulator, ksef_subject, ksef_client, make_invoice, spec_dir
) -> None:
    person = person_by_pesel(PESEL, key="ec").signer()
    ksef_client.testdata.grant_permissions(
        ksef_subject.nip, Identifier.pesel(PESEL), ["InvoiceRead", "CredentialsRead"]
    )
    with ksef_emulator.client() as reader:
        reader.authenticate(person, nip=ksef_subject.nip)
        status = reader.permissions.attachments_status()
        assert status.is_attachment_allowed is True
    system = [
        p for p in ksef_client.permissions.query_persons(author=Identifier.system())
    ]
    assert {p.permission_scope for p in system} == {"InvoiceRead", "CredentialsRead"}
    assert all(p.author_identifier.type == "System" for p in system)
    ksef_client.testdata.revoke_permissions(ksef_subject.nip, Identifier.pesel(PESEL))
    with ksef_emulator.client() as reader:
        with pytest.raises(AuthenticationFailed):
            reader.authenticate(person, nip=ksef_subject.nip)

    ksef_client.testdata.disable_attachments(ksef_subject.nip)
    status = ksef_client.permissions.attachments_status()
    assert status.is_attachment_allowed is False and status.revoked_date is not None
    sample = make_invoice.sample(spec_dir / "samples" / "FA3" / "FA_3_Przyklad_24.xml")
    result = ksef_client.batch_session().send([("with-attachment.xml", sample)])
    assert [(i.file_name, i.status_code) for i in result.invoices] == [("with-attachment.xml", 415)]

    later = dt.date.today() + dt.timedelta(days=30)
    ksef_client.testdata.enable_attachments(ksef_subject.nip)
    assert (ksef_client.permissions.attachments_status()).is_attachment_allowed
    ksef_client.testdata.disable_attachments(ksef_subject.nip, expected_end_date=later)
    status = ksef_client.permissions.attachments_status()
    assert status.is_attachment_allowed is True
    assert status.revoked_date is not None and status.revoked_date.date() >= later - dt.timedelta(1)
    again = make_invoice.sample(spec_dir / "samples" / "FA3" / "FA_3_Przyklad_24.xml")
    result = ksef_client.batch_session().send([("with-attachment.xml", again)])
    assert [i.status_code for i in result.invoices] == [200]
