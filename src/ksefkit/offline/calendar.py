"""Polish public holidays, business days and the submission deadlines of offline invoices.

Pure functions, no I/O. KSEF_API.md §13.1 (``tryby-offline.md``; VAT act art. 106nda, 106nf,
106nh) sets when an invoice issued outside KSeF must reach it:

============== ====================================================================
mode           deadline (end of that day, Europe/Warsaw)
============== ====================================================================
offline24      the next business day after the issue date (``P_1``)
offline        the next business day after the announced unavailability ends
emergency      the 7th business day after the announced failure ends
total_failure  none: no obligation to send
============== ====================================================================

A failure announced while a deadline is running moves it to the 7th business day after that
failure ends; a failure announced during *that* period moves it again (the emergency clock
restarts with each announcement). While an announced failure has not ended the deadline is
suspended (``None``). A business day is Monday to Friday except public holidays
(:func:`polish_holidays`: the act on public holidays, with 24 December from 2025 on).

>>> import datetime as dt
>>> submission_deadline("offline24", dt.date(2026, 4, 3)).isoformat()  # Good Friday
'2026-04-07T23:59:59.999999+02:00'
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = [
    "EMERGENCY_BUSINESS_DAYS",
    "WARSAW",
    "Failure",
    "OfflineMode",
    "add_business_days",
    "easter_sunday",
    "end_of_day",
    "is_business_day",
    "is_holiday",
    "next_business_day",
    "polish_holidays",
    "submission_deadline",
    "warsaw_day",
]

#: Deadlines and KSeF's calendar-day rules are Polish local time.
WARSAW = ZoneInfo("Europe/Warsaw")
#: Business days an emergency-mode invoice (or one caught by a failure) has after it ends.
EMERGENCY_BUSINESS_DAYS = 7

_FIXED: tuple[tuple[int, int, str, int], ...] = (
    # (month, day, name, first year) - a holiday only from ``first year`` on.
    (1, 1, "Nowy Rok", 1951),
    (1, 6, "Święto Trzech Króli", 2011),
    (5, 1, "Święto Pracy", 1951),
    (5, 3, "Święto Konstytucji 3 Maja", 1990),
    (8, 15, "Wniebowzięcie Najświętszej Maryi Panny", 1951),
    (11, 1, "Wszystkich Świętych", 1951),
    (11, 11, "Narodowe Święto Niepodległości", 1989),
    (12, 24, "Wigilia Bożego Narodzenia", 2025),
    (12, 25, "Boże Narodzenie (pierwszy dzień)", 1951),
    (12, 26, "Boże Narodzenie (drugi dzień)", 1951),
)
_MOVABLE: tuple[tuple[int, str], ...] = (
    # days after Easter Sunday
    (0, "Wielkanoc"),
    (1, "Poniedziałek Wielkanocny"),
    (49, "Zielone Świątki (Zesłanie Ducha Świętego)"),
    (60, "Boże Ciało"),
)


class OfflineMode(enum.StrEnum):
    """How an invoice was issued outside KSeF (KSEF_API.md §13.1)."""

    #: the taxpayer's choice, any time (``offline24``)
    OFFLINE24 = "offline24"
    #: an announced unavailability of KSeF (``tryb offline``, maintenance)
    OFFLINE = "offline"
    #: an announced failure of KSeF (``tryb awaryjny``)
    EMERGENCY = "emergency"
    #: a total failure announced in the mass media (``awaria całkowita``): no obligation
    TOTAL_FAILURE = "total_failure"

    @property
    def needs_end(self) -> bool:
        """True when the deadline runs from the end of an outage (offline, emergency)."""
        return self in (OfflineMode.OFFLINE, OfflineMode.EMERGENCY)


@dataclass(frozen=True)
class Failure:
    """An announced KSeF failure: from its announcement (``start``) to its end (``None``
    while it lasts). Dates or datetimes; naive datetimes are Polish local time."""

    start: dt.date
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and warsaw_day(self.end) < warsaw_day(self.start):
            raise ValueError(f"a failure cannot end ({self.end}) before it starts ({self.start})")


def easter_sunday(year: int) -> dt.date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian computus).

    >>> easter_sunday(2025), easter_sunday(2026), easter_sunday(2038)
    (datetime.date(2025, 4, 20), datetime.date(2026, 4, 5), datetime.date(2038, 4, 25))
    """
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@functools.lru_cache(maxsize=256)
def _holidays(year: int) -> dict[dt.date, str]:
    days = {dt.date(year, m, d): name for m, d, name, since in _FIXED if year >= since}
    easter = easter_sunday(year)
    for offset, name in _MOVABLE:
        days[easter + dt.timedelta(days=offset)] = name
    return dict(sorted(days.items()))


def polish_holidays(year: int) -> dict[dt.date, str]:
    """The public holidays (dni wolne od pracy) of ``year``, in date order, with their names.

    >>> days = polish_holidays(2026)
    >>> len(days), days[dt.date(2026, 12, 24)]
    (14, 'Wigilia Bożego Narodzenia')
    >>> dt.date(2024, 12, 24) in polish_holidays(2024)
    False
    """
    return dict(_holidays(year))


def is_holiday(day: dt.date) -> bool:
    """True for a Polish public holiday (Sundays are days off too, see :func:`is_business_day`).

    >>> is_holiday(dt.date(2025, 12, 24)), is_holiday(dt.date(2024, 12, 24))  # from 2025 on
    (True, False)
    """
    return warsaw_day(day) in _holidays(warsaw_day(day).year)


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday.

    >>> is_business_day(dt.date(2026, 4, 6))  # Easter Monday
    False
    """
    day = warsaw_day(day)
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_business_days(day: dt.date, count: int) -> dt.date:
    """The ``count``-th business day after ``day`` (``day`` itself is not counted; 0 returns it).

    >>> add_business_days(dt.date(2026, 4, 30), 1)  # 1 May Fri, weekend, 3 May Sun
    datetime.date(2026, 5, 4)
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    current = warsaw_day(day)
    while count:
        current += dt.timedelta(days=1)
        if is_business_day(current):
            count -= 1
    return current


def next_business_day(day: dt.date) -> dt.date:
    """The first business day after ``day``.

    >>> next_business_day(dt.date(2025, 12, 23))  # 24-26 Dec are holidays from 2025 on
    datetime.date(2025, 12, 29)
    """
    return add_business_days(day, 1)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last instant of ``day`` in Europe/Warsaw (an aware datetime).

    >>> end_of_day(dt.date(2026, 1, 2)).isoformat()
    '2026-01-02T23:59:59.999999+01:00'
    """
    return dt.datetime.combine(warsaw_day(day), dt.time.max, tzinfo=WARSAW)


def warsaw_day(value: dt.date) -> dt.date:
    """The Polish calendar day of a date or datetime (naive datetimes are local time).

    >>> warsaw_day(dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC))
    datetime.date(2026, 1, 1)
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(WARSAW)
        return value.date()
    return value


def submission_deadline(
    mode: OfflineMode | str,
    issue_date: dt.date,
    *,
    ended: dt.date | None = None,
    failures: Iterable[Failure] = (),
) -> dt.datetime | None:
    """When an invoice issued in ``mode`` must have been sent to KSeF (end of day, Warsaw).

    ``issue_date`` is ``P_1``. ``ended`` is when the unavailability (``offline``) or the
    failure (``emergency``) the invoice was issued in ended; ``failures`` are the failures
    announced since. ``None`` means no deadline: a total failure (no obligation), or an
    outage or failure that has not ended yet (the clock has not started).

    >>> submission_deadline("offline", dt.date(2026, 5, 1), ended=dt.date(2026, 5, 1))
    datetime.datetime(2026, 5, 4, 23, 59, 59, 999999, tzinfo=zoneinfo.ZoneInfo(key='Europe/Warsaw'))
    >>> submission_deadline("emergency", dt.date(2026, 12, 22), ended=dt.date(2026, 12, 23)).date()
    datetime.date(2027, 1, 7)
    >>> submission_deadline("total_failure", dt.date(2026, 3, 2)) is None
    True
    """
    mode = OfflineMode(mode)
    issued = warsaw_day(issue_date)
    if mode is OfflineMode.TOTAL_FAILURE:
        return None
    if mode is OfflineMode.OFFLINE24:
        due = next_business_day(issued)
    elif ended is None:
        return None
    elif mode is OfflineMode.OFFLINE:
        due = next_business_day(ended)
    else:
        due = add_business_days(ended, EMERGENCY_BUSINESS_DAYS)
    for failure in sorted(failures, key=lambda f: warsaw_day(f.start)):
        if warsaw_day(failure.start) > due:
            continue  # announced after the deadline passed: it changes nothing
        if failure.end is not None and warsaw_day(failure.end) < issued:
            continue  # over before the invoice was issued
        if failure.end is None:
            return None  # the failure lasts: 7 business days will run from its end
        due = max(due, add_business_days(failure.end, EMERGENCY_BUSINESS_DAYS))
    return end_of_day(due)
