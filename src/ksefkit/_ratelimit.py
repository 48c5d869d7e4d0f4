"""The pure half of the client-side rate limiter: KSeF's limit groups and sliding windows.

KSeF counts requests per (context, client IP) for protected endpoints and per IP for public
ones, in three sliding windows at once — the last second, minute and hour — and answers 429
as soon as one is full (KSEF_API.md §11.2). Every operation belongs to a *group*; the named
groups have one counter each, the ``other`` group one counter *per endpoint*, the public
endpoints share a 60 requests/s counter per IP, and pre-signed storage links are never
limited. A client that paces itself by the same rules never meets 429.

This module holds the rules and the arithmetic, no I/O and no clock of its own:

* :func:`group_of` maps an operation (method + path template) to its group, and
  :func:`bucket_of` to the counter it draws from;
* :class:`GroupLimits` and :class:`RateLimits` are the limits (the documented defaults, a
  mapping given by the user, or the answer of ``GET /rate-limits``);
* :class:`Windows` remembers when requests went out and computes, with
  :meth:`Windows.reserve`, when the next one may go (FIFO: a request waiting for a slot
  holds its place).

The I/O half (lock, sleep, reading ``GET /rate-limits``) is ``_async/_limiter.py``.

>>> windows = Windows()
>>> limits = GroupLimits(2, None, None)             # 2 requests per second
>>> [windows.reserve(("ctx", "x"), limits, now=0.0) for _ in range(3)]
[0.0, 0.0, 1.1]
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "GROUP_ENDPOINTS",
    "OTHER",
    "PUBLIC",
    "PUBLIC_ENDPOINTS",
    "PUBLIC_LIMITS",
    "GroupLimits",
    "RateLimits",
    "Windows",
    "bucket_of",
    "clock",
    "endpoint_key",
    "group_of",
]

#: The group of every protected endpoint not named in :data:`GROUP_ENDPOINTS`.
OTHER = "other"
#: The per-IP bucket of the public (unauthenticated) endpoints.
PUBLIC = "public"
#: Window lengths in seconds: KSeF's "last second", "last minute", "last hour".
WINDOWS = (1.0, 60.0, 3600.0)
#: Added to each window so that network jitter (a request reaching KSeF a little earlier
#: than its predecessor's timing suggests) does not land one request inside a full window.
SAFETY = 0.1

#: Named groups (as ``GET /rate-limits`` names them) -> their endpoints (open-api.json 2.7.0,
#: the "grupa" column of every operation's 429 description).
GROUP_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "onlineSession": ("POST /sessions/online", "POST /sessions/online/{}/close"),
    "invoiceSend": ("POST /sessions/online/{}/invoices",),
    "batchSession": ("POST /sessions/batch", "POST /sessions/batch/{}/close"),
    "invoiceStatus": ("GET /sessions/{}/invoices/{}",),
    "sessionList": ("GET /sessions",),
    "sessionInvoiceList": ("GET /sessions/{}/invoices", "GET /sessions/{}/invoices/failed"),
    "sessionMisc": (
        "GET /sessions/{}",
        "GET /sessions/{}/invoices/ksef/{}/upo",
        "GET /sessions/{}/invoices/{}/upo",
        "GET /sessions/{}/upo/{}",
    ),
    "invoiceMetadata": ("POST /invoices/query/metadata",),
    "invoiceExport": ("POST /invoices/exports",),
    "invoiceExportStatus": ("GET /invoices/exports/{}",),
    "invoiceDownload": ("GET /invoices/ksef/{}",),
    # open-api.json names the group on POST only; the three reads of the same resource carry
    # no limit of their own, so they are counted with it (a cautious reading of a gap).
    "collectiveIdentifier": (
        "POST /collective-identifiers",
        "POST /collective-identifiers/query",
        "GET /collective-identifiers/ksef/{}",
        "GET /collective-identifiers/{}/invoices",
    ),
}

#: Endpoints without authentication: one bucket per client IP, 60 requests per second.
PUBLIC_ENDPOINTS: frozenset[str] = frozenset(
    {
        "POST /auth/challenge",
        "POST /auth/xades-signature",
        "POST /auth/ksef-token",
        "GET /auth/{}",
        "POST /auth/token/redeem",
        "POST /auth/token/refresh",
        "GET /security/public-key-certificates",
        "GET /peppol/query",
        "POST /testdata/subject",
        "POST /testdata/subject/remove",
        "POST /testdata/person",
        "POST /testdata/person/remove",
        "POST /testdata/permissions",
        "POST /testdata/permissions/revoke",
        "POST /testdata/attachment",
        "POST /testdata/attachment/revoke",
    }
)

_GROUP_OF: dict[str, str] = {
    endpoint: group for group, endpoints in GROUP_ENDPOINTS.items() for endpoint in endpoints
}
_PARAMETER = re.compile(r"\{[^}]*\}")


def clock() -> float:
    """The limiter's clock (monotonic seconds); tests replace it together with the sleep."""
    return time.monotonic()


def endpoint_key(method: str, template: str) -> str:
    """``"METHOD /path"`` with every path parameter written ``{}``.

    >>> endpoint_key("get", "/sessions/{ref}/invoices/{invoice_ref}")
    'GET /sessions/{}/invoices/{}'
    """
    return f"{method.upper()} {_PARAMETER.sub('{}', template)}"


def group_of(method: str, template: str) -> str:
    """The KSeF rate-limit group of an operation (:data:`PUBLIC` for public endpoints).

    >>> group_of("POST", "/sessions/online/{ref}/invoices")
    'invoiceSend'
    >>> group_of("GET", "/tokens"), group_of("POST", "/auth/challenge")
    ('other', 'public')
    """
    key = endpoint_key(method, template)
    if key in PUBLIC_ENDPOINTS:
        return PUBLIC
    return _GROUP_OF.get(key, OTHER)


def bucket_of(method: str, template: str, context: str) -> tuple[str, ...]:
    """The counter a request draws from.

    Named groups count per context; ``other`` per context *and* endpoint; public endpoints
    once per client (KSeF counts them per IP, whatever the context).

    >>> bucket_of("GET", "/sessions/{ref}", "Nip:5265877635")
    ('Nip:5265877635', 'sessionMisc')
    >>> bucket_of("GET", "/tokens", "Nip:5265877635")
    ('Nip:5265877635', 'other', 'GET /tokens')
    >>> bucket_of("POST", "/auth/challenge", "Nip:5265877635")
    ('public',)
    """
    group = group_of(method, template)
    if group == PUBLIC:
        return (PUBLIC,)
    if group == OTHER:
        return (context, OTHER, endpoint_key(method, template))
    return (context, group)


@dataclass(frozen=True)
class GroupLimits:
    """Requests allowed per second, minute and hour (``None``: that window is not limited).

    >>> GroupLimits(10, 30, 120).windows()
    ((1.0, 10), (60.0, 30), (3600.0, 120))
    """

    per_second: int | None
    per_minute: int | None
    per_hour: int | None

    def windows(self) -> tuple[tuple[float, int], ...]:
        """``(window seconds, allowed requests)`` for every limited window.

        A limit of 0 or less is left to KSeF (waiting for a slot that never comes helps no one).
        """
        counts = (self.per_second, self.per_minute, self.per_hour)
        return tuple((w, n) for w, n in zip(WINDOWS, counts, strict=True) if n and n > 0)

    @classmethod
    def parse(cls, value: object) -> GroupLimits:
        """From a :class:`GroupLimits`, a ``(s, min, h)`` tuple, a mapping with
        ``perSecond``/``perMinute``/``perHour`` (or snake_case) keys, or a model with
        ``per_second``/``per_minute``/``per_hour`` attributes.

        >>> GroupLimits.parse({"perSecond": 5, "perMinute": 20, "perHour": 100})
        GroupLimits(per_second=5, per_minute=20, per_hour=100)
        """
        if isinstance(value, GroupLimits):
            return value
        if isinstance(value, tuple | list) and len(value) == 3:
            return cls(*(_count(v) for v in value))
        if isinstance(value, Mapping):
            return cls(
                _count(_pick(value, "perSecond", "per_second")),
                _count(_pick(value, "perMinute", "per_minute")),
                _count(_pick(value, "perHour", "per_hour")),
            )
        if all(hasattr(value, a) for a in ("per_second", "per_minute", "per_hour")):
            return cls(
                _count(getattr(value, "per_second")),  # noqa: B009 - any model-like object
                _count(getattr(value, "per_minute")),  # noqa: B009
                _count(getattr(value, "per_hour")),  # noqa: B009
            )
        raise ConfigurationError(f"cannot read rate limits from {value!r}")


def _pick(mapping: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    return None


def _count(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"a rate limit must be a whole number, not {value!r}") from None


#: The documented defaults (KSEF_API.md §11.2; open-api.json ``x-rate-limits``).
DEFAULT_RATE_LIMITS: dict[str, GroupLimits] = {
    "onlineSession": GroupLimits(10, 30, 120),
    "invoiceSend": GroupLimits(10, 30, 180),
    "batchSession": GroupLimits(10, 20, 60),
    "invoiceStatus": GroupLimits(30, 120, 1200),
    "sessionList": GroupLimits(5, 10, 60),
    "sessionInvoiceList": GroupLimits(10, 20, 200),
    "sessionMisc": GroupLimits(10, 120, 1200),
    "invoiceMetadata": GroupLimits(8, 16, 20),
    "invoiceExport": GroupLimits(8, 16, 20),
    "invoiceExportStatus": GroupLimits(10, 60, 600),
    "invoiceDownload": GroupLimits(8, 16, 64),
    "collectiveIdentifier": GroupLimits(10, 60, 120),
    OTHER: GroupLimits(10, 30, 120),
}
#: Public endpoints: 60 requests per second per IP, no minute or hour limit.
PUBLIC_LIMITS = GroupLimits(60, None, None)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class RateLimits:
    """The limits of every group: the defaults overlaid with what was given.

    >>> limits = RateLimits.parse({"invoice_send": (1, 2, 3)})
    >>> limits.for_group("invoiceSend"), limits.for_group("sessionList").per_minute
    (GroupLimits(per_second=1, per_minute=2, per_hour=3), 10)
    >>> limits.for_group("public").per_second
    60
    """

    def __init__(self, groups: Mapping[str, GroupLimits] | None = None) -> None:
        self.groups = {**DEFAULT_RATE_LIMITS, **(groups or {})}

    def __repr__(self) -> str:
        return f"<RateLimits {len(self.groups)} groups>"

    def for_group(self, group: str) -> GroupLimits:
        """The limits of ``group`` (:data:`PUBLIC` included; unknown groups count as other)."""
        if group == PUBLIC:
            return PUBLIC_LIMITS
        return self.groups.get(group) or self.groups[OTHER]

    @classmethod
    def parse(cls, value: object, *, strict: bool = True) -> RateLimits:
        """From a mapping ``{group: limits}`` (camelCase or snake_case group names, values
        as :meth:`GroupLimits.parse` takes them), the ``GET /rate-limits`` JSON, or its
        model (``EffectiveApiRateLimits``). Missing groups keep their defaults; with
        ``strict`` an unknown group name raises (a typo would silently limit nothing).
        """
        if isinstance(value, RateLimits):
            return value
        if isinstance(value, Mapping):
            given: Mapping[str, Any] = value
        else:
            dump = getattr(value, "model_dump", None)
            if dump is None:
                raise ConfigurationError(f"cannot read rate limits from {value!r}")
            given = dump()
        groups: dict[str, GroupLimits] = {}
        for name, limits in given.items():
            group = _camel(str(name))
            if group not in DEFAULT_RATE_LIMITS:
                if strict:
                    known = ", ".join(sorted(DEFAULT_RATE_LIMITS))
                    raise ConfigurationError(f"unknown rate-limit group {name!r} (known: {known})")
                continue
            if limits is not None:
                groups[group] = GroupLimits.parse(limits)
        return cls(groups)


class Windows:
    """When requests of each bucket went out (or will go out), and when the next one may.

    Timestamps are the caller's clock (monotonic seconds). Reservations are handed out in
    order, so a bucket's timestamps never decrease and a waiting request keeps its place.
    Only what the windows need is kept: the last hour, at most as many stamps per bucket as
    the largest window allows.
    """

    def __init__(self) -> None:
        self._stamps: dict[tuple[str, ...], deque[float]] = {}
        self._blocked: dict[tuple[str, ...], float] = {}

    def next_free(self, key: tuple[str, ...], limits: GroupLimits, now: float) -> float:
        """The earliest time (>= ``now``) at which ``key`` may send a request."""
        at = max(now, self._blocked.get(key, now))
        stamps = self._stamps.get(key)
        if stamps:
            at = max(at, stamps[-1])  # first come, first served
            for window, allowed in limits.windows():
                if len(stamps) >= allowed:
                    at = max(at, stamps[-allowed] + window + SAFETY)
        return at

    def reserve(
        self,
        key: tuple[str, ...],
        limits: GroupLimits,
        now: float,
        *,
        max_wait: float | None = None,
    ) -> float | None:
        """Take the next slot of ``key``: the seconds to wait before sending, or ``None``
        (nothing taken) when that would be longer than ``max_wait``."""
        at = self.next_free(key, limits, now)
        if max_wait is not None and at - now > max_wait:
            return None
        self.record(key, limits, at, now)
        return round(at - now, 6)

    def record(self, key: tuple[str, ...], limits: GroupLimits, at: float, now: float) -> None:
        """Count a request sent (or to be sent) at ``at``."""
        stamps = self._stamps.setdefault(key, deque())
        stamps.append(at)
        keep = max((n for _, n in limits.windows()), default=1)
        horizon = now - WINDOWS[-1] - SAFETY
        while stamps and (len(stamps) > keep or stamps[0] < horizon):
            stamps.popleft()

    def block(self, key: tuple[str, ...], until: float) -> None:
        """KSeF refused ``key`` until ``until`` (a 429's ``Retry-After``): nothing goes before."""
        self._blocked[key] = max(until, self._blocked.get(key, until))

    def wait_hint(self, key: tuple[str, ...], limits: GroupLimits, now: float) -> float:
        """Seconds until ``key`` may send again (0 when it may now)."""
        return max(0.0, self.next_free(key, limits, now) - now)
