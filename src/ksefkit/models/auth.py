"""Wire models of ``/auth/*``: challenge, XAdES / KSeF-token authentication, status, token
redeem/refresh, authentication sessions. Enum-valued fields are typed ``str`` (unknown values
from KSeF still parse); the ``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ksefkit.models._base import KsefModel
from ksefkit.models.common import AuthenticationContextIdentifier, StatusInfo, TokenInfo

__all__ = [
    "AllowedIps",
    "AuthenticationChallengeResponse",
    "AuthenticationInitResponse",
    "AuthenticationListItem",
    "AuthenticationListResponse",
    "AuthenticationMethod",
    "AuthenticationMethodCategory",
    "AuthenticationMethodInfo",
    "AuthenticationOperationStatusResponse",
    "AuthenticationTokenRefreshResponse",
    "AuthenticationTokensResponse",
    "AuthorizationPolicy",
    "InitTokenAuthenticationRequest",
]


class AuthenticationMethod(StrEnum):
    """Known values of KSeF ``AuthenticationMethod``."""

    TOKEN = "Token"  # noqa: S105
    TRUSTED_PROFILE = "TrustedProfile"
    INTERNAL_CERTIFICATE = "InternalCertificate"
    QUALIFIED_SIGNATURE = "QualifiedSignature"
    QUALIFIED_SEAL = "QualifiedSeal"
    PERSONAL_SIGNATURE = "PersonalSignature"
    PEPPOL_SIGNATURE = "PeppolSignature"


class AuthenticationMethodCategory(StrEnum):
    """Known values of KSeF ``AuthenticationMethodCategory``."""

    XADES_SIGNATURE = "XadesSignature"
    NATIONAL_NODE = "NationalNode"
    TOKEN = "Token"  # noqa: S105
    OTHER = "Other"


class AllowedIps(KsefModel):
    """The IPv4 addresses, ranges and masks a token authentication may be used from."""

    ip4_addresses: list[str] | None = None
    ip4_ranges: list[str] | None = None
    ip4_masks: list[str] | None = None


class AuthenticationChallengeResponse(KsefModel):
    """Answer of ``POST /auth/challenge``: the challenge to sign or encrypt, and the server
    timestamp (also in ms, used in token encryption).
    """

    challenge: str
    timestamp: datetime
    timestamp_ms: int
    client_ip: str


class AuthenticationInitResponse(KsefModel):
    """Answer of ``POST /auth/xades-signature`` and ``POST /auth/ksef-token``: the operation
    reference number and the authentication token to poll it with.
    """

    reference_number: str
    authentication_token: TokenInfo


class AuthenticationMethodInfo(KsefModel):
    """How a caller authenticated: category (XAdES signature, token, ...), code and display name."""

    category: str  # AuthenticationMethodCategory
    code: str
    display_name: str


class AuthenticationListItem(KsefModel):
    """One authentication session in ``GET /auth/sessions``."""

    start_date: datetime
    #: AuthenticationMethod; deprecated by KSeF, so optional here (spec: required).
    authentication_method: str | None = None
    authentication_method_info: AuthenticationMethodInfo
    status: StatusInfo
    is_token_redeemed: bool | None = None
    last_token_refresh_date: datetime | None = None
    refresh_token_valid_until: datetime | None = None
    reference_number: str
    is_current: bool | None = None


class AuthenticationListResponse(KsefModel):
    """Answer of ``GET /auth/sessions``: one page of authentication sessions and the continuation
    token.
    """

    continuation_token: str | None = None
    items: list[AuthenticationListItem]


class AuthenticationOperationStatusResponse(KsefModel):
    """Answer of ``GET /auth/{referenceNumber}``: the status of an authentication operation (100
    in progress, 200 success, 4xx failure).
    """

    start_date: datetime
    #: AuthenticationMethod; deprecated by KSeF, so optional here (spec: required).
    authentication_method: str | None = None
    #: Spec: required, but the spec's own status examples omit it.
    authentication_method_info: AuthenticationMethodInfo | None = None
    status: StatusInfo
    is_token_redeemed: bool | None = None
    last_token_refresh_date: datetime | None = None
    refresh_token_valid_until: datetime | None = None


class AuthenticationTokenRefreshResponse(KsefModel):
    """Answer of ``POST /auth/token/refresh``: a new access token."""

    access_token: TokenInfo


class AuthenticationTokensResponse(KsefModel):
    """Answer of ``POST /auth/token/redeem``: the access and refresh tokens (one-shot: never
    retried).
    """

    access_token: TokenInfo
    refresh_token: TokenInfo


class AuthorizationPolicy(KsefModel):
    """Optional restrictions on an authentication (allowed client IPs)."""

    allowed_ips: AllowedIps | None = None


class InitTokenAuthenticationRequest(KsefModel):
    """Body of ``POST /auth/ksef-token``: the challenge, context and the RSA-OAEP encrypted
    ``token|timestampMs``.
    """

    challenge: str
    context_identifier: AuthenticationContextIdentifier
    encrypted_token: str
    public_key_id: str | None = None
    authorization_policy: AuthorizationPolicy | None = None
