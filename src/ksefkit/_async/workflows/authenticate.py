"""KSeF-token authentication: challenge → ksef-token → wait for status → redeem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...crypto import KeyUsage, encrypt_ksef_token
from ...errors import AuthenticationFailed, BadRequest
from ...models import (
    AuthenticationContextIdentifier,
    AuthenticationInitResponse,
    AuthenticationOperationStatusResponse,
    AuthorizationPolicy,
    InitTokenAuthenticationRequest,
    TokenInfo,
)
from .._wait import poll_until

if TYPE_CHECKING:
    from ..client import AsyncClient

UNKNOWN_KEY_ID = 21470


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a successful authentication (tokens are not shown by ``repr``)."""

    reference_number: str
    status: AuthenticationOperationStatusResponse
    access_token: TokenInfo = field(repr=False)
    refresh_token: TokenInfo = field(repr=False)


async def authenticate_with_ksef_token(
    client: AsyncClient,
    token: str,
    context: AuthenticationContextIdentifier,
    *,
    authorization_policy: AuthorizationPolicy | None = None,
    timeout: float | None = 120.0,
) -> AuthResult:
    """Run the whole KSeF-token flow and install the tokens on ``client``.

    A withdrawn public key (21470) makes the client re-read the key list and try once more
    with a fresh challenge.
    """
    for attempt in (1, 2):
        try:
            init = await _init(client, token, context, authorization_policy)
            break
        except BadRequest as error:
            if attempt == 2 or not error.has_code(UNKNOWN_KEY_ID):
                raise
            client.keys.invalidate()
    auth_token = init.authentication_token.token
    ref = init.reference_number
    status = await poll_until(
        lambda: client.auth.status(ref, auth_token),
        lambda s: s.status.code != 100,
        timeout=timeout,
        what=f"authentication {ref}",
    )
    if status.status.code != 200:
        raise AuthenticationFailed(
            status.status.code,
            status.status.description,
            status.status.details or (),
            reference_number=ref,
        )
    tokens = await client.auth.redeem(auth_token)
    client.tokens.set(tokens.access_token, tokens.refresh_token)
    return AuthResult(ref, status, tokens.access_token, tokens.refresh_token)


async def _init(
    client: AsyncClient,
    token: str,
    context: AuthenticationContextIdentifier,
    policy: AuthorizationPolicy | None,
) -> AuthenticationInitResponse:
    challenge = await client.auth.challenge()
    cert = await client.keys.certificate(KeyUsage.KSEF_TOKEN_ENCRYPTION)
    request = InitTokenAuthenticationRequest(
        challenge=challenge.challenge,
        context_identifier=context,
        encrypted_token=encrypt_ksef_token(token, challenge.timestamp_ms, cert.public_key),
        public_key_id=cert.public_key_id,
        authorization_policy=policy,
    )
    return await client.auth.ksef_token(request)
