"""Scheduled jobs of the telephony part."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from outreach.scheduling.registry import job
from outreach.telephony.dispatch import dispatch
from outreach.telephony.gateway import make_gateway


@job(
    "dispatch",
    "interval",
    "Send the due IVR calls and SMS at the configured rates.",
    seconds=5,
)
def dispatch_job(session: Session, now: datetime) -> str:
    config = current_app.config["OUTREACH"]
    return dispatch(session, config, make_gateway(config)).summary()


@job(
    "process-webhooks",
    "interval",
    "Apply the stored status callbacks and inbound SMS, in arrival order.",
    seconds=2,
)
def process_webhooks_job(session: Session, now: datetime) -> str:
    from outreach.telephony.inbox import process

    return f"process-webhooks: applied {process(session, now)}"
