"""The one place that sends API requests: base URL, bearer tokens, pacing, retries, errors.

Every attempt first takes its slot from the client-side rate limiter (``_limiter.py``), then
goes out; a failure is mapped to an exception once (``_http.map_error``) and the retry policy
(``_retry.py``) decides what follows. Pre-signed storage links go through :meth:`download`:
never paced, never given a token, failures raised as :class:`~ksefkit.errors.StorageError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from .. import _polling
from .._http import AuthKind, Operation, map_error, map_storage_error, redact_url
from .._retry import DEFAULT_RETRY, Decision, RetryPolicy
from ..errors import ConfigurationError, KsefError, RateLimited, TransportError, Unauthorized
from ._limiter import AsyncRateLimiter, RateLimitSetting
from ._tokens import AsyncTokenManager

__all__ = ["NOT_GIVEN", "AsyncHttp", "NotGiven"]

log = logging.getLogger("ksefkit.http")

TimeoutTypes = float | httpx.Timeout | None


class NotGiven:
    """The type of :data:`NOT_GIVEN`: "keep what the client has" (``None`` means "off")."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class AsyncHttp:
    """Sends :class:`~ksefkit._http.Operation` requests and returns successful responses.

    Everything that is not a 2xx answer leaves as a :class:`~ksefkit.errors.KsefError`.
    ``timeout`` is the default for calls that pass none (``None``: the HTTP client's own).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        headers: Mapping[str, str] | None = None,
        owns_client: bool = True,
        timeout: TimeoutTypes = None,
        limiter: AsyncRateLimiter | None = None,
        tokens: AsyncTokenManager | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.limiter = limiter if limiter is not None else AsyncRateLimiter(None)
        self.tokens = tokens if tokens is not None else AsyncTokenManager(self)
        self._owns_client = owns_client

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: TimeoutTypes = None,
        rate_limits: RateLimitSetting | NotGiven = NOT_GIVEN,
    ) -> AsyncHttp:
        """A view sharing the connection pool, tokens and rate-limit counters, with another
        retry policy, default timeout or rate-limit setting (what is not given is kept)."""
        limiter = (
            self.limiter if isinstance(rate_limits, NotGiven) else self.limiter.view(rate_limits)
        )
        return AsyncHttp(
            self.http,
            self.base_url,
            retry=retry or self.retry,
            headers=self.headers,
            owns_client=False,
            timeout=timeout if timeout is not None else self.timeout,
            limiter=limiter,
            tokens=self.tokens,
        )

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
        """Send ``operation``; pace, retry as the policy allows; map errors; return the
        response."""
        url = self.base_url + operation.path(**(path_params or {}))
        policy = retry or self.retry
        if timeout is None:
            timeout = self.timeout
        refreshed = False

        async def attempt() -> httpx.Response:
            await self.limiter.acquire(operation, self, max_wait=policy.max_wait)
            try:
                return await self._send_once(
                    operation, url, params, json, content, headers, bearer, timeout
                )
            except RateLimited as error:
                await self.limiter.penalize(operation, error, self)
                raise

        async def send() -> httpx.Response:
            nonlocal refreshed
            try:
                return await attempt()
            except Unauthorized:
                # An access token KSeF no longer accepts (revoked, clock skew): refresh once.
                if bearer or operation.auth is not AuthKind.ACCESS or refreshed:
                    raise
                if not self.tokens.can_refresh:
                    raise
                refreshed = True
                await self.tokens.refresh()
                return await attempt()

        return await self._with_retries(operation, policy, send)

    async def _with_retries(
        self,
        operation: Operation,
        policy: RetryPolicy,
        send: Callable[[], Awaitable[httpx.Response]],
    ) -> httpx.Response:
        """Call ``send`` until it succeeds or the retry policy says stop (``RECONCILE``
        leaves too: settling an ambiguous write is the caller's job)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await send()
            except KsefError as error:
                if policy.classify(operation, error, attempt) is not Decision.RETRY:
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
        what: str = "download",
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        """GET a pre-signed URL (UPO, export part): no Authorization header, ever; not paced
        by the rate limiter (KSeF does not limit storage links). An error answer raises
        :class:`~ksefkit.errors.StorageError` (``expired`` on 403); transport errors and
        408/429/5xx are retried by the same policy as API calls."""
        where = redact_url(url)
        operation = Operation("GET", where, AuthKind.NONE)
        if timeout is None:
            timeout = self.timeout
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}

        async def send() -> httpx.Response:
            try:
                request = self.http.build_request("GET", url, headers=headers, **extra)
                # Storage must never see the API token, even one set as a default on an
                # injected client.
                request.headers.pop("Authorization", None)
                response = await self.http.send(request)
            except httpx.HTTPError as exc:
                # httpx's exception text may carry the signed link: name the type only.
                raise TransportError(
                    f"{type(exc).__name__} during {what}",
                    operation=operation.name,
                    sent=not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout),
                ) from None
            if response.status_code >= 400:
                raise map_storage_error(response, f"{what} from {where}")
            return response

        return await self._with_retries(operation, retry or self.retry, send)


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None and v != []}


def _transport_error(exc: httpx.HTTPError, operation: Operation) -> TransportError:
    # A connect failure means the request never left: safe to resend even a write.
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return TransportError(f"{type(exc).__name__}: {exc}", operation=operation.name, sent=sent)
