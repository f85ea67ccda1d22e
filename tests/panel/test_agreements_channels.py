"""A recueil d'accord by automated call and by SMS, through the signed webhooks: IVR 1 and
SMS OUI record the accord, SMS NON and STOP a refusal (the dispatcher's own eligibility
check lets a senior not yet asked be called)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.panel.models import MemberStatus
from outreach.roster.models import Senior
from outreach.telephony.dispatch import Dispatcher
from tests.panel.agreement_factory import add_member, agreement_campaign, linked_senior, make_panel
from tests.telephony.conftest import FakeGateway, FakeTime, signed_post

pytestmark = pytest.mark.date_sensitive


def _sent(app, session, channel):
    """A drawn member not yet asked, and the agreement call or SMS sent to her."""
    now = datetime.now(UTC)
    panel = make_panel(session)
    member = add_member(session, panel, panel.a)
    senior = linked_senior(session, member, phone_mobile="+33611223344", phone_landline=None)
    campaign = agreement_campaign(session, panel.a, now, channel_policy=channel)
    generate_day(session, paris_today(now), now, campaign_ids=[campaign.id])
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    config = app.config["OUTREACH"]
    Dispatcher(session, config, gateway, clock.now, clock.monotonic, clock.sleep).run()
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == senior.id))
    assert attempt is not None, "the dispatcher refused to contact her"
    return member, senior, attempt, gateway


def _inbound(sender, body, sid="SM" + "b" * 32):
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": "+33999000000",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


def test_pressing_1_on_the_automated_call_records_her_accord(app, client, session):
    member, _, attempt, gateway = _sent(app, session, ChannelPolicy.ivr)
    params = {
        "CallSid": gateway.calls[0]["sid"],
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "+33999000000",
        "To": "+33611223344",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "Digits": "1",
    }
    resp = signed_post(client, app, "voice_gather", params, a=attempt.id, round=1)
    assert "accord" in resp.text
    session.expire_all()
    member = session.get(type(member), member.id)
    assert member.status == MemberStatus.agreed and member.agreement_date is not None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("Oui", MemberStatus.agreed),
        ("Non merci", MemberStatus.refused),
        ("STOP", MemberStatus.refused),
    ],
)
def test_an_sms_reply_records_accord_or_refusal(app, client, session, body, status):
    member, senior, _, gateway = _sent(app, session, ChannelPolicy.sms)
    assert "Répondez OUI" in gateway.messages[0]["body"]
    signed_post(client, app, "sms_inbound", _inbound(senior.phone_mobile, body))
    session.expire_all()
    member = session.get(type(member), member.id)
    assert member.status == status
    task = session.scalar(select(Task).where(Task.senior_id == senior.id))
    assert task.state in (TaskState.done, TaskState.cancelled)
    # NON refuses the panel, not the SMS: only STOP is an opt-out.
    opted_out = session.get(Senior, senior.id).opted_out_sms_at is not None
    assert opted_out == (body == "STOP")


def test_a_delivered_sms_without_answer_is_a_cycle_and_a_no_read_by_a_person_counts(
    app, client, session
):
    from outreach.calls.models import Outcome
    from outreach.telephony.sms import classify_by_person

    member, senior, attempt, _ = _sent(app, session, ChannelPolicy.sms)
    status = {"MessageSid": attempt.gateway_sid, "MessageStatus": "delivered",
              "AccountSid": "AC00000000000000000000000000000000"}  # fmt: skip
    signed_post(client, app, "sms_status", status, a=attempt.id)
    session.expire_all()
    member = session.get(type(member), member.id)
    assert (member.status, member.unreachable_cycles) == (MemberStatus.to_contact, 1)
    body = "Je préfère pas, merci"
    signed_post(client, app, "sms_inbound", _inbound(senior.phone_mobile, body))
    reply = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert reply.outcome == Outcome.reply_to_read
    classify_by_person(session, reply, Outcome.refused, None, datetime.now(UTC))
    session.refresh(member)
    assert member.status == MemberStatus.refused
