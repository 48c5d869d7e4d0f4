# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""The client-side rate limiter: paces requests so KSeF never has to answer 429.

The transport calls :meth:`RateLimiter.acquire` before every attempt of every API
request (pre-signed storage links are never limited). ``acquire`` takes the request's slot in
its bucket (see :mod:`ksefkit._ratelimit`) and sleeps until the slot comes; the slot is taken
under a lock and the sleep happens outside it, so every task and thread of one client (and of
its ``with_options`` views) queues fairly on the same counters.

Settings (``Client(rate_limits=...)``):

``"auto"`` (default)
    read ``GET /rate-limits`` once per authenticated context, lazily on the first protected
    request after authentication; read again after a 429 (the limits may have changed);
    when the read fails (after the usual retries of a GET), keep what was read before — or
    the documented defaults — and try again a minute later, so one lost answer does not pin
    a client to the (much lower) defaults for the rest of its life;
``"defaults"``
    the documented table (KSEF_API.md §11.2), never read from KSeF;
a mapping
    ``{group: limits}`` overriding the defaults (see :meth:`RateLimits.parse`), or the
    ``EffectiveApiRateLimits`` model / JSON;
``None``
    off: requests are neither paced nor counted (a 429 is still honoured by the retry policy).

A wait longer than the call's ``RetryPolicy.max_wait`` is not slept through: a
:class:`~ksefkit.errors.RateLimited` (``local=True``) says when to come back instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import threading

from .. import _polling, _ratelimit
from .._http import Operation
from .._ratelimit import PUBLIC, RateLimits, Windows, bucket_of, group_of
from ..errors import ConfigurationError, KsefError, RateLimited
from ..models import EffectiveApiRateLimits

if TYPE_CHECKING:
    from ._transport import Http

__all__ = ["RATE_LIMITS", "RateLimiter", "RateLimitSetting"]

log = logging.getLogger("ksefkit.ratelimit")

RATE_LIMITS = Operation("GET", "/rate-limits")

#: What ``Client(rate_limits=...)`` accepts.
RateLimitSetting = str | Mapping[str, Any] | RateLimits | EffectiveApiRateLimits | None

AUTO = "auto"
DEFAULTS = "defaults"


@dataclass
class _Loaded:
    """The limits read for one context, and for which authentication."""

    generation: int
    limits: RateLimits
    stale: bool = False
    #: Set when the read failed: the limiter's clock time after which to read again.
    retry_at: float | None = None


@dataclass
class _Shared:
    """What every view of one client shares: the counters, the limits read, the locks."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    load_lock: threading.Lock = field(default_factory=threading.Lock)
    windows: Windows = field(default_factory=Windows)
    loaded: dict[str, _Loaded] = field(default_factory=dict)


class RateLimiter:
    """Paces one client's requests by KSeF's rate-limit groups.

    >>> limiter = RateLimiter("defaults")
    >>> limiter.acquire(operation, http, max_wait=120.0)  # doctest: +SKIP
    """

    def __init__(self, setting: RateLimitSetting = AUTO, *, _shared: _Shared | None = None) -> None:
        self.mode, self._fixed = _parse_setting(setting)
        self._shared = _shared if _shared is not None else _Shared()

    def __repr__(self) -> str:
        return f"<RateLimiter {self.mode}>"

    def view(self, setting: RateLimitSetting) -> RateLimiter:
        """A limiter with another setting that shares this one's counters and locks."""
        return RateLimiter(setting, _shared=self._shared)

    def acquire(self, operation: Operation, http: Http, *, max_wait: float) -> None:
        """Wait for ``operation``'s slot; raise :class:`RateLimited` if that takes longer
        than ``max_wait`` seconds (nothing is taken then)."""
        if self.mode is None:
            return
        group = group_of(operation.method, operation.template)
        context = "" if group == PUBLIC else http.tokens.context_key
        limits = (self._limits(operation, group, context, http)).for_group(group)
        key = bucket_of(operation.method, operation.template, context)
        shared = self._shared
        with shared.lock:
            now = _ratelimit.clock()
            delay = shared.windows.reserve(key, limits, now, max_wait=max_wait)
            hint = shared.windows.wait_hint(key, limits, now) if delay is None else 0.0
        if delay is None:
            raise RateLimited(
                429,
                retry_after=round(hint, 3),
                local=True,
                group=group,
                operation=operation.name,
                detail=f"the next free slot is {hint:.0f} s away (max_wait {max_wait:g} s)",
            )
        if delay > 0:
            log.debug("rate limit of %s: waiting %.3fs for %s", group, delay, operation.name)
            _polling.sync_sleep(delay)

    def penalize(self, operation: Operation, error: RateLimited, http: Http) -> None:
        """KSeF answered 429 anyway: hold the bucket until ``Retry-After`` passes (for every
        task of the client, not only the one that was refused) and re-read the limits."""
        if self.mode is None or error.local:
            return
        group = group_of(operation.method, operation.template)
        context = "" if group == PUBLIC else http.tokens.context_key
        key = bucket_of(operation.method, operation.template, context)
        shared = self._shared
        with shared.lock:
            if error.retry_after is not None:
                shared.windows.block(key, _ratelimit.clock() + error.retry_after)
            loaded = shared.loaded.get(context)
            if loaded is not None:
                loaded.stale = True
        log.info("%s refused by KSeF's rate limit (%s): %s", operation.name, group, error)

    def _limits(
        self, operation: Operation, group: str, context: str, http: Http
    ) -> RateLimits:
        if self._fixed is not None:
            return self._fixed
        shared = self._shared
        known = shared.loaded.get(context)
        # Public endpoints have a fixed limit; reading the limits must not wait for itself.
        if group == PUBLIC or operation == RATE_LIMITS or not http.tokens.authenticated:
            return known.limits if known else RateLimits()
        if self._current(known, http):
            assert known is not None
            return known.limits
        with shared.load_lock:
            known = shared.loaded.get(context)
            if not self._current(known, http):
                known = _read_limits(http, known)
                shared.loaded[context] = known
            assert known is not None
            return known.limits

    @staticmethod
    def _current(known: _Loaded | None, http: Http) -> bool:
        if known is None or known.stale or known.generation != http.tokens.generation:
            return False
        return known.retry_at is None or _ratelimit.clock() < known.retry_at


#: Seconds before a failed ``GET /rate-limits`` is tried again.
REREAD_AFTER_FAILURE = 60.0


def _read_limits(http: Http, previous: _Loaded | None) -> _Loaded:
    """``GET /rate-limits`` (retried like any GET); when it cannot be read, the limits known
    before (or the documented defaults), to be read again after ``REREAD_AFTER_FAILURE``."""
    generation = http.tokens.generation
    try:
        response = http.request(RATE_LIMITS)
        limits = RateLimits.parse(response.json(), strict=False)
    except (KsefError, ValueError) as error:
        fallback = previous.limits if previous is not None else RateLimits()
        what = "the limits read before" if previous is not None else "the documented defaults"
        log.warning("cannot read GET /rate-limits (%s): using %s for now", error, what)
        return _Loaded(generation, fallback, retry_at=_ratelimit.clock() + REREAD_AFTER_FAILURE)
    log.debug("rate limits read from KSeF: %s", limits.groups)
    return _Loaded(generation, limits)


def _parse_setting(setting: RateLimitSetting) -> tuple[str | None, RateLimits | None]:
    if setting is None:
        return None, None
    if isinstance(setting, str):
        if setting == AUTO:
            return AUTO, None
        if setting == DEFAULTS:
            return DEFAULTS, RateLimits()
        raise ConfigurationError(
            f"rate_limits must be 'auto', 'defaults', None or a mapping of limits, not {setting!r}"
        )
    return "custom", RateLimits.parse(setting)
