"""The staff queue: what is left today, atomic claims, outcomes and retries.

Claims must never hand the same senior to two callers. On PostgreSQL the candidate row is
locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent callers take different rows
without waiting; on SQLite (one writer at a time) the same code relies on the conditional
UPDATE below, which only succeeds if the task is still free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from outreach.calls.models import (
    REACHED_DISPOSITIONS,
    RETRY_DISPOSITIONS,
    Attempt,
    AttemptChannel,
    Disposition,
    Severity,
    Signal,
    SignalKind,
)
from outreach.campaigns.models import (
    Campaign,
    CampaignState,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.retries import schedule_retry
from outreach.campaigns.schedule import PARIS
from outreach.roster.models import LeftReason, Senior

CALLBACK_PRIORITY = 10


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
) -> ColumnElement[bool]:
    """Staff tasks that a user may take now: due, free (or claim expired), not deferred."""
    conds = [
        Task.organisation_id.in_(org_ids),
        Task.channel == ChannelPolicy.staff,
        Task.due_date <= today,
        # Tasks of a paused campaign wait, without being cancelled. The few active campaign
        # ids are read first: a literal list keeps PostgreSQL off a per-row join.
        Task.campaign_id.in_(_active_campaign_ids(session, org_ids)),
        # Expired claims are put back to pending by the expire-claims job within a minute;
        # reading pending rows only lets the index below serve the queue in order.
        Task.state == TaskState.pending,
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
) -> Select[Any]:
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
    """Atomically give the most urgent free task to ``user_id``; None when nothing is left."""
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
        claimed = _claim_if_free(session, task_id, user_id, now, claim_minutes)
        if claimed:
            return session.get(Task, task_id, populate_existing=True)
    return None


def claim_task(
    session: Session, task: Task, user_id: int, now: datetime, claim_minutes: int
) -> bool:
    """Claim one given task (from the list); False if someone else holds it."""
    claimed = _claim_if_free(session, task.id, user_id, now, claim_minutes, mine_too=True)
    session.refresh(task)
    return claimed


def _claim_if_free(
    session: Session,
    task_id: int,
    user_id: int,
    now: datetime,
    claim_minutes: int,
    mine_too: bool = False,
) -> bool:
    """The one conditional UPDATE behind every claim: it only succeeds on a task that is
    pending or whose claim expired (or, with ``mine_too``, already claimed by this user)."""
    free = [
        Task.state == TaskState.pending,
        and_(Task.state == TaskState.claimed, Task.claimed_until < now),
    ]
    if mine_too:
        free.append(and_(Task.state == TaskState.claimed, Task.claimed_by_id == user_id))
    result = session.execute(
        update(Task)
        .where(Task.id == task_id, or_(*free))
        .values(
            state=TaskState.claimed,
            claimed_by_id=user_id,
            claimed_until=now + timedelta(minutes=claim_minutes),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(session: Session, task: Task, user_id: int) -> None:
    """Give a claimed task back to the queue (the caller could not call now)."""
    if task.state == TaskState.claimed and task.claimed_by_id == user_id:
        task.state = TaskState.pending
        task.claimed_by_id = None
        task.claimed_until = None
        session.flush()


def expire_claims(session: Session, now: datetime) -> int:
    """Return expired claims to the queue; the claim query also ignores them meanwhile."""
    result = session.execute(
        update(Task)
        .where(Task.state == TaskState.claimed, Task.claimed_until < now)
        .values(state=TaskState.pending, claimed_by_id=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


@dataclass
class Outcome:
    disposition: Disposition
    signals: list[tuple[SignalKind, Severity, str | None]] = field(default_factory=list)
    notes: str | None = None
    callback_at: datetime | None = None
    callback_for_me: bool = False
    absent_until: date | None = None


def record_outcome(
    session: Session,
    task: Task,
    user_id: int,
    outcome: Outcome,
    now: datetime,
    may_write_notes: bool,
) -> Attempt:
    """Record a staff call on a claimed task and move the task forward.

    - reached, refused, wrong number, absent, deceased: the task is done;
    - no answer, busy, voicemail: retried after the campaign's delay, up to its limits;
      after the last attempt the task ends as failed;
    - a callback time keeps the task open until then, for this caller or for anyone.
    """
    if task.state != TaskState.claimed or task.claimed_by_id != user_id:
        raise QueueError("cet appel n'est plus attribué à vous : reprenez-le dans la file")
    if outcome.notes and not may_write_notes:
        raise QueueError("les bénévoles ne peuvent pas écrire de notes sociales")
    if outcome.callback_at is not None and outcome.callback_at <= now:
        raise QueueError("le rappel doit être dans le futur")
    if outcome.absent_until is not None and outcome.absent_until < now.astimezone(PARIS).date():
        raise QueueError("la date de retour est déjà passée")
    senior = session.get(Senior, task.senior_id)
    campaign = session.get(Campaign, task.campaign_id)
    assert senior is not None and campaign is not None
    attempt = Attempt(
        organisation_id=task.organisation_id,
        task_id=task.id,
        senior_id=task.senior_id,
        channel=AttemptChannel.staff,
        user_id=user_id,
        started_at=now,
        ended_at=now,
        disposition=outcome.disposition,
        notes=(outcome.notes or "").strip() or None,
    )
    for kind, severity, note in outcome.signals:
        attempt.signals.append(
            Signal(
                organisation_id=task.organisation_id,
                senior_id=task.senior_id,
                kind=SignalKind(kind),
                severity=Severity(severity),
                note=note,
            )
        )
    session.add(attempt)
    session.flush()
    task.attempts += 1
    task.claimed_by_id = None
    task.claimed_until = None
    task.disposition = outcome.disposition.value
    today = now.astimezone(PARIS).date()

    if outcome.disposition == Disposition.deceased:
        senior.active = False
        senior.left_reason = LeftReason.deceased
        senior.left_on = today
    if outcome.absent_until is not None or outcome.disposition == Disposition.absent:
        senior.paused_until = outcome.absent_until or today
        senior.pause_reason = senior.pause_reason or "absent (appel)"

    final = outcome.disposition in (Disposition.deceased,)
    if outcome.callback_at is not None and not final:
        task.state = TaskState.pending
        task.callback_at = outcome.callback_at
        task.callback_for_id = user_id if outcome.callback_for_me else None
        task.priority = min(task.priority, CALLBACK_PRIORITY)
        # A callback for a later day carries the task over to that day.
        task.due_date = max(task.due_date, outcome.callback_at.astimezone(PARIS).date())
    elif outcome.disposition in RETRY_DISPOSITIONS:
        _retry_or_fail(session, task, campaign, now)
    else:
        task.state = TaskState.done
        task.completed_at = now
        task.callback_at = None
        task.callback_for_id = None
    session.flush()
    return attempt


def _retry_or_fail(session: Session, task: Task, campaign: Campaign, now: datetime) -> None:
    if not schedule_retry(session, task, campaign, now, AttemptChannel.staff):
        task.state = TaskState.failed
        task.completed_at = now


def is_reached(disposition: Disposition | None) -> bool:
    return disposition in REACHED_DISPOSITIONS
