"""The one place that sends API requests: base URL, bearer tokens, retries, error mapping."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from .. import _polling
from .._http import AuthKind, Operation, map_error
from .._retry import DEFAULT_RETRY, RetryPolicy
from ..errors import ConfigurationError, KsefError, TransportError, Unauthorized
from ._tokens import AsyncTokenManager

__all__ = ["AsyncHttp"]

log = logging.getLogger("ksefkit.http")

TimeoutTypes = float | httpx.Timeout | None


class AsyncHttp:
    """Sends :class:`~ksefkit._http.Operation` requests and returns successful responses.

    Everything that is not a 2xx answer leaves as a :class:`~ksefkit.errors.KsefError`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        headers: Mapping[str, str] | None = None,
        owns_client: bool = True,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.headers = dict(headers or {})
        self.tokens = AsyncTokenManager(self)
        self._owns_client = owns_client

    async def close(self) -> None:
        if self._owns_client:
            await self.http.aclose()

    async def request(
        self,
        operation: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        bearer: str | None = None,
        timeout: TimeoutTypes = None,
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        """Send ``operation``; retry as the policy allows; map errors; return the response."""
        url = self.base_url + operation.path(**(path_params or {}))
        refreshed = False

        async def send() -> httpx.Response:
            nonlocal refreshed
            try:
                return await self._send_once(
                    operation, url, params, json, content, headers, bearer, timeout
                )
            except Unauthorized:
                # An access token KSeF no longer accepts (revoked, clock skew): refresh once.
                if bearer or operation.auth is not AuthKind.ACCESS or refreshed:
                    raise
                if not self.tokens.can_refresh:
                    raise
                refreshed = True
                await self.tokens.refresh()
                return await self._send_once(
                    operation, url, params, json, content, headers, bearer, timeout
                )

        return await self._with_retries(operation, retry or self.retry, send)

    async def _with_retries(
        self,
        operation: Operation,
        policy: RetryPolicy,
        send: Callable[[], Awaitable[httpx.Response]],
    ) -> httpx.Response:
        """Call ``send`` until it succeeds or the retry policy says stop."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await send()
            except KsefError as error:
                if not policy.should_retry(operation, error, attempt):
                    raise
                delay = policy.delay(error, attempt)
                log.info(
                    "retrying %s after %s (attempt %d, %.2fs)",
                    operation.name,
                    error,
                    attempt,
                    delay,
                )
                await _polling.async_sleep(delay)

    async def _send_once(
        self,
        operation: Operation,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        bearer: str | None,
        timeout: TimeoutTypes,
    ) -> httpx.Response:
        all_headers = {**self.headers, **(headers or {})}
        token = bearer or await self._bearer(operation.auth)
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            response = await self.http.request(
                operation.method,
                url,
                params=_clean_params(params),
                json=json,
                content=content,
                headers=all_headers,
                **extra,
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, operation) from exc
        if response.status_code >= 400:
            raise map_error(response, operation.name)
        return response

    async def _bearer(self, kind: AuthKind) -> str | None:
        if kind is AuthKind.NONE:
            return None
        if kind is AuthKind.ACCESS:
            return await self.tokens.access_token()
        if kind is AuthKind.REFRESH:
            return self.tokens.refresh_token()
        raise ConfigurationError("this operation needs an explicit authentication token")

    async def download(
        self,
        url: str,
        *,
        timeout: TimeoutTypes = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET a pre-signed URL (UPO, export part): no Authorization header, ever."""
        operation = Operation("GET", url, AuthKind.NONE)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}

        async def send() -> httpx.Response:
            try:
                response = await self.http.get(url, headers=headers, **extra)
            except httpx.HTTPError as exc:
                raise _transport_error(exc, operation) from exc
            if response.status_code >= 400:
                raise map_error(response, "GET (pre-signed URL)")
            return response

        return await self._with_retries(operation, self.retry, send)


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None and v != []}


def _transport_error(exc: httpx.HTTPError, operation: Operation) -> TransportError:
    # A connect failure means the request never left: safe to resend even a write.
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return TransportError(f"{type(exc).__name__}: {exc}", operation=operation.name, sent=sent)
