"""Every number before the retry delay: which of her numbers an automated call dials."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.roster.models import Channel
from outreach.telephony import numbers
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import GatewayError
from outreach.timezone import PARIS
from tests.factories import make_senior
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated, signed_post

pytestmark = pytest.mark.date_sensitive

MOBILE, LANDLINE = "+33611223344", "+33247000001"


def _attempt(session, org, senior, phone, *, outcome=None, error=None, minutes=0, clock=None):
    at = (clock or FakeTime()).now() + timedelta(minutes=minutes)
    session.add(
        Attempt(
            organisation_id=org.id,
            senior_id=senior.id,
            channel=AttemptChannel.ivr,
            started_at=at,
            ended_at=at,
            phone=phone,
            outcome=outcome,
            error_code=error,
        )
    )
    session.flush()


def test_the_order_is_the_preferred_number_then_the_other(session, org):
    senior = make_senior(session, org, phone_mobile=MOBILE, phone_landline=LANDLINE)
    assert numbers.call_order(session, senior) == [LANDLINE, MOBILE]
    senior.preferred_channel = Channel.sms
    assert numbers.call_order(session, senior) == [MOBILE, LANDLINE]
    only = make_senior(session, org, phone_mobile=MOBILE, phone_landline=None)
    assert numbers.call_order(session, only) == [MOBILE]


def test_the_number_she_was_last_reached_on_comes_first(session, org):
    senior = make_senior(session, org, phone_mobile=MOBILE, phone_landline=LANDLINE)
    clock = FakeTime()
    _attempt(session, org, senior, MOBILE, outcome=Outcome.reached_ok, clock=clock)
    _attempt(session, org, senior, LANDLINE, outcome=Outcome.unreached, minutes=5, clock=clock)
    assert numbers.call_order(session, senior) == [MOBILE, LANDLINE]


def test_a_wrong_number_is_skipped_until_she_is_reached_on_it(session, org):
    senior = make_senior(session, org, phone_mobile=MOBILE, phone_landline=LANDLINE)
    clock = FakeTime()
    _attempt(session, org, senior, LANDLINE, outcome=Outcome.wrong_number, clock=clock)
    assert numbers.call_order(session, senior) == [MOBILE]
    # A gateway "invalid number" error flags it too.
    _attempt(session, org, senior, MOBILE, error=21211, minutes=1, clock=clock)
    assert numbers.call_order(session, senior) == []
    _attempt(session, org, senior, LANDLINE, outcome=Outcome.reached_ok, minutes=2, clock=clock)
    assert numbers.call_order(session, senior) == [LANDLINE]


def _two_numbers(session, org, **fields):
    campaign, seniors, tasks = make_automated(
        session, org, channel=ChannelPolicy.ivr, max_attempts_per_day=2, max_attempts=3, **fields
    )
    senior = seniors[0]
    senior.phone_landline = LANDLINE
    senior.phone_mobile = MOBILE
    session.commit()
    return campaign, senior, tasks[0]


def _run(session, app, gateway, clock):
    Dispatcher(
        session, app.config["OUTREACH"], gateway, clock.now, clock.monotonic, clock.sleep
    ).run()


def _no_answer(client, app, session, gateway):
    call = gateway.calls[-1]
    attempt_id = call["url"].split("a=")[1].split("&")[0]
    params = {
        "CallSid": call["sid"],
        "AccountSid": "AC00000000000000000000000000000000",
        "CallStatus": "no-answer",
        "From": "+33999000000",
        "To": call["to"],
    }
    assert signed_post(client, app, "voice_status", params, a=attempt_id).status_code == 204
    session.expire_all()


def test_unreached_she_is_called_at_once_on_her_other_number_then_after_the_delay(
    app, client, session, org
):
    campaign, senior, task = _two_numbers(session, org)
    gateway, clock = FakeGateway(), FakeTime()
    _run(session, app, gateway, clock)
    assert [c["to"] for c in gateway.calls] == [LANDLINE]
    _no_answer(client, app, session, gateway)
    task = session.get(Task, task.id)
    # Her mobile at once: no retry delay, and no try used.
    assert task.state == TaskState.pending and task.not_before is None and task.attempts == 0
    _run(session, app, gateway, clock)
    assert [c["to"] for c in gateway.calls] == [LANDLINE, MOBILE]
    _no_answer(client, app, session, gateway)
    task = session.get(Task, task.id)
    # Both numbers tried: one try, and the campaign's delay.
    assert task.state == TaskState.pending and task.attempts == 1
    assert task.not_before is not None and task.not_before > clock.now() + timedelta(minutes=20)
    _run(session, app, gateway, clock)
    assert len(gateway.calls) == 2  # not before the delay
    # The number used is recorded on each attempt.
    phones = session.scalars(select(Attempt.phone).order_by(Attempt.id)).all()
    assert phones == [LANDLINE, MOBILE]


def test_a_day_holds_max_attempts_per_day_rounds(app, client, session, org):
    _, senior, task = _two_numbers(session, org)
    gateway = FakeGateway()
    clock = FakeTime()
    for i in range(4):
        _run(session, app, gateway, clock)
        _no_answer(client, app, session, gateway)
        waiting = session.get(Task, task.id)
        if i == 1:
            # As if the retry delay had passed (the clock stays within the day).
            waiting.not_before = clock.now() - timedelta(seconds=1)
            session.commit()
    assert [c["to"] for c in gateway.calls] == [LANDLINE, MOBILE, LANDLINE, MOBILE]
    task = session.get(Task, task.id)
    assert task.attempts == 2
    # Two rounds: tomorrow, not a fifth call today (a courtesy task waits for tomorrow).
    tomorrow = clock.now().astimezone(PARIS).date() + timedelta(days=1)
    assert task.not_before == datetime.combine(tomorrow, time(0), PARIS)


def test_an_invalid_number_at_the_gateway_is_skipped_at_once(app, client, session, org):
    _, senior, task = _two_numbers(session, org)
    gateway = FakeGateway(errors=[GatewayError("invalid", code=21211, status=400)])
    clock = FakeTime()
    _run(session, app, gateway, clock)
    # Her mobile in the same run, still by automated call (not handed to the staff).
    assert [c["to"] for c in gateway.calls] == [MOBILE]
    session.expire_all()
    assert session.get(Task, task.id).channel == ChannelPolicy.ivr
    refused = session.scalars(select(Attempt).order_by(Attempt.id)).first()
    assert (refused.phone, refused.error_code) == (LANDLINE, 21211)
    # And the next calls skip the landline: it is flagged wrong.
    assert numbers.call_order(session, session.get(type(senior), senior.id)) == [MOBILE]
