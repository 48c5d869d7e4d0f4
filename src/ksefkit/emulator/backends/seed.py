"""Bulk test data: accepted FA(3) invoices inserted straight into the store.

:func:`seed_invoices` skips the pipeline (no session, no encryption, no UPO) so that 10 000
invoices take a few seconds. Every invoice gets a valid KSeF number, cached metadata and dates
spread evenly over ``[start, end]`` (``permanentStorageDate``; acquisition 0.5 s and invoicing
1.5 s earlier). Invoices come in groups of ``tie_group`` sharing one ``permanentStorageDate`` so
tie-breaking by KSeF number is exercised. Seeded dates may lie at or below an HWM already
reported: this is test data, not a stream the HWM guarantee covers.

By default every invoice is the same three-line VAT invoice (tests pin its amounts); with
``variety=True`` the invoices come from :func:`ksefkit.invoices.realistic.invoice_mix`, built
with the FA(3) builder: several VAT rates and units, payment terms, every 5th in a foreign
currency, every 7th a correction (KOR) of an earlier seeded invoice naming its KSeF number.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...crypto import sha256_b64
from ...fa3 import Invoice
from ...identifiers import make_ksef_number
from ...invoices.generate import generate_fa3
from ...invoices.realistic import company, invoice_mix
from ..clock import isoformat, warsaw_date
from ..errors import validation_error
from .metadata import Derived, build_metadata, derive_metadata

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["seed_invoices"]

_CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MAX_SEED = 200_000


def _mix(
    seller_nip: str,
    buyer_nip: str,
    issue_days: list[dt.date],
    numbers: list[str],
    ksef_numbers: list[str],
    tag: str,
) -> Iterator[Invoice]:
    rng = random.Random(tag)  # reproducible for one seeding call
    return invoice_mix(
        company(seller_nip, rng),
        company(buyer_nip, rng),
        len(numbers),
        issue_date=issue_days.__getitem__,
        number=numbers.__getitem__,
        ksef_number=ksef_numbers.__getitem__,
        rng=rng,
        created_at=_CREATED,
    )


def _extra_parties(third_subject_nip: str | None, authorized_nip: str | None) -> bytes:
    parts = []
    if third_subject_nip:
        parts.append(
            "<Podmiot3><DaneIdentyfikacyjne><NIP>"
            f"{third_subject_nip}</NIP><Nazwa>Odbiorca Testowy</Nazwa></DaneIdentyfikacyjne>"
            "<Rola>2</Rola></Podmiot3>"
        )
    if authorized_nip:
        parts.append(
            "<PodmiotUpowazniony><DaneIdentyfikacyjne><NIP>"
            f"{authorized_nip}</NIP><Nazwa>Przedstawiciel Testowy</Nazwa>"
            "</DaneIdentyfikacyjne><Adres><KodKraju>PL</KodKraju><AdresL1>ul. Krótka 1"
            "</AdresL1></Adres><RolaPU>3</RolaPU></PodmiotUpowazniony>"
        )
    return "".join(parts).encode()


def seed_invoices(
    state: EmulatorState,
    count: int,
    *,
    seller_nip: str,
    buyer_nip: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    third_subject_nip: str | None = None,
    authorized_nip: str | None = None,
    currency: str = "PLN",
    tie_group: int = 3,
    variety: bool = False,
) -> int:
    """Insert ``count`` accepted invoices; returns how many were inserted.

    ``end`` defaults to now, ``start`` to 30 days before ``end``. ``currency`` is that of the
    uniform invoices; ``variety=True`` seeds the realistic mix instead (see the module).

    >>> seed_invoices(state, 100, seller_nip="5265877635", buyer_nip="7740001454")  # doctest: +SKIP
    100
    """
    if count < 0 or count > MAX_SEED:
        raise validation_error(f"count: oczekiwano liczby od 0 do {MAX_SEED}.")
    if tie_group < 1:
        raise validation_error("tie_group: oczekiwano liczby dodatniej.")
    end = (end or state.clock.now()).astimezone(dt.UTC)
    start = (start or end - dt.timedelta(days=30)).astimezone(dt.UTC)
    if end < start:
        raise validation_error("from: data początkowa jest późniejsza niż końcowa.")
    if count == 0:
        return 0
    slots = (count + tie_group - 1) // tie_group
    step = (end - start) / max(slots - 1, 1)
    session = state.ids.reference("SO", state.today())
    tag = state.ids.hex(6)
    extra = _extra_parties(third_subject_nip, authorized_nip)
    rows: list[tuple[Any, ...]] = []
    derived: Derived | None = None
    stored_at = [start + step * (i // tie_group) if slots > 1 else end for i in range(count)]
    # acquisition 0.5 s and invoicing 1.5 s before storage; the issue day is the invoicing day
    issue_days = [warsaw_date(s - dt.timedelta(seconds=1.5)) for s in stored_at]
    ksef_numbers = [make_ksef_number(seller_nip, day, state.ids.hex(12)) for day in issue_days]
    numbers = [f"SEED/{tag}/{i + 1}" for i in range(count)]
    mix = _mix(seller_nip, buyer_nip, issue_days, numbers, ksef_numbers, tag) if variety else None
    for i in range(count):
        stored = stored_at[i]
        acquired = stored - dt.timedelta(seconds=0.5)
        invoicing = acquired - dt.timedelta(seconds=1)
        issue = issue_days[i]
        number = numbers[i]
        kind = "VAT"
        if mix is None:
            xml = generate_fa3(
                seller_nip=seller_nip,
                buyer_nip=buyer_nip,
                invoice_number=number,
                issue_date=issue,
                currency=currency,
                created_at=_CREATED,
            )
        else:
            invoice = next(mix)
            kind = invoice.fa.invoice_type.value
            xml = invoice.to_xml(pretty=False)
        if extra:
            xml = xml.replace(b"<Fa>", extra + b"<Fa>", 1)
        ksef_number = ksef_numbers[i]
        row = {
            "ksef_number": ksef_number,
            "issue_date": issue.isoformat(),
            "invoicing_date": isoformat(invoicing),
            "acquisition_date": isoformat(acquired),
            "permanent_storage_date": isoformat(stored),
            "invoicing_mode": "Online",
            "form_code": "FA3",
            "invoice_hash": sha256_b64(xml),
            "hash_of_corrected": None,
        }
        if derived is None or mix is not None:  # uniform invoices share parties and amounts
            derived = derive_metadata(xml)
        derived.fields["invoiceNumber"] = number
        meta = build_metadata(row, derived)
        rows.append(
            (
                state.ids.reference("EE", issue),
                session,
                i + 1,
                row["invoice_hash"],
                len(xml),
                row["invoicing_date"],
                xml,
                ksef_number,
                number,
                seller_nip,
                kind,
                row["issue_date"],
                row["acquisition_date"],
                row["permanent_storage_date"],
                json.dumps(meta, ensure_ascii=False),
                derived.buyer_nip,
                "|" + "|".join(derived.third_ids) + "|" if derived.third_ids else None,
                derived.authorized_nip,
            )
        )
    store = state.store
    with store.tx():
        for values in rows:
            store.run(
                "INSERT INTO invoices (reference_number, session_reference, ordinal_number,"
                " invoice_hash, invoice_size, offline_mode, invoicing_date, status_code,"
                " status_description, xml, ksef_number, invoice_number, seller_nip,"
                " invoice_type, issue_date, acquisition_date, permanent_storage_date,"
                " invoicing_mode, form_code, metadata, buyer_nip, third_ids, authorized_nip)"
                " VALUES (?, ?, ?, ?, ?, 0, ?, 200, 'Sukces', ?, ?, ?, ?, ?, ?, ?, ?,"
                " 'Online', 'FA3', ?, ?, ?, ?)",
                values,
            )
    return count
