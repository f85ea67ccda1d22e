"""Calls received on our numbers (/twilio/voice/inbound): a senior calling back is recognised,
hears a French message and is called back first; an unknown caller goes on the list."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.campaigns import lifecycle
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.privacy import erasure, retention
from outreach.privacy.register import FIELDS, TECHNICAL, build_register
from outreach.queue.operations import QueueFilters, queue_query
from outreach.telephony.gateway import credentials
from outreach.telephony.models import InboundCall
from outreach.telephony.simulator import Simulator
from outreach.telephony.urls import PATHS
from tests.factories import make_org, make_senior, make_user
from tests.telephony.conftest import make_automated, signed_post

# A Wednesday in July, Paris: 10:00 is within office hours, 18:30 is not.
IN_HOURS = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)
AFTER_HOURS = datetime(2026, 7, 15, 16, 30, tzinfo=UTC)
OUR_NUMBER = "+33970000001"
ON_DUTY = "+33611112222"
STRANGER = "+33655554444"
_sids = iter(range(1, 10_000))


def _sid() -> str:
    return f"CA{next(_sids):032x}"


def _params(sid: str, sender: str, to: str = OUR_NUMBER, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def _post(client, app, name, params, at):
    # The webhook reads the clock: frozen at ``at``, never the real time.
    with time_machine.travel(at, tick=False):
        return signed_post(client, app, name, params)


def _twiml(resp) -> ET.Element:
    assert resp.status_code == 200 and resp.content_type.startswith("text/xml")
    return ET.fromstring(resp.text)


def _said(root: ET.Element) -> str:
    says = list(root.iter("Say"))
    assert says and all(s.get("language") == "fr-FR" and s.get("voice") for s in says)
    return " ".join(s.text or "" for s in says)


def _reset(session) -> None:
    """Read what the requests committed (the session keeps its objects across commits)."""
    session.rollback()
    session.expire_all()


def _count(session, model) -> int:
    _reset(session)
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def org(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    org.caller_id = OUR_NUMBER
    session.commit()
    return org


@pytest.fixture
def day(session, org):
    """Three seniors with a staff courtesy call today; the last one will call us."""
    _, seniors, tasks = make_automated(
        session, org, channel=ChannelPolicy.staff, seniors=3, now=IN_HOURS
    )
    session.commit()
    return seniors, tasks


def _first_in_queue(session, org, at) -> Task:
    user = make_user(session, org)
    session.flush()
    rows = session.execute(
        queue_query(session, [org.id], user.id, paris_today(at), at, QueueFilters())
    ).all()
    return rows[0][0]


def test_a_bad_signature_is_refused_and_nothing_is_stored(app, client, session, day):
    seniors, _ = day
    params = _params(_sid(), seniors[2].phone_mobile)
    for path in (PATHS["voice_inbound"], PATHS["voice_inbound_dial"]):
        assert client.post(path, data=params).status_code == 403
        bad = client.post(path, data=params, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        assert bad.status_code == 403
    assert _count(session, Attempt) == 0 and _count(session, InboundCall) == 0


def test_a_senior_calling_back_hears_the_message_and_is_called_back_first(
    app, client, session, org, day
):
    seniors, tasks = day
    sid = _sid()
    resp = _post(client, app, "voice_inbound", _params(sid, seniors[2].phone_mobile), IN_HOURS)
    root = _twiml(resp)
    said = _said(root)
    assert "Bonjour, vous êtes bien chez Val Touraine Habitat." in said
    assert "une personne de l'équipe vous rappelle très vite" in said
    assert root.find("Hangup") is not None and root.find("Dial") is None
    _reset(session)
    attempt = session.scalar(select(Attempt).where(Attempt.direction == "inbound"))
    assert (attempt.senior_id, attempt.task_id, attempt.gateway_sid) == (
        seniors[2].id,
        tasks[2].id,
        sid,
    )
    assert attempt.channel == AttemptChannel.ivr
    assert attempt.outcome == Outcome.callback_requested and attempt.ended_at is not None
    task = session.get(Task, tasks[2].id)
    assert task.callback_at is not None and task.priority == lifecycle.CALLBACK_PRIORITY
    assert _first_in_queue(session, org, IN_HOURS).id == tasks[2].id
    assert _count(session, InboundCall) == 0

    # Twilio repeats the request: same words, nothing recorded twice.
    again = _post(client, app, "voice_inbound", _params(sid, seniors[2].phone_mobile), IN_HOURS)
    assert _said(_twiml(again)) == said
    assert _count(session, Attempt) == 1 and _count(session, InboundCall) == 0


def test_her_task_closed_this_morning_is_reopened_as_a_callback(app, client, session, day):
    seniors, tasks = day
    task = session.get(Task, tasks[0].id)
    lifecycle.close(session, task, TaskState.done, IN_HOURS, outcome=Outcome.reached_ok)
    session.commit()
    later = IN_HOURS + timedelta(hours=2)
    _post(client, app, "voice_inbound", _params(_sid(), seniors[0].phone_mobile), later)
    _reset(session)
    task = session.get(Task, tasks[0].id)
    assert task.state == TaskState.pending and task.channel == ChannelPolicy.staff
    assert task.callback_at is not None and task.outcome == Outcome.callback_requested


def test_in_office_hours_the_call_goes_through_to_the_on_duty_phone(app, client, session, org, day):
    seniors, tasks = day
    org.on_duty_phone = ON_DUTY
    session.commit()
    app.config["OUTREACH"]["inbound"]["forward_to_on_duty"] = True
    caller = seniors[1].phone_mobile

    sid = _sid()
    root = _twiml(_post(client, app, "voice_inbound", _params(sid, caller), IN_HOURS))
    assert "Nous vous mettons en relation" in _said(root)
    dial = root.find("Dial")
    assert dial is not None and dial.get("callerId") == OUR_NUMBER
    assert dial.findtext("Number") == ON_DUTY
    assert dial.get("action") == "http://127.0.0.1:5000" + PATHS["voice_inbound_dial"]
    assert _count(session, Attempt) == 0  # a person is on it: no callback yet

    # The on-duty phone answered: nothing more to do.
    answered = _params(sid, caller, DialCallStatus="completed")
    assert _twiml(_post(client, app, "voice_inbound_dial", answered, IN_HOURS)).find("Say") is None
    assert _count(session, Attempt) == 0

    # Nobody answered on another call: the callback, as after hours.
    sid = _sid()
    _post(client, app, "voice_inbound", _params(sid, caller), IN_HOURS)
    missed = _params(sid, caller, DialCallStatus="no-answer")
    for _ in range(2):  # a repeated action changes nothing twice
        root = _twiml(_post(client, app, "voice_inbound_dial", missed, IN_HOURS))
        assert "Personne n'est disponible" in _said(root)
    assert _count(session, Attempt) == 1
    assert session.get(Task, tasks[1].id).callback_at is not None

    # After office hours: no forwarding, the callback at once.
    root = _twiml(_post(client, app, "voice_inbound", _params(_sid(), caller), AFTER_HOURS))
    assert root.find("Dial") is None and "vous rappelle très vite" in _said(root)
    # Nor on a public holiday (14 July), even at 10:00.
    holiday = IN_HOURS - timedelta(days=1)
    root = _twiml(_post(client, app, "voice_inbound", _params(_sid(), caller), holiday))
    assert root.find("Dial") is None


def test_office_hours_are_checked_at_start():
    from outreach.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="inbound.office_hours"):
        load_config({"inbound": {"office_hours": {"lundi": [["09:00", "17:00"]]}}}, environ={})


def test_forwarding_is_off_by_default(app, client, session, org, day):
    seniors, _ = day
    org.on_duty_phone = ON_DUTY
    session.commit()
    root = _twiml(
        _post(client, app, "voice_inbound", _params(_sid(), seniors[0].phone_mobile), IN_HOURS)
    )
    assert root.find("Dial") is None and _count(session, Attempt) == 1


def test_an_unknown_caller_hears_a_message_and_goes_on_the_list(app, client, session, org, day):
    sid = _sid()
    for _ in range(2):  # the second is Twilio repeating itself
        root = _twiml(_post(client, app, "voice_inbound", _params(sid, STRANGER), IN_HOURS))
        said = _said(root)
        assert "vous êtes bien chez Val Touraine Habitat" in said and "rappelle" in said
    (call,) = session.scalars(select(InboundCall)).all()
    assert (call.organisation_id, call.senior_id, call.from_number, call.call_sid) == (
        org.id,
        None,
        STRANGER,
        sid,
    )
    assert call.received_at == IN_HOURS and call.handled_at is None
    assert _count(session, Attempt) == 0


def test_nul_bytes_are_dropped_before_anything_is_stored(app, client, session, org):
    sid = _sid()
    params = _params(sid[:10] + "\x00" + sid[10:], "+33655\x00554444")
    _twiml(_post(client, app, "voice_inbound", params, IN_HOURS))
    (call,) = session.scalars(select(InboundCall)).all()
    assert (call.call_sid, call.from_number) == (sid, STRANGER)


def test_one_number_in_two_organisations_the_number_dialled_decides(app, client, session, org):
    other = make_org(session, "tmh", "Tours Métropole Habitat")
    other.caller_id = "+33970000002"
    shared = "+33612340000"
    mine = make_senior(session, org, phone_mobile=shared)
    theirs = make_senior(session, other, phone_mobile=shared)
    session.commit()
    _post(client, app, "voice_inbound", _params(_sid(), shared, to="+33970000002"), IN_HOURS)
    _post(client, app, "voice_inbound", _params(_sid(), shared, to=OUR_NUMBER), IN_HOURS)
    # Neither has a task to call her back on: both go on their organisation's list.
    rows = session.execute(select(InboundCall.organisation_id, InboundCall.senior_id)).all()
    assert sorted(rows) == sorted([(other.id, theirs.id), (org.id, mine.id)])
    attempts = session.execute(select(Attempt.senior_id, Attempt.task_id)).all()
    assert sorted(attempts) == sorted([(theirs.id, None), (mine.id, None)])


def test_a_database_outage_plays_the_apology(app, client, session, org):
    from tests.test_outages import database_down

    with database_down(app):
        resp = _post(client, app, "voice_inbound", _params(_sid(), STRANGER), IN_HOURS)
    assert "incident technique" in _said(_twiml(resp))


def test_the_simulator_places_an_inbound_call(app, client, session, org, day):
    seniors, tasks = day
    org.on_duty_phone = ON_DUTY
    session.commit()
    app.config["OUTREACH"]["inbound"]["forward_to_on_duty"] = True
    base = app.config["OUTREACH"]["telephony"]["public_base_url"]
    token = credentials(app.config["OUTREACH"])[1]

    def deliver(url, params):
        signature = RequestValidator(token).compute_signature(url, params)
        resp = client.post(
            url.removeprefix(base), data=params, headers={"X-Twilio-Signature": signature}
        )
        return resp.status_code, resp.text

    sim = Simulator({"seed": 1}, "AC" + "0" * 32, token, base, deliver, lambda: IN_HOURS)
    sid = sim.place_inbound_call(seniors[0].phone_mobile, OUR_NUMBER, dial_status="busy")
    with time_machine.travel(IN_HOURS, tick=False):
        sim.run_due(IN_HOURS + timedelta(minutes=5))
    paths = [(w.url.removeprefix(base), w.status) for w in sim.webhooks]
    assert paths == [(PATHS["voice_inbound"], 200), (PATHS["voice_inbound_dial"], 200)]
    assert sim.webhooks[1].params["DialCallStatus"] == "busy"
    assert next(c for c in sim.calls if c["sid"] == sid)["status"] == "completed"
    _reset(session)
    attempt = session.scalar(select(Attempt).where(Attempt.gateway_sid == sid))
    assert attempt.task_id == tasks[0].id


def test_calls_received_are_erased_with_her_and_kept_twelve_months(app, session, org):
    senior = make_senior(session, org, phone_mobile="+33612349999")
    for sid, number, at, who in (
        ("CA-hers", "+33612349999", IN_HOURS, senior.id),
        ("CA-unknown-then", "+33612349999", IN_HOURS, None),
        ("CA-old", STRANGER, IN_HOURS - timedelta(days=400), None),
        ("CA-recent", STRANGER, IN_HOURS - timedelta(days=300), None),
    ):
        session.add(
            InboundCall(
                organisation_id=org.id,
                senior_id=who,
                from_number=number,
                call_sid=sid,
                received_at=at,
            )
        )
    session.commit()
    with app.app_context():
        settings = app.config["OUTREACH"]["retention"]
        counts = retention.apply(session, now=IN_HOURS, settings=settings)
        erasure.erase_senior(session, senior, reason="request", user_id=None, now=IN_HOURS)
        session.commit()
    assert counts["calls"] == 1
    assert session.scalars(select(InboundCall.call_sid)).all() == ["CA-recent"]


def test_the_record_of_processing_describes_calls_received():
    columns = {c.key for c in InboundCall.__table__.columns}
    assert columns - TECHNICAL == set(FIELDS[InboundCall])
    from outreach.config import load_config

    register = build_register(load_config(environ={}), "Bailleur", IN_HOURS.date())
    (category,) = [c for c in register.categories if "Appels reçus" in c.title]
    assert category.retention == "12 mois après l'appel"
    assert set(FIELDS[InboundCall].values()) == set(category.fields)
