"""The rules that open alerts, evaluated over recent facts.

Run for one senior right after a call is recorded (so the referent sees it at once), and
for everyone by the ``escalation-rules`` job every minute, which catches what no request
saw (a canicule day ending unreached, a task failed by the generator). Each fact is taken
once (``alert_source``), so running again changes nothing.

Defaults (``[escalation]``):
- an urgent signal → urgent alert; a concern signal → concern alert;
- a canicule senior still unreached after the day's last attempt (and her fallback: SMS,
  emergency contact, telephony.contacts) → urgent, "levée de doute", saying what was tried;
  at the end of the call window, every canicule task of the day neither reached nor settled
  through her contact gets it too, so that none is left unaccounted;
- a courtesy senior unreached on three cycles in a row → concern;
- a disposition of deceased or absent (hospitalised...) → info for the referent;
- a request for help ("3" on an automated call, AIDE by SMS) → urgent in a canicule,
  concern otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from outreach.calls import labels
from outreach.calls.models import Attempt, Outcome, Severity, Signal
from outreach.calls.outcomes import REACHED
from outreach.campaigns.lifecycle import DELIVERED
from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.escalation.models import AlertCause, AlertSource
from outreach.escalation.operations import raise_alert
from outreach.roster.models import Senior
from outreach.telephony import contacts

# How far back the job looks for facts not yet taken into account.
LOOKBACK = timedelta(days=3)
UNREACHED = (TaskState.failed, TaskState.escalated)
LIFE_EVENTS = {"deceased": "décès signalé", "absent": "absence (hôpital, séjour)"}


def _untaken(kind: str, column: Any) -> Any:
    return ~exists().where(AlertSource.kind == kind, AlertSource.source_id == column)


def sweep(
    session: Session, config: dict[str, dict[str, Any]], now: datetime, senior_id: int | None = None
) -> int:
    """Apply every rule to recent facts (of one senior, if given); returns alerts opened."""
    since = now - LOOKBACK
    opened = 0
    for raised in (
        *_signals(session, config, since, senior_id, now),
        *_life_events(session, config, since, senior_id, now),
        *_help_requests(session, config, since, senior_id, now),
        *_canicule_unreached(session, config, since, senior_id, now),
        *_canicule_day_end(session, config, since, senior_id, now),
        *_courtesy_unreached(session, config, since, senior_id, now),
    ):
        opened += bool(raised and raised.opened)
    return opened


def _scope(stmt: Any, column: Any, senior_id: int | None) -> Any:
    return stmt.where(column == senior_id) if senior_id is not None else stmt


def _signals(session, config, since, senior_id, now):
    severities = config["escalation"]["signal_severities"]
    if not severities:
        return
    stmt = select(Signal).where(
        Signal.severity.in_(severities), Signal.created_at >= since, _untaken("signal", Signal.id)
    )
    for signal in session.scalars(_scope(stmt.order_by(Signal.id), Signal.senior_id, senior_id)):
        senior = session.get(Senior, signal.senior_id)
        urgent = signal.severity == Severity.urgent
        label = labels.ALL["signal"].get(signal.kind, signal.kind).lower()
        yield raise_alert(
            session,
            config,
            senior=senior,
            cause=AlertCause.urgent_signal if urgent else AlertCause.concern_signal,
            severity=Severity(signal.severity),
            source=("signal", signal.id),
            summary=f"Signal : {label}" + (f" ({signal.note})" if signal.note else ""),
            now=now,
        )


def _life_events(session, config, since, senior_id, now):
    dispositions = config["escalation"]["life_event_dispositions"]
    if not dispositions:
        return
    stmt = select(Attempt).where(
        Attempt.disposition.in_(dispositions),
        Attempt.started_at >= since,
        _untaken("attempt", Attempt.id),
    )
    for attempt in session.scalars(_scope(stmt.order_by(Attempt.id), Attempt.senior_id, senior_id)):
        senior = session.get(Senior, attempt.senior_id)
        yield raise_alert(
            session,
            config,
            senior=senior,
            cause=AlertCause.life_event,
            severity=Severity.info,
            source=("attempt", attempt.id),
            summary=f"Appel : {LIFE_EVENTS.get(attempt.disposition, attempt.disposition)}",
            now=now,
        )


def _help_requests(session, config, since, senior_id, now):
    stmt = select(Attempt).where(
        Attempt.outcome == Outcome.help_requested,
        Attempt.started_at >= since,
        _untaken("attempt", Attempt.id),
    )
    for attempt in session.scalars(_scope(stmt.order_by(Attempt.id), Attempt.senior_id, senior_id)):
        senior = session.get(Senior, attempt.senior_id)
        kind = session.scalar(
            select(Campaign.kind)
            .join(Task, Task.campaign_id == Campaign.id)
            .where(Task.id == attempt.task_id)
        )
        canicule = kind == CampaignKind.canicule
        how = "touche 3 de l'appel automatique" if attempt.channel == "ivr" else "réponse par SMS"
        yield raise_alert(
            session,
            config,
            senior=senior,
            cause=AlertCause.help_requested,
            severity=Severity.urgent if canicule else Severity.concern,
            source=("attempt", attempt.id),
            summary=f"Demande de l'aide ({how})" + (" pendant une canicule" if canicule else ""),
            now=now,
        )


def _failed_tasks(session, kind, since, senior_id):
    stmt = (
        select(Task)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Campaign.kind == kind,
            Task.state.in_(UNREACHED),
            Task.completed_at >= since,
            _untaken("task", Task.id),
        )
        .order_by(Task.id)
    )
    return session.scalars(_scope(stmt, Task.senior_id, senior_id)).all()


def _for_task(session, config, task, cause, severity, summary, now):
    """An alert about a task left unreached, unless the senior has left meanwhile."""
    senior = session.get(Senior, task.senior_id)
    if senior is None or not senior.active:
        return None
    return raise_alert(
        session,
        config,
        senior=senior,
        cause=cause,
        severity=severity,
        source=("task", task.id),
        summary=summary,
        now=now,
    )


def _canicule_unreached(session, config, since, senior_id, now):
    if not config["escalation"]["canicule_unreached"]:
        return
    tasks = _failed_tasks(session, CampaignKind.canicule, since, senior_id)
    tried = contacts.tried(session, [t.id for t in tasks])
    for task in tasks:
        worried = " — son proche est inquiet" if task.disposition == contacts.WORRIED else ""
        summary = (
            f"Canicule : injoignable le {task.due_date.strftime('%d/%m/%Y')}{worried} — "
            f"essayé : {tried[task.id]} — levée de doute (visite)"
        )
        yield _for_task(
            session, config, task, AlertCause.canicule_unreached, Severity.urgent, summary, now
        )


def _canicule_day_end(session, config, since, senior_id, now):
    """The alert is never lost: once a day's call window has closed, every canicule task of
    that day neither reached, settled through her contact, nor cancelled (refused, paused,
    left) opens the alert, whatever state it was left in (a task no one worked, an SMS
    delivered without reply, a step of the fallback not sent in time)."""
    if not config["escalation"]["canicule_unreached"]:
        return
    accounted = [o.value for o in (*REACHED, Outcome.reached_through_contact)]
    today = paris_today(now)
    # Today's tasks only of the campaigns whose window has closed (read once, not per task).
    closed_today = [
        c.id
        for c in session.scalars(select(Campaign).where(Campaign.kind == CampaignKind.canicule))
        if (end := contacts.window_end(c, today)) is not None and now >= end
    ]
    stmt = (
        select(Task)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Campaign.kind == CampaignKind.canicule,
            Task.due_date >= paris_today(since),
            or_(Task.due_date < today, Task.campaign_id.in_(closed_today)),
            Task.state != TaskState.cancelled,
            or_(Task.outcome.is_(None), Task.outcome.not_in(accounted)),
            _untaken("task", Task.id),
        )
        .order_by(Task.id)
    )
    tasks = [
        t
        for t in session.scalars(_scope(stmt, Task.senior_id, senior_id))
        if _day_over(t, now) and not _reached_on(session, t)
    ]
    tried = contacts.tried(session, [t.id for t in tasks])
    for task in tasks:
        summary = (
            f"Canicule : pas de nouvelles le {task.due_date.strftime('%d/%m/%Y')} à la fin "
            f"des appels — essayé : {tried[task.id]} — levée de doute (visite)"
        )
        yield _for_task(
            session, config, task, AlertCause.canicule_unreached, Severity.urgent, summary, now
        )


def _day_over(task: Task, now: datetime) -> bool:
    """Whether the call window of the task's day has closed (and the task was there before:
    a canicule activated after the window is called tomorrow, not alerted tonight)."""
    if task.due_date < paris_today(now):
        return True
    end = contacts.window_end(task.campaign, task.due_date)
    return end is not None and now >= end and task.created_at < end


def _reached_on(session: Session, task: Task) -> bool:
    """Whether an attempt of the task reached her or her contact (a reply after closing)."""
    accounted = [o.value for o in (*REACHED, Outcome.reached_through_contact)]
    return (
        session.scalar(
            select(Attempt.id)
            .where(Attempt.task_id == task.id, Attempt.outcome.in_(accounted))
            .limit(1)
        )
        is not None
    )


def _courtesy_unreached(session, config, since, senior_id, now):
    cycles = config["escalation"]["courtesy_unreached_cycles"]
    if cycles <= 0:
        return
    reached = set(REACHED)
    for task in _failed_tasks(session, CampaignKind.courtesy, since, senior_id):
        # The senior's last courtesy cycles, newest first: all unreached?
        last = session.execute(
            select(Task.state, Task.outcome, Task.disposition)
            .join(Campaign, Campaign.id == Task.campaign_id)
            .where(
                Task.senior_id == task.senior_id,
                Campaign.kind == CampaignKind.courtesy,
                Task.state.in_([TaskState.done, *UNREACHED]),
                Task.due_date <= task.due_date,
            )
            .order_by(Task.due_date.desc(), Task.id.desc())
            .limit(cycles)
        ).all()
        # A delivered SMS is not a reply, but neither is it "unreached": it breaks the run.
        if len(last) < cycles or any(
            state == TaskState.done and (outcome in reached or disposition == DELIVERED)
            for state, outcome, disposition in last
        ):
            continue
        summary = f"Injoignable sur {cycles} appels de courtoisie de suite"
        yield _for_task(
            session, config, task, AlertCause.courtesy_unreached, Severity.concern, summary, now
        )
