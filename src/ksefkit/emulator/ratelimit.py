"""API rate limits as KSeF enforces them (KSEF_API.md §11.2), on the emulator's clock.

What is counted:

* protected endpoints per (context identifier, client IP, group); the endpoints of a named
  group (``onlineSession`` = open + close, ...) share one counter, every ``other`` endpoint
  has its own (method + path template);
* public endpoints (challenge, ``/auth/*`` of the authentication flow, public keys,
  ``/testdata/subject|person|permissions|attachment*``, ``/peppol/query``) per client IP and
  endpoint, 60 requests per second; ``/testdata/context/*`` is public yet in ``other``;
* never: ``/_emulator/*`` and the pre-signed ``/storage/*`` links; unknown paths (404); the
  three reads of collective identifiers (:data:`_UNLIMITED`: open-api.json gives them neither
  ``x-rate-limits`` nor a 429 — only ``POST /collective-identifiers`` is in the
  ``collectiveIdentifier`` group).

Three sliding windows (1 s, 60 s, 3600 s) are enforced together. A request that would breach
one is refused with 429 and ``Retry-After``, and starts a *block* of the counter:

    wait  = seconds until the breached window has room again (at least 1, rounded up)
    block = min(3600, wait x 2^(n-1))   n = violations of this counter within the last hour

so repeated violations double the block (1 s, 2 s, 4 s, ... capped at an hour). Requests
during a block are refused (``Retry-After`` = what is left of it) without being counted and
without lengthening it. Refused requests never count.

Configuration (``EmulatorConfig.rate_limits``): ``"off"`` (the default, so test suites and
benchmarks keep their speed: nothing is enforced and ``GET /rate-limits`` reports
:data:`GENEROUS` = 1 000 000 per window) unless a context turned its own limits on with
``POST /testdata/rate-limits/production`` or ``POST /testdata/rate-limits``;
``"production"`` (the PRD table for everyone); or a mapping ``group -> {perSecond?,
perMinute?, perHour?}`` merged over the PRD table (``"public"`` sets the public per-second
limit). Per-context overrides and counters live in memory (a restart forgets them, as it
forgets KSeF's windows) and ``reset()`` clears them.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute, Route

from .clock import Clock
from .errors import validation_error

__all__ = [
    "GENEROUS",
    "GROUPS",
    "PRODUCTION",
    "PUBLIC_LIMIT",
    "Bucket",
    "Limit",
    "RateLimiter",
    "Refusal",
    "RouteTable",
    "classify",
    "context_key",
    "parse_rate_limits",
]

#: The groups of ``EffectiveApiRateLimits`` / ``ApiRateLimitsOverride`` (open-api.json 2.7.0).
GROUPS: tuple[str, ...] = (
    "onlineSession",
    "batchSession",
    "invoiceSend",
    "invoiceStatus",
    "sessionList",
    "sessionInvoiceList",
    "sessionMisc",
    "invoiceMetadata",
    "invoiceExport",
    "invoiceExportStatus",
    "invoiceDownload",
    "collectiveIdentifier",
    "other",
)

_INT32_MAX = 2**31 - 1
_HOUR = 3600.0
_MAX_BLOCK = 3600.0
_UNITS = {1.0: "sekundę", 60.0: "minutę", 3600.0: "godzinę"}


@dataclass(frozen=True)
class Limit:
    """Requests allowed per second, minute and hour (``None``: that window is not limited).

    >>> Limit(10, 30, 120).to_json()
    {'perSecond': 10, 'perMinute': 30, 'perHour': 120}
    """

    per_second: int
    per_minute: int | None = None
    per_hour: int | None = None

    def windows(self) -> list[tuple[float, int]]:
        """``(window seconds, allowed requests)`` of every limited window."""
        pairs = ((1.0, self.per_second), (60.0, self.per_minute), (_HOUR, self.per_hour))
        return [(seconds, n) for seconds, n in pairs if n is not None]

    def to_json(self) -> dict[str, int]:
        """``EffectiveApiRateLimitValues`` (an unlimited window reported as :data:`GENEROUS`)."""
        big = GENEROUS.per_second
        return {
            "perSecond": self.per_second,
            "perMinute": big if self.per_minute is None else self.per_minute,
            "perHour": big if self.per_hour is None else self.per_hour,
        }


#: What ``GET /rate-limits`` reports (per window) when limits are off.
GENEROUS = Limit(1_000_000, 1_000_000, 1_000_000)
#: Public endpoints: 60 requests per second per IP.
PUBLIC_LIMIT = Limit(60)
#: The production table (§11.2; the example of ``GET /rate-limits`` in open-api.json).
PRODUCTION: Mapping[str, Limit] = {
    "onlineSession": Limit(10, 30, 120),
    "batchSession": Limit(10, 20, 60),
    "invoiceSend": Limit(10, 30, 180),
    "invoiceStatus": Limit(30, 120, 1200),
    "sessionList": Limit(5, 10, 60),
    "sessionInvoiceList": Limit(10, 20, 200),
    "sessionMisc": Limit(10, 120, 1200),
    "invoiceMetadata": Limit(8, 16, 20),
    "invoiceExport": Limit(8, 16, 20),
    "invoiceExportStatus": Limit(10, 60, 600),
    "invoiceDownload": Limit(8, 16, 64),
    "collectiveIdentifier": Limit(10, 60, 120),
    "other": Limit(10, 30, 120),
}

_REF = "/{referenceNumber}"
#: (method, path template relative to /v2) -> named group; everything else protected: other.
_NAMED: dict[tuple[str, str], str] = {
    ("POST", "/sessions/online"): "onlineSession",
    ("POST", f"/sessions/online{_REF}/close"): "onlineSession",
    ("POST", f"/sessions/online{_REF}/invoices"): "invoiceSend",
    ("POST", "/sessions/batch"): "batchSession",
    ("POST", f"/sessions/batch{_REF}/close"): "batchSession",
    ("GET", f"/sessions{_REF}/invoices/{{invoiceReferenceNumber}}"): "invoiceStatus",
    ("GET", "/sessions"): "sessionList",
    ("GET", f"/sessions{_REF}/invoices"): "sessionInvoiceList",
    ("GET", f"/sessions{_REF}/invoices/failed"): "sessionInvoiceList",
    ("GET", f"/sessions{_REF}"): "sessionMisc",
    ("GET", f"/sessions{_REF}/invoices/ksef/{{ksefNumber}}/upo"): "sessionMisc",
    ("GET", f"/sessions{_REF}/invoices/{{invoiceReferenceNumber}}/upo"): "sessionMisc",
    ("GET", f"/sessions{_REF}/upo/{{upoReferenceNumber}}"): "sessionMisc",
    ("POST", "/invoices/query/metadata"): "invoiceMetadata",
    ("POST", "/invoices/exports"): "invoiceExport",
    ("GET", f"/invoices/exports{_REF}"): "invoiceExportStatus",
    ("GET", "/invoices/ksef/{ksefNumber}"): "invoiceDownload",
    ("POST", "/collective-identifiers"): "collectiveIdentifier",
}
#: Protected endpoints the spec declares no limit (and no 429) for: never refused. (The SDK's
#: limiter paces them with ``collectiveIdentifier`` all the same, the cautious side of a gap.)
_UNLIMITED: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/collective-identifiers/query"),
        ("GET", "/collective-identifiers/{collectiveIdentifierNumber}/invoices"),
        ("GET", "/collective-identifiers/ksef/{ksefNumber}"),
    }
)
#: Public endpoints (per IP, 60/s).
_PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/security/public-key-certificates"),
        ("POST", "/auth/challenge"),
        ("POST", "/auth/xades-signature"),
        ("POST", "/auth/ksef-token"),
        ("GET", f"/auth{_REF}"),
        ("POST", "/auth/token/redeem"),
        ("POST", "/auth/token/refresh"),
        ("GET", "/peppol/query"),
    }
)
_PUBLIC_PREFIXES = (
    "/testdata/subject",
    "/testdata/person",
    "/testdata/permissions",
    "/testdata/attachment",
)
#: Unauthenticated, yet limited as ``other`` (per IP, no context).
_ANONYMOUS_OTHER = ("/testdata/context/",)


@dataclass(frozen=True)
class Bucket:
    """What one endpoint counts against.

    >>> classify("POST", "/sessions/online/{referenceNumber}/close")
    Bucket(group='onlineSession', endpoint='POST /sessions/online/{referenceNumber}/close', \
public=False, anonymous=False)
    """

    group: str  # a GROUPS name, "public", or "unlimited" (never refused)
    endpoint: str  # "METHOD /template"
    public: bool
    #: counted per IP even though it is not public (``/testdata/context/*``)
    anonymous: bool = False

    @property
    def counter(self) -> str:
        """Named groups share a counter; ``other`` and public endpoints count on their own."""
        return self.endpoint if self.group in ("other", "public") else self.group


def context_key(context_type: str, value: str) -> str:
    """How a context is named in counters and overrides.

    >>> context_key("Nip", "5265877635")
    'Nip:5265877635'
    """
    return f"{context_type}:{value}"


def classify(method: str, template: str) -> Bucket:
    """The group of an endpoint (``template`` relative to ``/v2``, as in open-api.json).

    >>> classify("GET", "/sessions").group, classify("POST", "/auth/challenge").group
    ('sessionList', 'public')
    >>> classify("POST", "/collective-identifiers/query").group
    'unlimited'
    >>> classify("GET", "/tokens").counter
    'GET /tokens'
    """
    endpoint = f"{method} {template}"
    key = (method, template)
    if key in _PUBLIC or template.startswith(_PUBLIC_PREFIXES):
        return Bucket("public", endpoint, public=True)
    if key in _UNLIMITED:
        return Bucket("unlimited", endpoint, public=False)
    group = _NAMED.get(key, "other")
    return Bucket(group, endpoint, public=False, anonymous=template.startswith(_ANONYMOUS_OTHER))


class RouteTable:
    """The path templates of the API routes, to name the endpoint a raw path belongs to.

    Matching follows the router's order (first route whose path and method match), so a
    specific route listed before a templated one wins exactly as it does in Starlette.
    """

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self._routes: list[tuple[re.Pattern[str], str, frozenset[str]]] = [
            (route.path_regex, route.path, frozenset(route.methods or ()))
            for route in routes
            if isinstance(route, Route)
        ]

    def template(self, method: str, path: str) -> str | None:
        """The template of the route ``method path`` reaches (path relative to ``/v2``).

        >>> table = RouteTable([Route("/tokens/{referenceNumber}", None, methods=["GET"])])
        >>> table.template("GET", "/tokens/ABC"), table.template("POST", "/tokens/ABC")
        ('/tokens/{referenceNumber}', None)
        """
        for regex, template, methods in self._routes:
            if method in methods and regex.match(path):
                return template
        return None


@dataclass(frozen=True)
class Refusal:
    """A 429: seconds to wait and the message for ``details``/``detail``."""

    retry_after: int
    detail: str


@dataclass
class _Counter:
    hits: list[float] = field(default_factory=list)
    violations: list[float] = field(default_factory=list)
    blocked_until: float = 0.0

    def prune(self, now: float, horizon: float) -> None:
        del self.hits[: bisect_right(self.hits, now - horizon)]
        del self.violations[: bisect_right(self.violations, now - _HOUR)]

    def breach(self, limit: Limit, now: float) -> tuple[float, int, float] | None:
        """``(wait, allowed, window)`` of the window one more request would breach."""
        worst: tuple[float, int, float] | None = None
        for window, allowed in limit.windows():
            start = bisect_right(self.hits, now - window)
            count = len(self.hits) - start
            if count < allowed:
                continue
            # The (count - allowed + 1) oldest hits of the window must leave it first.
            wait = window if allowed <= 0 else self.hits[start + count - allowed] + window - now
            if worst is None or wait > worst[0]:
                worst = (wait, allowed, window)
        return worst

    def idle(self, now: float) -> bool:
        return not self.hits and not self.violations and self.blocked_until <= now


RateLimitSetting = str | Mapping[str, Any]


class RateLimiter:
    """Sliding-window counters, blocks and per-context overrides (thread-safe).

    >>> import datetime as dt
    >>> from ksefkit.emulator.clock import ManualClock
    >>> limiter = RateLimiter(ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), "production")
    >>> bucket = classify("GET", "/sessions")
    >>> [limiter.check(bucket, "Nip:5265877635", "10.0.0.1") for _ in range(5)]
    [None, None, None, None, None]
    >>> limiter.check(bucket, "Nip:5265877635", "10.0.0.1")
    Refusal(retry_after=1, detail='Przekroczono limit 5 żądań na sekundę (grupa sessionList). \
Spróbuj ponownie po 1 sekundach.')
    """

    def __init__(self, clock: Clock, setting: RateLimitSetting = "off") -> None:
        self._clock = clock
        self._default, self._public = _resolve(setting)
        self._overrides: dict[str, dict[str, Limit]] = {}
        self._counters: dict[tuple[str | None, str, str], _Counter] = {}
        self._lock = threading.Lock()
        self._checks = 0

    @property
    def active(self) -> bool:
        """Whether anything can be enforced at all (cheap test for the hot path)."""
        return self._default is not None or bool(self._overrides)

    def effective(self, context: str | None) -> dict[str, Limit]:
        """Every group's limits for ``context`` (``"Nip:5265877635"``), as ``GET /rate-limits``
        reports them."""
        with self._lock:
            table = self._overrides.get(context or "") or self._default
        return dict(table) if table is not None else dict.fromkeys(GROUPS, GENEROUS)

    def effective_json(self, context: str | None) -> dict[str, dict[str, int]]:
        """``EffectiveApiRateLimits`` of ``context``."""
        limits = self.effective(context)
        return {group: limits[group].to_json() for group in GROUPS}

    def set_limits(self, context: str, limits: Mapping[str, Limit]) -> None:
        """Override every group's limits for ``context`` (``POST /testdata/rate-limits``)."""
        missing = set(GROUPS) - set(limits)
        if missing:
            raise ValueError(f"limits missing for {sorted(missing)}")
        with self._lock:
            self._overrides[context] = {group: limits[group] for group in GROUPS}

    def use_production(self, context: str) -> None:
        """The PRD table for ``context`` (``POST /testdata/rate-limits/production``)."""
        self.set_limits(context, PRODUCTION)

    def restore_default(self, context: str) -> None:
        """Forget the override of ``context`` (``DELETE /testdata/rate-limits``); its counters
        stay, as they would on KSeF."""
        with self._lock:
            self._overrides.pop(context, None)

    def reset(self) -> None:
        """Forget overrides, counters and blocks."""
        with self._lock:
            self._overrides.clear()
            self._counters.clear()

    def check(self, bucket: Bucket, context: str | None, ip: str) -> Refusal | None:
        """Count one request, or refuse it (:class:`Refusal`) without counting."""
        counted_context = None if bucket.public or bucket.anonymous else context
        now = self._clock.now().timestamp()
        with self._lock:
            limit = self._limit(bucket, counted_context)
            if limit is None:
                return None
            self._sweep(now)
            key = (counted_context, ip, bucket.counter)
            counter = self._counters.setdefault(key, _Counter())
            if counter.blocked_until > now:
                left = _seconds(counter.blocked_until - now)
                return Refusal(
                    left,
                    f"Przekroczono limit żądań (grupa {bucket.group}); trwa blokada."
                    f" Spróbuj ponownie po {left} sekundach.",
                )
            counter.prune(now, max(window for window, _ in limit.windows()))
            breach = counter.breach(limit, now)
            if breach is None:
                counter.hits.append(now)
                return None
            wait, allowed, window = breach
            counter.violations.append(now)
            doublings = min(len(counter.violations) - 1, 12)
            block = min(_MAX_BLOCK, _seconds(wait) * 2**doublings)
            counter.blocked_until = now + block
            seconds = _seconds(block)
            return Refusal(
                seconds,
                f"Przekroczono limit {allowed} żądań na {_UNITS[window]} (grupa {bucket.group})."
                f" Spróbuj ponownie po {seconds} sekundach.",
            )

    def _limit(self, bucket: Bucket, context: str | None) -> Limit | None:
        if bucket.group == "unlimited":
            return None
        if bucket.public:
            return self._public if self._default is not None else None
        table = self._overrides.get(context) if context is not None else None
        table = table or self._default
        return table[bucket.group] if table is not None else None

    def _sweep(self, now: float) -> None:
        """Every so often drop counters that hold nothing (bounded memory)."""
        self._checks += 1
        if self._checks % 1024:
            return
        for key, counter in list(self._counters.items()):
            counter.prune(now, _HOUR)
            if counter.idle(now):
                del self._counters[key]


def _seconds(value: float) -> int:
    """Whole seconds, at least 1 (``Retry-After`` is an integer)."""
    return max(1, math.ceil(value - 1e-9))


def _resolve(setting: RateLimitSetting) -> tuple[dict[str, Limit] | None, Limit]:
    """``(default table or None for off, public limit)`` of ``EmulatorConfig.rate_limits``."""
    if setting == "off":
        return None, PUBLIC_LIMIT
    if setting == "production":
        return dict(PRODUCTION), PUBLIC_LIMIT
    if isinstance(setting, str) or not isinstance(setting, Mapping):
        raise ValueError(f"rate_limits: 'off', 'production' or a mapping, not {setting!r}")
    table, public = dict(PRODUCTION), PUBLIC_LIMIT
    for group, values in setting.items():
        if group == "public":
            public = _merge(public, values, group)
        elif group in table:
            table[group] = _merge(table[group], values, group)
        else:
            raise ValueError(f"rate_limits: unknown group {group!r}")
    return table, public


def _merge(base: Limit, values: object, group: str) -> Limit:
    if isinstance(values, Limit):
        return values
    if not isinstance(values, Mapping):
        raise ValueError(f"rate_limits[{group!r}]: a mapping of perSecond/perMinute/perHour")
    unknown = set(values) - {"perSecond", "perMinute", "perHour"}
    if unknown:
        raise ValueError(f"rate_limits[{group!r}]: unknown keys {sorted(unknown)}")
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"rate_limits[{group!r}].{name}: a non-negative integer")
    return Limit(
        values.get("perSecond", base.per_second),
        values.get("perMinute", base.per_minute),
        values.get("perHour", base.per_hour),
    )


def parse_rate_limits(body: object) -> dict[str, Limit]:
    """Validate a ``SetRateLimitsRequest`` (400/21405 listing every problem).

    Every group and every window is required (as in open-api.json); values are int32. The
    spec gives no lower bound; the emulator refuses negative values, which mean nothing.

    >>> body = {"rateLimits": {g: {"perSecond": 1, "perMinute": 2, "perHour": 3} for g in GROUPS}}
    >>> parse_rate_limits(body)["other"]
    Limit(per_second=1, per_minute=2, per_hour=3)
    """
    if not isinstance(body, dict):
        raise validation_error("Treść żądania musi być obiektem JSON.")
    limits = body.get("rateLimits")
    if not isinstance(limits, dict):
        raise validation_error("rateLimits: pole wymagane (obiekt).")
    problems: list[str] = []
    parsed: dict[str, Limit] = {}
    for group in GROUPS:
        values = limits.get(group)
        if not isinstance(values, dict):
            problems.append(f"rateLimits.{group}: pole wymagane (obiekt).")
            continue
        numbers: list[int] = []
        for name in ("perSecond", "perMinute", "perHour"):
            value = values.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"rateLimits.{group}.{name}: wymagana liczba całkowita.")
            elif not 0 <= value <= _INT32_MAX:
                problems.append(f"rateLimits.{group}.{name}: poza zakresem 0..{_INT32_MAX}.")
            else:
                numbers.append(value)
        if len(numbers) == 3:
            parsed[group] = Limit(*numbers)
    if problems:
        raise validation_error(*problems)
    return parsed
