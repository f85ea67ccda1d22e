"""Scheduled job: send the notification outbox."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from outreach.notifications.mail import make_mailer
from outreach.notifications.operations import send_pending
from outreach.scheduling.registry import job


@job("send-notifications", "interval", "Send queued e-mails and SMS to staff.", seconds=30)
def send_notifications(session: Session, now: datetime) -> str:
    from outreach.telephony.gateway import make_gateway

    config = current_app.config["OUTREACH"]
    gateway = make_gateway(config)

    def sms(to: str, body: str) -> None:
        gateway.send_sms(to, body)

    sent = send_pending(session, make_mailer(config), sms, now)
    return f"send-notifications: sent {sent}"
