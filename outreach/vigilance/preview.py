"""What a canicule activation would do, before it is made: how many seniors would get a
call today on the chosen channel, and when the last of them will have had a first attempt
(the canicule board's ETA, ``reports.canicule.day_eta``, with these seniors added).

Read-only: the confirmation pages (a proposal, the manual activation) show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Membership, Role, User
from outreach.campaigns import targeting
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task
from outreach.campaigns.operations import KIND_DEFAULTS, active_canicule
from outreach.campaigns.schedule import paris_today
from outreach.reports.canicule import Eta, day_eta
from outreach.roster.eligibility import COLUMNS, ineligible
from outreach.roster.models import Senior

# Who may work the staff queue when nobody has yet: the roles of "Ma file du jour" that
# are not managers (they activate, they do not usually call).
CALLER_ROLES = (Role.caller, Role.volunteer, Role.social_worker)


@dataclass
class Preview:
    count: int  # seniors who would get a canicule call today
    channel: ChannelPolicy
    eta: Eta
    staff: int  # people counted on for the staff calls
    staff_seen: int  # people seen working the queue in the last 30 minutes
    campaign: Campaign | None  # the active canicule campaign it would extend

    @property
    def uses_staff(self) -> bool:
        return self.channel in (ChannelPolicy.staff, ChannelPolicy.ivr_then_staff)


def seniors_to_call(
    session: Session,
    organisation_id: int,
    departements: Sequence[str],
    channel: ChannelPolicy,
    now: datetime,
    campaign: Campaign | None,
) -> int:
    """How many seniors of the organisation an activation for ``departements`` would add
    today: on the canicule list, eligible on ``channel``, without a task of ``campaign``."""
    today = paris_today(now)
    rules = {"any_of": targeting.CANICULE_DEFAULT_ANY_OF, "departements": list(departements)}
    stmt = select(Senior.id, *COLUMNS).where(
        Senior.organisation_id == organisation_id, targeting.clause(rules, today)
    )
    if campaign is not None:
        has_task = select(Task.id).where(
            Task.campaign_id == campaign.id, Task.senior_id == Senior.id, Task.due_date == today
        )
        stmt = stmt.where(~has_task.exists())
    return sum(1 for row in session.execute(stmt) if ineligible(row, channel, today) is None)


def available_callers(session: Session, organisation_id: int) -> int:
    """Active members of the organisation who may work the staff queue (not managers)."""
    return (
        session.scalar(
            select(func.count(func.distinct(Membership.user_id)))
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.organisation_id == organisation_id,
                Membership.role.in_(CALLER_ROLES),
                User.active.is_(True),
            )
        )
        or 0
    )


def activation_preview(
    session: Session,
    organisation_id: int,
    departements: Sequence[str],
    channel: ChannelPolicy,
    now: datetime,
    telephony: dict[str, Any],
    staff: int | None = None,
) -> Preview:
    """The count and the ETA of activating (or extending) the organisation's canicule.

    An active campaign keeps its channel; ``staff`` (None: those seen working, else the
    organisation's callers) is who the manager counts on for the staff calls."""
    campaign = active_canicule(session, organisation_id)
    if campaign is not None:
        channel = campaign.channel_policy
    count = seniors_to_call(session, organisation_id, departements, channel, now, campaign)
    windows = [] if campaign else [KIND_DEFAULTS[CampaignKind.canicule]["call_window"]]
    seen = day_eta(session, [organisation_id], now, telephony).staff_working
    if staff is None:
        staff = seen or available_callers(session, organisation_id)
    eta = day_eta(
        session,
        [organisation_id],
        now,
        telephony,
        extra={channel.value: count},
        extra_windows=windows,
        staff_working=staff,
    )
    return Preview(count, channel, eta, staff, seen, campaign)
