"""``/limits`` and ``/rate-limits``: the limits that apply to the current context and subject."""

from __future__ import annotations

from ..._http import Operation
from ...models import EffectiveApiRateLimits, EffectiveContextLimits, EffectiveSubjectLimits
from .._limiter import RATE_LIMITS
from .._transport import TimeoutTypes
from ._base import AsyncResource

CONTEXT = Operation("GET", "/limits/context")
SUBJECT = Operation("GET", "/limits/subject")


class AsyncLimits(AsyncResource):
    """``client.limits``: invoice, certificate and API rate limits in force."""

    async def context(self, *, timeout: TimeoutTypes = None) -> EffectiveContextLimits:
        """``GET /limits/context``: invoice size and count limits of online and batch sessions.

        >>> limits = await client.limits.context()  # doctest: +SKIP
        >>> limits.batch_session.max_invoices  # doctest: +SKIP
        10000
        """
        return await self._get_model(EffectiveContextLimits, CONTEXT, timeout=timeout)

    async def subject(self, *, timeout: TimeoutTypes = None) -> EffectiveSubjectLimits:
        """``GET /limits/subject``: KSeF-certificate enrollment and certificate limits of the
        authenticated subject.

        >>> (await client.limits.subject()).certificate.max_certificates  # doctest: +SKIP
        100
        """
        return await self._get_model(EffectiveSubjectLimits, SUBJECT, timeout=timeout)

    async def rate_limits(self, *, timeout: TimeoutTypes = None) -> EffectiveApiRateLimits:
        """``GET /rate-limits``: requests per second, minute and hour of every group (the
        client's own limiter reads this by itself with ``rate_limits="auto"``).

        >>> (await client.limits.rate_limits()).invoice_send.per_minute  # doctest: +SKIP
        30
        """
        return await self._get_model(EffectiveApiRateLimits, RATE_LIMITS, timeout=timeout)
