"""Writes on door-knocks: ask one for a levée de doute, record what the visit found, cancel.

Operations flush, never commit. A knock is asked once per alert (``door_knock.alert_id`` is
unique: a rule that runs again, or two at once, asks nothing twice). What it found moves
the alert: seen and well closes it (``home_visit``), seen and unwell makes it urgent for the
referent, no answer leaves both open and tells the referent and the on-duty phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.accounts.models import Membership, Organisation, Role, User
from outreach.audit import operations as audit
from outreach.calls.models import Severity
from outreach.doorknock.labels import EVENT_LABELS, OUTCOME_LABELS
from outreach.doorknock.models import DoorKnock, KnockOutcome, KnockState, ProximityResidence
from outreach.escalation import operations as alerts
from outreach.escalation.models import Alert, AlertCause, AlertEvent, AlertStatus, Resolution
from outreach.notifications.operations import email_users, managers_of, queue
from outreach.roster.models import Senior
from outreach.timezone import PARIS

Config = Mapping[str, Any]
NOTE_MAX = 500


class DoorKnockError(ValueError):
    """A knock that cannot be recorded (already closed); French message for the user."""


def _config(config: Config | None) -> Config:
    return config if config is not None else current_app.config["OUTREACH"]


def _link(config: Config, path: str) -> str:
    return f"{config['telephony']['public_base_url'].rstrip('/')}{path}"


def _event(session: Session, alert_id: int, action: str, now: datetime, **kw: Any) -> None:
    session.add(AlertEvent(alert_id=alert_id, at=now, action=action, **kw))


def proximity_members(session: Session, organisation_id: int, residence: str | None) -> list[User]:
    """The active proximity staff of the organisation who cover ``residence``."""
    if not residence:
        return []
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .join(
                ProximityResidence,
                (ProximityResidence.user_id == User.id)
                & (ProximityResidence.organisation_id == Membership.organisation_id),
            )
            .where(
                Membership.organisation_id == organisation_id,
                Membership.role == Role.proximity,
                ProximityResidence.residence == residence,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def request_for_alert(
    session: Session, alert: Alert, now: datetime, config: Config | None = None
) -> DoorKnock | None:
    """Ask a door-knock for a canicule alert (levée de doute); the existing one if asked
    already; None for another cause. Notifies the residence's proximity staff (e-mail, and
    SMS to those with a phone); without any, the organisation's managers."""
    if alert.cause != AlertCause.canicule_unreached:
        return None
    existing = session.scalar(select(DoorKnock).where(DoorKnock.alert_id == alert.id))
    if existing is not None:
        return existing
    senior = session.get(Senior, alert.senior_id)
    if senior is None:
        return None
    knock = DoorKnock(
        organisation_id=alert.organisation_id,
        senior_id=senior.id,
        alert_id=alert.id,
        residence=senior.residence,
        created_at=now,
        due_at=alert.due_at,
        state=KnockState.open,
    )
    try:
        with session.begin_nested():
            session.add(knock)
            session.flush()
    except IntegrityError:
        # Asked a moment ago by a concurrent run.
        return session.scalar(select(DoorKnock).where(DoorKnock.alert_id == alert.id))
    _event(session, alert.id, "knock_asked", now, detail=senior.residence)
    _notify_asked(session, _config(config), knock, now)
    session.flush()
    return knock


def _notify_asked(session: Session, config: Config, knock: DoorKnock, now: datetime) -> None:
    # Messages leave our hands: the residence and a link, never her name (the page has it).
    where = f"résidence {knock.residence}" if knock.residence else "logement individuel"
    link = _link(config, "/passages/?" + urlencode({"residence": knock.residence or ""}))
    body = (
        f"Bonjour,\n\nUne personne de la {where} n'a pas répondu aux appels canicule "
        f"d'aujourd'hui. Merci de passer à son domicile avant "
        f"{knock.due_at.astimezone(PARIS).strftime('%H:%M')} et d'indiquer ce que vous avez "
        f"constaté.\n\nL'adresse et les consignes : {link}\n"
    )
    members = proximity_members(session, knock.organisation_id, knock.residence)
    email_users(
        session,
        members or managers_of(session, knock.organisation_id),
        key=f"knock-asked:{knock.id}",
        subject=f"Passage à domicile demandé — {where}",
        body=body,
        organisation_id=knock.organisation_id,
        now=now,
    )
    for user in members:
        if user.phone:
            queue(
                session,
                key=f"knock-asked-sms:{knock.id}:user{user.id}",
                channel="sms",
                recipient=user.phone,
                subject="",
                body=f"outreach : passage à domicile demandé, {where}. {link}",
                organisation_id=knock.organisation_id,
                user_id=user.id,
                now=now,
            )


def record(
    session: Session,
    knock: DoorKnock,
    outcome: KnockOutcome,
    user: User,
    note: str | None,
    now: datetime,
    config: Config | None = None,
) -> None:
    """Record what a visit found, and what follows for the alert (see the module doc)."""
    if knock.state != KnockState.open:
        raise DoorKnockError("ce passage est déjà clos")
    config = _config(config)
    note = " ".join((note or "").split())[:NOTE_MAX] or None
    knock.outcome = outcome
    knock.done_by_id = user.id
    knock.done_at = now
    knock.note = note
    if outcome != KnockOutcome.no_answer:
        knock.state = KnockState.done
    session.flush()
    alert = session.get(Alert, knock.alert_id) if knock.alert_id else None
    live = alert is not None and alert.status != AlertStatus.resolved
    said = OUTCOME_LABELS[outcome] + (f" — {note}" if note else "")
    if alert is not None and live:
        _event(session, alert.id, f"knock_{outcome.value}", now, user_id=user.id, detail=note)
    if outcome == KnockOutcome.seen_well and alert is not None and live:
        alerts.resolve(
            session, alert, Resolution.home_visit, f"Passage à domicile : {said}", user.id, now
        )
    elif outcome == KnockOutcome.seen_unwell:
        alert = _raise_unwell(session, config, knock, alert if live else None, now)
        _tell_referent(session, config, knock, alert, outcome, now)
    elif outcome == KnockOutcome.no_answer and alert is not None:
        _tell_referent(session, config, knock, alert, outcome, now)
    audit.record(
        session,
        action="doorknock",
        entity="senior",
        entity_id=knock.senior_id,
        organisation_id=knock.organisation_id,
        user_id=user.id,
        details={"outcome": outcome.value, "knock_id": knock.id, "alert_id": knock.alert_id},
    )
    session.flush()


def _raise_unwell(
    session: Session, config: Config, knock: DoorKnock, alert: Alert | None, now: datetime
) -> Alert | None:
    """Seen and unwell: her open alert becomes urgent and due at once; without one (closed
    meanwhile), a new urgent alert for her referent."""
    if alert is not None:
        alert.severity = Severity.urgent
        alert.due_at = min(alert.due_at, now + timedelta(minutes=_urgent_minutes(config)))
        session.flush()
        return alert
    senior = session.get(Senior, knock.senior_id)
    if senior is None:
        return None
    raised = alerts.raise_alert(
        session,
        dict(config),
        senior=senior,
        cause=AlertCause.urgent_signal,
        severity=Severity.urgent,
        source=("door_knock", knock.id),
        summary=EVENT_LABELS["knock_seen_unwell"],
        now=now,
    )
    return raised.alert if raised else None


def _urgent_minutes(config: Config) -> int:
    return int(config["escalation"]["urgent_due_minutes"])


def _tell_referent(
    session: Session,
    config: Config,
    knock: DoorKnock,
    alert: Alert | None,
    outcome: KnockOutcome,
    now: datetime,
) -> None:
    """The referent by e-mail, the on-duty phone by SMS: what the visit found."""
    if alert is None:
        return
    senior = session.get(Senior, knock.senior_id)
    ref = senior.external_ref if senior else "?"
    what = OUTCOME_LABELS[outcome].lower()
    link = _link(config, f"/alertes/{alert.id}")
    stamp = now.astimezone(PARIS).strftime("%Y%m%d%H%M")
    key = f"knock-{outcome.value}:{knock.id}:{stamp}"
    referent = session.get(User, alert.referent_id) if alert.referent_id else None
    email_users(
        session,
        [referent] if referent is not None and referent.active else [],
        key=key,
        subject=f"Passage à domicile : {what} — réf. {ref}",
        body=(
            f"Bonjour,\n\nLe passage à domicile pour la personne de référence {ref} : {what}. "
            f"L'alerte est à traiter avant le "
            f"{alert.due_at.astimezone(PARIS).strftime('%d/%m à %H:%M')}.\n\n{link}\n"
        ),
        organisation_id=knock.organisation_id,
        now=now,
    )
    org = session.get(Organisation, knock.organisation_id)
    if org is not None and org.on_duty_phone:
        queue(
            session,
            key=f"{key}:sms",
            channel="sms",
            recipient=org.on_duty_phone,
            subject="",
            body=f"outreach : passage à domicile réf. {ref} : {what}. {link}",
            organisation_id=knock.organisation_id,
            now=now,
        )


def cancel_for_alert(session: Session, alert: Alert, now: datetime) -> int:
    """Cancel the alert's open knocks (it was settled otherwise: she called back, her
    contact had news); returns how many."""
    knocks = session.scalars(
        select(DoorKnock).where(DoorKnock.alert_id == alert.id, DoorKnock.state == KnockState.open)
    ).all()
    for knock in knocks:
        knock.state = KnockState.cancelled
        _event(session, alert.id, "knock_cancelled", now)
    session.flush()
    return len(knocks)


def set_residences(
    session: Session, user: User, organisation_id: int, residences: list[str]
) -> list[str]:
    """The residences a proximity member covers in one organisation, replaced by
    ``residences`` (blank and repeated names dropped); returns them, sorted."""
    wanted = sorted({" ".join(r.split()) for r in residences if r and r.strip()})
    rows = session.scalars(
        select(ProximityResidence).where(
            ProximityResidence.user_id == user.id,
            ProximityResidence.organisation_id == organisation_id,
        )
    ).all()
    for row in rows:
        if row.residence not in wanted:
            session.delete(row)
    have = {row.residence for row in rows}
    for name in wanted:
        if name not in have:
            session.add(
                ProximityResidence(user_id=user.id, organisation_id=organisation_id, residence=name)
            )
    audit.record(
        session,
        action="update",
        entity="user",
        entity_id=user.id,
        organisation_id=organisation_id,
        details={"fields": ["residences"], "count": len(wanted)},
    )
    session.flush()
    return wanted
