"""Telephony that cannot invent an outcome: a webhook must name the attempt's own SID, a
failing voice webhook apologises in French instead of answering 500, and no premium-rate or
special number ever reaches the gateway."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
import responses
from sqlalchemy import select, update

from outreach.calls.models import Attempt
from outreach.campaigns.models import Campaign, ChannelPolicy, Task, TaskState
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import GatewayError, TwilioGateway
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated, signed_post

OTHER_SID = "CA" + "e" * 32


def _placed(session, app, org, channel=ChannelPolicy.ivr_then_staff):
    """One automated contact sent through a fake gateway: (task, attempt, its SID)."""
    _, seniors, tasks = make_automated(session, org, channel=channel)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    Dispatcher(
        session, app.config["OUTREACH"], gateway, clock.now, clock.monotonic, clock.sleep
    ).run()
    attempt = session.scalar(select(Attempt).where(Attempt.task_id == tasks[0].id))
    return tasks[0], attempt, attempt.gateway_sid, seniors[0]


def _voice(sid: str | None, **extra: str) -> dict[str, str]:
    params = {
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+33999000000",
        "To": "+33600000099",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        **extra,
    }
    if sid is not None:
        params["CallSid"] = sid
    return params


def _fresh(session, model, id_):
    session.expire_all()
    return session.get(model, id_)


def _refusals(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "outreach.telephony" and "webhook ignored" in r.getMessage()
    ]


# -- the SID must be the attempt's ---------------------------------------------------------


def test_a_webhook_without_sid_changes_nothing_and_says_why(app, client, session, org, caplog):
    task, attempt, _, senior = _placed(session, app, org)
    caplog.set_level(logging.INFO, logger="outreach.telephony")
    # A key pressed, but no CallSid: the attempt id of the URL alone is not enough.
    resp = signed_post(client, app, "voice_gather", _voice(None, Digits="1"), a=attempt.id, round=1)
    assert resp.status_code == 200
    root = ET.fromstring(resp.text)
    assert root.find("Hangup") is not None and root.find("Say") is None
    signed_post(client, app, "voice_status", _voice(None, CallStatus="completed"), a=attempt.id)
    attempt = _fresh(session, Attempt, attempt.id)
    assert attempt.digits is None and attempt.gateway_status == "queued"
    assert _fresh(session, Task, task.id).state == TaskState.queued
    refusals = _refusals(caplog)
    assert refusals and all(f"attempt {attempt.id}: no SID" in m for m in refusals)
    assert senior.phone_mobile not in caplog.text


def test_a_mismatched_sid_is_refused_and_logged_without_personal_data(
    app, client, session, org, caplog
):
    task, attempt, _, senior = _placed(session, app, org)
    caplog.set_level(logging.INFO, logger="outreach.telephony")
    resp = signed_post(
        client, app, "voice_gather", _voice(OTHER_SID, Digits="1"), a=attempt.id, round=1
    )
    assert ET.fromstring(resp.text).find("Gather") is None
    signed_post(client, app, "voice_status", _voice(OTHER_SID, CallStatus="busy"), a=attempt.id)
    attempt = _fresh(session, Attempt, attempt.id)
    assert attempt.digits is None and attempt.gateway_status == "queued"
    assert _fresh(session, Task, task.id).state == TaskState.queued
    assert (
        _refusals(caplog)
        == [f"webhook ignored: attempt {attempt.id}: SID does not match the attempt's"] * 2
    )
    assert senior.phone_mobile not in caplog.text and "+33" not in caplog.text


def test_an_interrupted_dispatch_takes_the_sid_of_its_first_callback(app, client, session, org):
    """The dispatcher died after placing the call, before recording its SID: the call's
    callbacks still settle the attempt, and from then on only that call's."""
    task, attempt, sid, _ = _placed(session, app, org)
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(gateway_sid=None, gateway_status="dispatching")
    )
    session.commit()
    signed_post(client, app, "voice_status", _voice(sid, CallStatus="ringing"), a=attempt.id)
    attempt = _fresh(session, Attempt, attempt.id)
    assert (attempt.gateway_sid, attempt.gateway_status) == (sid, "ringing")
    signed_post(client, app, "voice_status", _voice(OTHER_SID, CallStatus="busy"), a=attempt.id)
    attempt = _fresh(session, Attempt, attempt.id)
    assert (attempt.gateway_sid, attempt.gateway_status) == (sid, "ringing")


@pytest.mark.parametrize("status", ["not_sent", "completed", "queued"])
def test_an_attempt_past_dispatch_never_adopts_a_sid(app, client, session, org, status):
    task, attempt, sid, _ = _placed(session, app, org)
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(gateway_sid=None, gateway_status=status)
    )
    session.commit()
    signed_post(client, app, "voice_gather", _voice(sid, Digits="1"), a=attempt.id, round=1)
    signed_post(client, app, "voice_status", _voice(sid, CallStatus="completed"), a=attempt.id)
    attempt = _fresh(session, Attempt, attempt.id)
    assert attempt.gateway_sid is None and attempt.digits is None
    assert attempt.gateway_status == status


def test_a_sid_is_never_taken_from_another_attempt(app, client, session, org):
    _, first, first_sid, _ = _placed(session, app, org)
    _, second, _, _ = _placed(session, app, org)
    session.execute(
        update(Attempt)
        .where(Attempt.id == second.id)
        .values(gateway_sid=None, gateway_status="dispatching")
    )
    session.commit()
    resp = signed_post(
        client, app, "voice_status", _voice(first_sid, CallStatus="ringing"), a=second.id
    )
    assert resp.status_code == 204
    assert _fresh(session, Attempt, second.id).gateway_sid is None
    assert _fresh(session, Attempt, first.id).gateway_status == "queued"


def test_a_voice_webhook_cannot_touch_an_sms_attempt(app, client, session, org):
    _, attempt, _, _ = _placed(session, app, org, channel=ChannelPolicy.sms)
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(gateway_sid=None, gateway_status="dispatching")
    )
    session.commit()
    resp = signed_post(
        client, app, "voice_answer", _voice(OTHER_SID, AnsweredBy="human"), a=attempt.id
    )
    assert ET.fromstring(resp.text).find("Gather") is None
    attempt = _fresh(session, Attempt, attempt.id)
    assert (attempt.gateway_sid, attempt.gateway_status) == (None, "dispatching")


# -- a voice webhook never answers 500 -----------------------------------------------------


def _apology(resp) -> str:
    assert resp.status_code == 200 and resp.content_type.startswith("text/xml")
    root = ET.fromstring(resp.text)
    (say,) = root.findall("Say")
    assert say.get("language") == "fr-FR" and "désolés" in (say.text or "")
    assert root.find("Hangup") is not None and root.find("Gather") is None
    return say.text or ""


def test_an_answer_that_cannot_be_built_apologises_and_keeps_nothing(
    app, client, session, org, caplog
):
    task, attempt, sid, senior = _placed(session, app, org)
    campaign = session.get(Campaign, task.campaign_id)
    campaign.script = "no-such-script"
    session.commit()
    caplog.set_level(logging.INFO, logger="outreach.telephony")
    resp = signed_post(
        client, app, "voice_answer", _voice(sid, AnsweredBy="human", CallStatus="in-progress"),
        a=attempt.id,
    )  # fmt: skip
    _apology(resp)
    # The move to in-progress made before the failure was rolled back with it.
    attempt = _fresh(session, Attempt, attempt.id)
    assert attempt.gateway_status == "queued" and attempt.answered_by is None
    (logged,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = logged.getMessage()
    assert f"attempt {attempt.id}" in message and "ScriptNotFound" in message
    assert senior.phone_mobile not in caplog.text and "no-such-script" not in message


def test_a_gather_that_fails_midway_apologises_and_rolls_back(
    app, client, session, org, caplog, monkeypatch
):
    from outreach.telephony import ivr

    task, attempt, sid, senior = _placed(session, app, org)

    def failing(session_, config, params, attempt_id, round_, now):
        # Something written, then a failure whose message holds personal data.
        session_.execute(update(Attempt).where(Attempt.id == attempt.id).values(digits="1"))
        raise RuntimeError(f"cannot reach {senior.phone_mobile}")

    monkeypatch.setattr(ivr, "gather", failing)
    caplog.set_level(logging.INFO, logger="outreach.telephony")
    resp = signed_post(client, app, "voice_gather", _voice(sid, Digits="1"), a=attempt.id, round=1)
    _apology(resp)
    assert _fresh(session, Attempt, attempt.id).digits is None
    assert _fresh(session, Task, task.id).state == TaskState.queued
    assert "RuntimeError" in caplog.text and senior.phone_mobile not in caplog.text


# -- premium-rate numbers never reach the gateway ------------------------------------------


@responses.activate
def test_the_gateway_never_dials_or_texts_a_premium_number():
    gateway = TwilioGateway(
        "AC" + "1" * 32, "token", "https://api.twilio.com", "+33970000000", "VTH"
    )
    with pytest.raises(GatewayError) as call:
        gateway.place_call("+33899123456", "https://x.fr/a", "https://x.fr/s")
    with pytest.raises(GatewayError) as sms:
        gateway.send_sms("+33820123456", "Bonjour", "https://x.fr/s")
    assert (call.value.code, sms.value.code) == (21215, 21408)
    assert not call.value.retryable and not call.value.ambiguous
    assert len(responses.calls) == 0  # no request ever left
