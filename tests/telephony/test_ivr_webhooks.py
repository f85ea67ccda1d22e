"""The voice webhooks: signature first, TwiML in French, digits and statuses applied once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Disposition, Outcome
from outreach.campaigns.models import CampaignKind, ChannelPolicy, Task, TaskState
from outreach.escalation.models import Alert, AlertCause
from outreach.telephony.dispatch import Dispatcher
from tests.telephony.conftest import (
    FakeGateway,
    FakeTime,
    make_automated,
    process_inbox,
    signed_post,
)

pytestmark = pytest.mark.date_sensitive


def _dispatch(session, app, gateway=None, clock=None):
    gateway = gateway or FakeGateway()
    clock = clock or FakeTime()
    Dispatcher(
        session, app.config["OUTREACH"], gateway, clock.now, clock.monotonic, clock.sleep
    ).run()
    return gateway


def _call(session, app, org, **kw):
    campaign, seniors, tasks = make_automated(session, org, **kw)
    session.commit()
    gateway = _dispatch(session, app)
    attempt = session.scalar(select(Attempt).where(Attempt.task_id == tasks[0].id))
    return campaign, seniors[0], tasks[0], attempt, gateway.calls[0]["sid"]


def _params(sid: str, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+33999000000",
        "To": "+33600000000",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        **extra,
    }


def _says(twiml: str) -> list[str]:
    return [e.text or "" for e in ET.fromstring(twiml).iter("Say")]


def test_answer_greets_the_senior_by_name_in_french(app, client, session, org):
    _, senior, _, attempt, sid = _call(session, app, org)
    resp = signed_post(
        client,
        app,
        "voice_answer",
        _params(sid, CallStatus="in-progress", AnsweredBy="human"),
        a=attempt.id,
    )
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/xml")
    root = ET.fromstring(resp.text)
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action").startswith("http://127.0.0.1:5000/twilio/voice/gather?")
    says = _says(resp.text)
    assert f"Bonjour Mme {senior.last_name}, ici Val Touraine Habitat" in says[0]
    assert all(s.get("language") == "fr-FR" for s in root.iter("Say"))
    assert "touche 1" in says[1] and "touche 2" in says[1] and "touche 3" in says[1]
    # Nothing pressed: Twilio goes on to the redirect, which asks again.
    assert root.find("Redirect") is not None


def test_a_forged_or_missing_signature_changes_nothing(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    params = _params(sid, CallStatus="completed", CallDuration="12")
    resp = client.post(
        f"/twilio/voice/status?a={attempt.id}",
        data=params,
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert resp.status_code == 403
    # Signed for other parameters (a replayed signature on a changed body).
    good = signed_post(
        client, app, "voice_status", _params(sid, CallStatus="ringing"), a=attempt.id
    )
    assert good.status_code == 204
    from twilio.request_validator import RequestValidator

    from outreach.telephony.urls import public_url

    url = public_url(app.config["OUTREACH"], "/twilio/voice/status", f"a={attempt.id}")
    sig = RequestValidator("another-token").compute_signature(url, params)
    resp = client.post(
        f"/twilio/voice/status?a={attempt.id}", data=params, headers={"X-Twilio-Signature": sig}
    )
    assert resp.status_code == 403
    session.expire_all()
    assert session.get(Attempt, attempt.id).gateway_status == "ringing"
    assert session.get(Task, task.id).state == TaskState.queued


def test_signature_is_checked_against_the_public_url_behind_a_proxy(app, client, session, org):
    app.config["OUTREACH"]["telephony"]["public_base_url"] = "https://outreach.example.fr"
    _, _, _, attempt, sid = _call(session, app, org)
    # Signed for the public https URL while the app sees http://localhost: accepted.
    resp = signed_post(
        client, app, "voice_status", _params(sid, CallStatus="ringing"), a=attempt.id
    )
    assert resp.status_code == 204
    assert (
        "https://outreach.example.fr/twilio/voice/gather"
        in signed_post(
            client,
            app,
            "voice_answer",
            _params(sid, CallStatus="in-progress", AnsweredBy="human"),
            a=attempt.id,
        ).text
    )


def test_pressing_1_completes_the_task_once(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    for _ in range(2):  # Twilio may repeat a request
        resp = signed_post(
            client, app, "voice_gather", _params(sid, Digits="1"), a=attempt.id, round=1
        )
        assert "Merci" in _says(resp.text)[0]
        assert ET.fromstring(resp.text).find("Hangup") is not None
    signed_post(
        client,
        app,
        "voice_status",
        _params(sid, CallStatus="completed", CallDuration="31"),
        a=attempt.id,
    )
    session.expire_all()
    task = session.get(Task, task.id)
    attempt = session.get(Attempt, attempt.id)
    assert task.state == TaskState.done and task.outcome == Outcome.reached_ok
    assert attempt.digits == "1" and attempt.outcome == Outcome.reached_ok
    assert attempt.gateway_status == "completed" and attempt.duration_seconds == 31
    assert attempt.ended_at is not None


def test_pressing_2_makes_a_staff_callback_for_today(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    resp = signed_post(client, app, "voice_gather", _params(sid, Digits="2"), a=attempt.id, round=1)
    assert "rappeler" in _says(resp.text)[0]
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.channel == ChannelPolicy.staff and task.state == TaskState.pending
    assert task.callback_at is not None and task.priority == 10
    # A request to be called back, never "all is well".
    assert task.outcome == Outcome.callback_requested
    assert session.get(Attempt, attempt.id).outcome == Outcome.callback_requested


def test_pressing_3_on_a_canicule_call_is_a_help_request_and_an_urgent_alert(
    app, client, session, org
):
    _, senior, task, attempt, sid = _call(session, app, org, kind=CampaignKind.canicule)
    answer = signed_post(
        client, app, "voice_answer", _params(sid, AnsweredBy="human"), a=attempt.id
    )
    assert "touche 3" in " ".join(_says(answer.text))
    resp = signed_post(client, app, "voice_gather", _params(sid, Digits="3"), a=attempt.id, round=1)
    assert "15" in _says(resp.text)[0]
    session.expire_all()
    assert session.get(Attempt, attempt.id).outcome == Outcome.help_requested
    task = session.get(Task, task.id)
    assert task.channel == ChannelPolicy.staff and task.priority == 0
    assert task.callback_at is not None and task.outcome == Outcome.help_requested
    alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
    assert alert.cause == AlertCause.help_requested and alert.severity == "urgent"


def test_3_outside_a_canicule_is_a_help_request_and_a_concern_alert(app, client, session, org):
    _, senior, task, attempt, sid = _call(session, app, org)
    resp = signed_post(client, app, "voice_gather", _params(sid, Digits="3"), a=attempt.id, round=1)
    assert ET.fromstring(resp.text).find("Gather") is None
    session.expire_all()
    assert session.get(Attempt, attempt.id).outcome == Outcome.help_requested
    task = session.get(Task, task.id)
    assert task.channel == ChannelPolicy.staff and task.priority == 0
    alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
    assert alert.cause == AlertCause.help_requested and alert.severity == "concern"


def test_an_unknown_key_asks_again(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    resp = signed_post(client, app, "voice_gather", _params(sid, Digits="7"), a=attempt.id, round=1)
    assert ET.fromstring(resp.text).find("Gather") is not None  # asked again
    session.expire_all()
    assert session.get(Attempt, attempt.id).digits is None


def test_nothing_pressed_twice_is_no_contact_and_a_retry(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    again = signed_post(client, app, "voice_gather", _params(sid), a=attempt.id, round=1)
    root = ET.fromstring(again.text)
    assert root.find("Gather") is not None and "round=2" in root.find("Gather").get("action")
    bye = signed_post(client, app, "voice_gather", _params(sid), a=attempt.id, round=2)
    assert ET.fromstring(bye.text).find("Gather") is None
    assert "rappellerons" in _says(bye.text)[0]
    signed_post(
        client,
        app,
        "voice_status",
        _params(sid, CallStatus="completed", CallDuration="40", AnsweredBy="human"),
        a=attempt.id,
    )
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.state == TaskState.pending and task.channel == ChannelPolicy.ivr
    assert task.not_before is not None and task.not_before > datetime.now(UTC)
    assert session.get(Attempt, attempt.id).disposition == Disposition.no_answer


def test_a_machine_hears_a_short_message_and_counts_as_no_contact(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    resp = signed_post(
        client, app, "voice_answer", _params(sid, AnsweredBy="machine_start"), a=attempt.id
    )
    root = ET.fromstring(resp.text)
    assert root.find("Gather") is None and root.find("Hangup") is not None
    assert "rappellerons" in _says(resp.text)[0]
    app.config["OUTREACH"]["telephony"]["machine_action"] = "hangup"
    silent = signed_post(client, app, "voice_answer", _params(sid, AnsweredBy="fax"), a=attempt.id)
    assert _says(silent.text) == [] and ET.fromstring(silent.text).find("Hangup") is not None
    signed_post(
        client,
        app,
        "voice_status",
        _params(sid, CallStatus="completed", AnsweredBy="machine_start"),
        a=attempt.id,
    )
    session.expire_all()
    assert session.get(Attempt, attempt.id).disposition == Disposition.voicemail
    assert session.get(Task, task.id).state == TaskState.pending


def test_after_the_last_attempt_ivr_then_staff_goes_to_the_staff_queue(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org, max_attempts=1)
    signed_post(client, app, "voice_status", _params(sid, CallStatus="no-answer"), a=attempt.id)
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.channel == ChannelPolicy.staff and task.state == TaskState.pending
    assert task.attempts == 0  # the staff get the campaign's whole retry budget


def test_after_the_last_attempt_ivr_only_is_escalated(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org, max_attempts=1, channel=ChannelPolicy.ivr)
    signed_post(client, app, "voice_status", _params(sid, CallStatus="busy"), a=attempt.id)
    session.expire_all()
    assert session.get(Task, task.id).state == TaskState.escalated
    assert session.get(Attempt, attempt.id).disposition == Disposition.busy


def test_a_callback_for_another_call_sid_is_ignored(app, client, session, org):
    _, _, task, attempt, sid = _call(session, app, org)
    other = "CA" + "f" * 32
    signed_post(client, app, "voice_status", _params(other, CallStatus="completed"), a=attempt.id)
    session.expire_all()
    assert session.get(Attempt, attempt.id).gateway_status == "queued"
    assert session.get(Task, task.id).state == TaskState.queued


def test_a_3_that_arrives_after_the_final_status_is_still_a_help_request(app, client, session, org):
    _, senior, task, attempt, sid = _call(session, app, org, kind=CampaignKind.canicule)
    # Twilio's callbacks are not ordered: the call's end is applied first, as no contact.
    signed_post(client, app, "voice_status", _params(sid, CallStatus="completed"), a=attempt.id)
    process_inbox(app)
    signed_post(client, app, "voice_gather", _params(sid, Digits="3"), a=attempt.id, round=1)
    session.expire_all()
    attempt = session.get(Attempt, attempt.id)
    assert attempt.outcome == Outcome.help_requested and attempt.disposition is None
    task = session.get(Task, task.id)
    assert task.channel == ChannelPolicy.staff and task.priority == 0
    assert task.outcome == Outcome.help_requested
    alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
    assert alert.cause == AlertCause.help_requested and alert.severity == "urgent"
