"""Messages to the registered: a freed place, the day before, the morning of.

Like RapidPro's campaign events, each reminder is placed relative to the workshop's
``starts_at``: the day before, and the morning of (only while there is still time before it
starts). Each is a task of the workshop's campaign, sent by the usual dispatcher within the
campaign's call window (the organisation's hours), by SMS, or by an automated call for
someone without a mobile; the stamps on the invitation make sure none goes out twice. The
text is the workshop script, which speaks to a registered person as a confirmation and
reminder (workshops.scripts).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign, CampaignState, ChannelPolicy
from outreach.campaigns.schedule import PARIS, paris_today
from outreach.roster.eligibility import ineligible
from outreach.roster.models import Senior
from outreach.workshops.invitations import add_task
from outreach.workshops.models import Invitation, InvitationStatus, Workshop, WorkshopState

# The morning reminder is not sent when the workshop starts within this delay.
MORNING_MARGIN = timedelta(hours=1)


def channel_for(senior: Senior, now: datetime) -> ChannelPolicy | None:
    """SMS if she may receive one, else an automated call, else nothing."""
    today = paris_today(now)
    for channel in (ChannelPolicy.sms, ChannelPolicy.ivr):
        if ineligible(senior, channel, today) is None:
            return channel
    return None


def notify(session: Session, workshop: Workshop, invitation: Invitation, now: datetime) -> bool:
    """Tell a registered person (a place freed for her, or a reminder) through the workshop's
    campaign; False if she cannot be reached automatically or has a message today already."""
    campaign = session.get(Campaign, workshop.campaign_id) if workshop.campaign_id else None
    senior = session.get(Senior, invitation.senior_id)
    if campaign is None or campaign.state != CampaignState.active or senior is None:
        return False
    channel = channel_for(senior, now)
    if channel is None:
        return False
    return add_task(session, campaign, senior.id, channel, now)


def _day_start(workshop: Workshop, days_before: int) -> datetime:
    day = workshop.starts_at.astimezone(PARIS).date() - timedelta(days=days_before)
    return datetime.combine(day, time.min, PARIS)


def send_reminders(session: Session, now: datetime) -> tuple[int, int]:
    """Queue the due reminders (the day before, the morning of) of every planned workshop;
    returns how many of each were queued."""
    horizon = now + timedelta(days=2)
    workshops = session.scalars(
        select(Workshop)
        .where(
            Workshop.state == WorkshopState.planned,
            Workshop.starts_at > now,
            Workshop.starts_at <= horizon,
            Workshop.campaign_id.is_not(None),
        )
        .order_by(Workshop.id)
    ).all()
    day_before = morning = 0
    for workshop in workshops:
        if now >= _day_start(workshop, 0):
            if now < workshop.starts_at - MORNING_MARGIN:
                morning += _remind(session, workshop, now, "reminded_morning_at")
        elif now >= _day_start(workshop, 1):
            day_before += _remind(session, workshop, now, "reminded_day_before_at")
    session.flush()
    return day_before, morning


def _remind(session: Session, workshop: Workshop, now: datetime, stamp: str) -> int:
    registered = session.scalars(
        select(Invitation)
        .where(
            Invitation.workshop_id == workshop.id,
            Invitation.status == InvitationStatus.registered,
            getattr(Invitation, stamp).is_(None),
        )
        .order_by(Invitation.id)
    ).all()
    sent = 0
    for invitation in registered:
        sent += notify(session, workshop, invitation, now)
        # Stamped even when no task could be made (no channel, a message today already):
        # the reminder is settled for her, and is not tried again on every run.
        setattr(invitation, stamp, now)
    return sent
