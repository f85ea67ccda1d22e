"""Scheduled jobs of the reports: the optional weekly digest to managers, the rollups."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from outreach.reports import rollups
from outreach.reports.digest import is_due, send_weekly
from outreach.scheduling.registry import job


@job("weekly-digest", "cron", "The weekly e-mail of the figures, per manager (optional).", minute=5)
def weekly_digest(session: Session, now: datetime) -> str:
    config = current_app.config["OUTREACH"]
    if not config["reports"]["weekly_digest"]:
        return "weekly-digest: off"
    # Fires every hour, like alert-digest: the weekday and hour are configuration, the
    # trigger is not; the dedupe key makes it once a week.
    if not is_due(config, now):
        return "weekly-digest: not the hour"
    return f"weekly-digest: queued {send_weekly(session, config, now)}"


@job(
    "report-rollups",
    "cron",
    "Rollups of the closed months for the reports (missing, stale, not settled yet).",
    hour=3,
    minute=40,
)
def report_rollups(session: Session, now: datetime) -> str:
    settle_days = current_app.config["OUTREACH"]["reports"]["rollup_settle_days"]
    built = rollups.run(session, now, settle_days)
    return f"report-rollups: {len(built)} month(s) built" + (
        f" ({built[0]:%Y-%m}..{built[-1]:%Y-%m})" if built else ""
    )
