# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""``/security``: the public-key certificates KSeF encrypts with."""

from __future__ import annotations

from ..._http import AuthKind, Operation
from ...models import PublicKeyCertificateInfo
from .._transport import TimeoutTypes
from ._base import Resource

PUBLIC_KEY_CERTIFICATES = Operation("GET", "/security/public-key-certificates", AuthKind.NONE)


class Security(Resource):
    """``client.security``."""

    def public_key_certificates(
        self, *, timeout: TimeoutTypes = None
    ) -> list[PublicKeyCertificateInfo]:
        """``GET /security/public-key-certificates`` (no authentication).

        >>> certs = client.security.public_key_certificates()  # doctest: +SKIP
        """
        response = self._http.request(PUBLIC_KEY_CERTIFICATES, timeout=timeout)
        return [PublicKeyCertificateInfo.model_validate(item) for item in response.json()]
