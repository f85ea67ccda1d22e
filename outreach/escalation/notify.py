"""Who hears of an alert, and when: written to the notification outbox, once each.

- when it opens: an e-mail to the referent; an urgent one also by SMS to the
  organisation's on-duty number;
- past its due time: a reminder to the referent; later (``escalate_*``): the managers;
- every morning: a digest of each social worker's open alerts.

Every notification has a dedupe key (``alert-open:42:user7``...), unique in the outbox, so
that a job that runs again, or two at once, sends nothing twice. Messages carry the
senior's reference, not her name or health details: e-mail and SMS leave our hands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, User
from outreach.calls.models import Severity
from outreach.campaigns.schedule import PARIS
from outreach.escalation.models import Alert, AlertEvent, AlertStatus
from outreach.notifications.models import Notification
from outreach.notifications.operations import email_users, managers_of, queue
from outreach.roster.models import Senior

SEVERITY_FR = {"urgent": "URGENTE", "concern": "à suivre", "info": "pour information"}
RECENT = timedelta(days=2)


def _link(config: dict[str, dict[str, Any]], alert: Alert) -> str:
    return f"{config['telephony']['public_base_url'].rstrip('/')}/alertes/{alert.id}"


def _ref(session: Session, alert: Alert) -> str:
    senior = session.get(Senior, alert.senior_id)
    return senior.external_ref if senior else "?"


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m à %H:%M")


def notify_alerts(session: Session, config: dict[str, dict[str, Any]], now: datetime) -> int:
    """Queue what open alerts call for; returns how many notifications were queued."""
    queued = 0
    alerts = session.scalars(
        select(Alert).where(Alert.status != AlertStatus.resolved).order_by(Alert.id)
    ).all()
    done = _done(session, config, alerts, now)
    for alert in alerts:
        if alert.opened_at >= now - RECENT and alert.id not in done["open"]:
            queued += _on_open(session, config, alert, now)
        if alert.due_at < now and alert.id not in done["overdue"]:
            queued += _overdue(session, config, alert, now)
    return queued


def _done(
    session: Session,
    config: dict[str, dict[str, Any]],
    alerts: Sequence[Alert],
    now: datetime,
) -> dict[str, set[int]]:
    """The alerts whose notices of each kind are all in the outbox already, from one query.

    The job runs every minute over every open alert; without this each alert cost a few
    queries a minute for notices that dedupe to nothing (a heatwave day holds hundreds).
    An alert is left out only when every key its notices would add exists (the same
    conditions as ``_on_open`` and ``_overdue``: an active referent, an on-duty phone, the
    managers), so nothing a notice would still send is skipped.
    """
    esc = config["escalation"]
    managers: dict[int, list[int]] = {}
    phones: dict[int, bool] = {}
    referents = {a.referent_id for a in alerts if a.referent_id}
    active = set(
        session.scalars(select(User.id).where(User.id.in_(referents), User.active.is_(True)))
    )
    wanted: dict[str, dict[int, list[str]]] = {"open": {}, "overdue": {}}
    for a in alerts:
        referent = [f"user{a.referent_id}"] if a.referent_id in active else []
        opened = [f"alert-open:{a.id}:{r}" for r in referent]
        if a.organisation_id not in phones:
            org = session.get(Organisation, a.organisation_id)
            phones[a.organisation_id] = bool(org and org.on_duty_phone)
        if a.severity == Severity.urgent and phones[a.organisation_id]:
            opened.append(f"alert-open-sms:{a.id}")
        wanted["open"][a.id] = opened
        overdue = [f"alert-overdue:{a.id}:{r}" for r in referent]
        delay = (
            timedelta(minutes=esc["escalate_urgent_minutes"])
            if a.severity == Severity.urgent
            else timedelta(hours=esc["escalate_other_hours"])
        )
        if a.due_at + delay < now:
            if a.organisation_id not in managers:
                managers[a.organisation_id] = [
                    u.id for u in managers_of(session, a.organisation_id)
                ]
            overdue += [f"alert-escalated:{a.id}:user{m}" for m in managers[a.organisation_id]]
        wanted["overdue"][a.id] = overdue
    keys = [k for kind in wanted.values() for ks in kind.values() for k in ks]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            session.scalars(
                select(Notification.dedupe_key).where(
                    Notification.dedupe_key.in_(keys[start : start + 500])
                )
            )
        )
    return {
        kind: {a for a, ks in by_alert.items() if all(k in existing for k in ks)}
        for kind, by_alert in wanted.items()
    }


def _on_open(
    session: Session, config: dict[str, dict[str, Any]], alert: Alert, now: datetime
) -> int:
    queued = 0
    level = SEVERITY_FR.get(alert.severity, alert.severity)
    ref = _ref(session, alert)
    referent = session.get(User, alert.referent_id) if alert.referent_id else None
    if referent is not None and referent.active:
        queued += email_users(
            session,
            [referent],
            key=f"alert-open:{alert.id}",
            subject=f"Alerte {level} — réf. {ref}",
            body=(
                f"Bonjour,\n\nUne alerte {level} a été ouverte pour la personne de référence "
                f"{ref}, à traiter avant le {_local(alert.due_at)}.\n\n{_link(config, alert)}\n"
            ),
            organisation_id=alert.organisation_id,
            now=now,
        )
    org = session.get(Organisation, alert.organisation_id)
    if alert.severity == Severity.urgent and org is not None and org.on_duty_phone:
        queued += queue(
            session,
            key=f"alert-open-sms:{alert.id}",
            channel="sms",
            recipient=org.on_duty_phone,
            subject="",
            body=(
                f"outreach : alerte URGENTE réf. {ref}, à traiter avant "
                f"{alert.due_at.astimezone(PARIS).strftime('%H:%M')}. {_link(config, alert)}"
            ),
            organisation_id=alert.organisation_id,
            now=now,
        )
    return queued


def _overdue(
    session: Session, config: dict[str, dict[str, Any]], alert: Alert, now: datetime
) -> int:
    esc = config["escalation"]
    ref = _ref(session, alert)
    queued = 0
    referent = session.get(User, alert.referent_id) if alert.referent_id else None
    if referent is not None and referent.active:
        queued += email_users(
            session,
            [referent],
            key=f"alert-overdue:{alert.id}",
            subject=f"Rappel : alerte en retard — réf. {ref}",
            body=(
                f"Bonjour,\n\nL'alerte pour la personne de référence {ref} devait être traitée "
                f"avant le {_local(alert.due_at)}.\n\n{_link(config, alert)}\n"
            ),
            organisation_id=alert.organisation_id,
            now=now,
        )
    delay = (
        timedelta(minutes=esc["escalate_urgent_minutes"])
        if alert.severity == Severity.urgent
        else timedelta(hours=esc["escalate_other_hours"])
    )
    if alert.due_at + delay < now:
        added = email_users(
            session,
            managers_of(session, alert.organisation_id),
            key=f"alert-escalated:{alert.id}",
            subject=f"Alerte non traitée — réf. {ref}",
            body=(
                f"Bonjour,\n\nL'alerte {SEVERITY_FR.get(alert.severity, '')} pour la personne de "
                f"référence {ref} n'est pas close : elle devait l'être avant le "
                f"{_local(alert.due_at)}.\n\n{_link(config, alert)}\n"
            ),
            organisation_id=alert.organisation_id,
            now=now,
        )
        if added:
            session.add(AlertEvent(alert_id=alert.id, at=now, action="escalated"))
        queued += added
    session.flush()
    return queued


def morning_digest(session: Session, config: dict[str, dict[str, Any]], now: datetime) -> int:
    """One e-mail per referent listing their open alerts (sent once a day)."""
    day = now.astimezone(PARIS).date()
    by_referent: dict[int, list[Alert]] = defaultdict(list)
    for alert in session.scalars(
        select(Alert)
        .where(Alert.status != AlertStatus.resolved, Alert.referent_id.is_not(None))
        .order_by(Alert.due_at)
    ):
        by_referent[alert.referent_id].append(alert)  # type: ignore[index]
    queued = 0
    for user_id, alerts in by_referent.items():
        user = session.get(User, user_id)
        if user is None or not user.active:
            continue
        overdue = sum(a.due_at < now for a in alerts)
        lines = [
            f"- {SEVERITY_FR.get(a.severity, a.severity)}, réf. {_ref(session, a)}, avant le "
            f"{_local(a.due_at)} : {_link(config, a)}"
            for a in alerts
        ]
        queued += email_users(
            session,
            [user],
            key=f"digest:{day.isoformat()}",
            subject=f"Vos alertes du {day.strftime('%d/%m/%Y')} : {len(alerts)} ouvertes",
            body=(
                f"Bonjour,\n\n{len(alerts)} alerte(s) à traiter, dont {overdue} en retard :\n\n"
                + "\n".join(lines)
                + "\n"
            ),
            organisation_id=alerts[0].organisation_id,
            now=now,
        )
    return queued
