"""``/security``: the public-key certificates KSeF encrypts with."""

from __future__ import annotations

from ..._http import AuthKind, Operation
from ...models import PublicKeyCertificateInfo
from .._transport import TimeoutTypes
from ._base import AsyncResource

PUBLIC_KEY_CERTIFICATES = Operation("GET", "/security/public-key-certificates", AuthKind.NONE)


class AsyncSecurity(AsyncResource):
    """``client.security``."""

    async def public_key_certificates(
        self, *, timeout: TimeoutTypes = None
    ) -> list[PublicKeyCertificateInfo]:
        """``GET /security/public-key-certificates`` (no authentication).

        >>> certs = await client.security.public_key_certificates()  # doctest: +SKIP
        """
        response = await self._http.request(PUBLIC_KEY_CERTIFICATES, timeout=timeout)
        return [PublicKeyCertificateInfo.model_validate(item) for item in response.json()]
