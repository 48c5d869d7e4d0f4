"""``/collective-identifiers``: one payment identifier for many invoices of one seller.

A collective identifier (``<seller NIP>-IZYYYYMM-<12 hex>-<CRC-8>``) groups up to 500 invoices
of the same seller, optionally with the amount and currency paid for each, so a buyer can pay
them with one transfer. Each operation needs ``InvoiceRead``, ``InvoiceWrite`` or
``CollectiveIdentifierManage`` in the current context.

>>> created = await client.collective_identifiers.create([ksef_1, ksef_2])  # doctest: +SKIP
>>> async for item in client.collective_identifiers.invoices(  # doctest: +SKIP
...     created.collective_identifier_number
... ):
...     print(item.ksef_number, item.payment)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

from ..._http import Operation
from ...errors import ConfigurationError
from ...models import (
    CollectiveIdentifierInvoice,
    CollectiveIdentifierInvoicesQueryResponse,
    CollectiveIdentifierInvoicesQueryResponseItem,
    CollectiveIdentifiersByKsefNumberQueryResponse,
    CollectiveIdentifiersByKsefNumberQueryResponseItem,
    CollectiveIdentifiersQueryRequest,
    CollectiveIdentifiersQueryResponse,
    CollectiveIdentifiersQueryResponseItem,
    GenerateCollectiveIdentifierRequest,
    GenerateCollectiveIdentifierResponse,
)
from .._transport import TimeoutTypes
from ._base import AsyncResource

GENERATE = Operation("POST", "/collective-identifiers")
# A query changes nothing, so it may be retried like a GET.
QUERY = Operation("POST", "/collective-identifiers/query", idempotent=True)
INVOICES = Operation("GET", "/collective-identifiers/{number}/invoices")
BY_KSEF_NUMBER = Operation("GET", "/collective-identifiers/ksef/{ksef_number}")

#: Longest ``dateCreatedFrom``..``dateCreatedTo`` range KSeF answers in one query.
MAX_QUERY_RANGE = dt.timedelta(days=100)


class AsyncCollectiveIdentifiers(AsyncResource):
    """``client.collective_identifiers``: create and look up collective identifiers."""

    async def create(
        self,
        invoices: Sequence[str | CollectiveIdentifierInvoice],
        *,
        timeout: TimeoutTypes = None,
    ) -> GenerateCollectiveIdentifierResponse:
        """``POST /collective-identifiers``: a new identifier for up to 500 invoices.

        ``invoices`` are KSeF numbers, or :class:`~ksefkit.models.CollectiveIdentifierInvoice`
        with a ``payment`` (amount, currency) and a ``description``. All must be invoices of
        one seller that the current context can see; KSeF answers 71001 for one it cannot
        assign and 71002 for one already in the most identifiers allowed (132 per context).

        >>> from ksefkit.models import CollectiveIdentifierInvoice as Item
        >>> from ksefkit.models import CollectiveIdentifierInvoicePayment as Payment
        >>> item = Item(ksef_number="5265877635-20250826-0100001AF629-AF",
        ...             payment=Payment(amount=123.0, currency="PLN"))
        >>> created = await client.collective_identifiers.create([item])  # doctest: +SKIP
        """
        items = [
            i
            if isinstance(i, CollectiveIdentifierInvoice)
            else CollectiveIdentifierInvoice(ksef_number=i)
            for i in invoices
        ]
        body = GenerateCollectiveIdentifierRequest(invoices=items)
        return await self._get_model(
            GenerateCollectiveIdentifierResponse, GENERATE, json=body.to_wire(), timeout=timeout
        )

    async def query(
        self,
        date_created_from: dt.datetime,
        date_created_to: dt.datetime | None = None,
        *,
        collective_identifier_number: str | None = None,
        invoice_count_from: int | None = None,
        invoice_count_to: int | None = None,
        created_in_current_context: bool | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[CollectiveIdentifiersQueryResponseItem]:
        """``POST /collective-identifiers/query``: the identifiers created in this context
        (and, in a NIP context, those of its own invoices), all pages, newest first.

        KSeF answers at most 100 days at a time; a longer range (``date_created_to`` defaults
        to now) is walked in 100-day windows, newest first, each identifier yielded once.

        >>> since = datetime.now(UTC) - timedelta(days=365)  # doctest: +SKIP
        >>> found = [i async for i in client.collective_identifiers.query(since)]  # doctest: +SKIP
        """
        for name, value in (
            ("date_created_from", date_created_from),
            ("date_created_to", date_created_to),
        ):
            if value is not None and value.tzinfo is None:
                # A naive time is ambiguous (Warsaw or UTC?) and cannot be compared with now.
                raise ConfigurationError(f"{name}: give an aware datetime, not {value.isoformat()}")
        end = date_created_to or dt.datetime.now(dt.UTC)
        seen: set[str] = set()
        while True:
            start = max(date_created_from, end - MAX_QUERY_RANGE)
            body = CollectiveIdentifiersQueryRequest(
                collective_identifier_number=collective_identifier_number,
                date_created_from=start,
                date_created_to=end,
                invoice_count_from=invoice_count_from,
                invoice_count_to=invoice_count_to,
                created_in_current_context=created_in_current_context,
            )
            async for item in self._continued(QUERY, body, page_size, timeout):
                # Windows share their boundary instant: an identifier created exactly then
                # is in both answers.
                if item.collective_identifier_number not in seen:
                    seen.add(item.collective_identifier_number)
                    yield item
            if start <= date_created_from:
                return
            end = start

    async def _continued(
        self,
        operation: Operation,
        body: CollectiveIdentifiersQueryRequest,
        page_size: int | None,
        timeout: TimeoutTypes,
    ) -> AsyncIterator[CollectiveIdentifiersQueryResponseItem]:
        """Every page of one query window (the continuation token travels in a header)."""
        token: str | None = None
        while True:
            page = await self._get_model(
                CollectiveIdentifiersQueryResponse,
                operation,
                json=body.to_wire(),
                params={"pageSize": page_size},
                headers={"x-continuation-token": token} if token else None,
                timeout=timeout,
            )
            for item in page.collective_identifiers:
                yield item
            token = page.continuation_token
            if not token:
                return

    async def invoices(
        self,
        collective_identifier_number: str,
        *,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[CollectiveIdentifierInvoicesQueryResponseItem]:
        """``GET /collective-identifiers/{number}/invoices``: its invoices, all pages.

        Payment details are shown only to the context that created the identifier or that
        plays a role on the invoice; otherwise ``details_hidden`` is true.

        >>> number = "1111111111-IZ202607-65ED02180000-E7"
        >>> items = client.collective_identifiers.invoices(number)  # doctest: +SKIP
        >>> paid = [i.ksef_number async for i in items if i.payment]  # doctest: +SKIP
        """
        async for item in self._pages(
            CollectiveIdentifierInvoicesQueryResponse,
            INVOICES,
            lambda page: page.invoices,
            path_params={"number": collective_identifier_number},
            params={"pageSize": page_size},
            timeout=timeout,
        ):
            yield item

    async def by_ksef_number(
        self, ksef_number: str, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> AsyncIterator[CollectiveIdentifiersByKsefNumberQueryResponseItem]:
        """``GET /collective-identifiers/ksef/{ksefNumber}``: the identifiers holding an
        invoice, all pages, newest first.

        >>> async for ci in client.collective_identifiers.by_ksef_number(number):  # doctest: +SKIP
        ...     print(ci.collective_identifier_number, ci.created_in_current_context)
        """
        async for item in self._pages(
            CollectiveIdentifiersByKsefNumberQueryResponse,
            BY_KSEF_NUMBER,
            lambda page: page.collective_identifiers,
            path_params={"ksef_number": ksef_number},
            params={"pageSize": page_size},
            timeout=timeout,
        ):
            yield item
