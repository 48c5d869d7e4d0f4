"""FA(3) invoices as Python objects: typed model, parser, serializer and builder.

* :func:`parse` (XML -> :class:`Invoice`) and :meth:`Invoice.to_xml` (-> XML bytes) go
  through one declarative engine (``_xml.py``) in XSD sequence order; every official sample
  round-trips to canonically equal XML.
* :class:`InvoiceBuilder` builds invoices readably and computes the totals
  (:func:`compute_totals`);
* :func:`xsd_errors` validates against the FA(3) XSD (compiled schema cached per process);
  :func:`check` runs the business checks (sums, dates, currency, corrections, ...) and
  :func:`validate` both, as a :class:`Report`;
* :func:`render_html` renders an invoice as one printable HTML page for people.

>>> import datetime
>>> from decimal import Decimal
>>> invoice = (
...     InvoiceBuilder(seller=Party.company("9999999999", "ABC sp. z o.o.", "ul. Kwiatowa 1"),
...                    buyer=Party.company("1111111111", "XYZ S.A.", "ul. Polna 1"))
...     .number("FV/1/2026").issued(datetime.date(2026, 2, 1))
...     .line("Konsultacje", Decimal(2), Decimal("150.00"), vat_rate=23)
...     .build())
>>> parse(invoice.to_xml()) == invoice
True
>>> xsd_errors(invoice)  # doctest: +SKIP
[]
"""

from __future__ import annotations

from lxml import etree

from ..errors import InvoiceParseError
from ..formcodes import FormCode
from ..schemas import SchemaStore, default_store
from ._xml import NAMESPACE, WrittenDateTime, field_map, modelled_paths, xml_name
from .builder import InvoiceBuilder, Party, vat_rate
from .checks import Finding, Report, Severity, check, validate
from .model import (
    Address,
    AdvanceInvoiceRef,
    AdvanceOrder,
    Annotations,
    Attachment,
    AttachmentMeta,
    AttachmentText,
    AuthorizedContact,
    AuthorizedEntity,
    AuthorizedRole,
    BankAccount,
    Buyer,
    CargoType,
    Carrier,
    CashDiscount,
    ColumnType,
    Contact,
    ContractRef,
    CorrectedBuyer,
    CorrectedInvoice,
    CorrectedSeller,
    CorrectionType,
    DataBlock,
    DueDate,
    DueDateDescription,
    Exemption,
    ExtraInfo,
    Footer,
    FooterInfo,
    FormCodeValue,
    Gtu,
    Header,
    Invoice,
    InvoiceData,
    InvoiceLine,
    InvoiceType,
    MarginScheme,
    NewVehicle,
    NewVehicles,
    OrderLine,
    OrderRef,
    OwnBankAccount,
    PartialAdvance,
    PartialPayment,
    PartyId,
    Payment,
    PaymentMethod,
    Period,
    Procedure,
    Registry,
    Seller,
    SellerId,
    Settlement,
    SettlementItem,
    Table,
    TableColumn,
    TableHeader,
    TableMeta,
    TableRow,
    TableSummary,
    TaxpayerStatus,
    ThirdParty,
    ThirdPartyId,
    ThirdPartyRole,
    TransactionTerms,
    Transport,
    TransportType,
    VatRate,
)
from .render import render_html
from .totals import RATE_FIELDS, RateFields, compute_totals, round_grosze, split_gross, vat_of

__all__ = [
    "NAMESPACE",
    "RATE_FIELDS",
    "Address",
    "AdvanceInvoiceRef",
    "AdvanceOrder",
    "Annotations",
    "Attachment",
    "AttachmentMeta",
    "AttachmentText",
    "AuthorizedContact",
    "AuthorizedEntity",
    "AuthorizedRole",
    "BankAccount",
    "Buyer",
    "CargoType",
    "Carrier",
    "CashDiscount",
    "ColumnType",
    "Contact",
    "ContractRef",
    "CorrectedBuyer",
    "CorrectedInvoice",
    "CorrectedSeller",
    "CorrectionType",
    "DataBlock",
    "DueDate",
    "DueDateDescription",
    "Exemption",
    "ExtraInfo",
    "Finding",
    "Footer",
    "FooterInfo",
    "FormCodeValue",
    "Gtu",
    "Header",
    "Invoice",
    "InvoiceBuilder",
    "InvoiceData",
    "InvoiceLine",
    "InvoiceParseError",
    "InvoiceType",
    "MarginScheme",
    "NewVehicle",
    "NewVehicles",
    "OrderLine",
    "OrderRef",
    "OwnBankAccount",
    "PartialAdvance",
    "PartialPayment",
    "Party",
    "PartyId",
    "Payment",
    "PaymentMethod",
    "Period",
    "Procedure",
    "RateFields",
    "Registry",
    "Report",
    "Seller",
    "SellerId",
    "Settlement",
    "SettlementItem",
    "Severity",
    "Table",
    "TableColumn",
    "TableHeader",
    "TableMeta",
    "TableRow",
    "TableSummary",
    "TaxpayerStatus",
    "ThirdParty",
    "ThirdPartyId",
    "ThirdPartyRole",
    "TransactionTerms",
    "Transport",
    "TransportType",
    "VatRate",
    "WrittenDateTime",
    "check",
    "compute_totals",
    "field_map",
    "modelled_paths",
    "parse",
    "render_html",
    "round_grosze",
    "split_gross",
    "validate",
    "vat_of",
    "vat_rate",
    "xml_name",
    "xsd_errors",
]


def parse(xml: bytes | etree._Element) -> Invoice:
    """Parse FA(3) XML into an :class:`Invoice`.

    Raises :class:`~ksefkit.errors.InvoiceParseError` (``.path`` names the element) for XML
    that is not well-formed, not FA(3), or holds anything the model cannot represent; it
    never drops data silently. Parsing is not validation: use :func:`xsd_errors`.

    >>> parse(b"<Faktura/>")
    Traceback (most recent call last):
    ...
    ksefkit.errors.InvoiceParseError: Faktura: not an FA(3) invoice (expected \
{http://crd.gov.pl/wzor/2025/06/25/13775/}Faktura)
    """
    return Invoice.from_xml(xml)


def xsd_errors(
    invoice: Invoice | bytes | etree._Element, *, store: SchemaStore | None = None
) -> list[str]:
    """Errors of validating an invoice (model or XML) against the FA(3) XSD; [] = valid.

    The compiled schema is cached per process by the schema store (``KSEFKIT_SCHEMA_DIR``
    etc., see :mod:`ksefkit.schemas`).

    >>> xsd_errors(b"<Faktura/>")  # doctest: +SKIP
    ["line 1: Element 'Faktura': No matching global declaration available ..."]
    """
    xml = invoice.to_xml(pretty=False) if isinstance(invoice, Invoice) else invoice
    return (store or default_store()).validate_invoice(xml, FormCode.FA3)
