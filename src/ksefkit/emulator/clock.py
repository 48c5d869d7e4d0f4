"""The emulator's notion of time: a real clock for serving, manual clocks for tests.

Every timestamp the emulator writes comes from ``EmulatorState.clock`` so tests can freeze
time, step over a challenge TTL or a session's 12 h lifetime without sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

__all__ = [
    "WARSAW",
    "Clock",
    "FrozenClock",
    "ManualClock",
    "SystemClock",
    "isoformat",
    "parse_datetime",
    "warsaw_date",
]

#: KSeF's calendar-day rules (P_1 vs acceptance day, auto-offline) use Polish local time.
WARSAW = ZoneInfo("Europe/Warsaw")


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """Wall-clock time in UTC.

    >>> SystemClock().now().tzinfo is dt.UTC
    True
    """

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that moves only when told to (thread-safe).

    >>> c = ManualClock(dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC))
    >>> _ = c.advance(90)
    >>> c.now().isoformat()
    '2025-07-01T12:01:30+00:00'
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime.now(dt.UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> dt.datetime:
        """Move time forward by ``seconds`` (negative values are refused) and return it."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)
            return self._now

    def set(self, when: dt.datetime) -> None:
        """Jump to an absolute (aware) moment."""
        with self._lock:
            self._now = when.astimezone(dt.UTC)


#: A frozen clock is a manual clock nobody advances; the alias reads better in tests.
FrozenClock = ManualClock


def isoformat(value: dt.datetime) -> str:
    """ISO 8601 with offset and 7 fractional digits, as KSeF writes date-times.

    >>> isoformat(dt.datetime(2025, 7, 11, 12, 23, 56, 15430, tzinfo=dt.UTC))
    '2025-07-11T12:23:56.0154300+00:00'
    >>> isoformat(dt.datetime(999, 1, 1, tzinfo=dt.UTC))
    '0999-01-01T00:00:00.0000000+00:00'
    """
    value = value.astimezone(dt.UTC)
    # strftime's %Y does not pad years below 1000 on every platform; RFC 3339 wants four digits.
    return (
        f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0+00:00"
    )


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time; without an offset it is Europe/Warsaw local time.

    >>> parse_datetime("2025-07-11T12:23:56.0154302+00:00").microsecond
    15430
    >>> parse_datetime("0001-01-01T00:00:00+01:00")
    Traceback (most recent call last):
    ...
    ValueError: date-time out of range: '0001-01-01T00:00:00+01:00'
    """
    text = text.strip().replace("Z", "+00:00")
    main, _, frac_tz = text.partition(".")
    if frac_tz:
        digits = frac_tz[: len(frac_tz) - len(frac_tz.lstrip("0123456789"))]
        rest = frac_tz[len(digits) :]
        text = f"{main}.{(digits + '000000')[:6]}{rest}"
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=WARSAW)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise ValueError(f"date-time out of range: {text[:40]!r}") from None


def warsaw_date(value: dt.datetime) -> dt.date:
    """The Polish calendar day of an instant.

    >>> warsaw_date(dt.datetime(2025, 10, 3, 22, 30, tzinfo=dt.UTC))
    datetime.date(2025, 10, 4)
    """
    return value.astimezone(WARSAW).date()
