"""The dispatcher: outbox before the request, rates, one call in flight per senior,
refusals respected at once, gateway failures retried and failed over without loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt
from outreach.campaigns.models import CampaignKind, ChannelPolicy, Task, TaskState
from outreach.notifications.models import Notification
from outreach.telephony.dispatch import Dispatcher, Pacer
from outreach.telephony.gateway import GatewayError
from outreach.telephony.models import GatewayHealth
from tests.factories import make_user
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated

pytestmark = pytest.mark.date_sensitive


def _run(session, app, gateway, clock, **config):
    cfg = {**app.config["OUTREACH"], "telephony": {**app.config["OUTREACH"]["telephony"], **config}}
    return Dispatcher(session, cfg, gateway, clock.now, clock.monotonic, clock.sleep).run()


def test_pacer_never_exceeds_the_rate():
    clock = FakeTime()
    pacer = Pacer(4, clock.monotonic, clock.sleep)
    stamps = []
    for _ in range(9):
        pacer.wait()
        stamps.append(clock.t)
    assert stamps == pytest.approx([i * 0.25 for i in range(9)])


def test_calls_and_sms_go_out_at_their_rates(app, session, org):
    make_automated(session, org, seniors=6)
    make_automated(session, org, seniors=4, channel=ChannelPolicy.sms)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    result = _run(session, app, gateway, clock, calls_per_second=2, sms_per_second=4)
    assert (result.calls, result.sms) == (6, 4)
    assert len(gateway.calls) == 6 and len(gateway.messages) == 4
    # Six calls at 2/s take 2.5 s after the first; the SMS pacer runs beside them.
    assert clock.t == pytest.approx(2.5)
    tasks = session.scalars(select(Task)).all()
    assert {t.state for t in tasks} == {TaskState.queued}
    attempts = session.scalars(select(Attempt)).all()
    assert len(attempts) == 10 and all(a.gateway_sid for a in attempts)
    assert {a.gateway_status for a in attempts} == {"queued"}
    # Every SMS names the landlord and says how to stop.
    assert all(
        "Val Touraine Habitat" in m["body"] and "STOP" in m["body"] for m in gateway.messages
    )
    # The webhook URLs carry the attempt id and use the public base URL.
    assert gateway.calls[0]["url"].startswith("http://127.0.0.1:5000/twilio/voice/answer?a=")


def test_the_attempt_is_committed_before_the_gateway_is_called(app, session, org):
    make_automated(session, org)
    session.commit()
    seen = []

    class Spy(FakeGateway):
        def place_call(self, to, url, status_callback, machine_detection=True):
            # Another connection sees the attempt already: it was committed first.
            with app.extensions["outreach.sessionmaker"]() as other:
                seen.append(other.scalar(select(Attempt.gateway_status)))
            return super().place_call(to, url, status_callback, machine_detection)

    _run(session, app, Spy(), FakeTime())
    assert seen == ["dispatching"]


def test_a_senior_never_has_two_calls_in_flight(app, session, org):
    _, seniors, _ = make_automated(session, org)
    # A second automated campaign the same day for the same senior.
    from outreach.campaigns.generation import generate_day
    from outreach.campaigns.operations import create_campaign, set_state
    from outreach.campaigns.schedule import paris_today
    from tests.telephony.conftest import ALWAYS_OPEN

    now = datetime.now(UTC)
    other = create_campaign(
        session,
        org.id,
        "Canicule",
        CampaignKind.canicule,
        channel_policy=ChannelPolicy.ivr,
        call_window=ALWAYS_OPEN,
        targeting={"residences": [seniors[0].residence]},
    )
    from outreach.campaigns.models import CampaignState

    set_state(session, other, CampaignState.active, now)
    generate_day(session, paris_today(now), now, campaign_ids=[other.id])
    session.commit()
    assert session.scalar(select(func.count(Task.id)).where(Task.senior_id == seniors[0].id)) == 2
    gateway = FakeGateway()
    _run(session, app, gateway, FakeTime())
    assert len(gateway.calls) == 1
    # The canicule task (priority 0) went first; the other waits for the call to end.
    first = session.scalar(select(Task).where(Task.state == TaskState.queued))
    assert first.campaign_id == other.id
    # And the database itself refuses a second open call for the senior.
    from sqlalchemy.exc import IntegrityError

    session.add(Attempt(organisation_id=org.id, senior_id=seniors[0].id, channel="ivr"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_a_refusal_since_generation_is_respected_at_once(app, session, org):
    _, seniors, tasks = make_automated(session, org, seniors=3, channel=ChannelPolicy.sms)
    now = datetime.now(UTC)
    seniors[0].opted_out_sms_at = now
    seniors[1].consent_sms = False
    seniors[2].paused_until = now.date() + timedelta(days=3)
    session.commit()
    gateway = FakeGateway()
    result = _run(session, app, gateway, FakeTime())
    assert gateway.messages == [] and result.cancelled == 3
    session.expire_all()
    assert sorted(session.get(Task, t.id).disposition for t in tasks) == [
        "no_consent",
        "opted_out",
        "paused",
    ]


def test_outside_the_call_window_nothing_is_sent(app, session, org):
    # Generation and dispatch both on an injected Tuesday, whatever day the suite runs: the
    # window opens that day (so it has its task), but only from 03:00 to 03:01.
    noon = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # a Tuesday noon in Paris
    make_automated(session, org, now=noon, call_window={"tue": [["03:00", "03:01"]]})
    session.commit()
    gateway = FakeGateway()
    _run(session, app, gateway, FakeTime(noon))
    assert gateway.calls == []
    # The same task goes out inside the window: only the window held it back.
    _run(session, app, gateway, FakeTime(datetime(2026, 11, 24, 2, 0, 30, tzinfo=UTC)))
    assert len(gateway.calls) == 1


def test_429_and_5xx_are_retried_with_backoff(app, session, org):
    make_automated(session, org)
    session.commit()
    gateway = FakeGateway(
        errors=[
            GatewayError("busy", status=429, retryable=True),
            GatewayError("down", status=503, retryable=True),
        ]
    )
    clock = FakeTime()
    result = _run(session, app, gateway, clock)
    assert result.calls == 1 and len(gateway.calls) == 1
    assert clock.sleeps[:2] == [0.5, 1.0]


def test_a_gateway_down_loses_nothing_and_fails_over_to_staff(app, session, org):
    manager = make_user(session, org, "manager")
    _, _, tasks = make_automated(session, org, seniors=2)
    session.commit()
    down = [GatewayError("down", status=503, retryable=True) for _ in range(30)]
    gateway = FakeGateway(errors=down)
    clock = FakeTime()
    result = _run(session, app, gateway, clock)
    assert result.gateway_down and result.calls == 0
    session.expire_all()
    # Nothing was placed: no attempt is left, the tasks wait with their tries intact.
    assert session.scalar(select(func.count(Attempt.id))) == 0
    assert {(t.state, t.attempts) for t in session.scalars(select(Task))} == {
        (TaskState.pending, 0)
    }
    # Still down 31 minutes later: the day's IVR tasks go to the staff queue, managers told.
    clock.t += 31 * 60
    result = _run(session, app, gateway, clock)
    assert result.failed_over == 2
    session.expire_all()
    assert {t.channel for t in session.scalars(select(Task))} == {ChannelPolicy.staff}
    notes = session.scalars(select(Notification)).all()
    assert [n.recipient for n in notes] == [manager.email]
    # Running again the same day neither moves nor notifies twice.
    clock.t += 60
    _run(session, app, gateway, clock)
    assert session.scalar(select(func.count(Notification.id))) == 1
    assert session.scalar(select(GatewayHealth.failover_on)) is not None


def test_a_timeout_after_sending_is_never_repeated(app, session, org):
    _, _, tasks = make_automated(session, org)
    session.commit()
    gateway = FakeGateway(errors=[GatewayError("no answer in time", ambiguous=True)])
    result = _run(session, app, gateway, FakeTime())
    assert result.calls == 0 and gateway.calls == []
    session.expire_all()
    attempt = session.scalar(select(Attempt))
    assert attempt.gateway_status == "unknown" and attempt.ended_at is not None
    task = session.get(Task, tasks[0].id)
    assert task.channel == ChannelPolicy.staff and task.disposition == "uncertain"
    # A second run does not call the senior again.
    _run(session, app, gateway, FakeTime())
    assert gateway.calls == []


def test_21610_on_send_records_the_opt_out(app, session, org):
    _, seniors, tasks = make_automated(session, org, channel=ChannelPolicy.sms)
    session.commit()
    gateway = FakeGateway(errors=[GatewayError("unsubscribed", code=21610, status=400)])
    _run(session, app, gateway, FakeTime())
    session.expire_all()
    assert session.get(type(seniors[0]), seniors[0].id).opted_out_sms_at is not None
    task = session.get(Task, tasks[0].id)
    assert task.state == TaskState.cancelled and task.disposition == "opted_out"


def test_stale_calls_are_looked_up_by_sid(app, session, org):
    from outreach.telephony.gateway import RemoteStatus

    _, _, tasks = make_automated(session, org)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    _run(session, app, gateway, clock)
    sid = gateway.calls[0]["sid"]
    gateway.remote[sid] = RemoteStatus(sid, "no-answer", duration=0)
    clock.t += 25 * 60  # past stale_call_minutes: the callbacks were lost
    _run(session, app, gateway, clock)
    session.expire_all()
    attempt = session.scalar(select(Attempt).where(Attempt.gateway_sid == sid))
    assert attempt.gateway_status == "no-answer" and attempt.disposition == "no_answer"
    assert session.get(Task, tasks[0].id).state == TaskState.pending


def test_a_call_the_gateway_no_longer_knows_goes_to_a_person(app, session, org):
    _, _, tasks = make_automated(session, org)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    _run(session, app, gateway, clock)

    class Forgetful(FakeGateway):
        def fetch_call(self, sid):
            raise GatewayError("not found", code=20404, status=404)

    clock.t += 25 * 60
    result = _run(session, app, Forgetful(), clock)
    assert result.reconciled == 1
    session.expire_all()
    attempt = session.scalar(select(Attempt))
    assert attempt.gateway_status == "unknown" and attempt.ended_at is not None
    assert session.get(Task, tasks[0].id).channel == ChannelPolicy.staff


def test_both_channels_keep_their_rate_when_tasks_come_grouped(app, session, org):
    """One campaign's calls all before another's SMS: the SMS do not wait for the calls."""
    from outreach.telephony import dispatch as dispatch_module

    make_automated(session, org, seniors=6)
    make_automated(session, org, seniors=6, channel=ChannelPolicy.sms)
    session.commit()
    gateway, clock = FakeGateway(), FakeTime()
    sent = []
    gateway.place_call = _stamp(gateway.place_call, clock, sent, "call")
    gateway.send_sms = _stamp(gateway.send_sms, clock, sent, "sms")
    original = dispatch_module.BATCH
    dispatch_module.BATCH = 4  # several reads per channel
    try:
        _run(session, app, gateway, clock, calls_per_second=1, sms_per_second=2)
    finally:
        dispatch_module.BATCH = original
    sms_times = [t for kind, t in sent if kind == "sms"]
    call_times = [t for kind, t in sent if kind == "call"]
    # Six SMS at 2/s are done by 2.5 s while the calls go on at 1/s, 0 to 5 s.
    assert sms_times == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert call_times == pytest.approx([0, 1, 2, 3, 4, 5])


def _stamp(method, clock, sent, kind):
    def wrapped(*args, **kwargs):
        sent.append((kind, clock.t))
        return method(*args, **kwargs)

    return wrapped
