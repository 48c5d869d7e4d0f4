"""Contract test of the permissions area through the SDK: every grant kind, both revocations,
operation statuses, attachment status, the eight queries and the test-data permission and
attachment calls — every request the SDK sends and every emulator answer (errors included),
against open-api.json."""

from __future__ import annotations

import datetime as dt

import pytest
from oas import OpenApiSpec
from recording import Recorder

from ksefkit import BadRequest, Forbidden, PermissionOperationFailed
from ksefkit.identifiers import random_nip
from ksefkit.permissions import Identifier
from ksefkit.testcerts import person_by_pesel
from ksefkit.testing import run_emulator

OPERATIONS = (
    "POST /permissions/persons/grants",
    "POST /permissions/entities/grants",
    "POST /permissions/authorizations/grants",
    "POST /permissions/indirect/grants",
    "POST /permissions/subunits/grants",
    "POST /permissions/eu-entities/administration/grants",
    "POST /permissions/eu-entities/grants",
    "DELETE /permissions/common/grants/{permissionId}",
    "DELETE /permissions/authorizations/grants/{permissionId}",
    "GET /permissions/operations/{referenceNumber}",
    "GET /permissions/attachments/status",
    "POST /permissions/query/personal/grants",
    "POST /permissions/query/persons/grants",
    "POST /permissions/query/subunits/grants",
    "POST /permissions/query/entities/grants",
    "GET /permissions/query/entities/roles",
    "POST /permissions/query/subordinate-entities/roles",
    "POST /permissions/query/authorizations/grants",
    "POST /permissions/query/eu-entities/grants",
    "POST /testdata/permissions",
    "POST /testdata/permissions/revoke",
    "POST /testdata/attachment",
    "POST /testdata/attachment/revoke",
)
PESEL, PESEL2 = "90010112345", "85121298765"
NAMES = {"first_name": "Anna", "last_name": "Nowak"}


def test_permission_operations_through_the_sdk(oas_spec: OpenApiSpec) -> None:
    recorder = Recorder()
    member = random_nip()
    admin_cert, rep_cert = person_by_pesel(PESEL, key="ec"), person_by_pesel(PESEL2, key="ec")
    with run_emulator() as emu, recorder.http_client() as http:
        owner_subject, office, buyer = (
            emu.create_subject(),
            emu.create_subject(),
            emu.create_subject(),
        )
        nip = owner_subject.nip
        eu_context = f"{nip}-DE123456789"
        with emu.client(http_client=http) as owner:
            owner.authenticate(owner_subject.token, nip=nip)
            owner.testdata.create_subject(
                nip, "VatGroup", "Grupa VAT testowa", subunits=[(member, "Członek grupy")]
            )
            ops = [
                owner.permissions.grant_to_person(
                    Identifier.pesel(PESEL), ["InvoiceRead"], description="Księgowa", **NAMES
                ),
                owner.permissions.grant_to_entity(
                    office.nip,
                    ["InvoiceRead", "InvoiceWrite"],
                    description="Biuro rachunkowe",
                    full_name="Biuro Rachunkowe sp. z o.o.",
                    can_delegate=True,
                ),
                owner.permissions.grant_authorization(
                    Identifier.nip(buyer.nip),
                    "SelfInvoicing",
                    description="Samofakturowanie",
                    full_name="Nabywca sp. z o.o.",
                ),
                owner.permissions.grant_subunit(
                    Identifier.pesel(PESEL),
                    Identifier.nip(member),
                    description="Administrator członka grupy",
                    **NAMES,
                ),
                owner.permissions.grant_eu_entity_administration(
                    admin_cert.fingerprint,
                    eu_context,
                    description="Administrator podmiotu unijnego",
                    eu_entity_name="Muster GmbH",
                    eu_entity_address="Berlin",
                    first_name="Hans",
                    last_name="Muster",
                    identifier=Identifier.pesel(PESEL),
                ),
            ]
            for op in ops:
                owner.permissions.wait_for_operation(op.reference_number)
            assert owner.permissions.attachments_status().is_attachment_allowed
            persons = list(owner.permissions.query_persons(page_size=10))
            assert list(
                owner.permissions.query_persons(
                    "PermissionsGrantedInCurrentContext", author=Identifier.nip(nip)
                )
            )
            assert list(owner.permissions.query_subunits())
            assert [r.role for r in owner.permissions.query_entity_roles()] == ["VatGroupUnit"]
            assert list(owner.permissions.query_subordinate_entities(nip=member))
            granted = list(owner.permissions.query_authorizations("Granted"))
            assert list(owner.permissions.query_eu_entities())
            assert list(owner.permissions.query_personal()) == []
            failed = owner.permissions.revoke_authorization(persons[0].id)  # not one: 450
            with pytest.raises(PermissionOperationFailed):
                owner.permissions.wait_for_operation(failed.reference_number)
            revoked = owner.permissions.revoke(persons[0].id)
            owner.permissions.wait_for_operation(revoked.reference_number)
            revoked = owner.permissions.revoke_authorization(granted[0].id)
            owner.permissions.wait_for_operation(revoked.reference_number)
            with pytest.raises(BadRequest) as gone:  # no such grant any more: refused at once
                owner.permissions.revoke_authorization(granted[0].id)
            assert gone.value.code == 21405

            owner.testdata.grant_permissions(nip, Identifier.pesel(PESEL2), ["InvoiceRead"])
            owner.testdata.revoke_permissions(nip, Identifier.pesel(PESEL2))
            owner.testdata.enable_attachments(nip)
            owner.testdata.disable_attachments(
                nip, expected_end_date=dt.date.today() + dt.timedelta(days=7)
            )

        with emu.client(http_client=http, problem_details=True) as office_client:
            office_client.authenticate(office.token, nip=office.nip)
            assert list(office_client.permissions.query_entities())
            op = office_client.permissions.grant_indirect(
                Identifier.pesel(PESEL2),
                ["InvoiceRead"],
                target=Identifier.nip(nip),
                description="Obsługa klienta",
                **NAMES,
            )
            office_client.permissions.wait_for_operation(op.reference_number)
            with pytest.raises(BadRequest):  # a PESEL with month 34: a problem-details 400
                office_client.permissions.grant_to_person(
                    Identifier.pesel("12345678901"),
                    ["InvoiceRead"],
                    description="Błędny PESEL",
                    **NAMES,
                )

        with emu.client(http_client=http) as admin:
            admin.authenticate(
                admin_cert.signer(),
                nip_vat_ue=eu_context,
                subject_identifier_type="certificateFingerprint",
            )
            op = admin.permissions.grant_eu_entity(
                rep_cert.fingerprint,
                ["InvoiceRead"],
                description="Reprezentant",
                entity_name="Muster AG",
                entity_address="Wien",
            )
            admin.permissions.wait_for_operation(op.reference_number)
            assert len(list(admin.permissions.query_eu_entities(vat_ue="DE123456789"))) == 5

        with emu.client(http_client=http) as reader:
            reader.authenticate(person_by_pesel(PESEL2, key="ec").signer(), nip=nip)
            assert [p.permission_scope for p in reader.permissions.query_personal()]
            with pytest.raises(Forbidden):  # 403 missing-permissions, checked too
                reader.permissions.grant_to_person(
                    Identifier.pesel(PESEL), ["InvoiceRead"], description="Eskalacja", **NAMES
                )

    reports = oas_spec.check_all(recorder.exchanges)
    failing = [str(r) for r in reports if not r.ok]
    assert failing == [], "\n".join(failing)
    ok = {r.operation for r in reports if r.status and 200 <= r.status < 300}
    assert [op for op in OPERATIONS if op not in ok] == []
