"""The rules of a technical correction (KSEF_API.md §13.2, ``offline/korekta-techniczna.md``)
that can be checked locally, before KSeF is asked.

A technical correction re-sends an **offline** invoice KSeF **rejected** for a technical
reason (schema, size, duplicate, other validation preventing a KSeF number) as a fixed XML —
a different document, hence a different SHA-256 — in an online session with
``offlineMode: true`` and ``hashOfCorrectedInvoice`` = the original's hash. It never applies
to missing permissions (status 410) nor to changing the invoice's content, and an original
has at most one accepted correction. KSeF then links the two, so the original's KOD I leads
to the corrected invoice.

>>> problems = correction_problems(None, "A" * 43 + "=", b"<not-xml")
>>> problems[0].startswith("the fixed invoice is not an invoice")
True
"""

from __future__ import annotations

from ..crypto import sha256_b64
from ..invoices.facts import InvoiceFacts, extract_facts
from .queue import QueueEntry

__all__ = ["NOT_TECHNICAL", "correction_problems"]

#: Invoice statuses a technical correction cannot fix: 410 is a permission failure
#: (self-invoicing, JST, VAT group relations): "korekta techniczna nie dotyczy" those.
NOT_TECHNICAL = frozenset({410})


def correction_problems(
    original: QueueEntry | None, original_hash: str, fixed_xml: bytes
) -> list[str]:
    """Every reason KSeF would refuse ``fixed_xml`` as the technical correction of the
    invoice whose SHA-256 is ``original_hash`` (its queue entry, when known, adds the
    checks on its status and content). An empty list: nothing known stands in the way.
    """
    problems: list[str] = []
    if sha256_b64(fixed_xml) == original_hash:
        problems.append(
            "the fixed invoice is the original itself (same SHA-256): a technical correction"
            " sends a corrected document"
        )
    try:
        facts: InvoiceFacts | None = extract_facts(fixed_xml)
    except ValueError as exc:
        problems.append(f"the fixed invoice is not an invoice: {exc}")
        facts = None
    if original is not None:
        problems.extend(_status_problems(original))
        if facts is not None:
            problems.extend(_content_problems(original, facts))
    return problems


def _status_problems(original: QueueEntry) -> list[str]:
    if original.corrects is not None:
        return [
            f"entry {original.id} is itself a technical correction: correct the original"
            f" invoice ({original.corrects}) instead"
        ]
    if original.status == "accepted":
        return [
            f"the original was accepted (KSeF number {original.ksef_number}): only rejected"
            " invoices get a technical correction (KSeF: 21167)"
        ]
    if original.status == "corrected":
        return [
            f"the original already has an accepted technical correction ({original.corrected_by})"
            " (KSeF: 21166)"
        ]
    if original.status != "rejected":
        return [
            f"the original is {original.status}, not rejected: send it and wait for KSeF's"
            " verdict first"
        ]
    if original.status_code in NOT_TECHNICAL:
        return [
            f"the original was rejected for missing permissions ({original.status_code}):"
            " a technical correction does not apply"
        ]
    return []


def _content_problems(original: QueueEntry, facts: InvoiceFacts) -> list[str]:
    """The same invoice, fixed: a correction must not change who issued it or when."""
    problems = []
    if facts.seller_nip != original.seller_nip:
        problems.append(
            f"the fixed invoice's seller NIP {facts.seller_nip} differs from the original's"
            f" {original.seller_nip}"
        )
    if facts.issue_date != original.issue_date:
        problems.append(
            f"the fixed invoice's issue date (P_1) {facts.issue_date} differs from the"
            f" original's {original.issue_date}"
        )
    return problems
