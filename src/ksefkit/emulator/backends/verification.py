"""What scanning a KSeF QR code shows (KSEF_API.md §13.2–13.4): the verdicts behind the
emulator's ``/qr/invoice/...`` (KOD I) and ``/qr/certificate/...`` (KOD II) pages.

* **KOD I** (:func:`invoice_verdict`): the link's hash is looked up among the invoices KSeF
  received. ``Found`` (valid) — an accepted invoice with that hash, the link's seller NIP and
  issue date ``P_1``, shown with its KSeF number and basic data; ``Corrected`` — the hash is
  an original that an accepted technical correction replaced (the correction's own KOD I link
  is given, as KSeF redirects there); ``Processing`` — still being processed; ``Rejected`` —
  KSeF refused it (its status code and description); ``NotFound`` — nothing with that hash
  for that seller and date (a forged or mistyped link: any NIP, date or hash change ends
  here); ``Malformed`` — not a KOD I link at all.
* **KOD II** (:func:`certificate_verdict`): ``state.certificates.verify_link`` (the
  certificate exists, is ``Offline``, usable, the signature verifies, the issuer holds
  ``InvoiceWrite`` in the context and the context may issue for the seller); ``Valid`` or
  ``Invalid`` with the reason; ``Malformed`` — not a KOD II link at all.

Decisions where KSeF is silent: a rejected invoice is named as rejected (KSeF's page shows
only "not found") because that is what a developer scanning a test invoice needs to know;
the seller and date of a ``Corrected`` original are checked against the correction (which
must have the original's seller); an invoice is ``Found`` from status 200 on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ...qr import CertificateLink, InvoiceLink, invoice_link, parse_link
from .metadata import metadata_for

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["MALFORMED", "LinkPage", "certificate_verdict", "invoice_verdict"]

#: The status of a link that is no KOD I / KOD II link at all (any page).
MALFORMED = "Malformed"

#: Fields of ``InvoiceMetadata`` a KOD I page shows (the "basic data" of §13.3).
_BASIC = (
    "ksefNumber",
    "invoiceNumber",
    "issueDate",
    "seller",
    "buyer",
    "netAmount",
    "vatAmount",
    "grossAmount",
    "currency",
    "invoiceType",
    "invoicingMode",
    "acquisitionDate",
    "hashOfCorrectedInvoice",
)
_PENDING = (100, 150)


@dataclass(frozen=True)
class LinkPage:
    """The verdict of one scanned link, ready for the page (:meth:`to_json`)."""

    kind: Literal["invoice", "certificate"]
    link: str
    valid: bool
    status: str
    detail: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of the page (``kind``, ``link``, ``valid``, ``status``,
        ``detail`` and the fields of the link and what it names)."""
        return {
            "kind": self.kind,
            "link": self.link,
            "valid": self.valid,
            "status": self.status,
            "detail": self.detail,
            **self.fields,
        }


def invoice_verdict(state: EmulatorState, link: str) -> LinkPage:
    """What scanning the KOD I ``link`` shows (see the module docstring).

    >>> from ksefkit.emulator.state import EmulatorState
    >>> state = EmulatorState(processing="manual")
    >>> digest = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
    >>> invoice_verdict(state, f"http://x/qr/invoice/1111111111/01-02-2026/{digest}").status
    'NotFound'
    >>> invoice_verdict(state, "http://x/qr/invoice/1111111111/01-02-2026/bad").status
    'Malformed'
    >>> state.close()
    """
    try:
        parsed = parse_link(link)
    except ValueError as exc:
        return LinkPage("invoice", link, False, MALFORMED, _invalid(exc))
    if not isinstance(parsed, InvoiceLink):
        return LinkPage("invoice", link, False, MALFORMED, "To nie jest link KOD I (faktury).")
    digest = parsed.invoice_hash_base64
    fields: dict[str, Any] = {
        "sellerNip": parsed.seller_nip,
        "issueDate": parsed.issue_date.isoformat(),
        "invoiceHash": digest,
    }
    rows = state.store.all(
        "SELECT * FROM invoices WHERE invoice_hash = ? ORDER BY invoicing_date DESC", (digest,)
    )
    seller, day = parsed.seller_nip, parsed.issue_date.isoformat()
    for row in rows:
        if row["status_code"] == 200 and row["seller_nip"] == seller and row["issue_date"] == day:
            meta = metadata_for(state, row)
            fields["invoice"] = {k: meta[k] for k in _BASIC if k in meta}
            return LinkPage("invoice", link, True, "Found", "Faktura znajduje się w KSeF.", fields)
    correction = state.corrections.corrected_by(digest)
    if correction is not None and correction.seller_nip == seller:
        target = None
        if correction.issue_date is not None:
            target = invoice_link(
                parsed.base_url, seller, correction.issue_date, correction.invoice_hash
            )
        fields["correctedBy"] = {
            "ksefNumber": correction.ksef_number,
            "invoiceHash": correction.invoice_hash,
            "issueDate": correction.issue_date.isoformat() if correction.issue_date else None,
            "acquisitionDate": correction.acquisition_date,
            "link": target,
        }
        return LinkPage(
            "invoice",
            link,
            False,
            "Corrected",
            "Faktura została odrzucona i zastąpiona korektą techniczną o numerze KSeF"
            f" {correction.ksef_number}.",
            fields,
        )
    mine = [r for r in rows if r["seller_nip"] in (None, seller)]
    if any(r["status_code"] in _PENDING for r in mine):
        return LinkPage(
            "invoice", link, False, "Processing", "Faktura jest w trakcie przetwarzania.", fields
        )
    rejected = [r for r in mine if r["status_code"] not in (*_PENDING, 200)]
    if rejected:
        last = rejected[0]
        fields["rejection"] = {
            "code": last["status_code"],
            "description": last["status_description"],
        }
        return LinkPage(
            "invoice",
            link,
            False,
            "Rejected",
            f"Faktura została odrzucona przez KSeF ({last['status_code']}:"
            f" {last['status_description']}).",
            fields,
        )
    return LinkPage(
        "invoice",
        link,
        False,
        "NotFound",
        f"Nie znaleziono w KSeF faktury o tym skrócie wystawionej przez {seller}"
        f" z datą wystawienia {parsed.issue_date:%d-%m-%Y}.",
        fields,
    )


def certificate_verdict(state: EmulatorState, link: str) -> LinkPage:
    """What scanning the KOD II ``link`` shows (``state.certificates.verify_link``).

    >>> certificate_verdict(state, link).valid  # doctest: +SKIP
    True
    """
    try:
        parsed = parse_link(link)
    except ValueError as exc:
        return LinkPage("certificate", link, False, MALFORMED, _invalid(exc))
    if not isinstance(parsed, CertificateLink):
        return LinkPage(
            "certificate", link, False, MALFORMED, "To nie jest link KOD II (certyfikatu)."
        )
    verdict = state.certificates.verify_link(link)
    fields: dict[str, Any] = {
        "contextIdentifier": {"type": parsed.context_type, "value": parsed.context_value},
        "sellerNip": parsed.seller_nip,
        "certificateSerialNumber": parsed.certificate_serial,
        "invoiceHash": parsed.invoice_hash_base64,
    }
    if verdict.certificate is not None:
        fields["certificate"] = verdict.certificate
    status = "Valid" if verdict.valid else "Invalid"
    return LinkPage("certificate", link, verdict.valid, status, verdict.detail, fields)


def _invalid(exc: ValueError) -> str:
    return f"Nieprawidłowy format linku weryfikacyjnego: {exc}"
