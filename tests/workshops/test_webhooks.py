"""Answers through the usual paths: the SMS sent by the dispatcher and its reply, the key
pressed on an automated call (signed webhooks), and the reminders to the registered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Outcome
from outreach.calls.scripts import render_text, script_context
from outreach.campaigns.models import Campaign, Task, TaskState
from outreach.telephony.dispatch import Dispatcher
from outreach.workshops.invitations import invite
from outreach.workshops.models import Invitation, InvitationStatus
from outreach.workshops.notices import send_reminders
from outreach.workshops.operations import answer
from tests.telephony.conftest import ALWAYS_OPEN, FakeGateway, FakeTime, signed_post
from tests.workshops.conftest import NOW, STARTS, workshop_for

pytestmark = pytest.mark.date_sensitive


def _invite_now(app, session, org, channel, capacity=1):
    now = datetime.now(UTC)
    workshop = workshop_for(
        session, org, capacity=capacity, starts=now + timedelta(days=3), now=now
    )
    invite(session, workshop, {"residences": ["Les Tilleuls"]}, channel, now, None)
    campaign = session.get(Campaign, workshop.campaign_id)
    campaign.call_window, campaign.skip_holidays = ALWAYS_OPEN, False
    session.commit()
    gateway = FakeGateway()
    clock = FakeTime()
    config = app.config["OUTREACH"]
    Dispatcher(session, config, gateway, clock.now, clock.monotonic, clock.sleep).run()
    return workshop, gateway


def _status(session, workshop, senior):
    session.expire_all()
    return session.scalar(
        select(Invitation.status).where(
            Invitation.workshop_id == workshop.id, Invitation.senior_id == senior.id
        )
    )


def test_sms_invitation_and_replies_oui_1_non(app, client, session, org, people):
    texted, _, _ = people
    workshop, gateway = _invite_now(app, session, org, "sms")
    assert len(gateway.messages) == 3
    body = gateway.messages[0]["body"]
    assert "Bien vivre l'été" in body and "Salle des Tilleuls" in body and "14 h 30" not in body
    assert "Val Touraine Habitat" in body and "STOP" in body and "1 ou OUI" in body
    for i, text in enumerate(["Oui", "1", "NON merci"]):
        resp = signed_post(
            client,
            app,
            "sms_inbound",
            {
                "MessageSid": f"SMfeed{i:028x}",
                "From": texted[i].phone_mobile,
                "To": "+33700000000",
                "Body": text,
            },
        )
        assert resp.status_code == 200
    assert _status(session, workshop, texted[0]) == InvitationStatus.registered
    assert _status(session, workshop, texted[1]) == InvitationStatus.waiting  # one place
    assert _status(session, workshop, texted[2]) == InvitationStatus.declined
    # She answered: reached, whether she comes or not (DESIGN.md outcomes).
    replies = session.scalars(select(Attempt).where(Attempt.direction == "inbound")).all()
    assert {r.outcome for r in replies} == {Outcome.reached_ok}


def test_ivr_keys_1_and_2_answer_the_invitation(app, client, session, org, people):
    texted, _, _ = people
    workshop, gateway = _invite_now(app, session, org, "ivr", capacity=2)
    assert len(gateway.calls) == 3
    said = {}
    for i, digit in enumerate(["1", "2"]):
        attempt = session.scalar(
            select(Attempt).where(Attempt.gateway_sid == gateway.calls[i]["sid"])
        )
        resp = signed_post(
            client,
            app,
            "voice_gather",
            {"CallSid": gateway.calls[i]["sid"], "AccountSid": "AC" + "0" * 32, "Digits": digit},
            a=attempt.id,
            round=1,
        )
        said[digit] = resp.get_data(as_text=True)
        senior_id = attempt.senior_id
        task = session.get(Task, attempt.task_id, populate_existing=True)
        # "2, je ne viens pas" is an answer, not a request to be called back.
        assert (task.state, task.outcome) == (TaskState.done, Outcome.reached_ok)
        expected = InvitationStatus.registered if digit == "1" else InvitationStatus.declined
        assert _status(session, workshop, next(s for s in texted if s.id == senior_id)) == expected
    assert "votre place est réservée" in said["1"]
    assert "vous ne venez pas" in said["2"]


def test_reminders_day_before_and_morning_once_and_to_the_registered_only(session, org, people):
    texted, _, _ = people
    workshop = workshop_for(session, org)
    invite(session, workshop, {"residences": ["Les Tilleuls"]}, "sms", NOW, None)
    invs = [session.scalar(select(Invitation).where(Invitation.senior_id == s.id)) for s in texted]
    answer(session, invs[0], True, NOW)
    answer(session, invs[1], False, NOW)  # invs[2] never answered
    assert send_reminders(session, NOW) == (0, 0)  # three days before: nothing yet
    day_before = STARTS.replace(hour=10, minute=0) - timedelta(days=1)
    assert send_reminders(session, day_before) == (1, 0)
    assert send_reminders(session, day_before + timedelta(hours=5)) == (0, 0)  # never twice
    morning = STARTS.replace(hour=8, minute=0)
    assert send_reminders(session, morning) == (0, 1)
    assert send_reminders(session, morning + timedelta(hours=1)) == (0, 0)
    tasks = session.scalars(
        select(Task).where(Task.campaign_id == workshop.campaign_id, Task.due_date > NOW.date())
    ).all()
    assert sorted((t.senior_id, t.due_date) for t in tasks) == [
        (texted[0].id, day_before.date()),
        (texted[0].id, STARTS.date()),
    ]
    assert invs[0].reminded_day_before_at == day_before and invs[0].reminded_morning_at == morning
    # The text a registered person gets is the reminder of her place.
    campaign = session.get(Campaign, workshop.campaign_id)
    context = script_context(texted[0], org, campaign, "", morning.date())
    text = render_text("workshop", "sms.txt", context)
    assert "Votre place est réservée" in text and "jeudi 07/03 à 14 h 30" in text
    assert "STOP" in text and "Val Touraine Habitat" in text
