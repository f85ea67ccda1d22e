"""Why a targeted senior has no task of a campaign today: the answer to "why was she not
called?" for the reasons generation does not store (not a calling day, not due yet), by the
same rules as generation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.campaigns.generation import _candidates_stmt, contacted_today
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    SkipReason,
    Task,
)
from outreach.campaigns.schedule import PARIS, Cadence, is_calling_day, next_due_date
from outreach.roster import eligibility


@dataclass
class WhyNot:
    """Why a targeted senior has no task of a campaign today ("why was she not called?")."""

    reason: SkipReason
    next_date: date | None = None
    detail: str | None = None


def why_not_today(
    session: Session, campaign: Campaign, senior_id: int, today: date
) -> WhyNot | None:
    """The same rules as generation, for one senior: None when she is not targeted or has
    a task today, else the reason (with the next due date when it is only not due yet)."""
    has_task = session.scalar(
        select(func.count(Task.id)).where(
            Task.campaign_id == campaign.id, Task.senior_id == senior_id, Task.due_date == today
        )
    )
    if has_task or campaign.state != CampaignState.active:
        return None
    row = next(
        iter(session.connection().execute(_candidates_stmt(campaign, today, senior_id))), None
    )
    if row is None:
        return None  # not targeted
    first = (
        ChannelPolicy.ivr
        if campaign.channel_policy == ChannelPolicy.ivr_then_staff
        else campaign.channel_policy
    )
    reason = eligibility.ineligible(row, first, today, campaign.kind)
    if reason is not None:
        return WhyNot(reason)
    contacted = contacted_today(session, campaign, today)
    if senior_id in contacted:
        return WhyNot(SkipReason.already_contacted, detail=contacted[senior_id])
    window, holidays = campaign.call_window or {}, campaign.skip_holidays

    def calling(day: date) -> bool:
        return is_calling_day(day, window, holidays, row.departement)

    if campaign.kind == CampaignKind.courtesy:
        if not calling(today):
            return WhyNot(SkipReason.not_calling_day)
        last = row.last_reached.astimezone(PARIS).date() if row.last_reached else None
        cadence = Cadence(days=int(row.cadence_days))
        return WhyNot(
            SkipReason.not_due, next_date=next_due_date(cadence, last, None, today, calling)
        )
    return WhyNot(SkipReason.not_due)
