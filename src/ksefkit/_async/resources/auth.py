"""``/auth``: challenge, KSeF-token authentication, status, redeem, refresh.

These are the raw steps; :meth:`AsyncClient.authenticate` runs the whole flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..._http import AuthKind, Operation
from ...models import (
    AuthenticationChallengeResponse,
    AuthenticationInitResponse,
    AuthenticationListItem,
    AuthenticationListResponse,
    AuthenticationOperationStatusResponse,
    AuthenticationTokenRefreshResponse,
    AuthenticationTokensResponse,
    InitTokenAuthenticationRequest,
)
from .._tokens import REFRESH
from .._transport import TimeoutTypes
from ._base import AsyncResource

CHALLENGE = Operation("POST", "/auth/challenge", AuthKind.NONE, idempotent=True)
KSEF_TOKEN = Operation("POST", "/auth/ksef-token", AuthKind.NONE)
STATUS = Operation("GET", "/auth/{ref}", AuthKind.AUTHENTICATION)
# Redeem works exactly once: a retry after an ambiguous failure would burn the tokens.
REDEEM = Operation("POST", "/auth/token/redeem", AuthKind.AUTHENTICATION, one_shot=True)
XADES = Operation("POST", "/auth/xades-signature", AuthKind.NONE)
SESSIONS = Operation("GET", "/auth/sessions")
# Revoking is idempotent on KSeF's side: a retry cannot do harm.
REVOKE_CURRENT = Operation("DELETE", "/auth/sessions/current", idempotent=True)
REVOKE = Operation("DELETE", "/auth/sessions/{ref}", idempotent=True)
ENFORCE_XADES = {"X-KSeF-Feature": "enforce-xades-compliance"}


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

    async def xades_signature(
        self,
        signed_request: bytes,
        *,
        verify_certificate_chain: bool | None = None,
        enforce_xades_compliance: bool = False,
        timeout: TimeoutTypes = None,
    ) -> AuthenticationInitResponse:
        """``POST /auth/xades-signature``: start authentication with a signed AuthTokenRequest.

        ``enforce_xades_compliance`` sends ``X-KSeF-Feature: enforce-xades-compliance``;
        ``verify_certificate_chain`` makes TEST check the chain as DEMO/PROD do.
        """
        headers = {
            "Content-Type": "application/xml",
            **(ENFORCE_XADES if enforce_xades_compliance else {}),
        }
        params = None
        if verify_certificate_chain is not None:
            params = {"verifyCertificateChain": "true" if verify_certificate_chain else "false"}
        return await self._get_model(
            AuthenticationInitResponse,
            XADES,
            content=signed_request,
            headers=headers,
            params=params,
            timeout=timeout,
        )

    async def sessions(
        self, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> AsyncIterator[AuthenticationListItem]:
        """``GET /auth/sessions``: every authentication session (all pages)."""
        async for item in self._pages(
            AuthenticationListResponse,
            SESSIONS,
            lambda p: p.items,
            params={"pageSize": page_size},
            timeout=timeout,
        ):
            yield item

    async def revoke_current_session(self, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /auth/sessions/current``: the refresh token stops working (log out)."""
        await self._http.request(REVOKE_CURRENT, timeout=timeout)

    async def revoke_session(self, reference_number: str, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /auth/sessions/{referenceNumber}``."""
        await self._http.request(REVOKE, path_params={"ref": reference_number}, timeout=timeout)
