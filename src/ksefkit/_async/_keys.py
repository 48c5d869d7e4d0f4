"""KSeF's public-key certificates, fetched once and cached per client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio

from ..crypto import PublicKeyCertificate, select_certificate
from .resources.security import AsyncSecurity

#: Re-read the list after this long, so planned rotations are picked up.
KEY_CACHE_TTL = timedelta(hours=1)


class AsyncKeyRing:
    """Chooses the certificate for a usage (valid now, latest ``validFrom`` wins)."""

    def __init__(self, security: AsyncSecurity) -> None:
        self._security = security
        self._certs: list[PublicKeyCertificate] | None = None
        self._fetched_at: datetime | None = None
        self._lock = anyio.Lock()

    def invalidate(self) -> None:
        """Forget the cached list (e.g. after KSeF answered 21470 "unknown key id")."""
        self._certs = None

    async def certificate(self, usage: str) -> PublicKeyCertificate:
        """The certificate to encrypt with for ``usage`` (a :class:`~ksefkit.crypto.KeyUsage`)."""
        now = datetime.now(UTC)
        async with self._lock:
            stale = self._fetched_at is None or now - self._fetched_at > KEY_CACHE_TTL
            if self._certs is None or stale:
                infos = await self._security.public_key_certificates()
                self._certs = [PublicKeyCertificate.from_wire(i.to_wire()) for i in infos]
                self._fetched_at = now
            return select_certificate(self._certs, usage, now)
