"""The rules that open alerts, evaluated over recent facts.

Run for one senior right after a call is recorded (so the referent sees it at once), and
for everyone by the ``escalation-rules`` job every minute, which catches what no request
saw (a canicule day ending unreached, a task failed by the generator). Each fact is taken
once (``alert_source``), so running again changes nothing.

Defaults (``[escalation]``):
- an urgent signal → urgent alert; a concern signal → concern alert;
- a canicule senior still unreached after the day's last attempt → urgent, "levée de doute";
- a courtesy senior unreached on three cycles in a row → concern;
- a disposition of deceased or absent (hospitalised...) → info for the referent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from outreach.calls.models import REACHED_DISPOSITIONS, Attempt, Severity, Signal
from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.escalation.models import AlertCause, AlertSource
from outreach.escalation.operations import raise_alert
from outreach.roster.models import Senior

# How far back the job looks for facts not yet taken into account.
LOOKBACK = timedelta(days=3)
UNREACHED = (TaskState.failed, TaskState.escalated)
SIGNAL_LABELS = {
    "isolation": "isolement",
    "health_worsening": "santé qui se dégrade",
    "fall": "chute",
    "heat_distress": "souffre de la chaleur",
    "not_eating_drinking": "ne mange ou ne boit pas",
    "memory_confusion": "mémoire, confusion",
    "mobility": "difficultés à se déplacer",
    "housing_adaptation": "logement à adapter",
    "financial": "difficultés financières",
    "bereavement": "deuil",
    "other": "autre",
}
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
        *_canicule_unreached(session, config, since, senior_id, now),
        *_courtesy_unreached(session, config, since, senior_id, now),
    ):
        opened += bool(raised and raised.opened)
    return opened


def _scope(stmt: Any, column: Any, senior_id: int | None) -> Any:
    return stmt.where(column == senior_id) if senior_id is not None else stmt


def _signals(session, config, since, senior_id, now):  # type: ignore[no-untyped-def]
    severities = config["escalation"]["signal_severities"]
    if not severities:
        return
    stmt = select(Signal).where(
        Signal.severity.in_(severities), Signal.created_at >= since, _untaken("signal", Signal.id)
    )
    for signal in session.scalars(_scope(stmt.order_by(Signal.id), Signal.senior_id, senior_id)):
        senior = session.get(Senior, signal.senior_id)
        urgent = signal.severity == Severity.urgent
        label = SIGNAL_LABELS.get(signal.kind, signal.kind)
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


def _life_events(session, config, since, senior_id, now):  # type: ignore[no-untyped-def]
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


def _failed_tasks(session, kind, since, senior_id):  # type: ignore[no-untyped-def]
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


def _for_task(session, config, task, cause, severity, summary, now):  # type: ignore[no-untyped-def]
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


def _canicule_unreached(session, config, since, senior_id, now):  # type: ignore[no-untyped-def]
    if not config["escalation"]["canicule_unreached"]:
        return
    for task in _failed_tasks(session, CampaignKind.canicule, since, senior_id):
        summary = (
            f"Canicule : injoignable le {task.due_date.strftime('%d/%m/%Y')} après "
            "le dernier essai — levée de doute (contact d'urgence, visite)"
        )
        yield _for_task(
            session, config, task, AlertCause.canicule_unreached, Severity.urgent, summary, now
        )


def _courtesy_unreached(session, config, since, senior_id, now):  # type: ignore[no-untyped-def]
    cycles = config["escalation"]["courtesy_unreached_cycles"]
    if cycles <= 0:
        return
    reached = {d.value for d in REACHED_DISPOSITIONS} | {"sms_delivered"}
    for task in _failed_tasks(session, CampaignKind.courtesy, since, senior_id):
        # The senior's last courtesy cycles, newest first: all unreached?
        last = session.execute(
            select(Task.state, Task.disposition)
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
        if len(last) < cycles or any(
            state == TaskState.done and disposition in reached for state, disposition in last
        ):
            continue
        summary = f"Injoignable sur {cycles} appels de courtoisie de suite"
        yield _for_task(
            session, config, task, AlertCause.courtesy_unreached, Severity.concern, summary, now
        )
