"""What the alert page tells of the senior: her timeline and the alert's own history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts import access
from outreach.accounts.models import User
from outreach.escalation.models import Alert
from outreach.partners.models import Partner, Referral
from outreach.roster.models import Senior
from outreach.web.alerts_forms import EVENT_LABELS, RESOLUTION_LABELS
from outreach.web.roster import HISTORY_PROVIDERS, HistoryEntry

# The alert page shows the recent past; the senior page keeps the whole history.
TIMELINE_LENGTH = 30


def senior_timeline(
    session: Session, senior: Senior, limit: int = TIMELINE_LENGTH
) -> tuple[list[HistoryEntry], bool]:
    """The senior's latest calls, SMS, signals, notes, alerts and referrals, newest first,
    and whether older entries were left out.

    Built from the senior page's history providers, so that both pages show the same facts
    under the same rules (a volunteer sees no social note, nobody without alerts.view sees
    an alert).
    """
    entries = [e for provider in HISTORY_PROVIDERS for e in provider(session, senior)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit], len(entries) > limit


@dataclass
class EventLine:
    at: datetime
    label: str
    who: str | None
    detail: str = ""


def alert_history(session: Session, alert: Alert) -> list[EventLine]:
    """Who did what to the alert and when, oldest first, with names rather than ids."""
    ids = {e.user_id for e in alert.events if e.user_id}
    ids |= {
        target
        for e in alert.events
        if e.action == "reassigned" and (target := _reassigned_to(e.detail)) is not None
    }
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    lines = []
    for event in alert.events:
        label = str(EVENT_LABELS.get(event.action, event.action))
        detail = ""
        if event.action == "reassigned":
            target = _reassigned_to(event.detail)
            deleted = _("un compte supprimé")
            name = deleted if target is None else names.get(target, deleted)
            detail = _("à %(name)s", name=name)
        elif event.action == "resolved" and event.detail in RESOLUTION_LABELS:
            detail = str(RESOLUTION_LABELS[event.detail])  # type: ignore[index]
        elif event.action in ("opened", "joined") and event.detail:
            detail = event.detail
        who = names.get(event.user_id) if event.user_id else None
        lines.append(EventLine(event.at, label, who, detail))
    return lines


def _reassigned_to(detail: str | None) -> int | None:
    # operations.reassign writes "user:<id>".
    if detail and detail.startswith("user:") and detail[5:].isdigit():
        return int(detail[5:])
    return None


def referral_of(session: Session, alert: Alert) -> tuple[Referral, Partner] | None:
    """The referral recorded when the alert was closed, with its partner."""
    stmt = (
        select(Referral, Partner)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.alert_id == alert.id)
        .order_by(Referral.id.desc())
        .limit(1)
    )
    row = session.execute(access.scoped(stmt, Referral, "alerts.view")).first()
    return (row[0], row[1]) if row else None
