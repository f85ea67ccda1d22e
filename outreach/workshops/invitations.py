"""Inviting a group to a workshop: its campaign, one task and one invitation per senior.

The group is chosen with the campaign targeting rules (campaigns.targeting) and each senior
passes the one eligibility rule (roster.eligibility) for the channel chosen, as generation
does; the tasks then go through the usual dispatcher (SMS, automated call) or staff queue,
and the answers come back through the usual webhooks and pages (workshops.replies).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.campaigns import targeting
from outreach.campaigns.lifecycle import PRIORITY
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    SkipReason,
    Task,
)
from outreach.campaigns.operations import create_campaign, set_state, update_campaign
from outreach.campaigns.schedule import PARIS, paris_today
from outreach.roster import eligibility
from outreach.roster.models import Senior
from outreach.workshops.models import Invitation, Workshop, WorkshopState
from outreach.workshops.operations import WorkshopError

CHANNELS = (ChannelPolicy.sms, ChannelPolicy.ivr, ChannelPolicy.staff)


@dataclass
class InviteResult:
    invited: int = 0
    already: int = 0
    skipped: Counter[SkipReason] = field(default_factory=Counter)


def campaign_for(
    session: Session, workshop: Workshop, rules: dict[str, Any], user_id: int | None, now: datetime
) -> Campaign:
    """The workshop's campaign (made at the first invitation, active until it is held);
    its targeting keeps the rules of the last group invited."""
    campaign = session.get(Campaign, workshop.campaign_id) if workshop.campaign_id else None
    if campaign is None:
        local = workshop.starts_at.astimezone(PARIS)
        campaign = create_campaign(
            session,
            workshop.organisation_id,
            f"Atelier « {workshop.theme} » du {local:%d/%m/%Y}"[:200],
            CampaignKind.workshop,
            created_by_id=user_id,
            targeting=rules,
            event_at=workshop.starts_at,
            remind_hours_before=24,
        )
        workshop.campaign_id = campaign.id
    else:
        update_campaign(session, campaign, targeting=rules)
    if campaign.state != CampaignState.active:
        set_state(session, campaign, CampaignState.active, now, user_id=user_id)
    return campaign


def invite(
    session: Session,
    workshop: Workshop,
    rules: dict[str, Any],
    channel: ChannelPolicy | str,
    now: datetime,
    user_id: int | None,
) -> InviteResult:
    """Invite the targeted seniors who may be contacted on ``channel`` and are not invited
    yet; a senior who cannot be is counted by reason, never contacted."""
    channel = ChannelPolicy(channel)
    if channel not in CHANNELS:
        raise WorkshopError("Choisissez SMS, appel automatique ou appel par l'équipe", "channel")
    if workshop.state != WorkshopState.planned or workshop.starts_at <= now:
        raise WorkshopError("On n'invite qu'à un atelier prévu et à venir")
    try:
        rules = targeting.validate(rules)
    except targeting.TargetingError as exc:
        raise WorkshopError(str(exc)) from exc
    campaign = campaign_for(session, workshop, rules, user_id, now)
    today = paris_today(now)
    invited = set(
        session.scalars(select(Invitation.senior_id).where(Invitation.workshop_id == workshop.id))
    )
    seniors = session.execute(
        select(Senior.id, *eligibility.COLUMNS)
        .where(
            Senior.organisation_id == workshop.organisation_id,
            targeting.clause(rules, today),
        )
        .order_by(Senior.id)
    ).all()
    result = InviteResult()
    for row in seniors:
        if row.id in invited:
            result.already += 1
            continue
        reason = eligibility.ineligible(row, channel, today)
        if reason is not None:
            result.skipped[reason] += 1
            continue
        session.add(
            Invitation(
                organisation_id=workshop.organisation_id,
                workshop_id=workshop.id,
                senior_id=row.id,
                channel=channel.value,
                invited_at=now,
            )
        )
        add_task(session, campaign, row.id, channel, now)
        result.invited += 1
    session.flush()
    record(
        session,
        action="workshop.invited",
        entity="workshop",
        entity_id=workshop.id,
        organisation_id=workshop.organisation_id,
        user_id=user_id,
        details={"channel": channel.value, "invited": result.invited},
    )
    return result


def add_task(
    session: Session,
    campaign: Campaign,
    senior_id: int,
    channel: ChannelPolicy,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """One contact of the workshop's campaign for today (or from ``not_before``); False when
    she already has one for that day (one task per campaign, senior and day)."""
    due = paris_today(not_before or now)
    exists = session.scalar(
        select(Task.id).where(
            Task.campaign_id == campaign.id, Task.senior_id == senior_id, Task.due_date == due
        )
    )
    if exists is not None:
        return False
    session.add(
        Task(
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.id,
            senior_id=senior_id,
            due_date=due,
            channel=channel,
            priority=PRIORITY[CampaignKind.workshop],
            not_before=not_before,
            created_at=now,
        )
    )
    session.flush()
    return True
