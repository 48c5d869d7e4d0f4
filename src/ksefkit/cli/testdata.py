"""``ksefkit testdata``: test data on KSeF TEST (and the ksefkit emulator; never on PROD).

* ``subject create NIP --type VatGroup|JST|EnforcementAuthority --description TEXT
  [--subunit NIP=DESCRIPTION...] [--created DATETIME]`` · ``subject remove NIP``
* ``person create NIP PESEL --description TEXT [--bailiff] [--deceased] [--created DATETIME]``
  · ``person remove NIP``
* ``block`` / ``unblock`` ``--nip|--internal-id|--nip-vat-ue|--peppol-id VALUE``: while blocked,
  every authentication into the context ends with status 480
* ``session-limits set [--online-max-invoices N] [--online-max-size-mb N]
  [--online-max-attachment-size-mb N] [--batch-...]`` · ``session-limits reset``: the limits
  of the context you are logged in to (what is not given keeps its current value)
* ``rate-limits set GROUP=SECOND/MINUTE/HOUR...`` · ``rate-limits production`` ·
  ``rate-limits reset``: API rate limits of the context you are logged in to (groups not named
  keep their current values; ``production`` applies the production table)

Subjects, persons and blocking need no login (they go to ``--env``/``--base-url`` or the
profile's target); the session limits belong to the logged-in context.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

import typer

from ..errors import ConfigurationError
from ..models import Subunit
from ._context import Settings, authenticated_client, new_client, settings_of

__all__ = ["app"]

app = typer.Typer(
    help="Test data (TEST and the emulator): subjects, persons, context blocking, session limits."
)
subject_app = typer.Typer(help="Test entities: enforcement authorities, VAT groups, JSTs.")
person_app = typer.Typer(help="Test persons: a PESEL owning a NIP (bailiff, deceased).")
limits_app = typer.Typer(help="Session limits of the logged-in context.")
app.add_typer(subject_app, name="subject")
app.add_typer(person_app, name="person")
rates_app = typer.Typer(help="API rate limits of the logged-in context.")
app.add_typer(limits_app, name="session-limits")
app.add_typer(rates_app, name="rate-limits")


class SubjectKind(StrEnum):
    ENFORCEMENT_AUTHORITY = "EnforcementAuthority"
    VAT_GROUP = "VatGroup"
    JST = "JST"


Description = Annotated[str, typer.Option(help="What it is (5-256 characters).")]
Created = Annotated[
    str | None,
    typer.Option(
        "--created",
        help="createdDate, ISO 8601 (re-creating needs a later date than the last time).",
    ),
]


def _description(text: str) -> str:
    if not 5 <= len(text) <= 256:
        raise typer.BadParameter("--description: 5 to 256 characters")
    return text


def _created(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--created: not an ISO 8601 date-time: {text!r}") from None


def _subunits(pairs: list[str] | None) -> list[Subunit]:
    units = []
    for pair in pairs or ():
        nip, sep, description = pair.partition("=")
        if not sep or not nip.strip():
            raise typer.BadParameter(f"--subunit: expected NIP=DESCRIPTION, got {pair!r}")
        units.append(Subunit(subject_nip=nip.strip(), description=_description(description)))
    return units


def _done(settings: Settings, message: str, document: Mapping[str, object]) -> None:
    settings.out.line(message)
    if settings.out.json_mode:
        settings.out.emit_json(document)


@subject_app.command("create")
def subject_create(
    ctx: typer.Context,
    nip: Annotated[str, typer.Argument(help="The entity's NIP.")],
    subject_type: Annotated[SubjectKind, typer.Option("--type", case_sensitive=False)],
    description: Description,
    subunit: Annotated[
        list[str] | None,
        typer.Option(help="A VAT-group member or subordinate JST: NIP=DESCRIPTION (repeatable)."),
    ] = None,
    created: Created = None,
) -> None:
    """Register a test entity (with its subunits) and the roles its type implies."""
    settings = settings_of(ctx)
    units = _subunits(subunit)
    with new_client(settings) as client:
        client.testdata.create_subject(
            nip,
            subject_type.value,
            _description(description),
            subunits=units,
            created_date=_created(created),
        )
    document = {
        "subjectNip": nip,
        "subjectType": subject_type.value,
        "subunits": [u.subject_nip for u in units],
    }
    _done(settings, f"created {subject_type.value} {nip} ({len(units)} subunit(s))", document)


@subject_app.command("remove")
def subject_remove(ctx: typer.Context, nip: Annotated[str, typer.Argument()]) -> None:
    """Remove a test entity with its subunits."""
    settings = settings_of(ctx)
    with new_client(settings) as client:
        client.testdata.remove_subject(nip)
    _done(settings, f"removed subject {nip}", {"removed": nip})


@person_app.command("create")
def person_create(
    ctx: typer.Context,
    nip: Annotated[str, typer.Argument(help="The NIP the person owns.")],
    pesel: Annotated[str, typer.Argument(help="The person's PESEL.")],
    description: Description,
    bailiff: Annotated[bool, typer.Option("--bailiff", help="A court bailiff.")] = False,
    deceased: Annotated[
        bool, typer.Option("--deceased", help="Deceased: authentication ends with 470.")
    ] = False,
    created: Created = None,
) -> None:
    """Create a test person who owns NIP (log in with a PESEL certificate as its owner)."""
    settings = settings_of(ctx)
    with new_client(settings) as client:
        client.testdata.create_person(
            nip,
            pesel,
            _description(description),
            is_bailiff=bailiff,
            is_deceased=deceased,
            created_date=_created(created),
        )
    flags = [name for name, on in (("bailiff", bailiff), ("deceased", deceased)) if on]
    note = f" ({', '.join(flags)})" if flags else ""
    document = {"nip": nip, "pesel": pesel, "isBailiff": bailiff, "isDeceased": deceased}
    _done(settings, f"created person {pesel} owning {nip}{note}", document)


@person_app.command("remove")
def person_remove(ctx: typer.Context, nip: Annotated[str, typer.Argument()]) -> None:
    """Remove the test person owning NIP; KSeF takes away all their permissions."""
    settings = settings_of(ctx)
    with new_client(settings) as client:
        client.testdata.remove_person(nip)
    _done(settings, f"removed the person owning {nip}", {"removed": nip})


ContextOption = Annotated[str | None, typer.Option(show_default=False)]


def _context(**given: str | None) -> tuple[str, str]:
    """The one context option given, as ``(option, value)``."""
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --nip, --internal-id, --nip-vat-ue, --peppol-id"
        )
    kind, value = chosen[0]
    return kind.replace("_", "-"), value


@app.command()
def block(
    ctx: typer.Context,
    nip: ContextOption = None,
    internal_id: ContextOption = None,
    nip_vat_ue: ContextOption = None,
    peppol_id: ContextOption = None,
) -> None:
    """Block authentication into a context (status 480) until `unblock`."""
    settings = settings_of(ctx)
    kind, value = _context(
        nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
    )
    with new_client(settings) as client:
        client.testdata.block_context(
            nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
        )
    _done(settings, f"blocked {kind} {value}", {"blocked": value})


@app.command()
def unblock(
    ctx: typer.Context,
    nip: ContextOption = None,
    internal_id: ContextOption = None,
    nip_vat_ue: ContextOption = None,
    peppol_id: ContextOption = None,
) -> None:
    """Allow authentication into a blocked context again."""
    settings = settings_of(ctx)
    kind, value = _context(
        nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
    )
    with new_client(settings) as client:
        client.testdata.unblock_context(
            nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
        )
    _done(settings, f"unblocked {kind} {value}", {"unblocked": value})


Count = Annotated[int | None, typer.Option(min=0, max=100_000, show_default=False)]
SizeMb = Annotated[int | None, typer.Option(min=0, max=5, show_default=False)]
AttachmentMb = Annotated[int | None, typer.Option(min=0, max=10, show_default=False)]


def _side(max_invoices: int | None, size: int | None, attachment: int | None) -> dict[str, int]:
    fields = {
        "max_invoices": max_invoices,
        "max_invoice_size_in_mb": size,
        "max_invoice_with_attachment_size_in_mb": attachment,
    }
    return {k: v for k, v in fields.items() if v is not None}


@limits_app.command("set")
def limits_set(
    ctx: typer.Context,
    online_max_invoices: Count = None,
    online_max_size_mb: SizeMb = None,
    online_max_attachment_size_mb: AttachmentMb = None,
    batch_max_invoices: Count = None,
    batch_max_size_mb: SizeMb = None,
    batch_max_attachment_size_mb: AttachmentMb = None,
) -> None:
    """Override the logged-in context's session limits (the rest keep their values)."""
    settings = settings_of(ctx)
    online = _side(online_max_invoices, online_max_size_mb, online_max_attachment_size_mb)
    batch = _side(batch_max_invoices, batch_max_size_mb, batch_max_attachment_size_mb)
    if not online and not batch:
        raise typer.BadParameter("give at least one --online-* or --batch-* limit")
    with authenticated_client(settings) as client:
        client.testdata.set_session_limits(online=online or None, batch=batch or None)
    changes = [f"online {k}={v}" for k, v in online.items()]
    changes += [f"batch {k}={v}" for k, v in batch.items()]
    _done(settings, "session limits set: " + ", ".join(changes), {"online": online, "batch": batch})


@limits_app.command("reset")
def limits_reset(ctx: typer.Context) -> None:
    """Restore the default session limits of the logged-in context."""
    settings = settings_of(ctx)
    with authenticated_client(settings) as client:
        client.testdata.reset_session_limits()
    _done(settings, "session limits restored to the defaults", {"reset": True})


@rates_app.command("set")
def rates_set(
    ctx: typer.Context,
    limits: Annotated[
        list[str],
        typer.Argument(
            help="GROUP=SECOND/MINUTE/HOUR, e.g. invoiceSend=2/10/100 (groups as in "
            "`ksefkit limits rate`)."
        ),
    ],
) -> None:
    """Override the logged-in context's API rate limits (other groups keep their values)."""
    settings = settings_of(ctx)
    table = dict(_rate(item) for item in limits)
    with authenticated_client(settings) as client:
        try:
            client.testdata.set_rate_limits(table)
        except ConfigurationError as error:  # an unknown group: the caller's typo (usage)
            raise typer.BadParameter(str(error)) from None
    changes = [f"{group}={s}/{m}/{h}" for group, (s, m, h) in table.items()]
    _done(settings, "rate limits set: " + ", ".join(changes), {"set": table})


@rates_app.command("production")
def rates_production(ctx: typer.Context) -> None:
    """Apply the production rate limits to the logged-in context."""
    settings = settings_of(ctx)
    with authenticated_client(settings) as client:
        client.testdata.use_production_rate_limits()
    _done(settings, "production rate limits applied", {"production": True})


@rates_app.command("reset")
def rates_reset(ctx: typer.Context) -> None:
    """Restore the environment's default rate limits for the logged-in context."""
    settings = settings_of(ctx)
    with authenticated_client(settings) as client:
        client.testdata.reset_rate_limits()
    _done(settings, "rate limits restored to the defaults", {"reset": True})


def _rate(item: str) -> tuple[str, tuple[int, int, int]]:
    group, sep, values = item.partition("=")
    parts = values.split("/")
    if not sep or not group.strip() or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise typer.BadParameter(f"expected GROUP=SECOND/MINUTE/HOUR, got {item!r}")
    per_second, per_minute, per_hour = (int(p) for p in parts)
    return group.strip(), (per_second, per_minute, per_hour)
