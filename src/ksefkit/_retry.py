"""The one place that decides whether a failed request is tried again, and when.

Rules (DESIGN.md §4, §7):

* idempotent operations (GETs, status polls) are retried on 429, 5xx and transport errors;
* one-shot operations (token redeem) are never retried;
* other writes (open session, send invoice) are retried only when the request surely never
  reached the server (a connect error) — anything else must be reconciled by the caller;
* waits grow exponentially with full jitter; ``Retry-After`` is honoured whatever its length
  up to ``max_wait``; beyond it the :class:`~ksefkit.errors.RateLimited` error is raised so
  the caller sees when to come back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._http import Operation
from .errors import ApiError, KsefError, RateLimited, ServerError, TransportError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry.

    >>> policy = RetryPolicy(max_attempts=3)
    >>> policy.delay(RateLimited(429, retry_after=2.0), attempt=1)
    2.0
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 10.0
    #: The longest ``Retry-After`` we are willing to sleep through inside one call.
    max_wait: float = 120.0

    def should_retry(self, operation: Operation, error: KsefError, attempt: int) -> bool:
        """True if ``operation`` may be sent again after ``error`` on attempt ``attempt``."""
        if attempt >= self.max_attempts or operation.one_shot:
            return False
        if isinstance(error, TransportError):
            return operation.is_idempotent or not error.sent
        if not operation.is_idempotent:
            return False
        if isinstance(error, RateLimited):
            return error.retry_after is None or error.retry_after <= self.max_wait
        return isinstance(error, ServerError) or (
            isinstance(error, ApiError) and error.status_code in (502, 503, 504)
        )

    def delay(self, error: KsefError, attempt: int) -> float:
        """Seconds to sleep before attempt ``attempt + 1``."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)  # full jitter spreads retrying clients apart


#: Used when the caller does not pass a policy.
DEFAULT_RETRY = RetryPolicy()
#: No retries at all (``Client(retry=NO_RETRY)``).
NO_RETRY = RetryPolicy(max_attempts=1)
