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
