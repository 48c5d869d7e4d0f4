# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Authentication flows: challenge → (KSeF token | signed XAdES document) → status → redeem."""

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
from ...xades import XadesSigner, build_auth_token_request
from .._wait import poll_until

if TYPE_CHECKING:
    from ..client import Client

UNKNOWN_KEY_ID = 21470


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a successful authentication (tokens are not shown by ``repr``)."""

    reference_number: str
    status: AuthenticationOperationStatusResponse
    access_token: TokenInfo = field(repr=False)
    refresh_token: TokenInfo = field(repr=False)


def authenticate_with_ksef_token(
    client: Client,
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
            init = _init(client, token, context, authorization_policy)
            break
        except BadRequest as error:
            if attempt == 2 or not error.has_code(UNKNOWN_KEY_ID):
                raise
            client.keys.invalidate()
    return _finish(client, init, timeout)


def _init(
    client: Client,
    token: str,
    context: AuthenticationContextIdentifier,
    policy: AuthorizationPolicy | None,
) -> AuthenticationInitResponse:
    challenge = client.auth.challenge()
    cert = client.keys.certificate(KeyUsage.KSEF_TOKEN_ENCRYPTION)
    request = InitTokenAuthenticationRequest(
        challenge=challenge.challenge,
        context_identifier=context,
        encrypted_token=encrypt_ksef_token(token, challenge.timestamp_ms, cert.public_key),
        public_key_id=cert.public_key_id,
        authorization_policy=policy,
    )
    return client.auth.ksef_token(request)


def authenticate_with_xades(
    client: Client,
    signer: XadesSigner,
    context: AuthenticationContextIdentifier,
    *,
    subject_identifier_type: str = "certificateSubject",
    authorization_policy: AuthorizationPolicy | None = None,
    enforce_xades_compliance: bool = False,
    verify_certificate_chain: bool | None = None,
    timeout: float | None = 120.0,
) -> AuthResult:
    """Sign an AuthTokenRequest for a fresh challenge, send it, wait, redeem, install tokens."""
    challenge = client.auth.challenge()
    ips = authorization_policy.allowed_ips if authorization_policy else None
    document = build_auth_token_request(
        challenge=challenge.challenge,
        context_type=context.type,
        context_value=context.value,
        subject_identifier_type=subject_identifier_type,
        allowed_ips=(ips.ip4_addresses or ()) if ips else (),
        allowed_ranges=(ips.ip4_ranges or ()) if ips else (),
        allowed_masks=(ips.ip4_masks or ()) if ips else (),
    )
    init = client.auth.xades_signature(
        signer.sign(document),
        verify_certificate_chain=verify_certificate_chain,
        enforce_xades_compliance=enforce_xades_compliance,
    )
    return _finish(client, init, timeout)


def _finish(
    client: Client, init: AuthenticationInitResponse, timeout: float | None
) -> AuthResult:
    """Wait for the operation, fail with its status, or redeem and install the tokens."""
    auth_token = init.authentication_token.token
    ref = init.reference_number
    status = poll_until(
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
    tokens = client.auth.redeem(auth_token)
    client.tokens.set(tokens.access_token, tokens.refresh_token)
    return AuthResult(ref, status, tokens.access_token, tokens.refresh_token)
