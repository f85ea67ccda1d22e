"""Writes on alerts: open or join, acknowledge, reassign, resolve, reinforced follow-up.

Operations flush, never commit. Opening is safe under concurrency: a fact (signal, task,
attempt) is claimed once through ``alert_source``'s unique key, and an alert is opened once
per senior and cause through the partial unique index ``uq_alert_open_cause``; a racing
opener that loses joins the winner's alert instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.calls.models import Severity
from outreach.campaigns.schedule import PARIS, is_public_holiday
from outreach.escalation.models import (
    Alert,
    AlertCause,
    AlertEvent,
    AlertSource,
    AlertStatus,
    Resolution,
)
from outreach.roster.models import Senior

SEVERITY_ORDER = {Severity.info: 0, Severity.concern: 1, Severity.urgent: 2}


class AlertError(ValueError):
    """An action that cannot be done on this alert; French message for the user."""


def add_working_days(start: datetime, days: int, departement: str | None = None) -> datetime:
    """The same local time ``days`` working days later (no weekend, no public holiday)."""
    local = start.astimezone(PARIS)
    day = local.date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and not is_public_holiday(day, departement):
            left -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), PARIS)


def due_time(
    config: dict[str, dict[str, Any]], severity: Severity, now: datetime, dep: str | None
) -> datetime:
    esc = config["escalation"]
    if severity == Severity.urgent:
        return now + timedelta(minutes=esc["urgent_due_minutes"])
    if severity == Severity.concern:
        return add_working_days(now, esc["concern_due_working_days"], dep)
    return now + timedelta(days=esc["info_due_days"])


def referent_of(session: Session, senior: Senior) -> int | None:
    """The senior's social worker, else the organisation's on-duty social worker."""
    if senior.referent_id:
        return senior.referent_id
    org = session.get(Organisation, senior.organisation_id)
    return org.on_duty_user_id if org else None


@dataclass
class Raised:
    alert: Alert
    opened: bool  # False: the fact joined an alert already open


def _event(session: Session, alert: Alert, action: str, now: datetime, **kw: Any) -> None:
    session.add(AlertEvent(alert_id=alert.id, at=now, action=action, **kw))


def raise_alert(
    session: Session,
    config: dict[str, dict[str, Any]],
    *,
    senior: Senior,
    cause: AlertCause,
    severity: Severity,
    source: tuple[str, int],
    summary: str,
    now: datetime,
) -> Raised | None:
    """Open an alert for this fact, or join the senior's open alert of the same cause.

    None when the fact was already taken into account (a rule that runs again).
    """
    kind, source_id = source
    if session.scalar(
        select(AlertSource.id).where(AlertSource.kind == kind, AlertSource.source_id == source_id)
    ):
        return None
    alert = _open_alert(session, senior.id, cause)
    opened = False
    if alert is None:
        alert = Alert(
            organisation_id=senior.organisation_id,
            senior_id=senior.id,
            cause=cause,
            severity=severity,
            status=AlertStatus.open,
            referent_id=referent_of(session, senior),
            summary=summary[:300],
            opened_at=now,
            due_at=due_time(config, severity, now, senior.departement),
        )
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
            opened = True
        except IntegrityError:
            # Another worker opened it a moment ago: join theirs.
            alert = _open_alert(session, senior.id, cause)
            if alert is None:
                raise
    try:
        with session.begin_nested():
            session.add(
                AlertSource(alert_id=alert.id, kind=kind, source_id=source_id, created_at=now)
            )
            session.flush()
    except IntegrityError:
        return None  # the same fact, taken by a concurrent run
    if opened:
        _event(session, alert, "opened", now, detail=summary[:500])
        if cause == AlertCause.canicule_unreached:
            # A levée de doute: someone goes to her door (imported here: doorknock uses us).
            from outreach.doorknock.operations import request_for_alert

            request_for_alert(session, alert, now, config)
    else:
        _event(session, alert, "joined", now, detail=summary[:500])
        if SEVERITY_ORDER[severity] > SEVERITY_ORDER[alert.severity]:
            alert.severity = severity
        alert.due_at = min(alert.due_at, due_time(config, severity, now, senior.departement))
    session.flush()
    return Raised(alert, opened)


def _open_alert(session: Session, senior_id: int, cause: AlertCause) -> Alert | None:
    return session.scalar(
        select(Alert)
        .where(
            Alert.senior_id == senior_id,
            Alert.cause == cause,
            Alert.status != AlertStatus.resolved,
        )
        .execution_options(populate_existing=True)
    )


def acknowledge(session: Session, alert: Alert, user_id: int, now: datetime) -> bool:
    """Open → acknowledged; False when it was no longer open (nothing changes)."""
    if alert.status != AlertStatus.open:
        return False
    alert.status = AlertStatus.acknowledged
    alert.acknowledged_at = now
    alert.acknowledged_by_id = user_id
    _event(session, alert, "acknowledged", now, user_id=user_id)
    session.flush()
    return True


def reassign(session: Session, alert: Alert, referent_id: int, user_id: int, now: datetime) -> None:
    if alert.status == AlertStatus.resolved:
        raise AlertError("cette alerte est déjà close")
    if alert.referent_id == referent_id:
        return
    alert.referent_id = referent_id
    _event(session, alert, "reassigned", now, user_id=user_id, detail=f"user:{referent_id}")
    session.flush()


def resolve(
    session: Session,
    alert: Alert,
    resolution: Resolution,
    note: str | None,
    user_id: int,
    now: datetime,
    partner_id: int | None = None,
) -> None:
    """Close an alert with its resolution; a referral records the partner."""
    if alert.status == AlertStatus.resolved:
        raise AlertError("cette alerte est déjà close")
    if resolution == Resolution.partner_referral and partner_id is None:
        raise AlertError("choisissez le partenaire vers lequel la personne est orientée")
    if alert.status == AlertStatus.open:
        acknowledge(session, alert, user_id, now)
    if partner_id is not None:
        from outreach.partners.operations import refer

        senior = session.get(Senior, alert.senior_id)
        from outreach.partners.models import Partner

        partner = session.get(Partner, partner_id)
        if senior is None or partner is None:
            raise AlertError("partenaire inconnu")
        refer(session, senior, partner, user_id, note, alert.id, now)
    alert.status = AlertStatus.resolved
    alert.resolution = resolution
    alert.resolution_note = (note or "").strip()[:2000] or None
    alert.resolved_at = now
    alert.resolved_by_id = user_id
    _event(session, alert, "resolved", now, user_id=user_id, detail=resolution.value)
    _cancel_knocks(session, alert, now)
    session.flush()


def _cancel_knocks(session: Session, alert: Alert, now: datetime) -> None:
    """Settled otherwise (she called back, her contact had news): nobody goes to her door."""
    from outreach.doorknock.operations import cancel_for_alert

    cancel_for_alert(session, alert, now)


def close_after_correction(
    session: Session,
    withdrawn: set[tuple[str, int]],
    drop: set[tuple[str, int]],
    reason: str,
    user_id: int,
    now: datetime,
) -> list[Alert]:
    """A corrected call withdrew facts (its removed signals, its former disposition, its
    task's "unreached"): every alert still to do that rested on them says so, and those
    left resting on nothing else are closed, "no action needed", with the reason.

    Alerts with other facts stay open. The source rows of ``drop`` (facts that no longer
    exist or no longer hold) are deleted, whatever the alert's status: a deleted signal's
    id may be given again (SQLite reuses the highest rowid) and must not be mistaken for a
    fact already taken. A mistaken alert was never taken in charge, so it is closed without
    being acknowledged (``resolve`` would acknowledge it). Returns the alerts closed.
    """
    sources: list[AlertSource] = []
    for kind in sorted({k for k, _ in withdrawn}):
        ids = [i for k, i in withdrawn if k == kind]
        sources += session.scalars(
            select(AlertSource).where(AlertSource.kind == kind, AlertSource.source_id.in_(ids))
        ).all()
    closed: list[Alert] = []
    for alert in {s.alert_id: s.alert for s in sources}.values():
        if alert.status == AlertStatus.resolved:
            continue
        _event(session, alert, "corrected", now, user_id=user_id, detail=reason[:500])
        if all((s.kind, s.source_id) in withdrawn for s in alert.sources):
            alert.status = AlertStatus.resolved
            alert.resolution = Resolution.no_action
            alert.resolution_note = f"Corrigé : {reason}"[:2000]
            alert.resolved_at = now
            alert.resolved_by_id = user_id
            _event(session, alert, "resolved", now, user_id=user_id, detail="no_action")
            _cancel_knocks(session, alert, now)
            closed.append(alert)
    for source in sources:
        if (source.kind, source.source_id) in drop:
            source.alert.sources.remove(source)  # delete-orphan
    session.flush()
    return closed


def set_reinforced(
    session: Session, senior: Senior, on: bool, user_id: int, now: datetime, alert: Alert | None
) -> None:
    """Move a senior to reinforced follow-up (a closer courtesy cadence) or back."""
    senior.reinforced_since = now.astimezone(PARIS).date() if on else None
    if alert is not None:
        _event(session, alert, "reinforced_on" if on else "reinforced_off", now, user_id=user_id)
    session.flush()
