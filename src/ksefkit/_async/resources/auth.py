"""``/auth``: challenge, KSeF-token authentication, status, redeem, refresh.

These are the raw steps; :meth:`AsyncClient.authenticate` runs the whole flow.
"""

from __future__ import annotations

from ..._http import AuthKind, Operation
from ...models import (
    AuthenticationChallengeResponse,
    AuthenticationInitResponse,
    AuthenticationOperationStatusResponse,
    AuthenticationTokenRefreshResponse,
    AuthenticationTokensResponse,
    InitTokenAuthenticationRequest,
)
from .._transport import TimeoutTypes
from ._base import AsyncResource

CHALLENGE = Operation("POST", "/auth/challenge", AuthKind.NONE, idempotent=True)
KSEF_TOKEN = Operation("POST", "/auth/ksef-token", AuthKind.NONE)
STATUS = Operation("GET", "/auth/{ref}", AuthKind.AUTHENTICATION)
# Redeem works exactly once: a retry after an ambiguous failure would burn the tokens.
REDEEM = Operation("POST", "/auth/token/redeem", AuthKind.AUTHENTICATION, one_shot=True)
REFRESH = Operation("POST", "/auth/token/refresh", AuthKind.REFRESH, idempotent=True)


class AsyncAuth(AsyncResource):
    """``client.auth``: the individual authentication operations."""

    async def challenge(self, *, timeout: TimeoutTypes = None) -> AuthenticationChallengeResponse:
        """``POST /auth/challenge``: a fresh challenge, valid for 10 minutes."""
        return await self._get_model(AuthenticationChallengeResponse, CHALLENGE, timeout=timeout)

    async def ksef_token(
        self, request: InitTokenAuthenticationRequest, *, timeout: TimeoutTypes = None
    ) -> AuthenticationInitResponse:
        """``POST /auth/ksef-token``: start authentication with an encrypted KSeF token."""
        return await self._get_model(
            AuthenticationInitResponse, KSEF_TOKEN, json=request.to_wire(), timeout=timeout
        )

    async def status(
        self, reference_number: str, authentication_token: str, *, timeout: TimeoutTypes = None
    ) -> AuthenticationOperationStatusResponse:
        """``GET /auth/{referenceNumber}`` with the operation's authentication token."""
        return await self._get_model(
            AuthenticationOperationStatusResponse,
            STATUS,
            path_params={"ref": reference_number},
            bearer=authentication_token,
            timeout=timeout,
        )

    async def redeem(
        self, authentication_token: str, *, timeout: TimeoutTypes = None
    ) -> AuthenticationTokensResponse:
        """``POST /auth/token/redeem``: exchange the operation token for access + refresh."""
        return await self._get_model(
            AuthenticationTokensResponse, REDEEM, bearer=authentication_token, timeout=timeout
        )

    async def refresh(
        self, refresh_token: str | None = None, *, timeout: TimeoutTypes = None
    ) -> AuthenticationTokenRefreshResponse:
        """``POST /auth/token/refresh``: a new access token (the client's own refresh token
        unless one is given)."""
        return await self._get_model(
            AuthenticationTokenRefreshResponse,
            REFRESH,
            bearer=refresh_token or self._http.tokens.refresh_token(),
            timeout=timeout,
        )
