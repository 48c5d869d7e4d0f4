# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Access and refresh tokens of one client, refreshed before they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import threading

from .._config import ACCESS_TOKEN_REFRESH_MARGIN
from .._http import AuthKind, Operation
from ..errors import ConfigurationError
from ..models import AuthenticationTokenRefreshResponse, TokenInfo

if TYPE_CHECKING:
    from ._transport import Http

__all__ = ["TokenManager"]

REFRESH = Operation("POST", "/auth/token/refresh", AuthKind.REFRESH, idempotent=True)


class TokenManager:
    """Holds the token pair; :meth:`access_token` refreshes it when it is about to expire.

    A lock makes concurrent callers share one refresh instead of racing.
    """

    def __init__(self, http: Http) -> None:
        self._http = http
        self._access: TokenInfo | None = None
        self._refresh: TokenInfo | None = None
        self._lock = threading.Lock()
        self.margin = timedelta(seconds=ACCESS_TOKEN_REFRESH_MARGIN)

    def __repr__(self) -> str:  # never show tokens
        state = "authenticated" if self._access else "anonymous"
        return f"<TokenManager {state}>"

    @property
    def authenticated(self) -> bool:
        return self._access is not None or self._refresh is not None

    @property
    def access_valid_until(self) -> datetime | None:
        return self._access.valid_until if self._access else None

    @property
    def refresh_valid_until(self) -> datetime | None:
        return self._refresh.valid_until if self._refresh else None

    def set(self, access: TokenInfo | None, refresh: TokenInfo | None = None) -> None:
        self._access = access
        if refresh is not None:
            self._refresh = refresh

    def clear(self) -> None:
        self._access = None
        self._refresh = None

    def refresh_token(self) -> str:
        if self._refresh is None:
            raise ConfigurationError("no refresh token: authenticate first")
        return self._refresh.token

    def access_token(self) -> str:
        """A valid access token, refreshed first if it expires within the margin."""
        with self._lock:
            if self._access is not None and not self._expiring(self._access):
                return self._access.token
            if self._refresh is None:
                if self._access is not None:
                    return self._access.token  # nothing to refresh with; let KSeF decide
                raise ConfigurationError(
                    "not authenticated: call client.authenticate(...) or pass access_token="
                )
            self._do_refresh()
            assert self._access is not None
            return self._access.token

    def refresh(self) -> TokenInfo:
        """Refresh the access token now (``POST /auth/token/refresh``)."""
        with self._lock:
            self._do_refresh()
            assert self._access is not None
            return self._access

    def _do_refresh(self) -> None:
        response = self._http.request(REFRESH, bearer=self.refresh_token())
        self._access = AuthenticationTokenRefreshResponse.model_validate(
            response.json()
        ).access_token

    def _expiring(self, token: TokenInfo) -> bool:
        valid_until = token.valid_until
        if valid_until.tzinfo is None:
            valid_until = valid_until.replace(tzinfo=UTC)
        return valid_until - datetime.now(UTC) <= self.margin
