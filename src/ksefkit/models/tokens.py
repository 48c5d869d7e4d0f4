"""Wire models of ``/tokens``: KSeF token generation, listing and status. Enum-valued fields are
typed ``str`` (unknown values from KSeF still parse); the ``StrEnum`` classes list the known
values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ksefkit.models._base import KsefModel

__all__ = [
    "AuthenticationTokenStatus",
    "GenerateTokenRequest",
    "GenerateTokenResponse",
    "QueryTokensResponse",
    "QueryTokensResponseItem",
    "TokenAuthorIdentifierType",
    "TokenAuthorIdentifierTypeIdentifier",
    "TokenContextIdentifierType",
    "TokenContextIdentifierTypeIdentifier",
    "TokenPermissionType",
    "TokenStatusResponse",
]


class AuthenticationTokenStatus(StrEnum):
    """Known values of KSeF ``AuthenticationTokenStatus``."""

    PENDING = "Pending"
    ACTIVE = "Active"
    REVOKING = "Revoking"
    REVOKED = "Revoked"
    FAILED = "Failed"


class TokenAuthorIdentifierType(StrEnum):
    """Known values of KSeF ``TokenAuthorIdentifierType``."""

    NIP = "Nip"
    PESEL = "Pesel"
    FINGERPRINT = "Fingerprint"


class TokenContextIdentifierType(StrEnum):
    """Known values of KSeF ``TokenContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"
    NIP_VAT_UE = "NipVatUe"
    PEPPOL_ID = "PeppolId"


class TokenPermissionType(StrEnum):
    """Known values of KSeF ``TokenPermissionType``."""

    INVOICE_READ = "InvoiceRead"
    INVOICE_WRITE = "InvoiceWrite"
    CREDENTIALS_READ = "CredentialsRead"
    CREDENTIALS_MANAGE = "CredentialsManage"
    SUBUNIT_MANAGE = "SubunitManage"
    ENFORCEMENT_OPERATIONS = "EnforcementOperations"
    INTROSPECTION = "Introspection"
    COLLECTIVE_IDENTIFIER_MANAGE = "CollectiveIdentifierManage"


class GenerateTokenRequest(KsefModel):
    """Request body of ``POST /tokens``."""

    permissions: list[str]  # TokenPermissionType
    description: str


class GenerateTokenResponse(KsefModel):
    """Response body of ``POST /tokens`` (202). ``repr`` never shows the token."""

    reference_number: str
    token: str = Field(repr=False)


class TokenAuthorIdentifierTypeIdentifier(KsefModel):
    """Nested in ``QueryTokensResponseItem``, ``TokenStatusResponse``."""

    type: str  # TokenAuthorIdentifierType
    value: str


class TokenContextIdentifierTypeIdentifier(KsefModel):
    """Nested in ``QueryTokensResponseItem``, ``TokenStatusResponse``."""

    type: str  # TokenContextIdentifierType
    value: str


class QueryTokensResponseItem(KsefModel):
    """Nested in ``QueryTokensResponse``."""

    reference_number: str
    author_identifier: TokenAuthorIdentifierTypeIdentifier
    context_identifier: TokenContextIdentifierTypeIdentifier
    description: str
    requested_permissions: list[str]  # TokenPermissionType
    date_created: datetime
    last_use_date: datetime | None = None
    status: str  # AuthenticationTokenStatus
    status_details: list[str] | None = None


class QueryTokensResponse(KsefModel):
    """Response body of ``GET /tokens`` (200)."""

    continuation_token: str | None = None
    tokens: list[QueryTokensResponseItem]


class TokenStatusResponse(KsefModel):
    """Response body of ``GET /tokens/{referenceNumber}`` (200)."""

    reference_number: str
    author_identifier: TokenAuthorIdentifierTypeIdentifier
    context_identifier: TokenContextIdentifierTypeIdentifier
    description: str
    requested_permissions: list[str]  # TokenPermissionType
    date_created: datetime
    last_use_date: datetime | None = None
    status: str  # AuthenticationTokenStatus
    status_details: list[str] | None = None
