"""The calendar rules of campaigns: pure functions, tested on awkward days."""

from datetime import UTC, date, datetime
from functools import partial

import pytest

from outreach.campaigns.schedule import (
    EVERY_DAY_WINDOW,
    WORKING_DAYS_WINDOW,
    Cadence,
    add_months,
    in_window,
    is_calling_day,
    is_public_holiday,
    next_due_date,
    paris_today,
    parse_window,
)

pytestmark = pytest.mark.date_sensitive

WEEKLY = Cadence(days=7)
courtesy_day = partial(is_calling_day, window=WORKING_DAYS_WINDOW, skip_holidays=True)
canicule_day = partial(is_calling_day, window=EVERY_DAY_WINDOW, skip_holidays=False)


def test_never_reached_is_due_today():
    assert next_due_date(WEEKLY, None, None, date(2026, 6, 10)) == date(2026, 6, 10)


def test_one_cadence_after_last_reached():
    assert next_due_date(WEEKLY, date(2026, 6, 3), None, date(2026, 6, 5)) == date(2026, 6, 10)


def test_overdue_is_due_today_not_in_the_past():
    assert next_due_date(WEEKLY, date(2026, 5, 1), None, date(2026, 6, 10)) == date(2026, 6, 10)


def test_pause_moves_the_date_after_the_absence():
    due = next_due_date(WEEKLY, date(2026, 6, 3), date(2026, 6, 20), date(2026, 6, 5))
    assert due == date(2026, 6, 21)


def test_pause_in_the_past_changes_nothing():
    due = next_due_date(WEEKLY, date(2026, 6, 3), date(2026, 6, 1), date(2026, 6, 5))
    assert due == date(2026, 6, 10)


def test_weekend_moves_to_monday_for_courtesy():
    # 2026-06-06 + 7 = Saturday 13 June -> Monday 15 June.
    due = next_due_date(WEEKLY, date(2026, 6, 6), None, date(2026, 6, 8), calling_day=courtesy_day)
    assert due == date(2026, 6, 15)


def test_canicule_calls_on_weekends_and_holidays():
    # 14 July 2026 is a Tuesday and a holiday; canicule calls anyway.
    assert next_due_date(
        Cadence(days=1), date(2026, 7, 13), None, date(2026, 7, 14), calling_day=canicule_day
    ) == date(2026, 7, 14)


def test_holiday_moves_to_next_working_day():
    # 14 July 2026 (Tuesday) is the fête nationale -> Wednesday 15 July.
    due = next_due_date(WEEKLY, date(2026, 7, 7), None, date(2026, 7, 8), calling_day=courtesy_day)
    assert due == date(2026, 7, 15)


def test_holiday_then_weekend_chain():
    # Friday 25 December 2026 is Christmas; then the weekend -> Monday 28.
    due = next_due_date(
        WEEKLY, date(2026, 12, 18), None, date(2026, 12, 21), calling_day=courtesy_day
    )
    assert due == date(2026, 12, 28)


def test_alsace_moselle_has_saint_stephen():
    assert is_public_holiday(date(2026, 12, 26), "57")
    assert not is_public_holiday(date(2026, 12, 26), "37")
    assert is_public_holiday(date(2026, 4, 3), "67")  # Good Friday
    assert not is_public_holiday(date(2026, 4, 3), "41")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 11, 30), 2, date(2027, 1, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_month_ends(start, months, expected):
    assert add_months(start, months) == expected
    assert next_due_date(Cadence(months=months), start, None, start) == expected


def test_days_cadence_across_month_and_year_end():
    assert Cadence(days=14).after(date(2026, 12, 25)) == date(2027, 1, 8)
    assert Cadence(days=14).after(date(2026, 2, 20)) == date(2026, 3, 6)


def test_cadence_needs_exactly_one_unit():
    with pytest.raises(ValueError):
        Cadence()
    with pytest.raises(ValueError):
        Cadence(days=7, months=1)


def test_window_without_open_day_raises():
    with pytest.raises(ValueError):
        next_due_date(WEEKLY, None, None, date(2026, 6, 1), calling_day=lambda d: False)


# Daylight saving: France moves to CEST on 29 March 2026 at 01:00 UTC, back on 25 October.
@pytest.mark.parametrize(
    ("utc", "expected_day", "open_"),
    [
        # 08:30 UTC = 09:30 CET in winter: closed for courtesy (opens 10:00).
        (datetime(2026, 3, 27, 8, 30, tzinfo=UTC), date(2026, 3, 27), False),
        # 08:30 UTC = 10:30 CEST after the change: open.
        (datetime(2026, 3, 30, 8, 30, tzinfo=UTC), date(2026, 3, 30), True),
        # 18:30 UTC = 20:30 CEST on a Friday in summer: closed.
        (datetime(2026, 10, 23, 18, 30, tzinfo=UTC), date(2026, 10, 23), False),
        # 18:30 UTC = 19:30 CET on Monday after the change back: open.
        (datetime(2026, 10, 26, 18, 30, tzinfo=UTC), date(2026, 10, 26), True),
        # 12:30 UTC = 13:30 CET: the lunch break.
        (datetime(2026, 11, 23, 12, 30, tzinfo=UTC), date(2026, 11, 23), False),
        # 23:30 UTC on Saturday 28 March is 00:30 CET on Sunday 29th: no courtesy calls.
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 29), False),
    ],
)
def test_window_in_paris_time_across_dst(utc, expected_day, open_):
    assert paris_today(utc) == expected_day
    assert in_window(utc, WORKING_DAYS_WINDOW, skip_holidays=True) is open_


def test_due_date_uses_the_paris_day_not_the_utc_day():
    # 23:30 UTC on 31 October 2026 is already 1 November (a Sunday) in Paris.
    today = paris_today(datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    assert today == date(2026, 11, 1)
    assert next_due_date(WEEKLY, None, None, today, calling_day=courtesy_day) == date(2026, 11, 2)


def test_window_closed_on_holiday_unless_canicule():
    instant = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)  # 12:00 CEST, fête nationale
    assert not in_window(instant, WORKING_DAYS_WINDOW, skip_holidays=True)
    assert in_window(instant, EVERY_DAY_WINDOW, skip_holidays=False)


@pytest.mark.parametrize(
    "window", [{"lun": [["10:00", "12:00"]]}, {"mon": [["12:00", "10:00"]]}, {"mon": [["10h"]]}]
)
def test_bad_windows_are_refused(window):
    with pytest.raises(ValueError):
        parse_window(window)
