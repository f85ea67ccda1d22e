"""Recording what a staff call established: the attempt, its signals, the task's next step.

The outcome form (queue), the senior's page (a call made outside the queue) and corrections
all go through ``check_entry`` and ``make_attempt``, so that an entry means the same
wherever it was typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.calls import outcomes
from outreach.calls.models import (
    RETRY_DISPOSITIONS,
    Attempt,
    AttemptChannel,
    Disposition,
    Severity,
    Signal,
    SignalKind,
)
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Campaign, Task, TaskState
from outreach.campaigns.retries import schedule_retry
from outreach.campaigns.schedule import PARIS
from outreach.queue.operations import QueueError
from outreach.roster.consent import opt_out
from outreach.roster.eligibility import cancel_forbidden
from outreach.roster.models import Channel, ConsentSource, LeftReason, Senior


@dataclass
class Outcome:
    """What a caller entered on the outcome form."""

    disposition: Disposition
    signals: list[tuple[SignalKind, Severity, str | None]] = field(default_factory=list)
    notes: str | None = None
    callback_at: datetime | None = None
    callback_for_me: bool = False
    absent_until: date | None = None
    # The number dialled (E.164), when the caller said which.
    phone: str | None = None


def _check(
    task: Task, user_id: int, outcome: Outcome, now: datetime, may_write_notes: bool, min_s: int
) -> None:
    if task.state != TaskState.claimed or task.claimed_by_id != user_id:
        raise QueueError("cet appel n'est plus attribué à vous : reprenez-le dans la file")
    if task.claimed_at is not None and (now - task.claimed_at).total_seconds() < min_s:
        raise QueueError(
            "vous venez de prendre cet appel : appelez d'abord, puis enregistrez le résultat"
        )
    check_entry(outcome, now, may_write_notes)


def check_entry(outcome: Outcome, now: datetime, may_write_notes: bool) -> None:
    """What an outcome must hold, wherever it is recorded (queue, senior page, correction)."""
    if outcome.notes and not may_write_notes:
        raise QueueError("les bénévoles ne peuvent pas écrire de notes sociales")
    if outcome.callback_at is not None and outcome.callback_at <= now:
        raise QueueError("le rappel doit être dans le futur")
    if outcome.disposition == Disposition.reached_later and outcome.callback_at is None:
        raise QueueError("indiquez quand rappeler")
    if outcome.disposition == Disposition.reached_concern and not outcome.signals:
        raise QueueError("cochez au moins un signal pour une inquiétude")
    if outcome.absent_until is not None and outcome.absent_until < now.astimezone(PARIS).date():
        raise QueueError("la date de retour est déjà passée")


def make_attempt(
    session: Session,
    senior: Senior,
    task_id: int | None,
    user_id: int,
    outcome: Outcome,
    now: datetime,
) -> Attempt:
    """The attempt row of a staff call, with its signals; ``apply_life_events`` then
    applies what it means for the senior."""
    attempt = Attempt(
        organisation_id=senior.organisation_id,
        task_id=task_id,
        senior_id=senior.id,
        channel=AttemptChannel.staff,
        user_id=user_id,
        started_at=now,
        ended_at=now,
        disposition=outcome.disposition,
        outcome=outcomes.of_disposition(outcome.disposition),
        notes=(outcome.notes or "").strip() or None,
        phone=outcome.phone,
    )
    for kind, severity, note in outcome.signals:
        attempt.signals.append(
            Signal(
                organisation_id=senior.organisation_id,
                senior_id=senior.id,
                kind=SignalKind(kind),
                severity=Severity(severity),
                note=note,
                created_at=now,
            )
        )
    session.add(attempt)
    session.flush()
    return attempt


def apply_life_events(
    session: Session,
    senior: Senior,
    attempt: Attempt,
    absent_until: date | None,
    user_id: int | None,
    now: datetime,
) -> None:
    """A refusal, a death or an absence recorded on a call change the senior at once."""
    today = now.astimezone(PARIS).date()
    disposition = attempt.disposition
    if disposition == Disposition.refused and opt_out(
        session, senior, Channel.phone, source=ConsentSource.call, user_id=user_id, now=now
    ):
        record(
            session,
            action="phone_opt_out",
            entity="senior",
            entity_id=senior.id,
            organisation_id=senior.organisation_id,
            user_id=user_id,
            details={"source": "call", "attempt": attempt.id},
        )
    if disposition == Disposition.deceased:
        senior.active = False
        senior.left_reason = LeftReason.deceased
        senior.left_on = today
    if absent_until is not None or disposition == Disposition.absent:
        senior.paused_until = absent_until or today
        senior.pause_reason = senior.pause_reason or "absent (appel)"
    if disposition in (Disposition.refused, Disposition.deceased, Disposition.absent):
        cancel_forbidden(session, senior, now)


def record_outcome(
    session: Session,
    task: Task,
    user_id: int,
    outcome: Outcome,
    now: datetime,
    may_write_notes: bool,
    min_call_seconds: int = 0,
) -> Attempt:
    """Record a staff call on a claimed task and move the task forward.

    - reached, refused, wrong number, absent, deceased: the task is done;
    - no answer, busy, voicemail: retried after the campaign's delay, up to its limits;
      after the last attempt the task ends as failed;
    - a callback time (or "joint(e), rappeler plus tard") keeps the task open until then,
      for this caller or for anyone.
    """
    _check(task, user_id, outcome, now, may_write_notes, min_call_seconds)
    senior = session.get(Senior, task.senior_id)
    campaign = session.get(Campaign, task.campaign_id)
    assert senior is not None and campaign is not None
    task.attempts += 1
    attempt = make_attempt(session, senior, task.id, user_id, outcome, now)
    result = outcomes.of_disposition(outcome.disposition)
    task.disposition = outcome.disposition.value
    final = outcome.disposition in (Disposition.deceased, Disposition.refused)
    if outcome.callback_at is not None and not final:
        task.outcome = result
        lifecycle.schedule_callback(
            task,
            outcome.callback_at,
            outcome.callback_at.astimezone(PARIS).date(),
            for_user=user_id if outcome.callback_for_me else None,
            priority=lifecycle.CALLBACK_PRIORITY,
        )
    elif outcome.disposition in RETRY_DISPOSITIONS:
        task.outcome = result
        if not schedule_retry(session, task, campaign, now, AttemptChannel.staff):
            lifecycle.close(session, task, TaskState.failed, now, outcome=result)
    else:
        lifecycle.close(session, task, TaskState.done, now, outcome=result)
    # After the task: a refusal closes this one as done ("refused"), the others cancelled.
    apply_life_events(session, senior, attempt, outcome.absent_until, user_id, now)
    session.flush()
    return attempt


def record_outside_queue(
    session: Session,
    senior: Senior,
    user_id: int,
    outcome: Outcome,
    now: datetime,
    may_write_notes: bool,
) -> Attempt:
    """A call made outside the queue (she called back, a colleague phoned her), recorded
    from her page. If a task of hers is open today and nobody else holds it, the call is
    that task's contact (so she is not called again today); otherwise it is recorded on
    its own."""
    check_entry(outcome, now, may_write_notes)
    today = now.astimezone(PARIS).date()
    task = session.scalar(
        select(Task)
        .where(
            Task.senior_id == senior.id,
            Task.state.in_([TaskState.pending, TaskState.claimed]),
            Task.due_date <= today,
            Task.lead_id.is_(None),
        )
        .order_by(Task.priority, Task.id)
        .limit(1)
    )
    if task is not None and lifecycle.claim_if_free(session, task.id, user_id, now, 1, True):
        session.refresh(task)
        return record_outcome(session, task, user_id, outcome, now, may_write_notes)
    if outcome.callback_at is not None:
        raise QueueError(
            "aucun appel n'est prévu pour elle aujourd'hui : un rappel se planifie depuis la file"
        )
    attempt = make_attempt(session, senior, None, user_id, outcome, now)
    apply_life_events(session, senior, attempt, outcome.absent_until, user_id, now)
    session.flush()
    return attempt
