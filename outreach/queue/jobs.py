"""Scheduled jobs of the staff queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.queue.operations import expire_claims
from outreach.scheduling.registry import job


@job("expire-claims", "interval", "Return expired claims to the queue.", minutes=1)
def expire_claims_job(session: Session, now: datetime) -> str:
    return f"expire-claims: released {expire_claims(session, now)}"
