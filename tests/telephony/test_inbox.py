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


def test_a_stop_whose_processing_fails_is_tried_again_never_lost(
    app, client, session, org, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    from outreach.roster.models import Senior
    from outreach.telephony import sms
    from outreach.telephony.inbox import process

    _, people, _ = make_automated(session, org)
    session.commit()
    params = {
        "MessageSid": "SM" + "b" * 32,
        "SmsSid": "SM" + "b" * 32,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": people[0].phone_mobile,
        "To": "+33999000000",
        "Body": "STOP",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    _post_unprocessed(client, app, "/twilio/sms/inbound", params)
    real = sms.inbound
    failures = iter([RuntimeError("database went away")])

    def flaky(*args, **kwargs):
        for exc in failures:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(sms, "inbound", flaky)
    now = datetime.now(UTC)
    assert process(session, now) == 0
    (kept,) = session.scalars(select(WebhookInbox)).all()
    assert kept.tries == 1 and kept.error == "RuntimeError"
    assert process(session, now + timedelta(seconds=30)) == 0  # not yet: a minute apart
    assert process(session, now + timedelta(minutes=2)) == 1
    session.expire_all()
    assert session.scalars(select(WebhookInbox)).all() == []
    assert session.get(Senior, people[0].id).opted_out_sms_at is not None
