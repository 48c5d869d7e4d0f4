"""Access and refresh tokens of one client, refreshed before they expire."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from .._config import ACCESS_TOKEN_REFRESH_MARGIN
from .._http import AuthKind, Operation
from ..errors import ConfigurationError
from ..models import AuthenticationTokenRefreshResponse, TokenInfo

if TYPE_CHECKING:
    from ._transport import AsyncHttp

__all__ = ["AsyncTokenManager"]

REFRESH = Operation("POST", "/auth/token/refresh", AuthKind.REFRESH, idempotent=True)


class AsyncTokenManager:
    """Holds the token pair; :meth:`access_token` refreshes it when it is about to expire.

    A lock makes concurrent callers share one refresh instead of racing.
    """

    def __init__(self, http: AsyncHttp) -> None:
        self._http = http
        self._access: TokenInfo | None = None
        self._refresh: TokenInfo | None = None
        self._lock = anyio.Lock()
        self.margin = timedelta(seconds=ACCESS_TOKEN_REFRESH_MARGIN)
        #: Bumped whenever tokens are installed (a new authentication): the rate limiter
        #: re-reads ``GET /rate-limits`` for the new context.
        self.generation = 0
        #: ``"<type>:<value>"`` of the authenticated context when the token says it ("" if
        #: not): KSeF counts rate limits per context, so the limiter keeps one set per key.
        self.context_key = ""

    def __repr__(self) -> str:  # never show tokens
        state = "authenticated" if self._access else "anonymous"
        return f"<AsyncTokenManager {state}>"

    @property
    def authenticated(self) -> bool:
        return self._access is not None or self._refresh is not None

    @property
    def access_info(self) -> TokenInfo | None:
        """The current access token (after any automatic refresh), e.g. to store it."""
        return self._access

    @property
    def refresh_info(self) -> TokenInfo | None:
        """The refresh token (valid up to 7 days, reusable)."""
        return self._refresh

    @property
    def can_refresh(self) -> bool:
        return self._refresh is not None

    @property
    def access_valid_until(self) -> datetime | None:
        return self._access.valid_until if self._access else None

    @property
    def refresh_valid_until(self) -> datetime | None:
        return self._refresh.valid_until if self._refresh else None

    def set(self, access: TokenInfo | str | None, refresh: TokenInfo | str | None = None) -> None:
        """Install tokens; a bare string gets its expiry from the JWT ``exp`` claim."""
        self._access = as_token_info(access)
        if refresh is not None:
            self._refresh = as_token_info(refresh)
        self.generation += 1
        self.context_key = _context_key(self._access or self._refresh)

    def clear(self) -> None:
        self._access = None
        self._refresh = None
        self.generation += 1
        self.context_key = ""

    def refresh_token(self) -> str:
        if self._refresh is None:
            raise ConfigurationError("no refresh token: authenticate first")
        return self._refresh.token

    async def access_token(self) -> str:
        """A valid access token, refreshed first if it expires within the margin."""
        async with self._lock:
            if self._access is not None and not self._expiring(self._access):
                return self._access.token
            if self._refresh is None:
                if self._access is not None:
                    return self._access.token  # nothing to refresh with; let KSeF decide
                raise ConfigurationError(
                    "not authenticated: call client.authenticate(...) or pass access_token="
                )
            await self._do_refresh()
            assert self._access is not None
            return self._access.token

    async def refresh(self) -> TokenInfo:
        """Refresh the access token now (``POST /auth/token/refresh``)."""
        async with self._lock:
            await self._do_refresh()
            assert self._access is not None
            return self._access

    async def _do_refresh(self) -> None:
        response = await self._http.request(REFRESH, bearer=self.refresh_token())
        self._access = AuthenticationTokenRefreshResponse.model_validate(
            response.json()
        ).access_token

    def _expiring(self, token: TokenInfo) -> bool:
        valid_until = token.valid_until
        if valid_until.tzinfo is None:
            valid_until = valid_until.replace(tzinfo=UTC)
        return valid_until - datetime.now(UTC) <= self.margin


def as_token_info(token: TokenInfo | str | None) -> TokenInfo | None:
    """``TokenInfo`` for a token given as a bare string (expiry read from its JWT ``exp``;
    an opaque token is taken as valid for an hour — a 401 still triggers a refresh).

    >>> as_token_info(None) is None
    True
    """
    if token is None or isinstance(token, TokenInfo):
        return token
    return TokenInfo(token=token.strip(), valid_until=_jwt_expiry(token))


def _jwt_expiry(token: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(_jwt_claims(token)["exp"]), UTC)
    except (ValueError, KeyError, TypeError):
        return datetime.now(UTC) + timedelta(hours=1)


def _jwt_claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT ({} for an opaque token): read, never trusted."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _context_key(token: TokenInfo | None) -> str:
    # KSeF's tokens carry the context as claims (KSEF_API.md §4.7). They are not a contract:
    # without them every context shares one set of counters, which only errs on the safe side.
    claims = _jwt_claims(token.token) if token else {}
    kind, value = claims.get("context-identifier-type"), claims.get("context-identifier-value")
    return f"{kind}:{value}" if kind and value else ""
