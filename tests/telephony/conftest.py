"""Fixtures of the telephony tests: an automated campaign, signed webhooks, a fake gateway.

Webhooks are signed exactly as Twilio signs them (twilio's RequestValidator over the public
URL and the POST parameters), so the tests go through the real signature check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, ChannelPolicy, Task
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from outreach.telephony.gateway import GatewayError, RemoteStatus, Sent, credentials
from outreach.telephony.urls import PATHS, public_url
from tests.factories import make_org, make_senior

_numbers = itertools.count(1)
_sids = itertools.count(1)  # unique across gateways: SIDs are unique in the database
# Open at every instant of every day. A window's end is exclusive: "23:59" would close the
# last minute of the day, and a test run at 23:59 would dispatch nothing.
ALWAYS_OPEN = {d: [["00:00", "23:59:59.999999"]] for d in WEEKDAYS}


def signed_post(
    client: FlaskClient, app: Flask, name: str, params: dict[str, str], **query: Any
) -> Any:
    """POST a webhook with a valid Twilio signature for the configured public URL."""
    from urllib.parse import urlencode

    config = app.config["OUTREACH"]
    path = PATHS[name]
    qs = urlencode(query)
    url = public_url(config, path, qs)
    signature = RequestValidator(credentials(config)[1]).compute_signature(url, params)
    response = client.post(
        path + (f"?{qs}" if qs else ""), data=params, headers={"X-Twilio-Signature": signature}
    )
    if name in INBOX_WEBHOOKS:
        process_inbox(app)
    return response


# Webhooks that are stored and applied by the `process-webhooks` job (telephony/inbox.py).
INBOX_WEBHOOKS = ("voice_status", "sms_status", "sms_inbound")


def process_inbox(app: Flask) -> int:
    """Run the `process-webhooks` job once, as the scheduler would a second later."""
    from outreach.scheduling.runner import run_job

    summary = run_job(app, "process-webhooks")
    return int(summary.rsplit(" ", 1)[1])


@dataclass
class FakeGateway:
    """A gateway that records what it was asked; ``errors`` are raised first, in order."""

    errors: list[GatewayError] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    remote: dict[str, RemoteStatus] = field(default_factory=dict)

    def _maybe_fail(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    def place_call(self, to, url, status_callback, machine_detection=True):  # type: ignore[no-untyped-def]
        self._maybe_fail()
        sid = f"CA{next(_sids):032x}"
        self.calls.append({"sid": sid, "to": to, "url": url, "status_callback": status_callback})
        return Sent(sid, "queued")

    def send_sms(self, to, body, status_callback=None):  # type: ignore[no-untyped-def]
        self._maybe_fail()
        sid = f"SM{next(_sids):032x}"
        self.messages.append({"sid": sid, "to": to, "body": body, "cb": status_callback})
        return Sent(sid, "queued")

    def fetch_call(self, sid):  # type: ignore[no-untyped-def]
        return self.remote[sid]

    def fetch_message(self, sid):  # type: ignore[no-untyped-def]
        return self.remote[sid]


class FakeTime:
    """A clock that only moves when the code under test sleeps (pacing without waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        from datetime import timedelta

        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def make_automated(
    session,
    org,
    *,
    kind: CampaignKind = CampaignKind.courtesy,
    channel: ChannelPolicy = ChannelPolicy.ivr_then_staff,
    seniors: int = 1,
    now: datetime | None = None,
    **fields: Any,
):
    """An active campaign open at all hours, ``seniors`` seniors, and today's tasks."""
    now = now or datetime.now(UTC)
    # Each campaign targets its own residence, so that two in one test do not overlap.
    residence = f"Résidence {next(_numbers)}"
    people = [
        make_senior(
            session,
            org,
            phone_mobile=f"+3360000{next(_numbers):04d}",
            phone_landline=None,
            last_name=f"Martin{i}",
            residence=residence,
        )
        for i in range(seniors)
    ]
    values = {
        "channel_policy": channel,
        "call_window": ALWAYS_OPEN,
        "skip_holidays": False,
        "retry_delay_minutes": 30,
        "max_attempts_per_day": 2,
        "max_attempts": 2,
        "cadence": [{"every_days": 7}],
        **fields,
    }
    values.setdefault("targeting", {"residences": [residence]})
    campaign = create_campaign(session, org.id, "Appels automatiques", kind, **values)
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now, campaign_ids=[campaign.id])
    session.flush()
    tasks = session.query(Task).filter_by(campaign_id=campaign.id).order_by(Task.senior_id).all()
    assert len(tasks) == seniors
    return campaign, people, tasks


@pytest.fixture
def org(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    session.commit()
    return org
