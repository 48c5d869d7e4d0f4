"""``ksefkit permissions``: grant, revoke, list and follow permissions of the logged-in context.

* ``grant person (--nip|--pesel|--fingerprint VALUE) --permission P... --description TEXT
  --first-name F --last-name L [--person-pesel|--person-nip ID]``
* ``grant entity NIP --permission InvoiceRead|InvoiceWrite... [--delegable P...]
  --description TEXT --name FULL_NAME``
* ``grant authorization (--nip|--peppol-id VALUE) --permission SelfInvoicing|RRInvoicing|
  TaxRepresentative|PefInvoicing --description TEXT --name FULL_NAME``
* ``grant indirect (--nip|--pesel|--fingerprint VALUE) --permission P...
  [--target-nip NIP|--target-internal-id ID] ...`` (no target: every client)
* ``grant subunit (--nip|--pesel|--fingerprint VALUE) (--subunit-nip NIP|--internal-id ID)
  [--subunit-name NAME] ...``
* ``grant eu-admin FINGERPRINT --context NIP-VATUE --eu-name NAME --eu-address ADDRESS ...`` and
  ``grant eu-representative FINGERPRINT --permission P... ...`` (a person: ``--first-name``,
  ``--last-name`` and ``--person-pesel``/``--person-nip``; an entity: ``--entity-name``,
  ``--entity-address``)
* ``revoke PERMISSION_ID [--authorization]`` · ``status REFERENCE``
* ``list [personal|persons|granted|subunits|entities|authorizations-granted|
  authorizations-received|eu-entities] [--permission P...] [--state Active|Inactive]``
* ``roles [--subordinate]`` · ``attachments``

Grants and revocations are operations: the command waits for the outcome (``--no-wait`` prints
the reference number at once; ``status`` looks it up later). A failed operation exits with the
processing-error code and KSeF's status (410 wrong relation, 420 not allowed, 430 missing role,
440 no delegable permission, 450 wrong identifier type).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

import typer

from .._sync.client import Client
from ..errors import ConfigurationError
from ..models import PermissionsOperationResponse
from ..models.permission_queries import PermissionsSubjectPersonDetails
from ..permissions import Identifier
from ._context import authenticated_client, settings_of
from ._output import Output, fmt_time

__all__ = ["app"]

app = typer.Typer(help="Permissions: grant, revoke, list, operation status, roles, attachments.")
grant_app = typer.Typer(help="Grant permissions (each grant is a KSeF operation).")
app.add_typer(grant_app, name="grant")


class ListKind(StrEnum):
    PERSONAL = "personal"
    PERSONS = "persons"
    GRANTED = "granted"
    SUBUNITS = "subunits"
    ENTITIES = "entities"
    AUTHORIZATIONS_GRANTED = "authorizations-granted"
    AUTHORIZATIONS_RECEIVED = "authorizations-received"
    EU_ENTITIES = "eu-entities"


class State(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


Nip = Annotated[str | None, typer.Option("--nip", help="Grantee's NIP.")]
Pesel = Annotated[str | None, typer.Option("--pesel", help="Grantee's PESEL.")]
Fingerprint = Annotated[
    str | None, typer.Option("--fingerprint", help="Grantee's certificate fingerprint (SHA-256).")
]
Permissions = Annotated[
    list[str], typer.Option("--permission", help="A permission to grant (repeatable).")
]
Description = Annotated[str, typer.Option(help="What the permission is for (5-256 characters).")]
FirstName = Annotated[str | None, typer.Option("--first-name", help="Grantee's first name.")]
LastName = Annotated[str | None, typer.Option("--last-name", help="Grantee's last name.")]
PersonPesel = Annotated[
    str | None, typer.Option("--person-pesel", help="PESEL of a person named by fingerprint.")
]
PersonNip = Annotated[
    str | None, typer.Option("--person-nip", help="NIP of a person named by fingerprint.")
]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Do not wait for the operation.")]


# -- grants ------------------------------------------------------------------------------------


@grant_app.command("person")
def grant_person(
    ctx: typer.Context,
    permission: Permissions,
    description: Description,
    nip: Nip = None,
    pesel: Pesel = None,
    fingerprint: Fingerprint = None,
    first_name: FirstName = None,
    last_name: LastName = None,
    person_pesel: PersonPesel = None,
    person_nip: PersonNip = None,
    no_wait: NoWait = False,
) -> None:
    """Let a person work in the logged-in context (needs CredentialsManage)."""
    subject = _subject(nip=nip, pesel=pesel, fingerprint=fingerprint)
    first, last = _names(first_name, last_name)
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_to_person(
            subject,
            _unique(permission),
            description=_description(description),
            identifier=_person_id(person_pesel, person_nip),
            first_name=first,
            last_name=last,
        )
        _finish(ctx, client, op, no_wait)


@grant_app.command("entity")
def grant_entity(
    ctx: typer.Context,
    nip: Annotated[str, typer.Argument(help="The entity's NIP.")],
    permission: Permissions,
    description: Description,
    name: Annotated[str, typer.Option("--name", help="The entity's full name (5-90).")],
    delegable: Annotated[
        list[str] | None,
        typer.Option("--delegable", help="A permission it may pass on (repeatable)."),
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Let another entity (e.g. an accounting office) handle this context's invoices."""
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_to_entity(
            nip,
            _unique(permission),
            description=_description(description),
            full_name=name,
            can_delegate=set(delegable or ()),
        )
        _finish(ctx, client, op, no_wait)


@grant_app.command("authorization")
def grant_authorization(
    ctx: typer.Context,
    permission: Annotated[
        str,
        typer.Option(help="SelfInvoicing, RRInvoicing, TaxRepresentative or PefInvoicing."),
    ],
    description: Description,
    name: Annotated[str, typer.Option("--name", help="The entity's full name (5-90).")],
    nip: Annotated[str | None, typer.Option("--nip", help="The authorized entity's NIP.")] = None,
    peppol_id: Annotated[
        str | None, typer.Option("--peppol-id", help="The authorized Peppol provider.")
    ] = None,
    no_wait: NoWait = False,
) -> None:
    """Authorize an entity to issue invoices in this context's name."""
    subject = _one(
        nip=nip and Identifier.nip(nip), peppol=peppol_id and Identifier.peppol_id(peppol_id)
    )
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_authorization(
            subject, permission, description=_description(description), full_name=name
        )
        _finish(ctx, client, op, no_wait)


@grant_app.command("indirect")
def grant_indirect(
    ctx: typer.Context,
    permission: Permissions,
    description: Description,
    nip: Nip = None,
    pesel: Pesel = None,
    fingerprint: Fingerprint = None,
    target_nip: Annotated[str | None, typer.Option("--target-nip", help="One client.")] = None,
    target_internal_id: Annotated[
        str | None, typer.Option("--target-internal-id", help="One client's sub-unit.")
    ] = None,
    first_name: FirstName = None,
    last_name: LastName = None,
    person_pesel: PersonPesel = None,
    person_nip: PersonNip = None,
    no_wait: NoWait = False,
) -> None:
    """As an intermediary, pass delegable invoice permissions to a person (one client or all)."""
    subject = _subject(nip=nip, pesel=pesel, fingerprint=fingerprint)
    target = None
    if target_nip or target_internal_id:
        target = _one(
            nip=target_nip and Identifier.nip(target_nip),
            internal_id=target_internal_id and Identifier.internal_id(target_internal_id),
        )
    first, last = _names(first_name, last_name)
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_indirect(
            subject,
            _unique(permission),
            target=target,
            description=_description(description),
            identifier=_person_id(person_pesel, person_nip),
            first_name=first,
            last_name=last,
        )
        _finish(ctx, client, op, no_wait)


@grant_app.command("subunit")
def grant_subunit(
    ctx: typer.Context,
    description: Description,
    nip: Nip = None,
    pesel: Pesel = None,
    fingerprint: Fingerprint = None,
    subunit_nip: Annotated[
        str | None, typer.Option("--subunit-nip", help="A subordinate entity's NIP.")
    ] = None,
    internal_id: Annotated[
        str | None, typer.Option("--internal-id", help="A sub-unit: <nip>-<5 digits>.")
    ] = None,
    subunit_name: Annotated[
        str | None, typer.Option("--subunit-name", help="Name of an InternalId sub-unit.")
    ] = None,
    first_name: FirstName = None,
    last_name: LastName = None,
    person_pesel: PersonPesel = None,
    person_nip: PersonNip = None,
    no_wait: NoWait = False,
) -> None:
    """Appoint the administrator of a sub-unit or subordinate entity (needs SubunitManage)."""
    subject = _subject(nip=nip, pesel=pesel, fingerprint=fingerprint)
    unit = _one(
        subunit_nip=subunit_nip and Identifier.nip(subunit_nip),
        internal_id=internal_id and Identifier.internal_id(internal_id),
    )
    first, last = _names(first_name, last_name)
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_subunit(
            subject,
            unit,
            subunit_name=subunit_name,
            description=_description(description),
            identifier=_person_id(person_pesel, person_nip),
            first_name=first,
            last_name=last,
        )
        _finish(ctx, client, op, no_wait)


EntityName = Annotated[
    str | None, typer.Option("--entity-name", help="Grantee entity's name (a seal).")
]
EntityAddress = Annotated[
    str | None, typer.Option("--entity-address", help="Grantee entity's address.")
]


@grant_app.command("eu-admin")
def grant_eu_admin(
    ctx: typer.Context,
    fingerprint: Annotated[str, typer.Argument(help="The administrator's fingerprint.")],
    context: Annotated[str, typer.Option("--context", help="<nip>-<EU VAT number>.")],
    eu_name: Annotated[str, typer.Option("--eu-name", help="The EU entity's name.")],
    eu_address: Annotated[str, typer.Option("--eu-address", help="The EU entity's address.")],
    description: Description,
    first_name: FirstName = None,
    last_name: LastName = None,
    person_pesel: PersonPesel = None,
    person_nip: PersonNip = None,
    entity_name: EntityName = None,
    entity_address: EntityAddress = None,
    no_wait: NoWait = False,
) -> None:
    """Appoint the administrator of an EU entity self-invoicing for this NIP."""
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_eu_entity_administration(
            fingerprint,
            context,
            description=_description(description),
            eu_entity_name=eu_name,
            eu_entity_address=eu_address,
            first_name=first_name,
            last_name=last_name,
            identifier=_person_id(person_pesel, person_nip),
            entity_name=entity_name,
            entity_address=entity_address,
        )
        _finish(ctx, client, op, no_wait)


@grant_app.command("eu-representative")
def grant_eu_representative(
    ctx: typer.Context,
    fingerprint: Annotated[str, typer.Argument(help="The representative's fingerprint.")],
    permission: Permissions,
    description: Description,
    first_name: FirstName = None,
    last_name: LastName = None,
    person_pesel: PersonPesel = None,
    person_nip: PersonNip = None,
    entity_name: EntityName = None,
    entity_address: EntityAddress = None,
    no_wait: NoWait = False,
) -> None:
    """As an EU entity's administrator, let a representative issue/view invoices."""
    with authenticated_client(settings_of(ctx)) as client:
        op = client.permissions.grant_eu_entity(
            fingerprint,
            _unique(permission),
            description=_description(description),
            first_name=first_name,
            last_name=last_name,
            identifier=_person_id(person_pesel, person_nip),
            entity_name=entity_name,
            entity_address=entity_address,
        )
        _finish(ctx, client, op, no_wait)


# -- revoke, status ----------------------------------------------------------------------------


@app.command()
def revoke(
    ctx: typer.Context,
    permission_id: Annotated[str, typer.Argument(help="The permission's id (from `list`).")],
    authorization: Annotated[
        bool,
        typer.Option("--authorization", help="An entity authorization (self-invoicing etc.)."),
    ] = False,
    no_wait: NoWait = False,
) -> None:
    """Take a permission back (the id comes from `ksefkit permissions list`)."""
    with authenticated_client(settings_of(ctx)) as client:
        if authorization:
            op = client.permissions.revoke_authorization(permission_id)
        else:
            op = client.permissions.revoke(permission_id)
        _finish(ctx, client, op, no_wait)


@app.command()
def status(
    ctx: typer.Context,
    reference_number: Annotated[str, typer.Argument(help="The operation's reference number.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait while it is in progress.")] = False,
) -> None:
    """The status of a grant or revocation (kept by KSeF for 30 days)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        if wait:
            found = client.permissions.wait_for_operation(reference_number)
        else:
            found = client.permissions.operation_status(reference_number)
    _report(out, reference_number, found.status.code, found.status.description)


# -- lists -------------------------------------------------------------------------------------


@app.command("list")
def list_permissions(
    ctx: typer.Context,
    kind: Annotated[ListKind, typer.Argument(case_sensitive=False)] = ListKind.PERSONS,
    permission: Annotated[
        list[str] | None, typer.Option("--permission", help="Only these (repeatable).")
    ] = None,
    state: Annotated[State | None, typer.Option(case_sensitive=False)] = None,
) -> None:
    """Permissions of the logged-in context, all pages (default: everyone who may work here)."""
    out = settings_of(ctx).out
    types = list(permission or ())
    chosen = state.value if state else None
    with authenticated_client(settings_of(ctx)) as client:
        items = list(_query(client, kind, types, chosen))
    out.table(
        f"permissions ({kind.value})",
        ["permission id", "permission", "who", "where", "state", "description", "since"],
        [_row(item) for item in items],
    )
    if out.json_mode:
        out.emit_json([item.to_wire() for item in items])


@app.command()
def roles(
    ctx: typer.Context,
    subordinate: Annotated[
        bool, typer.Option("--subordinate", help="Subordinate entities instead.")
    ] = False,
) -> None:
    """Roles of the logged-in context's entity (or of its subordinate entities)."""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        found: list[Any] = (
            list(client.permissions.query_subordinate_entities())
            if subordinate
            else list(client.permissions.query_entity_roles())
        )
    out.table(
        "roles",
        ["entity", "role", "description", "since"],
        [
            [
                _ident(
                    getattr(r, "subordinate_entity_identifier", None) or r.parent_entity_identifier
                ),
                r.role,
                r.description,
                fmt_time(r.start_date),
            ]
            for r in found
        ],
    )
    if out.json_mode:
        out.emit_json([r.to_wire() for r in found])


@app.command()
def attachments(ctx: typer.Context) -> None:
    """May the logged-in context send invoices with attachments?"""
    out = settings_of(ctx).out
    with authenticated_client(settings_of(ctx)) as client:
        found = client.permissions.attachments_status()
    out.fields(
        [
            ("attachments allowed", "yes" if found.is_attachment_allowed else "no"),
            ("consent ends", fmt_time(found.revoked_date)),
        ]
    )
    if out.json_mode:
        out.emit_json(found.to_wire())


# -- helpers -----------------------------------------------------------------------------------


def _finish(
    ctx: typer.Context, client: Client, op: PermissionsOperationResponse, no_wait: bool
) -> None:
    """Wait for the operation (unless ``--no-wait``) and report its status."""
    out = settings_of(ctx).out
    if no_wait:
        _report(out, op.reference_number, 100, "Operacja przyjęta do realizacji")
        return
    done = client.permissions.wait_for_operation(op.reference_number)
    _report(out, op.reference_number, done.status.code, done.status.description)


def _report(out: Output, reference: str, code: int, description: str) -> None:
    if out.json_mode:
        out.emit_json(
            {"referenceNumber": reference, "status": {"code": code, "description": description}}
        )
        return
    mark = "[green]✓[/green]" if code == 200 else "…"
    out.line(f"{mark} operation {reference}: {code} {description}")


def _query(client: Client, kind: ListKind, types: list[str], state: str | None) -> Iterable[Any]:
    perms = client.permissions
    if kind is ListKind.PERSONAL:
        return perms.query_personal(permission_types=types, state=state)
    if kind is ListKind.PERSONS:
        return perms.query_persons(permission_types=types, state=state)
    if kind is ListKind.GRANTED:
        return perms.query_persons(
            "PermissionsGrantedInCurrentContext", permission_types=types, state=state
        )
    if kind is ListKind.SUBUNITS:
        return perms.query_subunits()
    if kind is ListKind.ENTITIES:
        return perms.query_entities()
    if kind is ListKind.EU_ENTITIES:
        return perms.query_eu_entities(permission_types=types)
    query = "Granted" if kind is ListKind.AUTHORIZATIONS_GRANTED else "Received"
    return perms.query_authorizations(query, permission_types=types)


def _row(item: Any) -> list[str]:
    scope = getattr(item, "permission_scope", None) or getattr(item, "authorization_scope", "")
    who = (
        getattr(item, "authorized_identifier", None)
        or getattr(item, "authorized_entity_identifier", None)
        or _fingerprint(item)
    )
    where = (
        getattr(item, "subunit_identifier", None)
        or getattr(item, "target_identifier", None)
        or getattr(item, "context_identifier", None)
        or getattr(item, "authorizing_entity_identifier", None)
    )
    vat_ue = getattr(item, "vat_ue_identifier", None)
    return [
        item.id,
        scope,
        _ident(who) + _person(getattr(item, "subject_person_details", None)),
        _ident(where) if where is not None else (vat_ue or "-"),
        getattr(item, "permission_state", None) or "Active",
        item.description,
        fmt_time(item.start_date),
    ]


def _fingerprint(item: Any) -> Identifier | None:
    value = getattr(item, "authorized_fingerprint_identifier", None)
    return None if value is None else Identifier.fingerprint(value)


def _ident(identifier: Any) -> str:
    if identifier is None:
        return "-"
    return identifier.type if identifier.value is None else f"{identifier.type} {identifier.value}"


def _person(details: PermissionsSubjectPersonDetails | None) -> str:
    return "" if details is None else f" ({details.first_name} {details.last_name})"


def _subject(*, nip: str | None, pesel: str | None, fingerprint: str | None) -> Identifier:
    return _one(
        nip=nip and Identifier.nip(nip),
        pesel=pesel and Identifier.pesel(pesel),
        fingerprint=fingerprint and Identifier.fingerprint(fingerprint),
    )


def _one(**given: Identifier | str | None) -> Identifier:
    chosen = [value for value in given.values() if isinstance(value, Identifier)]
    if len(chosen) != 1:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise typer.BadParameter(f"give exactly one of {options}")
    return chosen[0]


def _person_id(pesel: str | None, nip: str | None) -> Identifier | None:
    if pesel and nip:
        raise typer.BadParameter("give --person-pesel or --person-nip, not both")
    if pesel:
        return Identifier.pesel(pesel)
    return Identifier.nip(nip) if nip else None


def _names(first: str | None, last: str | None) -> tuple[str, str]:
    if not first or not last:
        raise typer.BadParameter("--first-name and --last-name are required")
    return first, last


def _description(text: str) -> str:
    if not 5 <= len(text) <= 256:
        raise typer.BadParameter("--description: 5 to 256 characters")
    return text


def _unique(values: list[str]) -> list[str]:
    if not values:
        raise ConfigurationError("give at least one --permission")
    return list(dict.fromkeys(values))
