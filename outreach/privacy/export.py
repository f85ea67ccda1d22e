"""Right of access (article 15): everything outreach holds about one senior, as plain data.

``collect`` gathers it as a JSON-serialisable dict (codes, with the French label of each
outcome); the web layer renders the same dict as a readable French document for her
(``web.privacy.render_document``). ``export_senior`` is what the page and the command call:
it collects and records the export in the audit trail, so that both leave the same trail.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, User
from outreach.audit.models import AuditEvent
from outreach.audit.operations import record
from outreach.calls.labels import ALL as CALL_LABELS
from outreach.calls.models import Attempt, Signal
from outreach.calls.outcomes import DISPOSITION_LABELS
from outreach.calls.outcomes import LABELS as OUTCOME_LABELS
from outreach.campaigns.models import Campaign, Skip, Task
from outreach.doorknock.labels import OUTCOME_LABELS as KNOCK_LABELS
from outreach.doorknock.models import DoorKnock
from outreach.escalation.models import Alert, AlertEvent
from outreach.panel.models import Draw, PanelMember
from outreach.partners.models import Partner, Referral
from outreach.roster.models import ConsentEvent, EmergencyContact, Senior
from outreach.telephony.models import InboundCall
from outreach.workshops.models import Invitation, Workshop

FORMAT = "outreach-senior-export"
VERSION = 1
FORMATS = ("json", "html")


def plain(value: Any) -> Any:
    """A value as JSON holds it: dates in ISO 8601, enumerations by their code."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of an ORM row (so that a column added later is exported too)."""
    return {c.key: plain(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in skip}


class _Names:
    """Staff names by id, read once per export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[int, str | None] = {}

    def __call__(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self.cache:
            user = self.session.get(User, user_id)
            self.cache[user_id] = user.name if user else None
        return self.cache[user_id]


def collect(session: Session, senior: Senior) -> dict[str, Any]:
    """Everything held about ``senior``: identity and every field of her record, emergency
    contacts, consent history, calls and SMS, tasks, signals, alerts, referrals, skips and
    who opened her record. JSON-serialisable (ISO dates, codes); newest last."""
    name = _Names(session)
    sid = senior.id
    org = session.get(Organisation, senior.organisation_id)
    identity = _row(senior)
    identity["referent"] = name(senior.referent_id)

    contacts = session.scalars(
        select(EmergencyContact)
        .where(EmergencyContact.senior_id == sid)
        .order_by(EmergencyContact.id)
    ).all()
    consents = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.senior_id == sid)
        .order_by(ConsentEvent.at, ConsentEvent.id)
    ).all()
    campaigns = dict(
        session.execute(
            select(Campaign.id, Campaign.name).where(
                Campaign.id.in_(
                    select(Task.campaign_id)
                    .where(Task.senior_id == sid)
                    .union(select(Skip.campaign_id).where(Skip.senior_id == sid))
                )
            )
        ).all()
    )
    tasks = session.scalars(
        select(Task).where(Task.senior_id == sid).order_by(Task.due_date, Task.id)
    ).all()
    task_campaign = {t.id: campaigns.get(t.campaign_id) for t in tasks}
    attempts = session.scalars(
        select(Attempt).where(Attempt.senior_id == sid).order_by(Attempt.started_at, Attempt.id)
    ).all()
    signals = session.scalars(
        select(Signal).where(Signal.senior_id == sid).order_by(Signal.created_at, Signal.id)
    ).all()
    alerts = session.scalars(
        select(Alert).where(Alert.senior_id == sid).order_by(Alert.opened_at, Alert.id)
    ).all()
    events = session.scalars(
        select(AlertEvent)
        .where(AlertEvent.alert_id.in_([a.id for a in alerts]))
        .order_by(AlertEvent.at, AlertEvent.id)
    ).all()
    referrals = session.execute(
        select(Referral, Partner.name)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.senior_id == sid)
        .order_by(Referral.created_at, Referral.id)
    ).all()
    skips = session.scalars(
        select(Skip).where(Skip.senior_id == sid).order_by(Skip.day, Skip.id)
    ).all()
    calls_received = session.scalars(
        select(InboundCall)
        .where(InboundCall.senior_id == sid)
        .order_by(InboundCall.received_at, InboundCall.id)
    ).all()
    visits = session.scalars(
        select(DoorKnock)
        .where(DoorKnock.senior_id == sid)
        .order_by(DoorKnock.created_at, DoorKnock.id)
    ).all()
    invitations = session.execute(
        select(Invitation, Workshop)
        .join(Workshop, Workshop.id == Invitation.workshop_id)
        .where(Invitation.senior_id == sid)
        .order_by(Workshop.starts_at, Invitation.id)
    ).all()
    panel = session.execute(
        select(PanelMember, Draw.created_at)
        .join(Draw, Draw.id == PanelMember.draw_id)
        .where(PanelMember.senior_id == sid)
        .order_by(Draw.created_at, PanelMember.id)
    ).all()
    accesses = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "senior", AuditEvent.entity_id == sid)
        .where(AuditEvent.organisation_id == senior.organisation_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()

    return {
        "format": FORMAT,
        "version": VERSION,
        "organisation": {"id": senior.organisation_id, "name": org.name if org else None},
        "identity": identity,
        "emergency_contacts": [
            {"name": c.name, "relation": c.relation, "phone": c.phone, "notes": c.notes}
            for c in contacts
        ],
        "consent_history": [
            _row(e, skip=("organisation_id", "senior_id", "user_id")) | {"by": name(e.user_id)}
            for e in consents
        ],
        "contacts": [_attempt(a, task_campaign, name) for a in attempts],
        "tasks": [
            {
                "id": t.id,
                "campaign": campaigns.get(t.campaign_id),
                "due_date": plain(t.due_date),
                "channel": plain(t.channel),
                "state": plain(t.state),
                "outcome": plain(t.outcome),
                "outcome_label": OUTCOME_LABELS.get(t.outcome) if t.outcome else None,
                "reason": t.disposition,
                "completed_at": plain(t.completed_at),
            }
            for t in tasks
        ],
        "signals": [
            {
                "at": plain(s.created_at),
                "kind": plain(s.kind),
                "kind_label": CALL_LABELS["signal"].get(s.kind),
                "severity": plain(s.severity),
                "note": s.note,
                "contact_id": s.attempt_id,
            }
            for s in signals
        ],
        "alerts": [_alert(a, events, name) for a in alerts],
        "referrals": [
            {
                "at": plain(r.created_at),
                "partner": partner,
                "note": r.note,
                "alert_id": r.alert_id,
                "by": name(r.user_id),
            }
            for r, partner in referrals
        ],
        "skips": [
            {
                "day": plain(s.day),
                "campaign": campaigns.get(s.campaign_id),
                "reason": plain(s.reason),
                "reason_label": CALL_LABELS["skip"].get(s.reason),
                "detail": s.detail,
            }
            for s in skips
        ],
        # She called the service's number (telephony.inbound) and was to be called back.
        "calls_received": [
            {
                "at": plain(c.received_at),
                "from_number": c.from_number,
                "called_back_at": plain(c.handled_at),
                "by": name(c.handled_by_id),
                "note": c.note,
            }
            for c in calls_received
        ],
        # Door-knocks asked when she could not be reached (doorknock).
        "home_visits": [
            {
                "asked_at": plain(k.created_at),
                "residence": k.residence,
                "state": plain(k.state),
                "outcome": plain(k.outcome),
                "outcome_label": KNOCK_LABELS.get(k.outcome) if k.outcome else None,
                "done_at": plain(k.done_at),
                "by": name(k.done_by_id),
                "note": k.note,
            }
            for k in visits
        ],
        # The collective workshops she was invited to (workshops).
        "workshops": [
            {
                "theme": w.theme,
                "starts_at": plain(w.starts_at),
                "place": w.place,
                "status": plain(i.status),
                "invited_at": plain(i.invited_at),
                "replied_at": plain(i.replied_at),
                "transport_needed": i.transport_needed,
                "transport_note": i.transport_note,
                "attended": i.attended,
            }
            for i, w in invitations
        ],
        # Her place in the regional panel, once her landlord linked her file to it (panel).
        "panel": [
            {
                "drawn_at": plain(drawn_at),
                "status": plain(m.status),
                "agreement_date": plain(m.agreement_date),
            }
            for m, drawn_at in panel
        ],
        "accesses": [
            {"at": plain(e.at), "user": name(e.user_id), "action": e.action} for e in accesses
        ],
    }


def _attempt(a: Attempt, task_campaign: dict[int, str | None], name: _Names) -> dict[str, Any]:
    return {
        "id": a.id,
        "channel": plain(a.channel),
        "channel_label": CALL_LABELS["channel"].get(a.channel),
        "direction": a.direction,
        "campaign": task_campaign.get(a.task_id) if a.task_id else None,
        "started_at": plain(a.started_at),
        "ended_at": plain(a.ended_at),
        "outcome": plain(a.outcome),
        "outcome_label": OUTCOME_LABELS.get(a.outcome) if a.outcome else None,
        "disposition": plain(a.disposition),
        "disposition_label": DISPOSITION_LABELS.get(a.disposition) if a.disposition else None,
        "digits": a.digits,
        "reply": a.reply,
        "notes": a.notes,
        "duration_seconds": a.duration_seconds,
        "gateway_status": a.gateway_status,
        "answered_by": a.answered_by,
        "by": name(a.user_id),
    }


def _alert(a: Alert, events: Any, name: _Names) -> dict[str, Any]:
    return {
        "id": a.id,
        "cause": plain(a.cause),
        "severity": plain(a.severity),
        "status": plain(a.status),
        "summary": a.summary,
        "opened_at": plain(a.opened_at),
        "due_at": plain(a.due_at),
        "referent": name(a.referent_id),
        "acknowledged_at": plain(a.acknowledged_at),
        "resolved_at": plain(a.resolved_at),
        "resolved_by": name(a.resolved_by_id),
        "resolution": plain(a.resolution),
        "resolution_note": a.resolution_note,
        "events": [
            {"at": plain(e.at), "action": e.action, "by": name(e.user_id), "detail": e.detail}
            for e in events
            if e.alert_id == a.id
        ],
    }


def export_senior(
    session: Session,
    senior: Senior,
    *,
    fmt: str,
    user_id: int | None,
    via: str,
    now: datetime,
) -> dict[str, Any]:
    """``collect`` her data and record the export (who, which format, from where: never a
    personal value) in the audit trail; flush, never commit."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    data = {"exported_at": plain(now)} | collect(session, senior)
    record(
        session,
        action="export",
        entity="senior",
        entity_id=senior.id,
        organisation_id=senior.organisation_id,
        user_id=user_id,
        details={"format": fmt, "via": via},
    )
    session.flush()
    return data


def to_json(data: dict[str, Any]) -> str:
    """The export as a JSON document (UTF-8 text, accents kept readable)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=plain) + "\n"
