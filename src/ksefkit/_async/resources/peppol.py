"""``/peppol``: the registry of Peppol service providers (public, no authentication).

A provider is registered when it first authenticates with its provider seal in its
``PeppolId`` context; a Polish seller then authorises it (``PefInvoicing``) to send PEF invoices.

>>> async for provider in client.peppol.providers():  # doctest: +SKIP
...     print(provider.id, provider.name)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..._http import AuthKind, Operation
from ...models import PeppolProvider, QueryPeppolProvidersResponse
from .._transport import TimeoutTypes
from ._base import AsyncResource

QUERY = Operation("GET", "/peppol/query", AuthKind.NONE)


class AsyncPeppol(AsyncResource):
    """``client.peppol``: Peppol service providers."""

    async def providers(
        self, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> AsyncIterator[PeppolProvider]:
        """``GET /peppol/query``: every registered provider, all pages (newest first).

        ``page_size`` is 10-100 (KSeF's default 10).

        >>> ids = [p.id async for p in client.peppol.providers(page_size=100)]  # doctest: +SKIP
        """
        async for provider in self._offset_pages(
            QueryPeppolProvidersResponse,
            QUERY,
            lambda page: page.peppol_providers,
            page_size=page_size,
            timeout=timeout,
        ):
            yield provider

    async def page(
        self, page_offset: int = 0, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> QueryPeppolProvidersResponse:
        """``GET /peppol/query``: one page (``page_offset`` counts pages from 0).

        >>> first = await client.peppol.page(0, page_size=10)  # doctest: +SKIP
        >>> first.has_more  # doctest: +SKIP
        False
        """
        params = {"pageOffset": page_offset, "pageSize": page_size}
        return await self._get_model(
            QueryPeppolProvidersResponse, QUERY, params=params, timeout=timeout
        )
