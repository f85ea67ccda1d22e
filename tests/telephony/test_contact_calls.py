"""A canicule day's fallback: after her last call, an SMS to her, then her emergency contact
(telephony.contacts), and the alert that is never lost (escalation.rules)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import CampaignKind, ChannelPolicy, Task, TaskState
from outreach.campaigns.schedule import EVERY_DAY_WINDOW
from outreach.escalation.models import Alert, AlertCause
from outreach.escalation.rules import sweep
from outreach.reports.canicule import board
from outreach.roster.models import EmergencyContact
from outreach.telephony import contacts
from outreach.telephony.dispatch import Dispatcher
from outreach.timezone import PARIS
from tests.factories import make_senior
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated, signed_post

pytestmark = pytest.mark.date_sensitive

CONTACT = "+33699887766"
ACCOUNT = "AC00000000000000000000000000000000"


class Day:
    """One canicule senior, her contact, a fake gateway, and the webhooks Twilio sends."""

    def __init__(
        self, app, client, session, org, *, policy="call", contact=True, channel=None, **fields
    ):
        self.app, self.client, self.session = app, client, session
        app.config["OUTREACH"]["canicule"].update(
            contact_policy=policy, contact_after_minutes=0, contact_reply_minutes=60
        )
        values = {"max_attempts_per_day": 1, "max_attempts": 1, **fields}
        self.campaign, seniors, tasks = make_automated(
            session, org, kind=CampaignKind.canicule, channel=channel or ChannelPolicy.ivr, **values
        )
        self.senior, self.task_id = seniors[0], tasks[0].id
        if contact:
            session.add(
                EmergencyContact(
                    organisation_id=org.id,
                    senior_id=self.senior.id,
                    name="Claire Martin",
                    relation="fille",
                    phone=CONTACT,
                )
            )
        session.commit()
        self.gateway, self.clock = FakeGateway(), FakeTime()

    def dispatch(self):
        Dispatcher(
            self.session,
            self.app.config["OUTREACH"],
            self.gateway,
            self.clock.now,
            self.clock.monotonic,
            self.clock.sleep,
        ).run()
        self.session.expire_all()

    def task(self):
        self.session.expire_all()
        return self.session.get(Task, self.task_id)

    def _post(self, name, params, attempt_id):
        resp = signed_post(self.client, self.app, name, params, a=attempt_id)
        self.session.expire_all()
        return resp

    def call_status(self, status="no-answer", **extra):
        call = self.gateway.calls[-1]
        params = {"CallSid": call["sid"], "AccountSid": ACCOUNT, "CallStatus": status, **extra}
        return self._post("voice_status", params, _ref(call["url"]))

    def answer(self):
        call = self.gateway.calls[-1]
        params = {"CallSid": call["sid"], "AccountSid": ACCOUNT, "CallStatus": "in-progress"}
        return self._post("voice_answer", {**params, "AnsweredBy": "human"}, _ref(call["url"]))

    def press(self, digit):
        call = self.gateway.calls[-1]
        params = {"CallSid": call["sid"], "AccountSid": ACCOUNT, "Digits": digit}
        signed_post(self.client, self.app, "voice_gather", params, a=_ref(call["url"]), round=1)
        self.session.expire_all()

    def sms_status(self, status="delivered"):
        message = self.gateway.messages[-1]
        params = {"MessageSid": message["sid"], "AccountSid": ACCOUNT, "MessageStatus": status}
        return self._post("sms_status", params, _ref(message["cb"]))

    def reply(self, sender, body, sid):
        params = {"MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "Body": body}
        params["To"] = "+33999000000"
        signed_post(self.client, self.app, "sms_inbound", params)
        self.session.expire_all()

    def until_contact(self):
        """Her call unanswered, her SMS delivered without reply: her contact is next."""
        self.dispatch()
        self.call_status("no-answer")
        assert self.task().disposition == contacts.SENIOR_SMS
        self.dispatch()
        assert self.gateway.messages[-1]["to"] == self.senior.phone_mobile
        self.sms_status("delivered")

    def alerts(self):
        return self.session.scalars(
            select(Alert).where(Alert.senior_id == self.senior.id, Alert.status == "open")
        ).all()

    def sweep(self, now=None):
        sweep(self.session, self.app.config["OUTREACH"], now or self.clock.now())
        self.session.commit()


def _ref(url):
    return url.split("a=")[1].split("&")[0]


def test_after_her_last_call_an_sms_then_her_contact_whose_1_settles_the_day(
    app, client, session, org
):
    day = Day(app, client, session, org)
    day.until_contact()
    assert day.task().disposition == contacts.CONTACT_CALL
    day.dispatch()
    assert day.gateway.calls[-1]["to"] == CONTACT
    contact_call = session.scalars(select(Attempt).order_by(Attempt.id.desc())).first()
    assert contact_call.contact_id is not None and contact_call.phone == CONTACT
    twiml = day.answer().text
    said = " ".join(e.text or "" for e in ET.fromstring(twiml).iter("Say"))
    assert f"Nous n'arrivons pas à joindre Mme {day.senior.last_name} aujourd'hui" in said
    assert "1 si vous avez eu de ses nouvelles aujourd'hui, sur 2 si vous êtes inquiet" in said
    day.press("1")
    day.press("1")  # Twilio repeating itself changes nothing
    day.call_status("completed")
    task = day.task()
    assert task.state == TaskState.done and task.outcome == Outcome.reached_through_contact
    day.sweep()
    assert day.alerts() == []
    # Counted apart from "reached": she did not answer herself.
    today = board(session, [org.id], task.due_date)
    assert today.through_contact["37"] == 1 and today.total.reached == 0


def test_a_worried_contact_opens_the_urgent_alert_at_once(app, client, session, org):
    day = Day(app, client, session, org)
    day.until_contact()
    day.dispatch()
    day.answer()
    day.press("2")
    assert day.task().state == TaskState.escalated
    [alert] = day.alerts()
    assert alert.cause == AlertCause.canicule_unreached and alert.severity == "urgent"
    assert "inquiet" in alert.summary and "1 appel (portable)" in alert.summary
    assert "SMS reçu, sans réponse" in alert.summary


def test_ivr_then_staff_in_a_heatwave_goes_through_her_sms_and_her_contact_too(
    app, client, session, org
):
    # The channel pre-filled on a canicule activation: an unreached senior is not left in a
    # long staff queue while her contact could be asked within the hour.
    day = Day(app, client, session, org, channel=ChannelPolicy.ivr_then_staff)
    day.until_contact()
    assert day.task().disposition == contacts.CONTACT_CALL
    day.dispatch()
    assert day.gateway.calls[-1]["to"] == CONTACT
    day.answer()
    day.press("2")
    assert day.task().state == TaskState.escalated
    [alert] = day.alerts()
    assert alert.severity == "urgent" and "inquiet" in alert.summary


def test_a_contact_who_does_not_answer_opens_the_alert(app, client, session, org):
    day = Day(app, client, session, org)
    day.until_contact()
    day.dispatch()
    day.call_status("no-answer")
    assert day.task().state == TaskState.escalated
    day.sweep()
    [alert] = day.alerts()
    assert "proche (fille) appelé : pas de réponse" in alert.summary


def test_without_a_contact_the_alert_opens_after_her_sms(app, client, session, org):
    day = Day(app, client, session, org, contact=False)
    day.until_contact()
    task = day.task()
    assert task.state == TaskState.escalated and task.disposition == contacts.NO_CONTACT
    day.sweep()
    [alert] = day.alerts()
    assert "aucun proche à prévenir" in alert.summary


def test_her_own_ok_to_the_sms_settles_the_day_before_her_contact_is_called(
    app, client, session, org
):
    day = Day(app, client, session, org)
    day.app.config["OUTREACH"]["canicule"]["contact_after_minutes"] = 30
    day.until_contact()
    assert day.task().not_before is not None  # her contact waits half an hour
    day.reply(day.senior.phone_mobile, "OK merci", "SM" + "1" * 32)
    task = day.task()
    assert task.state == TaskState.done and task.outcome == Outcome.reached_ok
    day.clock.t += 3600
    day.dispatch()
    assert CONTACT not in [c["to"] for c in day.gateway.calls]


@pytest.mark.parametrize(("body", "settled"), [("Oui", True), ("NON je suis inquiète", False)])
def test_a_contact_answers_the_sms(app, client, session, org, body, settled):
    day = Day(app, client, session, org, policy="sms")
    day.until_contact()
    day.dispatch()
    assert day.gateway.messages[-1]["to"] == CONTACT
    assert "Répondez OUI" in day.gateway.messages[-1]["body"]
    day.sms_status("delivered")
    assert day.task().state == TaskState.queued  # waiting for the reply
    for _ in range(2):  # a repeated webhook changes nothing twice
        day.reply(CONTACT, body, "SM" + "2" * 32)
    task = day.task()
    if settled:
        assert task.outcome == Outcome.reached_through_contact and task.state == TaskState.done
    else:
        assert task.state == TaskState.escalated
    day.sweep()
    assert len(day.alerts()) == (0 if settled else 1)
    replies = session.scalar(select(func.count()).where(Attempt.direction == "inbound"))
    assert replies == 1


def test_a_contact_sms_without_reply_opens_the_alert_after_the_delay(app, client, session, org):
    day = Day(app, client, session, org, policy="sms")
    day.until_contact()
    day.dispatch()
    day.sms_status("delivered")
    sent = session.scalar(select(Attempt.started_at).where(Attempt.phone == CONTACT))
    # contact_reply_minutes, or the end of the call window when sooner (near midnight here).
    end = contacts.window_end(day.campaign, sent.astimezone(PARIS).date())
    deadline = min(sent + timedelta(minutes=60), max(end, sent))
    config = app.config["OUTREACH"]
    assert contacts.expire(session, deadline - timedelta(seconds=1), config) == 0
    assert contacts.expire(session, deadline, config) == 1
    session.commit()
    assert day.task().disposition == contacts.NO_REPLY
    day.sweep(deadline + timedelta(minutes=1))
    assert len(day.alerts()) == 1


def test_a_number_both_hers_and_a_contacts_is_read_as_hers(app, client, session, org):
    day = Day(app, client, session, org, policy="sms")
    # The contact's number is also a senior's mobile, and that senior got our SMS today.
    other = make_senior(session, org, phone_mobile=CONTACT, phone_landline=None)
    session.add(
        Attempt(
            organisation_id=org.id,
            senior_id=other.id,
            channel="sms",
            started_at=day.clock.now(),
            phone=CONTACT,
            gateway_sid="SM" + "9" * 32,
        )
    )
    session.commit()
    day.until_contact()
    day.dispatch()
    day.reply(CONTACT, "OUI", "SM" + "3" * 32)
    assert day.task().state == TaskState.queued  # not the contact's answer
    reply = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert reply.senior_id == other.id and reply.contact_id is None


def test_the_end_of_the_window_leaves_nobody_unaccounted(app, client, session, org):
    day = Day(app, client, session, org, call_window=EVERY_DAY_WINDOW)
    task = day.task()
    end = datetime.combine(task.due_date, datetime.min.time(), PARIS) + timedelta(hours=19)
    task.created_at = end - timedelta(hours=12)  # made in the morning, whatever the hour now
    session.commit()
    # Never called (say the gateway was down all day): nothing until the window closes ...
    day.sweep(end - timedelta(minutes=1))
    assert day.alerts() == []
    day.sweep(end + timedelta(minutes=1))
    [alert] = day.alerts()
    assert alert.cause == AlertCause.canicule_unreached and "aucun appel passé" in alert.summary
    day.sweep(end + timedelta(minutes=2))
    assert len(day.alerts()) == 1


def test_the_whole_chain_through_the_simulator(app, session, org, live_server):
    """The production Twilio code against the simulator, webhooks signed over HTTP: her
    landline, her mobile at once, her SMS, then her daughter, who presses 1."""
    import time

    from outreach.telephony.gateway import make_gateway
    from outreach.telephony.simulator.server import start_for_app
    from tests.telephony.conftest import process_inbox

    config = app.config["OUTREACH"]
    config["telephony"].update(public_base_url=live_server, calls_per_second=20)
    config["telephony"]["sms_per_second"] = 20
    config["simulator"].update(
        port=0, seed=3, ring_seconds=0, talk_seconds=0, reply_seconds=0,
        answer_weights={"no-answer": 1}, reply_weights={"none": 1},
    )  # fmt: skip
    config["canicule"].update(contact_policy="call", contact_after_minutes=0)
    _, seniors, tasks = make_automated(
        session, org, kind=CampaignKind.canicule, channel=ChannelPolicy.ivr,
        max_attempts_per_day=1, max_attempts=1,
    )  # fmt: skip
    senior, task_id = seniors[0], tasks[0].id
    senior.phone_landline = "+33247000001"
    session.add(EmergencyContact(organisation_id=org.id, senior_id=senior.id, name="Claire",
                                 relation="fille", phone=CONTACT))  # fmt: skip
    session.commit()
    server = start_for_app(app)
    try:
        server.simulator.script_number(CONTACT, answer="human", digits=["1"])
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            Dispatcher(session, config, make_gateway(config)).run(max_seconds=1)
            process_inbox(app)
            session.expire_all()
            if session.get(Task, task_id).state == TaskState.done:
                break
            time.sleep(0.2)
    finally:
        server.stop()
    task = session.get(Task, task_id)
    assert task.outcome == Outcome.reached_through_contact
    sent = session.execute(
        select(Attempt.channel, Attempt.phone).where(Attempt.direction == "outbound")
        .order_by(Attempt.id)
    ).all()  # fmt: skip
    assert [tuple(r) for r in sent] == [
        ("ivr", "+33247000001"),
        ("ivr", senior.phone_mobile),
        ("sms", senior.phone_mobile),
        ("ivr", CONTACT),
    ]
