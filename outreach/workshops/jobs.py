"""Scheduled jobs of the workshops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.scheduling.registry import job
from outreach.workshops.notices import send_reminders


@job(
    "workshop-reminders",
    "interval",
    "Queue the workshop reminders due: the day before and the morning of, to the registered.",
    minutes=15,
)
def workshop_reminders(session: Session, now: datetime) -> str:
    day_before, morning = send_reminders(session, now)
    return f"workshop-reminders: day before {day_before}, morning {morning}"
