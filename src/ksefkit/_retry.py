"""The one place that decides whether a failed request is tried again, and when.

The transport (every API call and every pre-signed transfer) and the workflows (the online
session's invoice send) ask :meth:`RetryPolicy.classify` the same question and get one of
three answers (:class:`Decision`):

``RETRY``
    send the request again after :meth:`RetryPolicy.delay`;
``RECONCILE``
    the request may or may not have been processed: look its effect up before anything is
    sent again (the online session looks the invoice up by its hash in the session);
``RAISE``
    give the error to the caller.

The rules (DESIGN.md §4, §7):

* idempotent operations (reads, status polls, closing a session, revoking) and writes whose
  repetition is harmless are retried on 429, 5xx, 408 and transport errors;
* one-shot operations (token redeem) are never retried, whatever the error: a second redeem
  fails with 21301 and the tokens of the first are lost with its answer;
* sending an invoice is never blindly resent: a transport error after the request left, a
  timeout reading the answer or a 5xx is ambiguous and answered ``RECONCILE``;
* a request that surely never reached the server (a connect error) is retried, even a write;
* a 429 means KSeF refused the request before processing it (the rate limiter sits in front
  of the API), so even a write may be sent again once ``Retry-After`` has passed;
* opening a session (online or batch) is retried after an ambiguous failure: if the first
  attempt did open a session we never heard of, it holds no invoices, processes nothing and
  expires by itself (online: "no invoices", batch: upload window); closing sessions we cannot
  prove are ours could close a concurrent worker's session, so we leave them alone;
* pre-signed storage transfers (batch part uploads, export part and UPO downloads) are
  idempotent: transport errors, corrupt downloads (hash mismatch) and storage statuses 408,
  429, 5xx are retried; 400/401/403/404 are not (an expired link needs a new link);
* waits grow exponentially with full jitter (AWS "exponential backoff and jitter");
  ``Retry-After`` (seconds or HTTP date, on a 429, a 503 or a storage answer) is honoured
  whatever its length up to ``max_wait``;
  beyond it the :class:`~ksefkit.errors.RateLimited` error is raised at once, its
  ``retry_after`` / ``retry_at`` saying when to come back. The client-side rate limiter
  applies the same ``max_wait`` to its own waits.

Policies are immutable values: ``Client(retry=...)`` sets one per client,
``client.with_options(retry=...)`` per call, and some methods take ``retry=`` themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from ._http import Operation
from .errors import (
    ApiError,
    IntegrityError,
    KsefError,
    RateLimited,
    ServerError,
    StorageError,
    TransportError,
)

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "Decision", "RetryPolicy"]

#: Storage answers worth another try (timeouts, throttling, server trouble).
STORAGE_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: "Request Timeout": the server gave up waiting for the request, so it did not process it.
REQUEST_TIMEOUT = 408


class Decision(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    RECONCILE = "reconcile"
    RAISE = "raise"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry.

    ``max_attempts`` counts every attempt (1 = no retry); ``base_delay`` and ``max_delay``
    shape the jittered exponential backoff; ``max_wait`` is the longest ``Retry-After`` (or
    client-side rate-limit wait) slept through inside one call.

    >>> policy = RetryPolicy(max_attempts=3)
    >>> policy.delay(RateLimited(429, retry_after=2.0), attempt=1)
    2.0
    >>> from ksefkit.errors import ServerError
    >>> send = Operation("POST", "/sessions/online/{ref}/invoices", reconcile=True)
    >>> policy.classify(send, ServerError(502), attempt=1)
    <Decision.RECONCILE: 'reconcile'>
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 10.0
    #: The longest ``Retry-After`` we are willing to sleep through inside one call.
    max_wait: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if min(self.base_delay, self.max_delay, self.max_wait) < 0:
            raise ValueError("delays and max_wait cannot be negative")

    def classify(self, operation: Operation, error: KsefError, attempt: int) -> Decision:
        """What to do after ``error`` ended attempt number ``attempt`` of ``operation``.

        ``RETRY`` only while attempts remain; ``RECONCILE`` whatever the count (looking
        up is not resending: the caller bounds its resends by ``max_attempts``).
        """
        decision = self._decide(operation, error)
        if decision is Decision.RETRY and attempt >= self.max_attempts:
            return Decision.RAISE
        return decision

    def should_retry(self, operation: Operation, error: KsefError, attempt: int) -> bool:
        """True if ``operation`` may be sent again after ``error`` on attempt ``attempt``."""
        return self.classify(operation, error, attempt) is Decision.RETRY

    def delay(self, error: KsefError, attempt: int) -> float:
        """Seconds to sleep before attempt ``attempt + 1``: the server's ``Retry-After``
        when it gave one, else a jittered exponential backoff."""
        asked = _retry_after(error)
        if asked is not None:
            return min(asked, self.max_wait)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)  # full jitter spreads retrying clients apart

    def waits_too_long(self, seconds: float | None) -> bool:
        """True when a wait of ``seconds`` exceeds what one call may sleep through."""
        return seconds is not None and seconds > self.max_wait

    def _decide(self, operation: Operation, error: KsefError) -> Decision:
        if operation.one_shot:
            return Decision.RAISE
        if self.waits_too_long(_retry_after(error)):
            return Decision.RAISE
        if isinstance(error, RateLimited):
            return Decision.RETRY  # refused before processing: safe even for a write
        if isinstance(error, TransportError) and not error.sent:
            return Decision.RETRY  # never reached the server
        if isinstance(error, ApiError) and error.status_code == REQUEST_TIMEOUT:
            return Decision.RETRY
        if isinstance(error, StorageError):
            # No status means "no answer after every retry" (already given up on).
            retryable = error.status_code in STORAGE_RETRY_STATUSES and not error.expired
            return Decision.RETRY if retryable else Decision.RAISE
        if isinstance(error, TransportError | ServerError):
            return _ambiguous(operation)
        if isinstance(error, IntegrityError) and operation.is_idempotent:
            return Decision.RETRY  # a transfer corrupted on the way; the source is fine
        return Decision.RAISE


def _ambiguous(operation: Operation) -> Decision:
    """The request may have been processed: what may follow depends on the operation."""
    if operation.is_idempotent:
        return Decision.RETRY
    if operation.reconcile:
        return Decision.RECONCILE
    return Decision.RAISE


def _retry_after(error: KsefError) -> float | None:
    if isinstance(error, ApiError | StorageError):
        return error.retry_after
    return None


#: Used when the caller does not pass a policy.
DEFAULT_RETRY = RetryPolicy()
#: No retries at all (``Client(retry=NO_RETRY)``, ``client.with_options(retry=NO_RETRY)``).
NO_RETRY = RetryPolicy(max_attempts=1)
