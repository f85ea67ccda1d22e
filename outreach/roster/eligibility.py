"""Who may be contacted, on which channel, today: one rule for generation, queue and dispatch.

The rule reads a handful of the senior's fields, by name, so that it works on an ORM
``Senior`` as well as on the plain rows generation reads for 100,000 seniors at once
(``COLUMNS`` lists them). A refusal, an opt-out, a pause, a death or a withdrawn consent
counts at once: ``cancel_forbidden`` closes the open tasks they forbid, with the reason.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from outreach.campaigns.models import (
    OPEN_TASK_STATES,
    CampaignKind,
    ChannelPolicy,
    SkipReason,
    Task,
    TaskState,
)
from outreach.roster.models import ConsentStatus, Senior
from outreach.roster.phones import is_mobile, is_special

# The fields the rule reads, as generation selects them for 100,000 seniors: named like the
# Senior attributes, with the values the rule needs and no per-row conversion (the consent
# as its stored string, an opt-out as "is there a date").
COLUMNS = (
    Senior.active,
    type_coerce(Senior.consent_status, String).label("consent_status"),
    Senior.consent_phone,
    Senior.consent_sms,
    Senior.opted_out_phone_at.is_not(None).label("opted_out_phone_at"),
    Senior.opted_out_sms_at.is_not(None).label("opted_out_sms_at"),
    Senior.paused_until,
    Senior.phone_mobile,
    Senior.phone_landline,
)


def ineligible(
    senior: Any, channel: ChannelPolicy | str, today: date, kind: CampaignKind | str | None = None
) -> SkipReason | None:
    """Why this senior may not be contacted on this channel today, or None if she may.

    ``ivr_then_staff`` and ``ivr`` and ``staff`` are phone calls; ``sms`` is a text.
    ``kind`` is the campaign's kind, for the one exception below (None: no exception)."""
    if not senior.active:
        return SkipReason.left
    by_sms = channel == ChannelPolicy.sms
    # The one exception: a recueil d'accord asks a drawn panel member for the consent she
    # has not given yet (outreach.panel.agreements), so "not yet asked" (unknown) does not
    # stop it. A refused or withdrawn consent still does, and so do everything below: an
    # opt-out of the channel, a pause, a departure, no valid number.
    asking = kind == CampaignKind.agreement and senior.consent_status == ConsentStatus.unknown
    if not asking and (
        senior.consent_status != ConsentStatus.given
        or not (senior.consent_sms if by_sms else senior.consent_phone)
    ):
        return SkipReason.no_consent
    if senior.opted_out_sms_at if by_sms else senior.opted_out_phone_at:
        return SkipReason.opted_out
    if senior.paused_until is not None and senior.paused_until >= today:
        return SkipReason.paused
    if by_sms:
        if not is_mobile(senior.phone_mobile):
            return SkipReason.no_phone
    else:
        # A premium or special number stored before the check is never dialled.
        mobile, landline = senior.phone_mobile, senior.phone_landline
        if not ((mobile and not is_special(mobile)) or (landline and not is_special(landline))):
            return SkipReason.no_phone
    return None


def cancel_forbidden(session: Session, senior: Senior, now: datetime) -> int:
    """Cancel the senior's open tasks that the rule now forbids (each with its reason);
    returns how many. Tasks for a later day are checked too: a refusal is for good, and a
    pause that outlasts them forbids them."""
    from outreach.campaigns import lifecycle
    from outreach.campaigns.schedule import paris_today

    session.flush()
    today = paris_today(now)
    cancelled = 0
    tasks = session.scalars(
        select(Task)
        .where(Task.senior_id == senior.id, Task.state.in_(OPEN_TASK_STATES))
        .order_by(Task.id)
    ).all()
    for task in tasks:
        if task.state not in OPEN_TASK_STATES:
            continue  # closed meanwhile, as a follower of a task cancelled just before
        reason = ineligible(senior, task.channel, max(today, task.due_date), task.campaign.kind)
        if reason is not None:
            lifecycle.close(session, task, TaskState.cancelled, now, reason=reason.value)
            cancelled += 1
    return cancelled


def cancel_forbidden_in(session: Session, organisation_id: int, now: datetime) -> int:
    """``cancel_forbidden`` for every senior of an organisation with an open task (after an
    import that may have withdrawn consents or marked departures)."""
    seniors = session.scalars(
        select(Senior).where(
            Senior.organisation_id == organisation_id,
            Senior.id.in_(select(Task.senior_id).where(Task.state.in_(OPEN_TASK_STATES))),
        )
    ).all()
    return sum(cancel_forbidden(session, senior, now) for senior in seniors)
