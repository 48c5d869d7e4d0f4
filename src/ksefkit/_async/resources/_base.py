"""What every resource shares: the transport and a continuation-token pager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from ..._http import Operation
from ...models._base import KsefModel
from .._transport import AsyncHttp, TimeoutTypes

T = TypeVar("T")
P = TypeVar("P", bound=KsefModel)


class AsyncResource:
    """Base of the resource classes: holds the transport."""

    def __init__(self, http: AsyncHttp) -> None:
        self._http = http

    async def _get_model(
        self,
        model: type[P],
        operation: Operation,
        *,
        timeout: TimeoutTypes = None,
        **kwargs: Any,
    ) -> P:
        response = await self._http.request(operation, timeout=timeout, **kwargs)
        return model.model_validate(response.json())

    async def _pages(
        self,
        model: type[P],
        operation: Operation,
        items: Callable[[P], list[T]],
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[T]:
        """Yield every item of every page, following ``x-continuation-token``."""
        token: str | None = None
        while True:
            headers = {"x-continuation-token": token} if token else None
            page = await self._get_model(
                model,
                operation,
                path_params=path_params,
                params=params,
                headers=headers,
                timeout=timeout,
            )
            for item in items(page):
                yield item
            token = getattr(page, "continuation_token", None)
            if not token:
                return

    async def _offset_pages(
        self,
        model: type[P],
        operation: Operation,
        items: Callable[[P], list[T]],
        *,
        page_size: int | None = None,
        json: Any = None,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[T]:
        """Yield every item of every page of a ``pageOffset``/``pageSize`` + ``hasMore`` list.

        ``pageOffset`` is a page number (0, 1, 2, ...), not an item offset. A page that says
        ``hasMore`` but holds no items ends the walk, so a misbehaving server cannot loop us.
        """
        offset = 0
        while True:
            query = {**(params or {}), "pageOffset": offset, "pageSize": page_size}
            page = await self._get_model(
                model,
                operation,
                path_params=path_params,
                params=query,
                json=json,
                timeout=timeout,
            )
            batch = items(page)
            for item in batch:
                yield item
            if not getattr(page, "has_more", False) or not batch:
                return
            offset += 1
