"""Gateway health: a failing gateway is noticed, and past ``failover_minutes`` the day's
automated calls of ``ivr_then_staff`` campaigns go to the staff queue and the managers are
told, once a day. Nothing is lost: the tasks keep their priority and their seniors."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.campaigns.models import Campaign, ChannelPolicy, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.notifications.operations import email_users, managers_of
from outreach.telephony.models import GatewayHealth
from outreach.telephony.outcomes import to_staff

NAME = "default"


def _row(session: Session) -> GatewayHealth:
    row = session.scalar(select(GatewayHealth).where(GatewayHealth.name == NAME))
    if row is None:
        row = GatewayHealth(name=NAME)
        session.add(row)
        session.flush()
    return row


def record_ok(session: Session, now: datetime) -> None:
    row = _row(session)
    row.failing_since = None
    row.last_ok_at = now


def record_failure(session: Session, now: datetime, error: str) -> None:
    row = _row(session)
    if row.failing_since is None:
        row.failing_since = now
    row.last_error = error[:200]


def failing_since(session: Session) -> datetime | None:
    row = session.scalar(select(GatewayHealth).where(GatewayHealth.name == NAME))
    return row.failing_since if row else None


def fail_over_if_down(session: Session, config: dict[str, dict[str, Any]], now: datetime) -> int:
    """Move today's waiting IVR tasks of ivr_then_staff campaigns to the staff queue once
    the gateway has failed for ``failover_minutes``; returns how many moved."""
    row = _row(session)
    limit = timedelta(minutes=config["telephony"]["failover_minutes"])
    today = paris_today(now)
    if row.failing_since is None or now - row.failing_since < limit or row.failover_on == today:
        return 0
    tasks = session.scalars(
        select(Task)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Campaign.channel_policy == ChannelPolicy.ivr_then_staff,
            Task.channel == ChannelPolicy.ivr,
            Task.state == TaskState.pending,
            Task.due_date <= today,
        )
    ).all()
    moved: Counter[int] = Counter()
    for task in tasks:
        to_staff(task, now)
        moved[task.organisation_id] += 1
    row.failover_on = today
    for org_id, count in moved.items():
        org = session.get(Organisation, org_id)
        since = row.failing_since.strftime("%H:%M UTC")
        email_users(
            session,
            managers_of(session, org_id),
            key=f"gateway-down:{today.isoformat()}:org{org_id}",
            subject="Passerelle téléphonique indisponible : appels passés en file",
            body=(
                f"Bonjour,\n\nLa passerelle d'appels automatiques ne répond plus depuis {since}."
                f"\n{count} appel(s) automatique(s) prévu(s) aujourd'hui pour "
                f"{org.name if org else 'votre organisation'} ont été placés dans la file "
                "d'appels du personnel (« Ma file du jour »).\n\n"
                "Les appels automatiques reprendront d'eux-mêmes quand la passerelle répondra."
            ),
            organisation_id=org_id,
            now=now,
        )
    session.flush()
    return sum(moved.values())
