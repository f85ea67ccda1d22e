"""SMS webhooks: delivery reports, and the replies STOP / OK / AIDE / anything else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.escalation.models import Alert, AlertCause
from outreach.roster.models import Senior
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.sms import classify
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated, signed_post

pytestmark = pytest.mark.date_sensitive

REFUSED, OK, HELP, CALLBACK, TO_READ = (
    Outcome.refused,
    Outcome.reached_ok,
    Outcome.help_requested,
    Outcome.callback_requested,
    Outcome.reply_to_read,
)


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        # Every opt-out word of the README, any case, accents or not, anywhere.
        ("STOP", REFUSED),
        ("stop", REFUSED),
        ("Arrêt", REFUSED),
        ("ARRET svp", REFUSED),
        ("arretez", REFUSED),
        ("ARRÊTEZ", REFUSED),
        ("Stopper", REFUSED),
        ("désinscrire", REFUSED),
        ("DESINSCRIRE", REFUSED),
        ("Désinscription", REFUSED),
        ("S.T.O.P", REFUSED),
        (" Stop. ", REFUSED),
        ("merci mais stop", REFUSED),
        ("OK mais STOP", REFUSED),
        ("OK", OK),
        ("oui merci", OK),
        ("Ok !", OK),
        ("Tout va bien, merci", OK),
        ("AIDE", HELP),
        ("oui mais aide svp", HELP),
        ("rappel", CALLBACK),
        ("Rappelez-moi", CALLBACK),
        # Neither OK nor nothing: a person reads them.
        ("Merci, bonne journée", TO_READ),
        ("je suis à l'hôpital", TO_READ),
        ("Je ne veux plus de vos messages", TO_READ),
        ("oui je suis tombée hier", TO_READ),
        ("Mon fils est venu hier", TO_READ),
        ("", TO_READ),
        ("🙂", TO_READ),
    ],
)
def test_a_reply_establishes_one_outcome(body, outcome):
    assert classify(body) == outcome


def _sent(session, app, org, seniors=1):
    _, people, tasks = make_automated(session, org, channel=ChannelPolicy.sms, seniors=seniors)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    Dispatcher(
        session, app.config["OUTREACH"], gateway, clock.now, clock.monotonic, clock.sleep
    ).run()
    attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    return people, tasks, attempts, gateway


def _status(sid, status, **extra):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "OUTREACH",
        "To": "+33600000001",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def _inbound(sender, body, sid="SM" + "a" * 32):
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


def test_delivery_completes_the_task_and_statuses_only_move_forward(app, client, session, org):
    _, tasks, attempts, gw = _sent(session, app, org)
    a = attempts[0]
    for status in ("sent", "delivered", "sent", "queued"):
        resp = signed_post(client, app, "sms_status", _status(a.gateway_sid, status), a=a.id)
        assert resp.status_code == 204
    session.expire_all()
    assert session.get(Attempt, a.id).gateway_status == "delivered"
    task = session.get(Task, tasks[0].id)
    assert task.state == TaskState.done and task.disposition == "sms_delivered"


def test_undelivered_is_no_contact_and_retried(app, client, session, org):
    _, tasks, attempts, _ = _sent(session, app, org)
    a = attempts[0]
    signed_post(
        client, app, "sms_status", _status(a.gateway_sid, "undelivered", ErrorCode="30006"), a=a.id
    )
    session.expire_all()
    assert session.get(Attempt, a.id).error_code == 30006
    task = session.get(Task, tasks[0].id)
    assert task.state == TaskState.pending and task.not_before is not None


def test_stop_opts_out_at_once_and_nothing_is_sent_again(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    senior = people[0]
    resp = signed_post(client, app, "sms_inbound", _inbound(senior.phone_mobile, "Arrêt"))
    assert resp.status_code == 200 and "<Response" in resp.text
    session.expire_all()
    senior = session.get(Senior, senior.id)
    assert senior.opted_out_sms_at is not None
    assert session.get(Task, tasks[0].id).state == TaskState.cancelled
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "sms_opt_out"))
    # Were a task still waiting, the dispatcher would refuse to text her.
    gateway = FakeGateway()
    task = session.get(Task, tasks[0].id)
    task.state = TaskState.pending  # as if a task were still waiting
    session.commit()
    clock = FakeTime()
    Dispatcher(
        session, app.config["OUTREACH"], gateway, clock.now, clock.monotonic, clock.sleep
    ).run()
    assert gateway.messages == []


def test_ok_marks_her_reached(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    signed_post(
        client, app, "sms_status", _status(attempts[0].gateway_sid, "delivered"), a=attempts[0].id
    )
    session.expire_all()
    # Delivered is not reached: no reply yet.
    assert session.get(Task, tasks[0].id).outcome is None
    signed_post(client, app, "sms_inbound", _inbound(people[0].phone_mobile, "OK merci"))
    session.expire_all()
    task = session.get(Task, tasks[0].id)
    assert task.state == TaskState.done and task.outcome == Outcome.reached_ok
    reply = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert reply.reply == "OK merci" and reply.senior_id == people[0].id
    assert reply.outcome == Outcome.reached_ok


def test_aide_is_a_help_request_at_the_top_of_the_queue_and_an_alert(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    signed_post(
        client, app, "sms_status", _status(attempts[0].gateway_sid, "delivered"), a=attempts[0].id
    )
    signed_post(client, app, "sms_inbound", _inbound(people[0].phone_mobile, "AIDE"))
    session.expire_all()
    task = session.get(Task, tasks[0].id)
    # The task had closed on delivery: the request reopens it for a person, at the top.
    assert task.channel == ChannelPolicy.staff and task.state == TaskState.pending
    assert task.callback_at is not None and task.priority == 0
    assert task.outcome == Outcome.help_requested
    reply = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert reply.outcome == Outcome.help_requested
    from outreach.escalation.rules import sweep

    sweep(session, app.config["OUTREACH"], reply.started_at)
    alert = session.scalar(select(Alert).where(Alert.senior_id == people[0].id))
    assert alert.cause == AlertCause.help_requested and alert.severity == "concern"


def test_rappel_is_a_callback_request_not_all_is_well(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    signed_post(client, app, "sms_inbound", _inbound(people[0].phone_mobile, "Rappelez-moi"))
    session.expire_all()
    task = session.get(Task, tasks[0].id)
    assert task.channel == ChannelPolicy.staff and task.state == TaskState.pending
    assert task.callback_at is not None and task.priority == 10
    assert task.outcome == Outcome.callback_requested


def test_anything_else_is_an_sms_to_read_and_recorded_once(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    params = _inbound(people[0].phone_mobile, "Je suis chez ma fille jusqu'à lundi")
    for _ in range(2):  # Twilio retries a webhook it thinks failed
        signed_post(client, app, "sms_inbound", params)
    session.expire_all()
    replies = session.scalars(select(Attempt).where(Attempt.direction == "inbound")).all()
    assert len(replies) == 1
    assert replies[0].outcome == Outcome.reply_to_read
    assert session.get(Task, tasks[0].id).state == TaskState.queued  # unchanged


def test_a_reply_from_an_unknown_number_changes_nothing(app, client, session, org):
    _sent(session, app, org)
    resp = signed_post(client, app, "sms_inbound", _inbound("+33611111111", "STOP"))
    assert resp.status_code == 200
    assert session.scalar(select(func.count(Attempt.id)).where(Attempt.direction == "inbound")) == 0


def test_21610_in_a_status_callback_is_an_opt_out(app, client, session, org):
    people, tasks, attempts, _ = _sent(session, app, org)
    a = attempts[0]
    signed_post(
        client, app, "sms_status", _status(a.gateway_sid, "failed", ErrorCode="21610"), a=a.id
    )
    session.expire_all()
    assert session.get(Senior, people[0].id).opted_out_sms_at is not None
    assert session.get(Task, tasks[0].id).state == TaskState.cancelled


def test_a_stop_with_a_nul_byte_is_still_a_stop(app, client, session, org):
    """A phone can put a NUL byte in an SMS; signed, it is really what was sent. PostgreSQL
    text refuses the byte: it is dropped, and the STOP counts at once."""
    people, tasks, _, _ = _sent(session, app, org)
    resp = signed_post(client, app, "sms_inbound", _inbound(people[0].phone_mobile, "ST\x00OP"))
    assert resp.status_code == 200
    session.expire_all()
    assert session.get(Senior, people[0].id).opted_out_sms_at is not None
    reply = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert reply is not None and reply.outcome == Outcome.refused and "\x00" not in reply.reply
