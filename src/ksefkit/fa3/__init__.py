"""FA(3) invoices as Python objects: typed model, parser, serializer and builder.

Work in progress (issue 9, H9a). Planned public API, see ``docs/fa3.md``:

* ``parse(xml: bytes) -> Invoice`` and ``Invoice.to_xml() -> bytes``;
* ``InvoiceBuilder(seller=Party..., buyer=Party...)...build() -> Invoice``;
* ``xsd_errors(xml) -> list[str]``;
* the model classes (``Invoice``, ``Header``, ``Seller``, ``Buyer``, ``ThirdParty``,
  ``InvoiceData``, ``InvoiceLine``, ``Annotations``, ``Payment``, ...) and code-list enums
  (``VatRate``, ``InvoiceType``, ``PaymentMethod``, ...).
"""

from __future__ import annotations

__all__: list[str] = []
