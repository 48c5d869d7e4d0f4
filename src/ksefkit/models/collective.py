"""Wire models of ``/collective-identifiers*``: collective payment identifiers grouping invoices.
Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the ``StrEnum``
classes list the known values.
"""

from __future__ import annotations

from datetime import datetime

from ksefkit.models._base import KsefModel

__all__ = [
    "CollectiveIdentifierInvoice",
    "CollectiveIdentifierInvoicePayment",
    "CollectiveIdentifierInvoicesQueryResponse",
    "CollectiveIdentifierInvoicesQueryResponseItem",
    "CollectiveIdentifierInvoicesQueryResponseItemPayment",
    "CollectiveIdentifiersByKsefNumberQueryResponse",
    "CollectiveIdentifiersByKsefNumberQueryResponseItem",
    "CollectiveIdentifiersQueryRequest",
    "CollectiveIdentifiersQueryResponse",
    "CollectiveIdentifiersQueryResponseItem",
    "GenerateCollectiveIdentifierRequest",
    "GenerateCollectiveIdentifierResponse",
]


class CollectiveIdentifierInvoicePayment(KsefModel):
    """Nested in ``CollectiveIdentifierInvoice``."""

    amount: float
    currency: str  # CurrencyCode


class CollectiveIdentifierInvoice(KsefModel):
    """Nested in ``GenerateCollectiveIdentifierRequest``."""

    ksef_number: str
    payment: CollectiveIdentifierInvoicePayment | None = None
    description: str | None = None


class CollectiveIdentifierInvoicesQueryResponseItemPayment(KsefModel):
    """Nested in ``CollectiveIdentifierInvoicesQueryResponseItem``."""

    amount: float
    currency: str


class CollectiveIdentifierInvoicesQueryResponseItem(KsefModel):
    """Nested in ``CollectiveIdentifierInvoicesQueryResponse``."""

    ksef_number: str
    payment: CollectiveIdentifierInvoicesQueryResponseItemPayment | None = None
    description: str | None = None
    details_hidden: bool


class CollectiveIdentifierInvoicesQueryResponse(KsefModel):
    """Response body of ``GET /collective-identifiers/{collectiveIdentifierNumber}/invoices``
    (200).
    """

    continuation_token: str | None = None
    invoices: list[CollectiveIdentifierInvoicesQueryResponseItem]


class CollectiveIdentifiersByKsefNumberQueryResponseItem(KsefModel):
    """Nested in ``CollectiveIdentifiersByKsefNumberQueryResponse``."""

    collective_identifier_number: str
    created_in_current_context: bool
    date_created: datetime


class CollectiveIdentifiersByKsefNumberQueryResponse(KsefModel):
    """Response body of ``GET /collective-identifiers/ksef/{ksefNumber}`` (200)."""

    continuation_token: str | None = None
    collective_identifiers: list[CollectiveIdentifiersByKsefNumberQueryResponseItem]


class CollectiveIdentifiersQueryRequest(KsefModel):
    """Request body of ``POST /collective-identifiers/query``."""

    collective_identifier_number: str | None = None
    date_created_from: datetime
    date_created_to: datetime
    invoice_count_from: int | None = None
    invoice_count_to: int | None = None
    created_in_current_context: bool | None = None


class CollectiveIdentifiersQueryResponseItem(KsefModel):
    """Nested in ``CollectiveIdentifiersQueryResponse``."""

    collective_identifier_number: str
    date_created: datetime
    invoice_count: int
    created_in_current_context: bool


class CollectiveIdentifiersQueryResponse(KsefModel):
    """Response body of ``POST /collective-identifiers/query`` (200)."""

    continuation_token: str | None = None
    collective_identifiers: list[CollectiveIdentifiersQueryResponseItem]


class GenerateCollectiveIdentifierRequest(KsefModel):
    """Request body of ``POST /collective-identifiers``."""

    invoices: list[CollectiveIdentifierInvoice]


class GenerateCollectiveIdentifierResponse(KsefModel):
    """Response body of ``POST /collective-identifiers`` (201)."""

    collective_identifier_number: str
