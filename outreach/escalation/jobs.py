"""Scheduled jobs of escalation."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from outreach.escalation.notify import morning_digest, notify_alerts
from outreach.escalation.rules import sweep
from outreach.scheduling.registry import job
from outreach.telephony import contacts
from outreach.timezone import PARIS


@job(
    "escalation-rules", "interval", "Open alerts from recent facts; queue their notices.", minutes=1
)
def escalation_rules(session: Session, now: datetime) -> str:
    config = current_app.config["OUTREACH"]
    # Contacts who did not answer our SMS about her in time: the alert (telephony.contacts).
    contacts.expire(session, now, config)
    opened = sweep(session, config, now)
    queued = notify_alerts(session, config, now)
    return f"escalation-rules: opened {opened}, notifications {queued}"


@job("alert-digest", "cron", "The morning digest of open alerts, per social worker.", minute=0)
def alert_digest(session: Session, now: datetime) -> str:
    config = current_app.config["OUTREACH"]
    # Fires every hour; sends at the configured hour only (the hour is configuration, the
    # trigger is not), and once a day thanks to the digest's dedupe key.
    if now.astimezone(PARIS).hour != config["escalation"]["digest_hour"]:
        return "alert-digest: not the hour"
    return f"alert-digest: queued {morning_digest(session, config, now)}"
