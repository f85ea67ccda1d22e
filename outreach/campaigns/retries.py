"""The retry policy of a campaign, shared by the staff queue and the automated channels."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Campaign, CampaignKind, Task
from outreach.campaigns.schedule import PARIS


def attempts_today(
    session: Session, task_id: int, today: date, channel: AttemptChannel | None = None
) -> int:
    """Outbound attempts of a task since midnight in Paris (of one channel if given)."""
    start = datetime.combine(today, time(), PARIS)
    stmt = select(func.count(Attempt.id)).where(
        Attempt.task_id == task_id, Attempt.started_at >= start, Attempt.direction == "outbound"
    )
    if channel is not None:
        stmt = stmt.where(Attempt.channel == channel)
    return session.scalar(stmt) or 0


def schedule_retry(
    session: Session,
    task: Task,
    campaign: Campaign,
    now: datetime,
    channel: AttemptChannel | None = None,
    *,
    another_number: bool = False,
    tries_today: int | None = None,
) -> bool:
    """After a no-contact attempt, put the task back for a later try; False when the
    campaign's limits are reached (the caller decides what exhaustion means).

    ``task.attempts`` must already count the attempt that just failed. Within the day the
    next try waits ``retry_delay_minutes``; past ``max_attempts_per_day`` it waits for
    tomorrow, except a canicule task, which belongs to its day (tomorrow's generation makes
    a new one) and is then exhausted.

    Automated calls go through her numbers in rounds (``telephony.numbers``): with
    ``another_number`` (a number not yet tried in this round) the task is due again at once
    and the call does not count as a try; ``tries_today`` then gives the rounds done today
    in place of the day's attempts.
    """
    today = now.astimezone(PARIS).date()
    not_before: datetime | None = None
    if another_number:
        task.attempts = max(0, task.attempts - 1)
    else:
        if task.attempts >= campaign.max_attempts:
            return False
        if tries_today is None:
            tries_today = attempts_today(session, task.id, today, channel)
        if tries_today >= campaign.max_attempts_per_day:
            if campaign.kind == CampaignKind.canicule:
                return False
            not_before = datetime.combine(today + timedelta(days=1), time(), PARIS)
        else:
            not_before = now + timedelta(minutes=campaign.retry_delay_minutes)
    lifecycle.reopen(task, not_before=not_before)
    task.callback_at = None
    task.callback_for_id = None
    return True
