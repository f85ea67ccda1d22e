"""Scheduled job of the privacy domain: retention, every night."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.privacy import erasure, retention
from outreach.privacy.models import Erasure
from outreach.scheduling.registry import job

# What each category of ``retention.apply`` holds, for the CLI's report.
LABELS = {
    "notes": "notes and free-text replies (text stripped)",
    "calls": "calls and SMS, with their signals (deleted)",
    "departed": "seniors who left the follow-up (erased)",
    "payloads": "bodies of notifications sent to staff (stripped)",
    "audit": "audit events (deleted)",
}


def summary(counts: dict[str, int]) -> str:
    """The job's one line: counts only, never a personal value."""
    return "retention: " + ", ".join(f"{k} {n}" for k, n in counts.items())


# 03:30 Paris: after the day's calls and webhooks, before generation (06:00) and the digest.
@job("retention", "cron", "Delete or strip personal data past its retention.", hour=3, minute=30)
def apply_retention(session: Session, now: datetime) -> str:
    settings = current_app.config["OUTREACH"]["retention"]
    counts = retention.apply(session, now=now, settings=settings)
    # An erasure of the last day whose compaction was put off (the database was busy when
    # it was asked) gets it tonight, at the latest.
    recent = session.scalar(
        select(func.count(Erasure.id)).where(Erasure.erased_at >= now - timedelta(hours=25))
    )
    erasure.compact_after_commit(session, also=erasure.TABLES if recent else ())
    return summary(counts)
