"""Status callbacks and inbound SMS are stored at once and applied by the job."""

from __future__ import annotations

from sqlalchemy import func, select

from outreach.calls.models import Attempt
from outreach.telephony.inbox import WebhookInbox
from outreach.telephony.urls import public_url
from tests.telephony.conftest import make_automated, process_inbox
from tests.telephony.test_ivr_webhooks import _dispatch, _params


def _post_unprocessed(client, app, path, params):
    from twilio.request_validator import RequestValidator

    url = public_url(app.config["OUTREACH"], path.split("?")[0], path.partition("?")[2])
    sig = RequestValidator("simulator-auth-token").compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def test_a_status_callback_is_stored_then_applied(app, client, session, org):
    make_automated(session, org)
    session.commit()
    gateway = _dispatch(session, app)
    attempt = session.scalar(select(Attempt))
    sid = gateway.calls[0]["sid"]
    resp = _post_unprocessed(
        client, app, f"/twilio/voice/status?a={attempt.id}", _params(sid, CallStatus="ringing")
    )
    assert resp.status_code == 204
    from outreach.telephony.writebehind import flush_all

    flush_all()  # the write-behind thread stores it within milliseconds; do it now
    session.expire_all()
    assert session.scalar(select(func.count(WebhookInbox.id))) == 1
    assert session.get(Attempt, attempt.id).gateway_status == "queued"
    assert process_inbox(app) == 1
    session.expire_all()
    assert session.get(Attempt, attempt.id).gateway_status == "ringing"
    assert session.scalar(select(func.count(WebhookInbox.id))) == 0


def test_a_row_that_cannot_be_applied_is_kept_and_the_others_go_on(app, client, session, org):
    make_automated(session, org)
    session.commit()
    gateway = _dispatch(session, app)
    attempt = session.scalar(select(Attempt))
    sid = gateway.calls[0]["sid"]
    # A stored callback whose duration the JSON column holds as a number: applying it fails.
    from datetime import UTC, datetime

    from outreach.db import get_engine
    from outreach.telephony.inbox import accept

    with app.app_context():
        accept(
            get_engine(),
            "voice_status",
            str(attempt.id),
            {"CallSid": sid, "CallStatus": "completed", "CallDuration": 5},
            datetime.now(UTC),
        )
    _post_unprocessed(
        client, app, f"/twilio/voice/status?a={attempt.id}", _params(sid, CallStatus="ringing")
    )
    assert process_inbox(app) == 1
    session.expire_all()
    (kept,) = session.scalars(select(WebhookInbox)).all()
    assert kept.kind == "voice_status" and kept.failed_at is not None and kept.error
    assert session.get(Attempt, attempt.id).gateway_status == "ringing"
    assert process_inbox(app) == 0  # a failed row is not retried in a loop


def test_an_oversized_body_is_refused_before_anything_else(app, client, session):
    resp = client.post(
        "/twilio/sms/inbound",
        data={"Body": "x" * 70_000, "From": "+33600000001"},
        headers={"X-Twilio-Signature": "irrelevant"},
    )
    assert resp.status_code == 413
    assert session.scalar(select(func.count(WebhookInbox.id))) == 0
