"""Polish holidays, business days and offline submission deadlines (KSEF_API.md §13.1)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksefkit.offline.calendar import (
    WARSAW,
    Failure,
    OfflineMode,
    add_business_days,
    easter_sunday,
    end_of_day,
    is_business_day,
    is_holiday,
    next_business_day,
    polish_holidays,
    submission_deadline,
    warsaw_day,
)

D = dt.date


def deadline_day(mode: str, issued: dt.date, **kw: object) -> dt.date | None:
    found = submission_deadline(mode, issued, **kw)  # type: ignore[arg-type]
    return None if found is None else found.date()


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2008, D(2008, 3, 23)),  # early
        (2011, D(2011, 4, 24)),  # late
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2026, D(2026, 4, 5)),
        (2027, D(2027, 3, 28)),
        (2028, D(2028, 4, 16)),
        (2038, D(2038, 4, 25)),  # latest possible date
        (2285, D(2285, 3, 22)),  # earliest possible date
    ],
)
def test_easter_sunday(year: int, easter: dt.date) -> None:
    assert easter_sunday(year) == easter
    assert easter.weekday() == 6


def test_holidays_of_2026() -> None:
    assert list(polish_holidays(2026)) == [
        D(2026, 1, 1),
        D(2026, 1, 6),
        D(2026, 4, 5),  # Easter Sunday
        D(2026, 4, 6),  # Easter Monday
        D(2026, 5, 1),
        D(2026, 5, 3),
        D(2026, 5, 24),  # Pentecost Sunday
        D(2026, 6, 4),  # Corpus Christi
        D(2026, 8, 15),
        D(2026, 11, 1),
        D(2026, 11, 11),
        D(2026, 12, 24),
        D(2026, 12, 25),
        D(2026, 12, 26),
    ]
    assert polish_holidays(2026)[D(2026, 6, 4)] == "Boże Ciało"


def test_christmas_eve_from_2025_and_epiphany_from_2011() -> None:
    assert not is_holiday(D(2024, 12, 24))
    assert is_business_day(D(2024, 12, 24))  # a Tuesday
    assert is_holiday(D(2025, 12, 24))
    assert not is_business_day(D(2025, 12, 24))  # a Wednesday
    assert not is_holiday(D(2010, 1, 6))
    assert is_holiday(D(2011, 1, 6))
    # the returned mapping is a copy: callers cannot change the calendar
    polish_holidays(2026).clear()
    assert is_holiday(D(2026, 1, 1))


def test_weekends_are_not_business_days() -> None:
    assert is_business_day(D(2026, 3, 6))  # Friday
    assert not is_business_day(D(2026, 3, 7))
    assert not is_business_day(D(2026, 3, 8))


@pytest.mark.parametrize(
    ("issued", "due"),
    [
        (D(2026, 4, 3), D(2026, 4, 7)),  # Good Friday -> weekend, Easter Monday
        (D(2026, 4, 4), D(2026, 4, 7)),  # Saturday before Easter
        (D(2025, 4, 18), D(2025, 4, 22)),  # Easter Monday 2025 is 21 April
        (D(2026, 4, 30), D(2026, 5, 4)),  # 1 May Fri, weekend, 3 May on a Sunday
        (D(2027, 4, 30), D(2027, 5, 4)),  # 1 May Sat, 3 May Mon
        (D(2025, 4, 30), D(2025, 5, 2)),  # 1 May Thu, 2 May is a business day
        (D(2025, 5, 1), D(2025, 5, 2)),
        (D(2025, 5, 2), D(2025, 5, 5)),  # 3 May on a Saturday
        (D(2025, 12, 23), D(2025, 12, 29)),  # 24-26 Dec are holidays from 2025 on
        (D(2024, 12, 23), D(2024, 12, 24)),  # ... but not in 2024
        (D(2024, 12, 24), D(2024, 12, 27)),
        (D(2026, 12, 31), D(2027, 1, 4)),  # New Year on a Friday, year boundary
        (D(2025, 12, 31), D(2026, 1, 2)),
        (D(2026, 1, 5), D(2026, 1, 7)),  # Epiphany on a Tuesday
        (D(2026, 6, 3), D(2026, 6, 5)),  # Corpus Christi (Thursday)
        (D(2026, 11, 10), D(2026, 11, 12)),  # Independence Day (Wednesday)
        (D(2026, 8, 14), D(2026, 8, 17)),  # 15 Aug on a Saturday changes nothing
    ],
)
def test_offline24_deadline(issued: dt.date, due: dt.date) -> None:
    deadline = submission_deadline(OfflineMode.OFFLINE24, issued)
    assert deadline is not None
    assert deadline == dt.datetime.combine(due, dt.time.max, tzinfo=WARSAW)


def test_offline_unavailability_runs_from_its_end() -> None:
    issued = D(2026, 4, 30)
    assert submission_deadline("offline", issued) is None  # the outage is not over
    assert deadline_day("offline", issued, ended=D(2026, 5, 1)) == D(2026, 5, 4)
    # a datetime end counts by its Polish day (23:30 UTC on 30 April is 1 May in Warsaw)
    ended = dt.datetime(2026, 4, 30, 23, 30, tzinfo=dt.UTC)
    assert deadline_day("offline", issued, ended=ended) == D(2026, 5, 4)


def test_emergency_is_seven_business_days_after_the_failure() -> None:
    # 23 Dec 2026 (Wed): 24-26 Dec, New Year and Epiphany are skipped.
    assert deadline_day("emergency", D(2026, 12, 22), ended=D(2026, 12, 23)) == D(2027, 1, 7)
    assert deadline_day("emergency", D(2026, 3, 2), ended=D(2026, 3, 2)) == D(2026, 3, 11)
    assert submission_deadline("emergency", D(2026, 3, 2)) is None


def test_a_new_failure_restarts_the_emergency_clock() -> None:
    first_end = D(2026, 3, 2)
    again = [Failure(D(2026, 3, 10), D(2026, 3, 12))]  # announced before 11 March
    assert deadline_day("emergency", first_end, ended=first_end, failures=again) == D(2026, 3, 23)
    too_late = [Failure(D(2026, 3, 12), D(2026, 3, 13))]  # after the deadline passed
    assert deadline_day("emergency", first_end, ended=first_end, failures=too_late) == D(
        2026, 3, 11
    )


def test_a_failure_during_an_offline24_deadline_shifts_it() -> None:
    issued = D(2026, 3, 2)  # Monday: due Tuesday
    failure = Failure(D(2026, 3, 3), D(2026, 3, 4))
    assert deadline_day("offline24", issued, failures=[failure]) == D(2026, 3, 13)
    # the last failure counts: a second one announced inside the new period moves it again
    second = Failure(dt.datetime(2026, 3, 12, 8, 0, tzinfo=WARSAW), D(2026, 3, 16))
    assert deadline_day("offline24", issued, failures=[second, failure]) == D(2026, 3, 25)
    # still going on: no deadline until it ends
    assert submission_deadline("offline24", issued, failures=[Failure(D(2026, 3, 3))]) is None
    # over before the invoice was issued: irrelevant
    earlier = Failure(D(2026, 2, 20), D(2026, 2, 27))
    assert deadline_day("offline24", issued, failures=[earlier]) == D(2026, 3, 3)


def test_a_failure_never_shortens_a_deadline() -> None:
    # an emergency invoice due 31 March; a short failure early in the month would give
    # 11 March on its own, but a deadline only ever moves later
    issued = D(2026, 3, 2)
    failure = Failure(D(2026, 3, 2), D(2026, 3, 2))
    due = deadline_day("emergency", issued, ended=D(2026, 3, 20), failures=[failure])
    assert due == add_business_days(D(2026, 3, 20), 7)


def test_total_failure_has_no_deadline() -> None:
    assert submission_deadline(OfflineMode.TOTAL_FAILURE, D(2026, 3, 2)) is None
    assert not OfflineMode.TOTAL_FAILURE.needs_end
    assert OfflineMode.OFFLINE.needs_end and OfflineMode.EMERGENCY.needs_end


def test_deadlines_are_the_end_of_the_day_in_warsaw() -> None:
    summer = end_of_day(D(2026, 3, 29))  # DST starts that night
    winter = end_of_day(D(2026, 10, 25))  # DST ends
    assert summer.utcoffset() == dt.timedelta(hours=2)
    assert winter.utcoffset() == dt.timedelta(hours=1)
    assert summer.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 21, 59, 59, 999999, dt.UTC)
    assert warsaw_day(dt.datetime(2026, 3, 1, 23, 30)) == D(2026, 3, 1)  # naive: local time


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Failure(D(2026, 3, 2), D(2026, 3, 1))
    with pytest.raises(ValueError, match="0 or more"):
        add_business_days(D(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="not a valid OfflineMode"):
        submission_deadline("offline48", D(2026, 3, 2))
    assert add_business_days(D(2026, 3, 7), 0) == D(2026, 3, 7)


DAYS = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))


@settings(max_examples=300, database=None, deadline=None)
@given(DAYS)
def test_property_offline24_deadline_is_the_next_business_day(issued: dt.date) -> None:
    deadline = submission_deadline("offline24", issued)
    assert deadline is not None
    due = deadline.date()
    assert due > issued
    assert is_business_day(due)
    # nothing in between is a business day
    day = issued + dt.timedelta(days=1)
    while day < due:
        assert not is_business_day(day)
        day += dt.timedelta(days=1)
    assert deadline.tzinfo is WARSAW and deadline.time() == dt.time.max


@settings(max_examples=200, database=None, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=40), st.sampled_from(["offline", "emergency"]))
def test_property_outage_deadlines(issued: dt.date, outage_days: int, mode: str) -> None:
    ended = issued + dt.timedelta(days=outage_days)
    due = deadline_day(mode, issued, ended=ended)
    assert due is not None
    assert due > issued and due > ended
    assert is_business_day(due)
    counted = sum(
        is_business_day(ended + dt.timedelta(days=n)) for n in range(1, (due - ended).days + 1)
    )
    assert counted == (1 if mode == "offline" else 7)
    assert next_business_day(ended) <= due
