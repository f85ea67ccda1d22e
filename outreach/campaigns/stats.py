"""Read-only figures for the campaign pages: tasks by state, skips by reason, live counts.

Callers pass campaign ids they have already loaded through ``access.scoped()`` or
``access.get_or_404()``, or a statement already scoped by ``access``; nothing here widens
what the user may see. Everything is an aggregate in SQL (a region has 100,000 seniors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from outreach.calls.outcomes import Outcome
from outreach.campaigns import targeting
from outreach.campaigns.models import OPEN_TASK_STATES, Skip, SkipReason, Task, TaskState
from outreach.roster.models import Senior


@dataclass
class DayCounts:
    """One campaign's tasks due on a day, by state, and the seniors skipped that day."""

    by_state: dict[TaskState, int] = field(default_factory=dict)
    skips: int = 0

    @property
    def created(self) -> int:
        return sum(self.by_state.values())

    @property
    def left(self) -> int:
        return sum(self.by_state.get(s, 0) for s in OPEN_TASK_STATES)

    @property
    def done(self) -> int:
        return self.by_state.get(TaskState.done, 0)

    @property
    def failed(self) -> int:
        return self.by_state.get(TaskState.failed, 0)


def day_counts(session: Session, campaign_ids: Sequence[int], day: date) -> dict[int, DayCounts]:
    """Tasks by state and number of skips on ``day``, for each of ``campaign_ids``."""
    counts = {cid: DayCounts() for cid in campaign_ids}
    if not counts:
        return counts
    rows = session.execute(
        select(Task.campaign_id, Task.state, func.count())
        .where(Task.campaign_id.in_(counts), Task.due_date == day)
        .group_by(Task.campaign_id, Task.state)
    )
    for campaign_id, state, n in rows:
        counts[campaign_id].by_state[TaskState(state)] = n
    skips = session.execute(
        select(Skip.campaign_id, func.count())
        .where(Skip.campaign_id.in_(counts), Skip.day == day)
        .group_by(Skip.campaign_id)
    )
    for campaign_id, n in skips:
        counts[campaign_id].skips = n
    return counts


@dataclass
class SkipGroup:
    """The seniors skipped for one reason: the answer to "why was she not called?"."""

    reason: SkipReason
    total: int
    seniors: list[Any]  # rows with id, first_name, last_name, departement

    @property
    def more(self) -> int:
        return self.total - len(self.seniors)


def skips_by_reason(
    session: Session, campaign_id: int, day: date, limit: int = 100
) -> list[SkipGroup]:
    """Skips of one campaign on ``day`` grouped by reason, with up to ``limit`` seniors each."""
    totals = dict(
        session.execute(
            select(Skip.reason, func.count())
            .where(Skip.campaign_id == campaign_id, Skip.day == day)
            .group_by(Skip.reason)
        ).all()
    )
    groups = []
    for reason in SkipReason:  # a fixed order, the same every day
        total = totals.get(reason, 0)
        if not total:
            continue
        seniors = session.execute(
            select(Senior.id, Senior.first_name, Senior.last_name, Senior.departement)
            .join(Skip, Skip.senior_id == Senior.id)
            .where(Skip.campaign_id == campaign_id, Skip.day == day, Skip.reason == reason)
            .order_by(Senior.last_name, Senior.first_name, Senior.id)
            .limit(limit)
        ).all()
        groups.append(SkipGroup(reason, total, list(seniors)))
    return groups


def count_matching(
    session: Session, seniors: Select[Any], rules: dict[str, Any], today: date
) -> int:
    """How many active seniors of ``seniors`` (a scoped select of Senior) match ``rules``.

    Raises ``targeting.TargetingError`` for invalid rules.
    """
    stmt = seniors.where(targeting.clause(rules, today), Senior.active.is_(True))
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def departements(session: Session, seniors: Select[Any]) -> list[str]:
    """The distinct départements among ``seniors`` (a scoped select of Senior), sorted."""
    sub = seniors.order_by(None).subquery()
    rows = session.scalars(
        select(sub.c.departement).where(sub.c.departement.is_not(None)).distinct()
    )
    return sorted(rows)


def overlaps(session: Session, campaign: Any, today: date) -> list[tuple[str, int]]:
    """Other running campaigns of the organisation that target some of the same active
    seniors, with how many: they are called once a day, by the most urgent campaign."""
    from outreach.campaigns.models import Campaign, CampaignState

    others = session.scalars(
        select(Campaign).where(
            Campaign.organisation_id == campaign.organisation_id,
            Campaign.state == CampaignState.active,
            Campaign.id != campaign.id,
        )
    ).all()
    mine = targeting.clause(campaign.targeting or {}, today)
    found = []
    for other in others:
        n = session.scalar(
            select(func.count(Senior.id)).where(
                Senior.organisation_id == campaign.organisation_id,
                Senior.active.is_(True),
                mine,
                targeting.clause(other.targeting or {}, today),
            )
        )
        if n:
            found.append((other.name, n))
    return found


# ------------------------------------------------------------------ the campaign, day by day
# How many days the campaign page lists, back from the day it shows: a courtesy campaign
# runs for years, and its page must stay an aggregate over a bounded range.
DAYS_SHOWN = 31


@dataclass
class CampaignDay:
    """One day of a campaign: calls due, done by outcome, still open, otherwise closed
    (failed, cancelled, escalated), and seniors skipped."""

    day: date
    due: int = 0
    done: dict[Outcome | None, int] = field(default_factory=dict)
    open: int = 0
    closed_otherwise: int = 0
    skipped: int = 0

    @property
    def done_total(self) -> int:
        return sum(self.done.values())


def campaign_days(
    session: Session, campaign: Any, last_day: date, days: int = DAYS_SHOWN
) -> list[CampaignDay]:
    """The campaign's days from its start (at most ``days`` back) to ``last_day``, newest
    first: two aggregate queries (tasks by day, state and outcome; skips by day)."""
    first = last_day - timedelta(days=days - 1)
    if campaign.starts_on is not None and campaign.starts_on > first:
        first = campaign.starts_on
    if first > last_day:
        return []
    found: dict[date, CampaignDay] = {}

    def of(day: date) -> CampaignDay:
        return found.setdefault(day, CampaignDay(day))

    rows = session.execute(
        select(Task.due_date, Task.state, Task.outcome, func.count())
        .where(Task.campaign_id == campaign.id, Task.due_date >= first, Task.due_date <= last_day)
        .group_by(Task.due_date, Task.state, Task.outcome)
    )
    for day, state, outcome, n in rows:
        row = of(day)
        row.due += n
        if state == TaskState.done:
            key = Outcome(outcome) if outcome else None
            row.done[key] = row.done.get(key, 0) + n
        elif state in OPEN_TASK_STATES:
            row.open += n
        else:
            row.closed_otherwise += n
    skips = session.execute(
        select(Skip.day, func.count())
        .where(Skip.campaign_id == campaign.id, Skip.day >= first, Skip.day <= last_day)
        .group_by(Skip.day)
    )
    for day, n in skips:
        of(day).skipped = n
    return [found[d] for d in sorted(found, reverse=True)]


def done_by_outcome(session: Session, campaign_id: int, day: date) -> dict[Outcome | None, int]:
    """The campaign's tasks of ``day`` done ("terminés"), by what the contact established
    (None: settled without an outcome of their own)."""
    rows = session.execute(
        select(Task.outcome, func.count())
        .where(Task.campaign_id == campaign_id, Task.due_date == day, Task.state == TaskState.done)
        .group_by(Task.outcome)
    )
    return {(Outcome(o) if o else None): n for o, n in rows}
