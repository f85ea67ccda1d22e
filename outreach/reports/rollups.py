"""Rollups of the reports: what a closed month established, kept by the ``report-rollups``
job so that a quarter's report does not read a million attempts (docs/benchmarks.md).

- ``report_senior_month``: per organisation, senior and Paris month, the flags of the
  senior indicators (``sources.senior_sources`` over that month);
- ``report_contact_day`` and ``report_staff_day``: per organisation and Paris day, the
  contacts by channel × outcome and the staff calls per caller.

A report reads a whole month of its period from the senior rollups, and any day of a month
from the day rollups, when that month is *usable* (settled and not stale); everything else
(a partial month, the current month, a stale or unsettled one) is read live, and the two
are combined per senior (UNION ALL, then max) so distinct-senior counts stay exact across
the seam. Without rollups the report is the live query alone.

Staleness: a SQLAlchemy ``before_flush`` listener, rather than a call in each place that
changes history, because the changes are spread (an outcome correction, a referral or a
reinforced follow-up recorded late, a task added to a past day by hand) and a place
forgotten would make a report silently wrong; it costs nothing on the hot path (a contact
of the current month touches no rolled month). Bulk UPDATEs bypass it: the gateway's late
status callbacks are covered by ``rollup_settle_days`` (a month is read live until it has
been built that long after its end). Retention deleting old attempts does not mark their
month stale, deliberately: the figures of a past period stay what the service did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from outreach.audit.queries import paris_midnight
from outreach.calls.models import Attempt, AttemptChannel
from outreach.campaigns.models import Task
from outreach.campaigns.schedule import add_months, paris_today
from outreach.escalation.models import AlertEvent
from outreach.partners.models import Referral
from outreach.reports.indicators import Period
from outreach.reports.models import (
    SENIOR_FLAGS,
    ReportContactDay,
    ReportRollupMonth,
    ReportSeniorMonth,
    ReportStaffDay,
)
from outreach.reports.sources import senior_sources
from outreach.timezone import PARIS


def month_period(first: date) -> Period:
    """The Paris days of the month that begins on ``first``."""
    return Period(first, add_months(first, 1) - timedelta(days=1))


@dataclass(frozen=True)
class Split:
    """How a period is read: senior flags of whole ``months`` from the rollups, of
    ``live`` segments from the tables; contacts and calls of ``day_rolled`` segments from
    the day rollups, of ``day_live`` segments from the tables."""

    months: tuple[date, ...]
    live: tuple[Period, ...]
    day_rolled: tuple[Period, ...]
    day_live: tuple[Period, ...]


def _merged(segments: list[Period]) -> tuple[Period, ...]:
    out: list[Period] = []
    for s in segments:
        if out and out[-1].end + timedelta(days=1) == s.start:
            out[-1] = Period(out[-1].start, s.end)
        else:
            out.append(s)
    return tuple(out)


def split_period(session: Session, period: Period) -> Split:
    """The usable rolled months of ``period`` and the rest, read live (one small query)."""
    first, last = period.start.replace(day=1), period.end.replace(day=1)
    usable = set(
        session.scalars(
            select(ReportRollupMonth.month).where(
                ReportRollupMonth.month >= first,
                ReportRollupMonth.month <= last,
                ReportRollupMonth.settled.is_(True),
                ReportRollupMonth.stale.is_(False),
            )
        )
    )
    if not usable:
        return Split((), (period,), (), (period,))
    months, live, rolled, day_live = [], [], [], []
    month = first
    while month <= last:
        whole = month_period(month)
        part = Period(max(whole.start, period.start), min(whole.end, period.end))
        if month in usable:
            rolled.append(part)
            (months.append(month) if part == whole else live.append(part))
        else:
            live.append(part)
            day_live.append(part)
        month = add_months(month, 1)
    return Split(tuple(months), _merged(live), _merged(rolled), _merged(day_live))


def _day_index(column: Any, days: list[date]) -> Any:
    """SQL: the index in ``days`` of the Paris day of a UTC ``column`` (-1: after)."""
    edges = [paris_midnight(d + timedelta(days=1)) for d in days]
    return case(*((column < edge, n) for n, edge in enumerate(edges)), else_=-1)


def build_month(session: Session, first: date, now: datetime, settle_days: int) -> None:
    """(Re)build every rollup of the month beginning on ``first``, for every organisation."""
    from outreach.reports.activity import PENDING, call_seconds

    # Lock the month's state row first: a correction flushed meanwhile waits for this
    # transaction, then marks the month stale again (it is rebuilt on the next run).
    state = session.get(ReportRollupMonth, first, with_for_update=True)
    period = month_period(first)
    days = [period.start + timedelta(days=n) for n in range(period.end.day)]
    lo, hi = period.utc_bounds()
    session.execute(delete(ReportSeniorMonth).where(ReportSeniorMonth.month == first))
    for table in (ReportContactDay, ReportStaffDay):
        session.execute(delete(table).where(table.day.between(period.start, period.end)))

    parts = union_all(*senior_sources(None, [period], by_org=True)).subquery("u")
    flags = [func.max(parts.c[name]) for name in SENIOR_FLAGS]
    session.execute(
        insert(ReportSeniorMonth).from_select(
            ["organisation_id", "month", "senior_id", *SENIOR_FLAGS],
            select(parts.c.org_id, literal(first, Date), parts.c.sid, *flags).group_by(
                parts.c.org_id, parts.c.sid
            ),
        )
    )

    in_month = (Attempt.started_at >= lo, Attempt.started_at < hi)
    day = _day_index(Attempt.started_at, days).label("day")
    contacts = session.execute(
        select(Attempt.organisation_id, day, Attempt.channel, Attempt.outcome, func.count())
        .where(*in_month)
        .group_by(Attempt.organisation_id, day, Attempt.channel, Attempt.outcome)
    ).all()
    rows = [
        {
            "organisation_id": org,
            "day": days[i],
            "channel": str(channel),
            "outcome": str(outcome) if outcome is not None else PENDING,
            "contacts": n,
        }
        for org, i, channel, outcome, n in contacts
    ]
    if rows:
        session.execute(insert(ReportContactDay), rows)
    staff = session.execute(
        select(
            Attempt.organisation_id,
            day,
            Attempt.user_id,
            func.count(),
            func.sum(call_seconds(session)),
        )
        .where(*in_month, Attempt.channel == AttemptChannel.staff)
        .group_by(Attempt.organisation_id, day, Attempt.user_id)
    ).all()
    rows = [
        {
            "organisation_id": org,
            "day": days[i],
            "user_id": user_id or 0,  # 0: no caller recorded (no membership, as live)
            "calls": n,
            "seconds": float(seconds or 0),
        }
        for org, i, user_id, n, seconds in staff
    ]
    if rows:
        session.execute(insert(ReportStaffDay), rows)

    settled_at = datetime.combine(
        period.end + timedelta(days=1 + settle_days), datetime.min.time(), PARIS
    )
    if state is None:
        state = ReportRollupMonth(month=first)
        session.add(state)
    state.built_at = now
    state.settled = now >= settled_at
    state.stale = False
    session.flush()


def _first_month(session: Session) -> date | None:
    """The first month with a task or an attempt, if any."""
    day = session.scalar(select(func.min(Task.due_date)))
    started = session.scalar(select(func.min(Attempt.started_at)))
    candidates = [d for d in (day, paris_today(started) if started else None) if d is not None]
    return min(candidates).replace(day=1) if candidates else None


def run(session: Session, now: datetime, settle_days: int, rebuild: bool = False) -> list[date]:
    """Build the complete months that are missing, stale or not settled yet (every one with
    ``rebuild``); returns the months built."""
    current = paris_today(now).replace(day=1)
    first = _first_month(session)
    if first is None:
        return []
    states = {s.month: s for s in session.scalars(select(ReportRollupMonth))}
    built = []
    month = first
    while month < current:
        state = states.get(month)
        if rebuild or state is None or state.stale or not state.settled:
            build_month(session, month, now, settle_days)
            built.append(month)
        month = add_months(month, 1)
    if built and session.get_bind().dialect.name == "postgresql":
        # Fresh rows have no statistics until autovacuum comes: without them the planner
        # sorts a quarter's 250,000 rows instead of hashing them (docs/benchmarks.md).
        for table in ("report_senior_month", "report_contact_day", "report_staff_day"):
            session.execute(text(f"ANALYZE {table}"))
    return built


# ------------------------------------------------------------------ staleness

# The attributes whose change alters a rolled month, per model, and the instant or day
# that places a row in its month.
_WATCHED: dict[type, tuple[str, tuple[str, ...]]] = {
    Attempt: (
        "started_at",
        (
            "started_at",
            "outcome",
            "direction",
            "channel",
            "user_id",
            "duration_seconds",
            "ended_at",
            "senior_id",
            "organisation_id",
        ),
    ),  # fmt: skip
    Task: ("due_date", ("due_date", "senior_id", "organisation_id")),
    Referral: ("created_at", ("created_at", "senior_id", "organisation_id")),
    AlertEvent: ("at", ("at", "action")),
}


def _month_of(value: Any) -> date | None:
    if isinstance(value, datetime):
        return paris_today(value).replace(day=1)
    if isinstance(value, date):
        return value.replace(day=1)
    return None


def _touched_months(session: Session) -> set[date]:
    months: set[date] = set()
    for objects, changed_only in (
        (session.new, False),
        (session.deleted, False),
        (session.dirty, True),
    ):
        for obj in objects:
            watched = _WATCHED.get(type(obj))
            if watched is None:
                continue
            placed, attributes = watched
            state = inspect(obj)
            if changed_only and not any(state.attrs[a].history.has_changes() for a in attributes):
                continue
            if isinstance(obj, AlertEvent) and obj.action != "reinforced_on":
                continue
            history = state.attrs[placed].history
            for value in [getattr(obj, placed), *(history.deleted or ())]:
                month = _month_of(value)
                if month is not None:
                    months.add(month)
    return months


@event.listens_for(Session, "before_flush")
def _mark_stale(session: Session, _context: Any, _instances: Any) -> None:
    """Mark stale the rolled months whose data this flush changes (see the module)."""
    current = paris_today(datetime.now(PARIS)).replace(day=1)
    months = sorted(m for m in _touched_months(session) if m < current)
    if months:
        session.connection().execute(
            update(ReportRollupMonth)
            .where(ReportRollupMonth.month.in_(months), ReportRollupMonth.stale.is_(False))
            .values(stale=True)
        )
