"""Scheduled jobs of the campaigns domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.campaigns.generation import generate_day
from outreach.campaigns.schedule import paris_today
from outreach.scheduling.registry import job


@job(
    "generate-tasks",
    "cron",
    "Create the day's tasks of every active campaign (idempotent).",
    run_at_start=True,
    hour=6,
    minute=0,
)
def generate_tasks(session: Session, now: datetime) -> str:
    return generate_day(session, paris_today(now), now).summary()
