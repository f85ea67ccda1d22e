"""Calendar arithmetic for campaigns: calling days, call windows and the next due date.

Everything here is a pure function of its arguments (no clock, no database) so that the
rules that decide when a senior is called can be tested across daylight-saving changes,
public holidays and month ends. Dates are calendar days in the service's time zone
(``outreach.timezone.PARIS``, re-exported here); instants are aware datetimes, converted at
the edge.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from outreach.timezone import PARIS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# DOMAIN.md defaults: courtesy calls copy the strictest consumer rule; canicule every day.
WORKING_DAYS_WINDOW: dict[str, list[list[str]]] = {
    d: [["10:00", "13:00"], ["14:00", "20:00"]] for d in WEEKDAYS[:5]
}
EVERY_DAY_WINDOW: dict[str, list[list[str]]] = {d: [["09:00", "19:00"]] for d in WEEKDAYS}

# Alsace-Moselle (57, 67, 68) adds Good Friday and 26 December.
ALSACE_MOSELLE = frozenset({"57", "67", "68"})


@lru_cache(maxsize=64)
def _holidays(year: int, subdiv: str | None) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", subdiv=subdiv, years=year).keys())


def is_public_holiday(day: date, departement: str | None = None) -> bool:
    """French public holiday, with the two extra days of Alsace-Moselle."""
    subdiv = "57" if departement in ALSACE_MOSELLE else None
    return day in _holidays(day.year, subdiv)


def parse_window(
    window: Mapping[str, Sequence[Sequence[str]]],
) -> dict[int, list[tuple[time, time]]]:
    """{"mon": [["10:00", "13:00"]]} -> {0: [(10:00, 13:00)]}; raises ValueError on bad input."""
    parsed: dict[int, list[tuple[time, time]]] = {}
    for name, ranges in window.items():
        if name not in WEEKDAYS:
            raise ValueError(f"jour inconnu : {name}")
        spans = []
        for pair in ranges:
            if len(pair) != 2:
                raise ValueError(f"plage horaire invalide : {pair}")
            start, end = (time.fromisoformat(p) for p in pair)
            if start >= end:
                raise ValueError(f"plage horaire vide ou inversée : {pair[0]}–{pair[1]}")
            spans.append((start, end))
        parsed[WEEKDAYS.index(name)] = sorted(spans)
    return parsed


def is_calling_day(
    day: date,
    window: Mapping[str, Sequence[Sequence[str]]],
    skip_holidays: bool,
    departement: str | None = None,
) -> bool:
    """Whether the window opens at all on ``day`` (weekday listed, and not a holiday)."""
    if not window.get(WEEKDAYS[day.weekday()]):
        return False
    return not (skip_holidays and is_public_holiday(day, departement))


def in_window(
    instant: datetime,
    window: Mapping[str, Sequence[Sequence[str]]],
    skip_holidays: bool,
    departement: str | None = None,
) -> bool:
    """Whether an aware instant falls inside the call window, in Paris local time."""
    local = instant.astimezone(PARIS)
    if not is_calling_day(local.date(), window, skip_holidays, departement):
        return False
    spans = parse_window(window).get(local.weekday(), [])
    now = local.time()
    return any(start <= now < end for start, end in spans)


def paris_today(instant: datetime) -> date:
    """The calendar day in Paris (``PARIS``) of an aware instant."""
    return instant.astimezone(PARIS).date()


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Cadence:
    """How often a senior is contacted: every N days or every N months."""

    days: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        if (self.days > 0) == (self.months > 0):
            raise ValueError("a cadence is a number of days or a number of months")

    def after(self, day: date) -> date:
        return add_months(day, self.months) if self.months else day + timedelta(days=self.days)


def next_due_date(
    cadence: Cadence,
    last_reached: date | None,
    paused_until: date | None,
    today: date,
    calling_day: Callable[[date], bool] = lambda _d: True,
    horizon_days: int = 30,
) -> date:
    """The next day a senior should be contacted.

    - Never reached: today. Reached: one cadence after the last reached contact, and never in
      the past (an overdue senior is due today, not on a day already gone).
    - Paused until D ("absent until", holiday, hospital): not before D + 1.
    - Moved forward to the next calling day (weekend, public holiday), looking at most
      ``horizon_days`` ahead so a window with no open day cannot loop forever.
    """
    due = today if last_reached is None else max(cadence.after(last_reached), today)
    if paused_until is not None and paused_until >= due:
        due = paused_until + timedelta(days=1)
    for _ in range(horizon_days):
        if calling_day(due):
            return due
        due += timedelta(days=1)
    raise ValueError("the call window has no open day")
