"""A task's life: its states, the moves allowed between them, priorities, and the day's lead.

Every change of a task's state goes through this module (a test fails if code elsewhere
assigns one), so that the rules below hold wherever a task is touched from: the staff queue,
the dispatcher, the webhooks, generation, a refusal on the senior's page.

States: pending → queued (gateway) / claimed (staff) → done | failed | cancelled |
escalated. ``pending`` may come back from queued/claimed (a retry, a claim given back or
expired, an automated task handed to the staff). Closed states are final, except that a
correction may change the outcome of a closed task (``correct``).

One contact a day (DESIGN.md): when a senior has several open tasks on a day, the most
urgent leads (in progress first, then priority: canicule, callbacks, reminders, courtesy)
and the others wait behind it (``lead_id``), hidden from the queue and the dispatcher. When
the lead closes, the contact it made settles them (``settled_by_id``, "joint(e) par la
campagne ...") unless their campaign needs its own message (never grouped) or requires a
human voice and the contact was automated; otherwise they are released to be worked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from outreach.calls.outcomes import SETTLES_DAY, Outcome
from outreach.campaigns.models import (
    OPEN_TASK_STATES,
    Campaign,
    CampaignKind,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.schedule import paris_today
from outreach.db import changed_rows

# Lower is more urgent. A callback a senior asked for ranks just below a canicule call; a
# request for help ranks with the canicule calls, at the top of the queue.
PRIORITY = {
    CampaignKind.canicule: 0,
    CampaignKind.reminder: 50,
    CampaignKind.courtesy: 100,
    CampaignKind.custom: 100,
    # Invitations, confirmations and reminders of a workshop are dated, like a reminder.
    CampaignKind.workshop: 50,
    # Asking a drawn panel member for her accord de principe: no more urgent than courtesy.
    CampaignKind.agreement: 100,
}
HELP_PRIORITY = 0
CALLBACK_PRIORITY = 10

CLOSED = frozenset({TaskState.done, TaskState.failed, TaskState.cancelled, TaskState.escalated})
ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.pending: frozenset({TaskState.pending, TaskState.queued, TaskState.claimed}) | CLOSED,
    TaskState.queued: frozenset({TaskState.pending}) | CLOSED,
    TaskState.claimed: frozenset({TaskState.pending, TaskState.claimed}) | CLOSED,
    **{s: frozenset() for s in CLOSED},
}
AUTOMATED = frozenset({ChannelPolicy.ivr, ChannelPolicy.sms})
# Reasons (task.disposition) written by more than one module.
SETTLED = "settled"  # settled by another campaign's contact the same day
DELIVERED = "sms_delivered"  # an SMS delivered: not a reply, so not "reached"
CHUNK = 5000


class LifecycleError(RuntimeError):
    """A move the lifecycle does not allow: a bug, never a user's mistake."""


def _move(task: Task, to: TaskState) -> None:
    current = TaskState(task.state) if task.state is not None else TaskState.pending
    if to not in ALLOWED[current]:
        raise LifecycleError(f"task {task.id}: {current} → {to} is not allowed")
    task.state = to


def reopen(task: Task, *, not_before: datetime | None = None) -> None:
    """Back to pending (a retry, a claim given back): nobody holds it, nothing is due
    before ``not_before``."""
    _move(task, TaskState.pending)
    task.claimed_by_id = None
    task.claimed_until = None
    task.claimed_at = None
    task.not_before = not_before


def schedule_callback(
    task: Task, at: datetime, due: date, *, for_user: int | None, priority: int
) -> None:
    """Keep the task open for a callback at ``at`` (by ``for_user``, or anyone)."""
    reopen(task)
    task.callback_at = at
    task.callback_for_id = for_user
    task.priority = min(task.priority, priority)
    task.due_date = max(task.due_date, due)


def to_staff(
    task: Task, now: datetime, priority: int | None = None, callback: bool = False
) -> None:
    """Hand a task over to the staff queue for today, with a fresh retry budget."""
    reopen(task)
    task.channel = ChannelPolicy.staff
    task.attempts = 0
    if priority is not None:
        task.priority = min(task.priority, priority)
    if callback:
        task.callback_at = now
        task.callback_for_id = None


def to_channel(
    task: Task, channel: ChannelPolicy, reason: str, not_before: datetime | None = None
) -> None:
    """Put an automated task back for its next step on another automated channel, with the
    step in ``disposition`` (a canicule day's fallback: an SMS to her, then a call or an SMS
    to her emergency contact, telephony.contacts)."""
    if channel not in AUTOMATED:
        raise LifecycleError(f"to_channel() to {channel}")
    reopen(task, not_before=not_before)
    task.channel = channel
    task.disposition = reason


def reopen_for_request(session: Session, task: Task, now: datetime, priority: int) -> None:
    """The one way out of a closed state: a senior's own request (call me back, I need
    help) that arrives after her task closed, e.g. an SMS reply after the delivery report.
    The task goes back to the staff queue as a callback due now."""
    if task.state not in CLOSED:
        raise LifecycleError("reopen_for_request() on an open task")
    task.state = TaskState.pending  # allowed here only: a request must reach a person
    task.completed_at = None
    task.settled_by_id = None
    to_staff(task, now, priority, callback=True)
    task.due_date = max(task.due_date, paris_today(now))
    session.flush()
    regroup(session, paris_today(now), senior_ids={task.senior_id})


def close(
    session: Session,
    task: Task,
    to: TaskState,
    now: datetime,
    *,
    outcome: Outcome | None = None,
    reason: str | None = None,
) -> None:
    """Close a task (done, failed, cancelled, escalated) and settle or release the tasks
    that waited behind it."""
    if to not in CLOSED:
        raise LifecycleError(f"close() to {to}")
    _move(task, to)
    task.completed_at = now
    task.claimed_by_id = None
    task.claimed_until = None
    task.callback_at = None
    task.callback_for_id = None
    if outcome is not None:
        task.outcome = outcome
    if reason is not None:
        task.disposition = reason
    session.flush()
    if task.campaign.kind == CampaignKind.agreement:
        # The member asked for her agreement: agreed, refused, or one more unreached cycle.
        from outreach.panel.agreements import after_contact

        after_contact(session, task, now)
    follow_lead(session, task, now)


def correct(session: Session, task: Task, outcome: Outcome, reason: str, now: datetime) -> None:
    """A corrected outcome on a task already closed (the state stays closed)."""
    if task.state not in CLOSED:
        raise LifecycleError("only a closed task is corrected")
    task.outcome = outcome
    task.disposition = reason
    session.flush()


def mark_queued(session: Session, task_id: int) -> bool:
    """The dispatcher takes a pending task for the gateway; False if someone else did."""
    result = changed_rows(
        session,
        update(Task)
        .where(Task.id == task_id, Task.state == TaskState.pending, Task.lead_id.is_(None))
        .values(state=TaskState.queued, attempts=Task.attempts + 1, not_before=None),
    )
    return result == 1


def claim_if_free(
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
    result = changed_rows(
        session,
        update(Task)
        .where(Task.id == task_id, Task.lead_id.is_(None), or_(*free))
        .values(
            state=TaskState.claimed,
            claimed_by_id=user_id,
            claimed_until=now + timedelta(minutes=claim_minutes),
            claimed_at=now,
        ),
    )
    return result == 1


def expire_claims(session: Session, now: datetime) -> int:
    """Return expired claims to the queue."""
    result = changed_rows(
        session,
        update(Task)
        .where(Task.state == TaskState.claimed, Task.claimed_until < now)
        .values(state=TaskState.pending, claimed_by_id=None, claimed_until=None, claimed_at=None),
    )
    return result


def close_where(
    session: Session,
    where: Iterable[ColumnElement[bool]],
    to: TaskState,
    now: datetime,
    reason: str,
) -> list[int]:
    """Close every open task matching ``where`` in one statement (a campaign closed, a
    refusal, yesterday's canicule); returns their ids. Tasks that waited behind them are
    released."""
    ids = list(
        session.scalars(
            select(Task.id).where(Task.state.in_(OPEN_TASK_STATES), *where).order_by(Task.id)
        )
    )
    if not ids:
        return ids
    session.execute(
        update(Task)
        .where(Task.id.in_(ids), Task.state.in_(OPEN_TASK_STATES))
        .values(
            state=to,
            disposition=reason,
            completed_at=now,
            claimed_by_id=None,
            claimed_until=None,
            callback_at=None,
            callback_for_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    _release_followers(session, ids, now)
    return ids


def _release_followers(session: Session, lead_ids: list[int], now: datetime) -> None:
    followers = list(
        session.scalars(
            select(Task.senior_id).where(
                Task.lead_id.in_(lead_ids), Task.state.in_(OPEN_TASK_STATES)
            )
        )
    )
    session.execute(
        update(Task)
        .where(Task.lead_id.in_(lead_ids))
        .values(lead_id=None)
        .execution_options(synchronize_session=False)
    )
    if followers:
        regroup(session, paris_today(now), senior_ids=set(followers))


# -- one contact a day ------------------------------------------------------------------


def settles(lead_channel: ChannelPolicy | str, follower: Campaign) -> bool:
    """Whether a contact made by a task on ``lead_channel`` settles a task of ``follower``."""
    if follower.own_message:
        return False
    return not (follower.requires_human and lead_channel in AUTOMATED)


def follow_lead(session: Session, lead: Task, now: datetime) -> None:
    """The lead of the day closed: settle the tasks that waited behind it, or release them."""
    followers = list(
        session.scalars(
            select(Task)
            .where(Task.lead_id == lead.id, Task.state.in_(OPEN_TASK_STATES))
            .order_by(Task.id)
        )
    )
    released = False
    for follower in followers:
        follower.lead_id = None
        contact = lead.outcome in SETTLES_DAY or lead.state in (
            TaskState.failed,
            TaskState.escalated,
        )
        if (
            lead.state != TaskState.cancelled
            and contact
            and settles(lead.channel, follower.campaign)
        ):
            follower.settled_by_id = lead.id
            close(
                session,
                follower,
                TaskState.done if lead.state == TaskState.done else TaskState.failed,
                now,
                outcome=lead.outcome,
                reason=SETTLED,
            )
        else:
            released = True
    session.flush()
    if released:
        regroup(session, paris_today(now), senior_ids={lead.senior_id})


def _lead_key(task: Any) -> tuple[int, int, date, int]:
    in_progress = 0 if task.state in (TaskState.claimed, TaskState.queued) else 1
    return (in_progress, task.priority, task.due_date, task.id)


def regroup(
    session: Session,
    today: date,
    senior_ids: set[int] | None = None,
    organisation_id: int | None = None,
) -> int:
    """Choose, for each senior with several open tasks due by ``today``, the one that leads;
    the others wait behind it. Returns how many tasks wait. Campaigns that need their own
    message are left out of every group, and so are tasks carried to a later day."""
    crowded = (
        select(Task.senior_id)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Task.state.in_(OPEN_TASK_STATES),
            Task.due_date <= today,
            Campaign.own_message.is_(False),
        )
        .group_by(Task.senior_id)
        .having(func.count(Task.id) > 1)
    )
    if senior_ids is not None:
        crowded = crowded.where(Task.senior_id.in_(senior_ids))
    if organisation_id is not None:
        crowded = crowded.where(Task.organisation_id == organisation_id)
    if senior_ids is not None:
        seniors: Any = list(session.scalars(crowded))
        # Seniors left with a single task must not keep a stale lead.
        lonely = set(senior_ids) - set(seniors)
        if lonely:
            session.execute(
                update(Task)
                .where(
                    Task.senior_id.in_(lonely),
                    Task.lead_id.is_not(None),
                    Task.state.in_(OPEN_TASK_STATES),
                )
                .values(lead_id=None)
                .execution_options(synchronize_session=False)
            )
        if not seniors:
            return 0
    else:
        seniors = crowded.scalar_subquery()
    rows = session.execute(
        select(Task.id, Task.senior_id, Task.state, Task.priority, Task.due_date, Task.lead_id)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Task.senior_id.in_(seniors),
            Task.state.in_(OPEN_TASK_STATES),
            Task.due_date <= today,
            Campaign.own_message.is_(False),
        )
    ).all()
    by_senior: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_senior[row.senior_id].append(row)
    waiting = 0
    changes: dict[int | None, list[int]] = defaultdict(list)
    for tasks in by_senior.values():
        lead = min(tasks, key=_lead_key)
        for t in tasks:
            want = None if t.id == lead.id else lead.id
            waiting += want is not None
            if t.lead_id != want:
                changes[want].append(t.id)
    for lead_id, ids in changes.items():
        for i in range(0, len(ids), CHUNK):
            session.execute(
                update(Task)
                .where(Task.id.in_(ids[i : i + CHUNK]))
                .values(lead_id=lead_id)
                .execution_options(synchronize_session=False)
            )
    return waiting
