"""The figures of the home dashboards: a manager's week, a caller's day, a referent's work.

Callers pass organisation ids already scoped by ``outreach.accounts.access`` in the web
layer; nothing here widens them, except ``member_landlords``, which names the landlords of
an association whose manager reads them side by side (aggregates only). Every figure is an
aggregate in SQL, bounded by an index: a region follows 100,000 seniors with a year of
attempts behind them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.audit.queries import paris_midnight
from outreach.calls.models import Attempt
from outreach.calls.outcomes import REACHED, Outcome
from outreach.campaigns.models import (
    OPEN_TASK_STATES,
    Campaign,
    CampaignKind,
    CampaignState,
    Task,
)
from outreach.campaigns.schedule import paris_today
from outreach.escalation.models import Alert, AlertStatus
from outreach.reports import rollups  # noqa: F401  (registers the staleness listener)
from outreach.reports.indicators import Period, totals
from outreach.roster.models import ConsentStatus, Senior

# "Never reached for four weeks or more".
UNREACHED_DAYS = 28
# How many of those the home page lists (the count says how many more there are).
UNREACHED_LIMIT = 50
# Alerts still to handle.
ALERTS_TODO = (AlertStatus.open, AlertStatus.acknowledged)
# The figures of the week a manager reads first, in this order (indicators' names).
WEEK_FIGURES = ("seniors_targeted", "seniors_attempted", "seniors_reached")


def week_of(today: date) -> Period:
    """The last seven Paris days, today included."""
    return Period(start=today - timedelta(days=6), end=today)


def monday_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def week_starting(monday: date) -> Period:
    """Monday to Sunday of the week that begins on ``monday`` (the manager's week picker)."""
    return Period(start=monday, end=monday + timedelta(days=6))


def days_of(period: Period) -> list[date]:
    """Every day of ``period``, in order."""
    return [period.start + timedelta(days=n) for n in range((period.end - period.start).days + 1)]


def week_figures(
    session: Session, org_ids: Sequence[int], period: Period, now: datetime
) -> dict[str, int]:
    """Targeted, attempted and reached seniors over ``period``, as the indicators count them
    (the same figure as the reports, by construction)."""
    figures = totals(session, org_ids, period)
    return {name: int(figures.get(name, 0)) for name in WEEK_FIGURES}


@dataclass(frozen=True)
class DayReach:
    """Seniors with an attempt on one Paris day, and how many of them answered."""

    day: date
    attempted: int
    reached: int

    @property
    def not_reached(self) -> int:
        return self.attempted - self.reached


def reach_by_day(session: Session, org_ids: Sequence[int], period: Period) -> list[DayReach]:
    """Per Paris day of ``period``: distinct seniors attempted, and those reached that day.

    One query: each attempt is placed in its Paris day by comparing it with the UTC instants
    at which the days begin (portable, and the days of a DST change have 23 or 25 hours)."""
    days = days_of(period)
    edges = [paris_midnight(d) for d in [*days, period.end + timedelta(days=1)]]
    if not org_ids:
        return [DayReach(d, 0, 0) for d in days]
    day_index = case(
        *((Attempt.started_at < edge, n) for n, edge in enumerate(edges[1:])), else_=-1
    ).label("day_index")
    reached = Attempt.outcome.in_(sorted(REACHED))
    sub = (
        select(Attempt.senior_id, day_index, func.max(case((reached, 1), else_=0)).label("hit"))
        .where(
            Attempt.organisation_id.in_(org_ids),
            Attempt.started_at >= edges[0],
            Attempt.started_at < edges[-1],
        )
        .group_by(Attempt.senior_id, day_index)
        .subquery()
    )
    rows = session.execute(
        select(sub.c.day_index, func.count(), func.sum(sub.c.hit)).group_by(sub.c.day_index)
    ).all()
    found = {int(i): (int(n), int(hit or 0)) for i, n, hit in rows}
    return [DayReach(d, *found.get(n, (0, 0))) for n, d in enumerate(days)]


@dataclass
class Unreached:
    """Seniors followed and not reached for four weeks: how many, and the first of them."""

    total: int
    seniors: list[Any] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.seniors)


def long_unreached(
    session: Session, org_ids: Sequence[int], now: datetime, limit: int = UNREACHED_LIMIT
) -> Unreached:
    """Active consenting seniors not reached for ``UNREACHED_DAYS`` days or more.

    A senior counts when nobody reached her since the cutoff (her last reached contact is
    older, or there was none) although she was called or due a call before the cutoff: a
    senior who joined a campaign last week is not "four weeks without news". One query,
    a page ordered by name with the total; each senior is tested on
    ``ix_attempt_senior (senior_id, started_at)`` and ``ix_task_senior (senior_id,
    due_date)``, reading only the last four weeks of her attempts."""
    if not org_ids:
        return Unreached(0)
    cutoff = now - timedelta(days=UNREACHED_DAYS)
    cutoff_day = paris_today(cutoff)
    reached = Attempt.outcome.in_(sorted(REACHED))
    # First the seniors nobody reached since the cutoff (one probe of the last four weeks of
    # attempts each), materialised so that PostgreSQL tests "called before the cutoff" on
    # those few only rather than on every senior of the organisation.
    silent = (
        select(Senior.id, Senior.last_name, Senior.first_name, Senior.external_ref)
        .where(
            Senior.organisation_id.in_(org_ids),
            Senior.active.is_(True),
            Senior.consent_status == ConsentStatus.given,
            ~exists().where(Attempt.senior_id == Senior.id, Attempt.started_at >= cutoff, reached),
        )
        .cte("silent")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    called_before = exists().where(
        Attempt.senior_id == silent.c.id, Attempt.started_at < cutoff
    ) | exists().where(Task.senior_id == silent.c.id, Task.due_date <= cutoff_day)
    # One query: the page of seniors by name with the total beside each row (a window), then
    # their last contacts, read backwards on ix_attempt_senior for the listed rows only.
    page = (
        select(
            silent.c.id,
            silent.c.last_name,
            silent.c.first_name,
            silent.c.external_ref,
            func.count().over().label("total"),
        )
        .where(called_before)
        .order_by(silent.c.last_name, silent.c.first_name, silent.c.id)
        .limit(limit)
        .subquery()
    )
    listed = Attempt.senior_id == page.c.id
    last_reached = select(func.max(Attempt.started_at)).where(listed, reached)
    last_attempt = select(func.max(Attempt.started_at)).where(listed)
    last_outcome = (
        select(Attempt.outcome)
        .where(listed)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(1)
    )
    rows = session.execute(
        select(
            page.c.id,
            page.c.last_name,
            page.c.first_name,
            page.c.external_ref,
            page.c.total,
            last_reached.scalar_subquery().label("last_reached_at"),
            last_attempt.scalar_subquery().label("last_attempt_at"),
            last_outcome.scalar_subquery().label("last_outcome"),
        ).order_by(page.c.last_name, page.c.first_name, page.c.id)
    ).all()
    return Unreached(rows[0].total if rows else 0, list(rows))


def overdue_alerts(session: Session, org_ids: Sequence[int], now: datetime) -> int:
    """Alerts still to handle whose deadline has passed (``ix_alert_inbox``)."""
    if not org_ids:
        return 0
    return (
        session.scalar(
            select(func.count(Alert.id)).where(
                Alert.organisation_id.in_(org_ids),
                Alert.status.in_(ALERTS_TODO),
                Alert.due_at < now,
            )
        )
        or 0
    )


def running_campaigns(session: Session, org_ids: Sequence[int]) -> list[Campaign]:
    """The active campaigns of the organisations, canicule first, then by name."""
    if not org_ids:
        return []
    kind_order = case((Campaign.kind == CampaignKind.canicule, 0), else_=1)
    return list(
        session.scalars(
            select(Campaign)
            .where(Campaign.organisation_id.in_(org_ids), Campaign.state == CampaignState.active)
            .order_by(kind_order, Campaign.name, Campaign.id)
        )
    )


def member_landlords(session: Session, org_ids: Sequence[int]) -> list[Organisation]:
    """The member landlords of the associations among ``org_ids`` (by name): an
    association's manager reads their figures side by side, never their seniors."""
    if not org_ids:
        return []
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.parent_id.in_(org_ids))
            .order_by(Organisation.name, Organisation.id)
        )
    )


def my_calls_today(
    session: Session, org_ids: Sequence[int], user_id: int, today: date
) -> dict[Outcome | None, int]:
    """The user's own calls of the Paris day, by outcome (None: still in progress)."""
    if not org_ids:
        return {}
    start, end = paris_midnight(today), paris_midnight(today + timedelta(days=1))
    rows = session.execute(
        select(Attempt.outcome, func.count())
        .where(
            Attempt.organisation_id.in_(org_ids),
            Attempt.user_id == user_id,
            Attempt.started_at >= start,
            Attempt.started_at < end,
        )
        .group_by(Attempt.outcome)
    ).all()
    return {(Outcome(o) if o else None): n for o, n in rows}


def follow_ups_due(
    session: Session, org_ids: Sequence[int], user_id: int, today: date, limit: int = 20
) -> tuple[int, list[Any]]:
    """Open tasks due by today of the seniors the user is the referent of, when the senior
    is in reinforced follow-up or asked to be called back: (how many, the first ones)."""
    if not org_ids:
        return 0, []
    conditions = (
        Task.organisation_id.in_(org_ids),
        Task.state.in_(OPEN_TASK_STATES),
        Task.due_date <= today,
        Senior.referent_id == user_id,
        Senior.reinforced_since.is_not(None) | Task.callback_at.is_not(None),
    )
    joined = select(func.count(Task.id)).join(Senior, Senior.id == Task.senior_id)
    total = session.scalar(joined.where(*conditions)) or 0
    if not total:
        return 0, []
    rows = session.execute(
        select(
            Senior.id,
            Senior.last_name,
            Senior.first_name,
            Senior.reinforced_since,
            Task.callback_at,
            Task.due_date,
        )
        .join(Senior, Senior.id == Task.senior_id)
        .where(*conditions)
        .order_by(Task.callback_at.is_(None), Task.callback_at, Task.due_date, Senior.last_name)
        .limit(limit)
    ).all()
    return total, list(rows)
