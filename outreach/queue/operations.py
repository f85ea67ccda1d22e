"""The staff queue: what is left today, atomic claims, outcomes and retries.

Claims must never hand the same senior to two callers. On PostgreSQL the candidate row is
locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent callers take different rows
without waiting; on SQLite (one writer at a time) the same code relies on the conditional
UPDATE below, which only succeeds if the task is still free.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from outreach.campaigns import lifecycle
from outreach.campaigns.lifecycle import CALLBACK_PRIORITY
from outreach.campaigns.models import (
    Campaign,
    CampaignState,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.schedule import PARIS
from outreach.roster.eligibility import ineligible
from outreach.roster.models import Senior

__all__ = ["CALLBACK_PRIORITY"]


class QueueError(ValueError):
    """An outcome or claim that cannot be accepted; French message for the caller."""


@dataclass
class QueueFilters:
    campaign_id: int | None = None
    departement: str | None = None


def _active_campaign_ids(session: Session, org_ids: list[int]) -> list[int]:
    return list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.organisation_id.in_(org_ids), Campaign.state == CampaignState.active
            )
        )
    )


def _available(
    session: Session,
    org_ids: list[int],
    user_id: int,
    today: date,
    now: datetime,
    filters: QueueFilters,
    expired_claims: bool = False,
) -> ColumnElement[bool]:
    """Staff tasks that a user may take now: due, free (or claim expired), not deferred.

    ``expired_claims`` also counts claims past their time that the expire-claims job has
    not put back yet (``claim_if_free`` takes them): for one task, not for the queue's
    index-ordered scan."""
    free: ColumnElement[bool] = Task.state == TaskState.pending
    if expired_claims:
        free = or_(free, and_(Task.state == TaskState.claimed, Task.claimed_until < now))
    conds = [
        Task.organisation_id.in_(org_ids),
        Task.channel == ChannelPolicy.staff,
        Task.due_date <= today,
        # Tasks of a paused campaign wait, without being cancelled. The few active campaign
        # ids are read first: a literal list keeps PostgreSQL off a per-row join.
        Task.campaign_id.in_(_active_campaign_ids(session, org_ids)),
        # Expired claims are put back to pending by the expire-claims job within a minute;
        # reading pending rows only lets the index below serve the queue in order.
        free,
        # One contact a day: a task waiting behind the senior's leading task is not shown.
        Task.lead_id.is_(None),
        or_(Task.not_before.is_(None), Task.not_before <= now),
        or_(Task.callback_at.is_(None), Task.callback_at <= now),
        or_(Task.callback_for_id.is_(None), Task.callback_for_id == user_id),
    ]
    if filters.campaign_id:
        conds.append(Task.campaign_id == filters.campaign_id)
    if filters.departement:
        conds.append(
            Task.senior_id.in_(select(Senior.id).where(Senior.departement == filters.departement))
        )
    return and_(*conds)


# Most urgent first: canicule (priority 0), callbacks due (10), reminders, courtesy; within a
# priority the overdue first, then the most fragile, then the oldest task.
QUEUE_ORDER = (Task.priority, Task.due_date, Task.fragility_rank, Task.id)


def queue_query(
    session: Session,
    org_ids: list[int],
    user_id: int,
    today: date,
    now: datetime,
    filters: QueueFilters,
) -> Select:
    return (
        select(Task, Senior, Campaign)
        .join(Senior, Senior.id == Task.senior_id)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(_available(session, org_ids, user_id, today, now, filters))
        .order_by(*QUEUE_ORDER)
    )


@dataclass
class QueueCounters:
    left: int = 0
    canicule: int = 0
    callbacks: int = 0
    overdue: int = 0
    done_today: int = 0


def counters(
    session: Session,
    org_ids: list[int],
    user_id: int,
    today: date,
    now: datetime,
    filters: QueueFilters,
) -> QueueCounters:
    """What is left in the queue, in one aggregate query, and what was done today."""
    avail = _available(session, org_ids, user_id, today, now, filters)
    row = session.execute(
        select(
            func.count(Task.id),
            func.count(Task.id).filter(Task.priority == 0),
            func.count(Task.id).filter(Task.callback_at.is_not(None)),
            func.count(Task.id).filter(Task.due_date < today),
        ).where(avail)
    ).one()
    start = datetime.combine(today, time(), PARIS)
    done = session.scalar(
        select(func.count(Task.id)).where(
            Task.organisation_id.in_(org_ids),
            Task.channel == ChannelPolicy.staff,
            Task.state.in_([TaskState.done, TaskState.failed]),
            Task.completed_at >= start,
        )
    )
    return QueueCounters(row[0], row[1], row[2], row[3], done or 0)


def claim_next(
    session: Session,
    org_ids: list[int],
    user_id: int,
    today: date,
    now: datetime,
    claim_minutes: int,
    filters: QueueFilters | None = None,
) -> Task | None:
    """Atomically give the most urgent free task to ``user_id``; None when nothing is left.

    A senior who may no longer be called (a refusal, a pause since the task was made) is
    not handed out: her task is cancelled with the reason and the next one is tried."""
    filters = filters or QueueFilters()
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(20):
        stmt = (
            select(Task.id)
            .where(_available(session, org_ids, user_id, today, now, filters))
            .order_by(*QUEUE_ORDER)
            .limit(1)
        )
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        task_id = session.scalar(stmt)
        if task_id is None:
            return None
        if lifecycle.claim_if_free(session, task_id, user_id, now, claim_minutes):
            task = session.get(Task, task_id, populate_existing=True)
            assert task is not None
            if still_eligible(session, task, now):
                return task
    return None


def claim_task(
    session: Session, task: Task, user_id: int, now: datetime, claim_minutes: int
) -> bool:
    """Claim one given task (from the list); False if someone else holds it or the senior
    may no longer be called (the task is then cancelled with the reason)."""
    claimed = lifecycle.claim_if_free(session, task.id, user_id, now, claim_minutes, mine_too=True)
    session.refresh(task)
    return claimed and still_eligible(session, task, now)


def still_eligible(session: Session, task: Task, now: datetime) -> bool:
    """Check the one eligibility rule on a task being handed out; cancel it if it fails."""
    senior = session.get(Senior, task.senior_id)
    assert senior is not None
    reason = ineligible(senior, task.channel, now.astimezone(PARIS).date(), task.campaign.kind)
    if reason is None:
        return True
    lifecycle.close(session, task, TaskState.cancelled, now, reason=reason.value)
    return False


class CallAccess(enum.StrEnum):
    """What a queue worker may do with one task's call screen now."""

    mine = "mine"  # she holds the claim: the screen and the outcome form
    claimable = "claimable"  # she may take it now: the screen and "Prendre cet appel"
    taken = "taken"  # another caller holds it
    closed = "closed"  # done, failed, cancelled or escalated since
    waiting = "waiting"  # in today's queue, but not to be taken now (deferred, behind
    # another campaign's call, a paused campaign, a senior no longer to be called)
    hidden = "hidden"  # nothing of hers: the page does not exist for this user


def call_access(
    session: Session, task: Task, org_ids: list[int], user_id: int, today: date, now: datetime
) -> CallAccess:
    """Whether ``user_id`` may open the call screen of ``task`` now, by the queue's rules.

    The screen shows a senior's phones, address, history and emergency contact, so it opens
    only for a task the user holds or could take from her queue at this moment (the same
    ``_available`` conditions as the queue, and the one eligibility rule): stepping through
    task ids must not read the roster. The other answers let a stale tab say what happened
    to a task of today's queue (taken, closed, not now); anything else is ``hidden``."""
    if task.organisation_id not in org_ids or task.channel != ChannelPolicy.staff:
        return CallAccess.hidden
    if (
        task.state == TaskState.claimed
        and task.claimed_by_id == user_id
        and (task.claimed_until is None or task.claimed_until >= now)
    ):
        return CallAccess.mine
    available = _available(
        session, [task.organisation_id], user_id, today, now, QueueFilters(), expired_claims=True
    )
    if session.scalar(select(Task.id).where(Task.id == task.id, available)) is not None:
        senior = session.get(Senior, task.senior_id)
        kind = task.campaign.kind
        if senior is not None and ineligible(senior, task.channel, today, kind) is None:
            return CallAccess.claimable
    start = datetime.combine(today, time(), PARIS)
    if task.state in lifecycle.CLOSED:
        closed_today = task.completed_at is not None and task.completed_at >= start
        return CallAccess.closed if closed_today or task.due_date == today else CallAccess.hidden
    if task.due_date > today:
        return CallAccess.hidden  # not in anybody's queue yet
    if task.state == TaskState.claimed and task.claimed_until and task.claimed_until >= now:
        return CallAccess.taken
    return CallAccess.waiting


def release(session: Session, task: Task, user_id: int) -> None:
    """Give a claimed task back to the queue (the caller could not call now)."""
    if task.state == TaskState.claimed and task.claimed_by_id == user_id:
        lifecycle.reopen(task, not_before=task.not_before)
        session.flush()


def expire_claims(session: Session, now: datetime) -> int:
    """Return expired claims to the queue; the claim query also ignores them meanwhile."""
    return lifecycle.expire_claims(session, now)
