"""Invoice facts: the handful of values KSeF reads from an invoice document.

Owns :func:`extract_facts`, the one place that knows where seller, buyer, number, dates and
totals live in FA(2), FA(3), FA_RR(1) and PEF (UBL) documents. The emulator calls it for every
invoice it processes (duplicate check, metadata, UPO), so it parses once, safely (no entities,
no network) and walks children directly instead of evaluating XPath.

Conventions, documented because they are choices:

* ``invoice_type`` is ``Fa/RodzajFaktury`` as written (``"VAT"``, ``"KOR"``, ``"ZAL"``, ...);
  FA_RR gives ``"VAT_RR"``/``"KOR_VAT_RR"``; PEF gives ``"VAT_PEF"`` for a UBL ``Invoice`` and
  ``"KOR_PEF"`` for a ``CreditNote``. Every value turns into the metadata ``invoiceType``
  by CamelCasing its parts (``KOR_ZAL`` -> ``KorZal``, ``VAT_RR`` -> ``VatRr``).
* In FA_RR the invoice is issued by the buyer of agricultural products (``Podmiot2``,
  *nabywca*) for a flat-rate farmer (``Podmiot1``, *dostawca*). ``seller_nip`` is the
  **issuing** party (``Podmiot2``) and ``buyer_nip`` the farmer (``Podmiot1``), so that
  permission checks and duplicate detection key on the party that sends the invoice.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..formcodes import FormCode

__all__ = ["InvoiceFacts", "extract_facts"]

_BY_NAMESPACE: dict[str, FormCode] = {member.value.namespace: member for member in FormCode}
_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
_CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
_UBL_ROOTS = {"Invoice": "VAT_PEF", "CreditNote": "KOR_PEF"}

_local = threading.local()


@dataclass(frozen=True)
class InvoiceFacts:
    """What :func:`extract_facts` found; ``None`` where the document does not say."""

    namespace: str
    root: str
    form_code: FormCode | None
    seller_nip: str | None
    buyer_nip: str | None
    invoice_type: str | None
    invoice_number: str | None
    issue_date: datetime.date | None
    currency: str | None
    gross_amount: Decimal | None
    has_attachment: bool


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; the emulator processes in threads.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False
        )
        _local.parser = parser
    return parser


def _path(element: etree._Element | None, ns: str, *names: str) -> etree._Element | None:
    for name in names:
        if element is None:
            return None
        element = element.find(ns + name)
    return element


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _date(text: str | None) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _party_nip(root: etree._Element, ns: str, party: str) -> str | None:
    return _text(_path(root, ns, party, "DaneIdentyfikacyjne", "NIP"))


def _fa_facts(root: etree._Element, ns: str, local: str, form: FormCode | None) -> InvoiceFacts:
    is_rr = form is FormCode.FA_RR1 or root.find(ns + "FakturaRR") is not None
    body = root.find(ns + ("FakturaRR" if is_rr else "Fa"))
    if is_rr:
        seller, buyer = _party_nip(root, ns, "Podmiot2"), _party_nip(root, ns, "Podmiot1")
        number, issued, gross = "P_4C", "P_4B", "P_12_1"
    else:
        seller, buyer = _party_nip(root, ns, "Podmiot1"), _party_nip(root, ns, "Podmiot2")
        number, issued, gross = "P_2", "P_1", "P_15"
    return InvoiceFacts(
        namespace=ns[1:-1],
        root=local,
        form_code=form,
        seller_nip=seller,
        buyer_nip=buyer,
        invoice_type=_text(_path(body, ns, "RodzajFaktury")),
        invoice_number=_text(_path(body, ns, number)),
        issue_date=_date(_text(_path(body, ns, issued))),
        currency=_text(_path(body, ns, "KodWaluty")),
        gross_amount=_decimal(_text(_path(body, ns, gross))),
        has_attachment=root.find(ns + "Zalacznik") is not None,
    )


def _ubl_company_id(root: etree._Element, party_role: str) -> str | None:
    party = _path(root, _CAC, party_role, "Party")
    if party is None:
        return None
    for scheme in party.iterfind(_CAC + "PartyTaxScheme"):
        value = _text(scheme.find(_CBC + "CompanyID"))
        if value:
            return value[2:] if value.upper().startswith("PL") else value
    return None


def _ubl_facts(root: etree._Element, ns: str, local: str, form: FormCode | None) -> InvoiceFacts:
    total = _path(root.find(_CAC + "LegalMonetaryTotal"), _CBC, "TaxInclusiveAmount")
    return InvoiceFacts(
        namespace=ns[1:-1],
        root=local,
        form_code=form,
        seller_nip=_ubl_company_id(root, "AccountingSupplierParty"),
        buyer_nip=_ubl_company_id(root, "AccountingCustomerParty"),
        invoice_type=_UBL_ROOTS[local],
        invoice_number=_text(root.find(_CBC + "ID")),
        issue_date=_date(_text(root.find(_CBC + "IssueDate"))),
        currency=_text(root.find(_CBC + "DocumentCurrencyCode")),
        gross_amount=_decimal(_text(total)),
        has_attachment=False,
    )


def extract_facts(xml: bytes) -> InvoiceFacts:
    """Read seller, buyer, type, number, dates, currency, gross total and attachment flag.

    Raises ``ValueError`` when ``xml`` is not well-formed. Never validates: a document in
    an unknown namespace still yields what can be found (``form_code`` is then ``None``).

    >>> from ksefkit.invoices.generate import generate_fa3
    >>> facts = extract_facts(generate_fa3(seller_nip="5265877635", buyer_nip="7740001454",
    ...     invoice_number="FV/1/2026", issue_date=datetime.date(2026, 2, 1)))
    >>> facts.form_code is FormCode.FA3, facts.seller_nip, facts.invoice_number
    (True, '5265877635', 'FV/1/2026')
    """
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"invoice is not well-formed XML: {exc}") from exc
    qname = etree.QName(root)
    namespace, local = qname.namespace or "", qname.localname
    form = _BY_NAMESPACE.get(namespace)
    ns = f"{{{namespace}}}" if namespace else ""
    if local in _UBL_ROOTS and (form is None or form in (FormCode.PEF3, FormCode.PEF_KOR3)):
        return _ubl_facts(root, ns, local, form)
    return _fa_facts(root, ns, local, form)
