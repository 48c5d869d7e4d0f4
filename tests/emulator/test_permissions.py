"""Permissions in the emulator: every grant kind as an operation, revocations, who may grant and
revoke what, the eight queries, enforcement at authentication, test-data grants, attachments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from emulator_helpers import Ksef
from xades_helpers import bearer, jwt_claims, real_now, xades_login, xades_status

from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.identifiers import make_internal_id, random_nip
from ksefkit.testcerts import TestCertificate, company_seal, person_by_pesel

pytestmark = pytest.mark.anyio

PESEL = "90010112345"
PESEL2 = "85121298765"
PERSON = {
    "subjectDetailsType": "PersonByIdentifier",
    "personById": {"firstName": "Anna", "lastName": "Nowak"},
}


@pytest.fixture
def clock() -> ManualClock:
    """Real time: XAdES test certificates are valid from "now"."""
    return ManualClock(real_now())


def person_grant(kind: str, value: str, permissions: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "subjectIdentifier": {"type": kind, "value": value},
        "permissions": permissions,
        "description": "Uprawnienie testowe",
        "subjectDetails": PERSON,
        **extra,
    }


def entity_grant(nip: str, permissions: list[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "subjectIdentifier": {"type": "Nip", "value": nip},
        "permissions": [{"type": t, "canDelegate": d} for t, d in permissions],
        "description": "Biuro rachunkowe",
        "subjectDetails": {"fullName": "Biuro Rachunkowe sp. z o.o."},
    }


async def submit(ksef: Ksef, headers: dict[str, str], path: str, body: Any) -> dict[str, Any]:
    """POST a grant (202 expected); the operation's final status."""
    resp = await ksef.http.post(f"/v2/permissions/{path}", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return await status_of(ksef, headers, resp.json()["referenceNumber"])


async def status_of(ksef: Ksef, headers: dict[str, str], ref: str) -> dict[str, Any]:
    resp = await ksef.http.get(f"/v2/permissions/operations/{ref}", headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["status"])


async def revoke(
    ksef: Ksef, headers: dict[str, str], pid: str, *, authorization: bool = False
) -> int:
    kind = "authorizations" if authorization else "common"
    resp = await ksef.http.delete(f"/v2/permissions/{kind}/grants/{pid}", headers=headers)
    assert resp.status_code == 202, resp.text
    return int((await status_of(ksef, headers, resp.json()["referenceNumber"]))["code"])


async def query(
    ksef: Ksef, headers: dict[str, str], path: str, body: Any = None, **params: Any
) -> dict[str, Any]:
    resp = await ksef.http.post(
        f"/v2/permissions/query/{path}", json=body or {}, headers=headers, params=params
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def held(ksef: Ksef, cert: TestCertificate, context: tuple[str, str], **kw: Any) -> list[str]:
    """The permissions an XAdES login of ``cert`` gets in ``context`` (auth must succeed)."""
    return list(jwt_claims(await xades_login(ksef, cert, context, **kw))["permissions"])


async def auth_code(ksef: Ksef, cert: TestCertificate, context: tuple[str, str], **kw: Any) -> int:
    _, status = await xades_status(ksef, cert, context, **kw)
    return int(status["status"]["code"])


def code_of(resp: httpx.Response) -> int:
    assert resp.status_code == 400, resp.text
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


# -- persons ---------------------------------------------------------------------------------


async def test_person_grant_is_an_operation_that_lets_the_person_in(
    ksef: Ksef, subject: SeededSubject
) -> None:
    owner = await ksef.bearer(subject)
    person = person_by_pesel(PESEL, key="ec")
    context = ("Nip", subject.nip)
    assert await auth_code(ksef, person, context) == 415

    resp = await ksef.http.post(
        "/v2/permissions/persons/grants",
        json=person_grant("Pesel", PESEL, ["InvoiceRead", "InvoiceWrite"]),
        headers=owner,
    )
    assert resp.status_code == 202
    ref = resp.json()["referenceNumber"]
    assert ref[9:11] == "EG"
    assert (await status_of(ksef, owner, ref)) == {
        "code": 200,
        "description": "Operacja zakończona sukcesem",
    }
    assert sorted(await held(ksef, person, context)) == ["InvoiceRead", "InvoiceWrite"]

    listed = await query(
        ksef, owner, "persons/grants", {"queryType": "PermissionsInCurrentContext"}
    )
    items = {i["permissionScope"]: i for i in listed["permissions"]}
    assert sorted(items) == ["InvoiceRead", "InvoiceWrite"]
    item = items["InvoiceWrite"]
    assert item["authorizedIdentifier"] == {"type": "Pesel", "value": PESEL}
    assert item["authorIdentifier"] == {"type": "Nip", "value": subject.nip}
    assert item["subjectPersonDetails"] == {
        "subjectDetailsType": "PersonByIdentifier",
        "firstName": "Anna",
        "lastName": "Nowak",
    }
    assert item["permissionState"] == "Active" and item["canDelegate"] is False

    assert await revoke(ksef, owner, item["id"]) == 200
    assert await held(ksef, person, context) == ["InvoiceRead"]
    assert await revoke(ksef, owner, items["InvoiceRead"]["id"]) == 200
    assert await auth_code(ksef, person, context) == 415


async def test_operations_wait_for_processing_in_manual_mode() -> None:
    with EmulatorState(processing="manual", clock=ManualClock(real_now())) as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as http:
            ksef = Ksef(http, state)
            subject = state.create_subject()
            owner = await ksef.bearer(subject)
            resp = await http.post(
                "/v2/permissions/persons/grants",
                json=person_grant("Pesel", PESEL, ["InvoiceRead"]),
                headers=owner,
            )
            ref = resp.json()["referenceNumber"]
            assert (await status_of(ksef, owner, ref))["code"] == 100
            assert state.rights.permissions("Nip", subject.nip, "Pesel", PESEL) == ()
            assert state.step() >= 1
            assert (await status_of(ksef, owner, ref))["code"] == 200
            assert state.rights.permissions("Nip", subject.nip, "Pesel", PESEL) == ("InvoiceRead",)


async def test_grants_need_the_permission_the_spec_names(
    ksef: Ksef, subject: SeededSubject
) -> None:
    owner = await ksef.bearer(subject)
    await submit(ksef, owner, "persons/grants", person_grant("Pesel", PESEL, ["InvoiceRead"]))
    reader = bearer(await xades_login(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", subject.nip)))
    resp = await ksef.http.post(
        "/v2/permissions/persons/grants",
        json=person_grant("Pesel", PESEL2, ["InvoiceRead"]),
        headers=reader,
    )
    assert resp.status_code == 403
    problem = resp.json()
    assert problem["reasonCode"] == "missing-permissions"
    assert problem["security"] == {
        "requiredAnyOfPermissions": ["CredentialsManage"],
        "presentPermissions": ["InvoiceRead"],
    }
    for path in ("query/persons/grants", "query/entities/grants", "query/subunits/grants"):
        resp = await ksef.http.post(f"/v2/permissions/{path}", json={}, headers=reader)
        assert resp.status_code == 403, path
    resp = await ksef.http.get("/v2/permissions/attachments/status", headers=reader)
    assert resp.status_code == 403
    # The personal query needs no permission: the reader sees its own grant.
    mine = await query(ksef, reader, "personal/grants")
    assert [p["permissionScope"] for p in mine["permissions"]] == ["InvoiceRead"]
    assert "authorizedIdentifier" not in mine["permissions"][0]
    assert mine["permissions"][0]["contextIdentifier"] == {"type": "Nip", "value": subject.nip}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("persons/grants", person_grant("Pesel", PESEL, ["InvoiceRead", "InvoiceRead"])),
        ("persons/grants", person_grant("Pesel", PESEL, [])),
        ("persons/grants", person_grant("Pesel", "12345678901", ["InvoiceRead"])),
        ("persons/grants", person_grant("Pesel", PESEL, ["SelfInvoicing"])),
        ("persons/grants", {**person_grant("Pesel", PESEL, ["InvoiceRead"]), "description": "x"}),
        (
            "persons/grants",
            person_grant(
                "Pesel",
                PESEL,
                ["InvoiceRead"],
                subjectDetails={"subjectDetailsType": "PersonByIdentifier"},
            ),
        ),
        ("persons/grants", person_grant("Fingerprint", "AB" * 32, ["InvoiceRead"])),
        (
            "subunits/grants",
            {
                **person_grant("Pesel", PESEL, []),
                "contextIdentifier": {"type": "InternalId", "value": "6824515772-12344"},
                "subunitName": "Oddział",
            },
        ),
        (
            "subunits/grants",
            {
                **person_grant("Pesel", PESEL, []),
                "contextIdentifier": {"type": "InternalId", "value": "6824515772-12343"},
            },
        ),
        (
            "indirect/grants",
            {**person_grant("Pesel", PESEL, ["InvoiceRead"]), "targetIdentifier": {"type": "Nip"}},
        ),
        ("entities/grants", entity_grant("123", [("InvoiceRead", True)])),
    ],
)
async def test_malformed_grants_are_21405(
    ksef: Ksef, subject: SeededSubject, path: str, body: dict[str, Any]
) -> None:
    if path == "subunits/grants":
        body.pop("permissions", None)
    owner = await ksef.bearer(subject)
    resp = await ksef.http.post(f"/v2/permissions/{path}", json=body, headers=owner)
    assert code_of(resp) == 21405


async def test_path_and_paging_parameters_are_checked(ksef: Ksef, subject: SeededSubject) -> None:
    owner = await ksef.bearer(subject)
    resp = await ksef.http.delete("/v2/permissions/common/grants/short", headers=owner)
    assert code_of(resp) == 21405
    for params in (
        {"pageSize": "5"},
        {"pageSize": "101"},
        {"pageOffset": "-1"},
        {"pageOffset": str(2**31)},  # beyond int32
    ):
        resp = await ksef.http.post(
            "/v2/permissions/query/personal/grants", json={}, headers=owner, params=params
        )
        assert code_of(resp) == 21405, params
    resp = await ksef.http.post("/v2/permissions/query/persons/grants", json={}, headers=owner)
    assert code_of(resp) == 21405  # queryType is required
    # The filter-only queries take no body as no filters, but null or an array is no object.
    personal = "/v2/permissions/query/personal/grants"
    assert (await ksef.http.post(personal, headers=owner)).status_code == 200
    for content in (b"null", b"[]"):
        resp = await ksef.http.post(
            personal, content=content, headers={**owner, "Content-Type": "application/json"}
        )
        assert code_of(resp) == 21405, content


async def test_enforcement_operations_need_an_enforcement_role(
    ksef: Ksef, subject: SeededSubject
) -> None:
    owner = await ksef.bearer(subject)
    body = person_grant("Pesel", PESEL, ["EnforcementOperations"])
    failed = await submit(ksef, owner, "persons/grants", body)
    assert failed["code"] == 430
    assert (
        failed["description"]
        == "Kontekst identyfikatora nie odpowiada wymaganej roli lub uprawnieniom"
    )
    resp = await ksef.http.post(
        "/v2/testdata/subject",
        json={
            "subjectNip": subject.nip,
            "subjectType": "EnforcementAuthority",
            "description": "Organ egzekucyjny",
        },
    )
    assert resp.status_code == 200, resp.text
    assert (await submit(ksef, owner, "persons/grants", body))["code"] == 200
    roles = (await ksef.http.get("/v2/permissions/query/entities/roles", headers=owner)).json()
    assert [r["role"] for r in roles["roles"]] == ["EnforcementAuthority"]


# -- entities, indirect ----------------------------------------------------------------------


async def test_entity_grants_and_indirect_delegation(ksef: Ksef, state: EmulatorState) -> None:
    client, office = state.create_subject(), state.create_subject()
    client_ctx, office_ctx = ("Nip", client.nip), ("Nip", office.nip)
    owner = await ksef.bearer(client)
    seal = company_seal(office.nip, key="ec")
    assert await auth_code(ksef, seal, client_ctx) == 415

    grant = entity_grant(office.nip, [("InvoiceRead", True), ("InvoiceWrite", False)])
    assert (await submit(ksef, owner, "entities/grants", grant))["code"] == 200
    assert sorted(await held(ksef, seal, client_ctx)) == ["InvoiceRead", "InvoiceWrite"]
    itself = entity_grant(client.nip, [("InvoiceRead", False)])
    assert (await submit(ksef, owner, "entities/grants", itself))["code"] == 410

    office_owner = await ksef.bearer(office)
    received = await query(ksef, office_owner, "entities/grants")
    assert {(p["permissionScope"], p["canDelegate"]) for p in received["permissions"]} == {
        ("InvoiceRead", True),
        ("InvoiceWrite", False),
    }
    assert all(
        p["contextIdentifier"] == {"type": "Nip", "value": client.nip}
        for p in received["permissions"]
    )
    mine = await query(ksef, office_owner, "personal/grants")
    # The owner sees what its entity received; the grantee is the caller itself, so unnamed.
    assert {p["contextIdentifier"]["value"] for p in mine["permissions"]} == {client.nip}
    assert all("authorizedIdentifier" not in p for p in mine["permissions"])

    # The office delegates: selectively to one employee, generally to another.
    target = {"type": "Nip", "value": client.nip}
    selective = person_grant("Pesel", PESEL, ["InvoiceRead"], targetIdentifier=target)
    assert (await submit(ksef, office_owner, "indirect/grants", selective))["code"] == 200
    general = person_grant("Pesel", PESEL2, ["InvoiceRead"])
    assert (await submit(ksef, office_owner, "indirect/grants", general))["code"] == 200
    not_delegable = person_grant("Pesel", PESEL, ["InvoiceWrite"], targetIdentifier=target)
    refused = await submit(ksef, office_owner, "indirect/grants", not_delegable)
    assert refused["code"] == 440
    assert refused["description"] == "Operacja niedozwolona dla wskazanych powiązań identyfikatorów"

    employee, colleague = person_by_pesel(PESEL, key="ec"), person_by_pesel(PESEL2, key="ec")
    assert await held(ksef, employee, client_ctx) == ["InvoiceRead"]
    assert await held(ksef, colleague, client_ctx) == ["InvoiceRead"]
    assert await auth_code(ksef, employee, office_ctx) == 415  # indirect grants work at the client

    in_office = await query(
        ksef, office_owner, "persons/grants", {"queryType": "PermissionsGrantedInCurrentContext"}
    )
    targets = {
        p["authorizedIdentifier"]["value"]: p.get("targetIdentifier")
        for p in in_office["permissions"]
    }
    assert targets == {PESEL: target, PESEL2: {"type": "AllPartners"}}

    # The client takes the delegable permission back: both indirect grants go inactive.
    read_id = next(
        p["id"] for p in received["permissions"] if p["permissionScope"] == "InvoiceRead"
    )
    assert await revoke(ksef, owner, read_id) == 200
    assert await auth_code(ksef, employee, client_ctx) == 415
    assert await auth_code(ksef, colleague, client_ctx) == 415
    after = await query(
        ksef,
        office_owner,
        "persons/grants",
        {"queryType": "PermissionsInCurrentContext", "permissionState": "Inactive"},
    )
    assert sorted(p["authorizedIdentifier"]["value"] for p in after["permissions"]) == sorted(
        [PESEL, PESEL2]
    )


async def test_revocation_rules(ksef: Ksef, state: EmulatorState) -> None:
    a, b = state.create_subject(), state.create_subject()
    owner_a, owner_b = await ksef.bearer(a), await ksef.bearer(b)
    await submit(ksef, owner_a, "persons/grants", person_grant("Pesel", PESEL, ["InvoiceRead"]))
    pid = (
        await query(ksef, owner_a, "persons/grants", {"queryType": "PermissionsInCurrentContext"})
    )["permissions"][0]["id"]
    assert await revoke(ksef, owner_b, pid) == 420  # granted in another context
    assert await revoke(ksef, owner_a, pid, authorization=True) == 450  # not an authorization
    assert await revoke(ksef, owner_a, pid) == 200
    # An id no grant has (any more) is refused at once, as an unknown reference number is.
    for unknown in ("00000000-0000-0000-0000-000000000000", pid):
        for kind in ("common", "authorizations"):
            resp = await ksef.http.delete(
                f"/v2/permissions/{kind}/grants/{unknown}", headers=owner_a
            )
            assert code_of(resp) == 21405
            assert "nie istnieje" in resp.text


async def test_a_grant_revoked_meanwhile_fails_the_second_revocation() -> None:
    """Both revocations pass the request-time check; the one processed second finds nothing
    to revoke and fails as an operation (status 400)."""
    with EmulatorState(processing="manual", clock=ManualClock(real_now())) as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as http:
            ksef = Ksef(http, state)
            owner = await ksef.bearer(state.create_subject())
            grant = person_grant("Pesel", PESEL, ["InvoiceRead"])
            await http.post("/v2/permissions/persons/grants", json=grant, headers=owner)
            state.step()
            listed = await query(
                ksef, owner, "persons/grants", {"queryType": "PermissionsInCurrentContext"}
            )
            pid = listed["permissions"][0]["id"]
            refs = []
            for _ in range(2):
                resp = await http.delete(f"/v2/permissions/common/grants/{pid}", headers=owner)
                assert resp.status_code == 202, resp.text
                refs.append(resp.json()["referenceNumber"])
            state.step()
            codes = [(await status_of(ksef, owner, ref))["code"] for ref in refs]
            assert sorted(codes) == [200, 400]  # whichever the worker took first revoked it


# -- authorizations (self-invoicing) ---------------------------------------------------------


def authorization(nip_or_peppol: tuple[str, str], permission: str) -> dict[str, Any]:
    return {
        "subjectIdentifier": {"type": nip_or_peppol[0], "value": nip_or_peppol[1]},
        "permission": permission,
        "description": "Samofakturowanie",
        "subjectDetails": {"fullName": "Nabywca sp. z o.o."},
    }


async def test_entity_authorizations_granted_received_and_revoked(
    ksef: Ksef, state: EmulatorState
) -> None:
    seller, buyer = state.create_subject(), state.create_subject()
    owner_s, owner_b = await ksef.bearer(seller), await ksef.bearer(buyer)
    assert not state.permissions.may_issue_for(seller.nip, ("Nip", buyer.nip))
    done = await submit(
        ksef, owner_s, "authorizations/grants", authorization(("Nip", buyer.nip), "SelfInvoicing")
    )
    assert done["code"] == 200
    assert state.permissions.may_issue_for(seller.nip, ("Nip", buyer.nip))
    assert not state.permissions.may_issue_for(buyer.nip, ("Nip", seller.nip))
    wrong = await submit(
        ksef, owner_s, "authorizations/grants", authorization(("Nip", buyer.nip), "PefInvoicing")
    )
    assert wrong["code"] == 450
    peppol = await submit(
        ksef,
        owner_s,
        "authorizations/grants",
        authorization(("PeppolId", "PPL123456"), "PefInvoicing"),
    )
    assert peppol["code"] == 200

    granted = await query(ksef, owner_s, "authorizations/grants", {"queryType": "Granted"})
    assert {g["authorizationScope"] for g in granted["authorizationGrants"]} == {
        "SelfInvoicing",
        "PefInvoicing",
    }
    only = await query(
        ksef,
        owner_s,
        "authorizations/grants",
        {"queryType": "Granted", "permissionTypes": ["SelfInvoicing"]},
    )
    (item,) = only["authorizationGrants"]
    assert item["authorizingEntityIdentifier"] == {"type": "Nip", "value": seller.nip}
    assert item["authorizedEntityIdentifier"] == {"type": "Nip", "value": buyer.nip}
    assert item["authorIdentifier"] == {"type": "Nip", "value": seller.nip}
    assert item["subjectEntityDetails"] == {
        "subjectDetailsType": "EntityByIdentifier",
        "fullName": "Nabywca sp. z o.o.",
    }
    received = await query(ksef, owner_b, "authorizations/grants", {"queryType": "Received"})
    assert [g["id"] for g in received["authorizationGrants"]] == [item["id"]]

    assert await revoke(ksef, owner_s, item["id"]) == 450  # authorizations have their own endpoint
    assert await revoke(ksef, owner_b, item["id"], authorization=True) == 420
    assert await revoke(ksef, owner_s, item["id"], authorization=True) == 200
    assert not state.permissions.may_issue_for(seller.nip, ("Nip", buyer.nip))


# -- sub-units, EU entities ------------------------------------------------------------------


async def test_subunit_administrators(ksef: Ksef, state: EmulatorState) -> None:
    parent = state.create_subject()
    owner = await ksef.bearer(parent)
    unit = make_internal_id(parent.nip, "0042")
    body = {
        **person_grant("Pesel", PESEL, []),
        "contextIdentifier": {"type": "InternalId", "value": unit},
        "subunitName": "Oddział Kraków",
    }
    body.pop("permissions")
    assert (await submit(ksef, owner, "subunits/grants", body))["code"] == 200
    admin = person_by_pesel(PESEL, key="ec")
    assert await held(ksef, admin, ("InternalId", unit)) == ["CredentialsManage"]
    listed = await query(ksef, owner, "subunits/grants")
    (item,) = listed["permissions"]
    assert item["subunitIdentifier"] == {"type": "InternalId", "value": unit}
    assert item["subunitName"] == "Oddział Kraków"
    assert item["permissionScope"] == "CredentialsManage"

    # The administrator grants inside the sub-unit; the parent's list does not show that.
    admin_headers = bearer(await xades_login(ksef, admin, ("InternalId", unit)))
    inside = person_grant("Pesel", PESEL2, ["InvoiceWrite"])
    assert (await submit(ksef, admin_headers, "persons/grants", inside))["code"] == 200
    assert await held(ksef, person_by_pesel(PESEL2, key="ec"), ("InternalId", unit)) == [
        "InvoiceWrite"
    ]
    assert len((await query(ksef, owner, "subunits/grants"))["permissions"]) == 1

    foreign = {
        **body,
        "contextIdentifier": {
            "type": "InternalId",
            "value": make_internal_id(random_nip(), "0001"),
        },
    }
    assert (await submit(ksef, owner, "subunits/grants", foreign))["code"] == 410
    member = random_nip()
    by_nip = {**body, "contextIdentifier": {"type": "Nip", "value": member}}
    by_nip.pop("subunitName")
    assert (await submit(ksef, owner, "subunits/grants", by_nip))["code"] == 430
    resp = await ksef.http.post(
        "/v2/testdata/subject",
        json={
            "subjectNip": parent.nip,
            "subjectType": "JST",
            "description": "Gmina testowa",
            "subunits": [{"subjectNip": member, "description": "Szkoła podstawowa"}],
        },
    )
    assert resp.status_code == 200, resp.text
    assert (await submit(ksef, owner, "subunits/grants", by_nip))["code"] == 200
    assert await held(ksef, admin, ("Nip", member)) == ["CredentialsManage"]
    subordinate = await query(ksef, owner, "subordinate-entities/roles")
    assert [
        (r["subordinateEntityIdentifier"]["value"], r["role"]) for r in subordinate["roles"]
    ] == [(member, "LocalGovernmentSubUnit")]
    filtered = await query(
        ksef, owner, "subunits/grants", {"subunitIdentifier": {"type": "Nip", "value": member}}
    )
    assert [p["subunitIdentifier"]["value"] for p in filtered["permissions"]] == [member]


async def test_eu_entity_administrator_and_representative(ksef: Ksef, state: EmulatorState) -> None:
    polish = state.create_subject()
    owner = await ksef.bearer(polish)
    admin, rep = person_by_pesel(PESEL, key="ec"), person_by_pesel(PESEL2, key="ec")
    eu_ctx = ("NipVatUe", f"{polish.nip}-DE123456789")
    details = {
        "subjectDetailsType": "PersonByFingerprintWithIdentifier",
        "personByFpWithId": {
            "firstName": "Hans",
            "lastName": "Muster",
            "identifier": {"type": "Pesel", "value": PESEL},
        },
    }
    body = {
        "subjectIdentifier": {"type": "Fingerprint", "value": admin.fingerprint.lower()},
        "contextIdentifier": {"type": "NipVatUe", "value": eu_ctx[1]},
        "description": "Administrator podmiotu unijnego",
        "euEntityName": "Muster GmbH, Berlin",
        "subjectDetails": details,
        "euEntityDetails": {"fullName": "Muster GmbH", "address": "Berlin"},
    }
    assert (await submit(ksef, owner, "eu-entities/administration/grants", body))["code"] == 200
    fp = {"subject_type": "certificateFingerprint"}
    assert sorted(await held(ksef, admin, eu_ctx, **fp)) == [
        "Introspection",
        "InvoiceRead",
        "InvoiceWrite",
        "VatUeManage",
    ]
    other = {
        **body,
        "contextIdentifier": {"type": "NipVatUe", "value": f"{random_nip()}-DE123456789"},
    }
    assert (await submit(ksef, owner, "eu-entities/administration/grants", other))["code"] == 410

    admin_headers = bearer(await xades_login(ksef, admin, eu_ctx, **fp))
    rep_body = {
        "subjectIdentifier": {"type": "Fingerprint", "value": rep.fingerprint},
        "permissions": ["InvoiceRead"],
        "description": "Reprezentant podmiotu unijnego",
        "subjectDetails": {
            "subjectDetailsType": "EntityByFingerprint",
            "entityByFp": {"fullName": "Muster AG", "address": "Wien"},
        },
    }
    assert (await submit(ksef, admin_headers, "eu-entities/grants", rep_body))["code"] == 200
    assert await held(ksef, rep, eu_ctx, **fp) == ["InvoiceRead"]
    resp = await ksef.http.post("/v2/permissions/eu-entities/grants", json=rep_body, headers=owner)
    assert resp.status_code == 403  # VatUeManage is only held in the EU context

    from_poland = await query(ksef, owner, "eu-entities/grants")
    assert {p["permissionScope"] for p in from_poland["permissions"]} == {
        "VatUeManage",
        "InvoiceWrite",
        "InvoiceRead",
        "Introspection",
    }
    first = from_poland["permissions"][0]
    assert first["vatUeIdentifier"] == "DE123456789"
    assert first["euEntityName"] == "Muster GmbH, Berlin"
    assert first["authorizedFingerprintIdentifier"] == admin.fingerprint.upper()
    assert first["subjectPersonDetails"]["personIdentifier"] == {"type": "Pesel", "value": PESEL}
    in_eu = await query(ksef, admin_headers, "eu-entities/grants")
    assert len(in_eu["permissions"]) == 5
    narrowed = await query(
        ksef,
        admin_headers,
        "eu-entities/grants",
        {
            "authorizedFingerprintIdentifier": rep.fingerprint[10:30].lower(),
            "permissionTypes": ["InvoiceRead"],
        },
    )
    (rep_item,) = narrowed["permissions"]
    assert rep_item["subjectEntityDetails"] == {
        "subjectDetailsType": "EntityByFingerprint",
        "fullName": "Muster AG",
        "address": "Wien",
    }
    none = await query(
        ksef, admin_headers, "eu-entities/grants", {"vatUeIdentifier": "ATU12345678"}
    )
    assert none["permissions"] == []
    assert await revoke(ksef, admin_headers, rep_item["id"]) == 200
    assert await auth_code(ksef, rep, eu_ctx, **fp) == 415


# -- operations, paging ----------------------------------------------------------------------


async def test_operation_status_scope_and_retention(
    ksef: Ksef, state: EmulatorState, clock: ManualClock
) -> None:
    a, b = state.create_subject(), state.create_subject()
    owner_a, owner_b = await ksef.bearer(a), await ksef.bearer(b)
    resp = await ksef.http.post(
        "/v2/permissions/persons/grants",
        json=person_grant("Pesel", PESEL, ["InvoiceRead"]),
        headers=owner_a,
    )
    ref = resp.json()["referenceNumber"]
    assert (
        code_of(await ksef.http.get(f"/v2/permissions/operations/{ref}", headers=owner_b)) == 21405
    )
    clock.advance(31 * 24 * 3600)
    owner_a = await ksef.bearer(a)
    gone = await ksef.http.get(f"/v2/permissions/operations/{ref}", headers=owner_a)
    assert gone.status_code == 410
    assert gone.json()["title"] == "Gone"


async def test_queries_page_newest_first(
    ksef: Ksef, subject: SeededSubject, clock: ManualClock
) -> None:
    owner = await ksef.bearer(subject)
    pesels = [f"900101{n:05d}" for n in range(12)]
    for pesel in pesels:
        await submit(ksef, owner, "persons/grants", person_grant("Pesel", pesel, ["InvoiceRead"]))
        clock.advance(1)
    body = {"queryType": "PermissionsInCurrentContext"}
    first = await query(ksef, owner, "persons/grants", body, pageSize=10)
    second = await query(ksef, owner, "persons/grants", body, pageSize=10, pageOffset=1)
    assert first["hasMore"] is True and second["hasMore"] is False
    order = [
        p["authorizedIdentifier"]["value"] for p in first["permissions"] + second["permissions"]
    ]
    assert order == pesels[::-1]
    dates = [p["startDate"] for p in first["permissions"]]
    assert dates == sorted(dates, reverse=True)
    by_type = await query(
        ksef,
        owner,
        "persons/grants",
        {**body, "authorizedIdentifier": {"type": "Pesel", "value": pesels[3]}},
    )
    assert [p["authorizedIdentifier"]["value"] for p in by_type["permissions"]] == [pesels[3]]


# -- test data, admin API, KSeF tokens -------------------------------------------------------


async def test_testdata_permissions_are_system_grants(ksef: Ksef, subject: SeededSubject) -> None:
    context = ("Nip", subject.nip)
    person = person_by_pesel(PESEL, key="ec")
    body = {
        "contextIdentifier": {"type": "Nip", "value": subject.nip},
        "authorizedIdentifier": {"type": "Pesel", "value": PESEL},
        "permissions": [
            {"permissionType": "InvoiceRead", "description": "ZAW-FA odczyt"},
            {"permissionType": "Introspection", "description": "ZAW-FA sesje"},
        ],
    }
    resp = await ksef.http.post("/v2/testdata/permissions", json=body)
    assert resp.status_code == 200 and resp.content == b""
    assert sorted(await held(ksef, person, context)) == ["Introspection", "InvoiceRead"]
    owner = await ksef.bearer(subject)
    listed = await query(
        ksef,
        owner,
        "persons/grants",
        {"queryType": "PermissionsInCurrentContext", "authorIdentifier": {"type": "System"}},
    )
    assert {p["description"] for p in listed["permissions"]} == {"ZAW-FA odczyt", "ZAW-FA sesje"}
    assert all(p["authorIdentifier"] == {"type": "System"} for p in listed["permissions"])
    revoke_body = {k: body[k] for k in ("contextIdentifier", "authorizedIdentifier")}
    assert (
        await ksef.http.post("/v2/testdata/permissions/revoke", json=revoke_body)
    ).status_code == 200
    assert await auth_code(ksef, person, context) == 415


async def test_admin_api_writes_through_the_same_register(
    ksef: Ksef, subject: SeededSubject
) -> None:
    body = {
        "context": {"type": "Nip", "value": subject.nip},
        "subject": {"type": "Pesel", "value": PESEL},
        "permissions": ["InvoiceWrite"],
    }
    assert (await ksef.http.post("/_emulator/permissions", json=body)).status_code == 204
    owner = await ksef.bearer(subject)
    listed = await query(
        ksef, owner, "persons/grants", {"queryType": "PermissionsInCurrentContext"}
    )
    (item,) = listed["permissions"]
    assert item["authorIdentifier"] == {"type": "System"}
    assert await revoke(ksef, owner, item["id"]) == 200
    assert await auth_code(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", subject.nip)) == 415


async def test_a_ksef_token_loses_what_its_author_loses(ksef: Ksef, subject: SeededSubject) -> None:
    owner = await ksef.bearer(subject)
    grant = person_grant("Pesel", PESEL, ["InvoiceRead", "CredentialsManage"])
    await submit(ksef, owner, "persons/grants", grant)
    person = bearer(await xades_login(ksef, person_by_pesel(PESEL, key="ec"), ("Nip", subject.nip)))
    resp = await ksef.http.post(
        "/v2/tokens",
        json={"permissions": ["InvoiceRead"], "description": "Token osoby"},
        headers=person,
    )
    assert resp.status_code == 202, resp.text
    token = resp.json()["token"]
    ok = await ksef.start_auth(subject.nip, token)
    auth = {"Authorization": f"Bearer {ok['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{ok['referenceNumber']}", headers=auth)).json()
    assert status["status"]["code"] == 200
    listed = await query(
        ksef, owner, "persons/grants", {"queryType": "PermissionsInCurrentContext"}
    )
    read_id = next(p["id"] for p in listed["permissions"] if p["permissionScope"] == "InvoiceRead")
    assert await revoke(ksef, owner, read_id) == 200
    failed = await ksef.start_auth(subject.nip, token)
    auth = {"Authorization": f"Bearer {failed['authenticationToken']['token']}"}
    status = (await ksef.http.get(f"/v2/auth/{failed['referenceNumber']}", headers=auth)).json()
    assert status["status"]["code"] == 415


# -- attachments -----------------------------------------------------------------------------


async def test_attachment_consent_register(
    ksef: Ksef, state: EmulatorState, clock: ManualClock
) -> None:
    subject = state.create_subject()
    owner = await ksef.bearer(subject)

    async def status() -> dict[str, Any]:
        resp = await ksef.http.get("/v2/permissions/attachments/status", headers=owner)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    assert await status() == {"isAttachmentAllowed": True}  # no record, consent not required
    tomorrow = (clock.now() + dt.timedelta(days=2)).date().isoformat()
    body = {"nip": subject.nip, "expectedEndDate": tomorrow}
    assert (await ksef.http.post("/v2/testdata/attachment/revoke", json=body)).status_code == 200
    later = await status()
    assert later["isAttachmentAllowed"] is True and later["revokedDate"].startswith(
        (clock.now() + dt.timedelta(days=1)).date().isoformat()
    )
    clock.advance(3 * 24 * 3600)
    owner = await ksef.bearer(subject)
    assert (await status())["isAttachmentAllowed"] is False
    assert not state.permissions.attachments.allowed(subject.nip)
    resp = await ksef.http.post("/v2/testdata/attachment", json={"nip": subject.nip})
    assert resp.status_code == 200
    assert await status() == {"isAttachmentAllowed": True}
    now = await ksef.http.post("/v2/testdata/attachment/revoke", json={"nip": subject.nip})
    assert now.status_code == 200
    assert (await status())["isAttachmentAllowed"] is False
    bad = await ksef.http.post("/v2/testdata/attachment", json={"nip": "123"})
    assert code_of(bad) == 21405
    # Midnight of 0001-01-01 in Warsaw is before year 1 in UTC (was a 500, found by the fuzzer).
    body = {"nip": subject.nip, "expectedEndDate": "0001-01-01"}
    assert code_of(await ksef.http.post("/v2/testdata/attachment/revoke", json=body)) == 21405


def test_attachments_can_require_consent() -> None:
    with EmulatorState(require_attachment_consent=True) as state:
        nip = random_nip()
        assert not state.permissions.attachments.allowed(nip)
        state.permissions.attachments.allow({"nip": nip})
        assert state.permissions.attachments.allowed(nip)
        assert not state.permissions.attachments.allowed(None)
