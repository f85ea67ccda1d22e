"""The demo path end to end: the dispatcher's production Twilio code talks to the simulator
over HTTP, and the simulator calls the app's webhooks back, signed, over HTTP too."""

from __future__ import annotations

import time

from sqlalchemy import select

from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.roster.models import Senior
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import make_gateway
from outreach.telephony.simulator.server import start_for_app
from tests.conftest import login
from tests.factories import make_user
from tests.telephony.conftest import make_automated, process_inbox


def _settle(app, session, done, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process_inbox(app)  # the scheduler's process-webhooks job
        session.expire_all()
        if done():
            return
        time.sleep(0.2)
    raise AssertionError("the simulator did not finish in time")


def test_ivr_and_sms_campaigns_complete_through_the_simulator(app, session, org, live_server):
    config = app.config["OUTREACH"]
    config["telephony"]["public_base_url"] = live_server
    config["telephony"]["calls_per_second"] = 20
    config["telephony"]["sms_per_second"] = 20
    config["simulator"].update(
        port=0,
        seed=7,
        ring_seconds=0,
        talk_seconds=0,
        reply_seconds=0,
        answer_weights={"human": 1},
        digit_weights={"1": 1},
        reply_weights={"OK": 1},
    )
    _, callers, call_tasks = make_automated(session, org, seniors=3)
    _, texted, sms_tasks = make_automated(session, org, seniors=2, channel=ChannelPolicy.sms)
    session.commit()
    server = start_for_app(app)
    try:
        sim = server.simulator
        sim.script_number(callers[1].phone_mobile, answer="human", digits=["2"])
        sim.script_number(callers[2].phone_mobile, answer="no-answer")
        sim.script_number(texted[1].phone_mobile, reply="AIDE")
        result = Dispatcher(session, config, make_gateway(config)).run(max_seconds=20)
        assert (result.calls, result.sms) == (3, 2)
        tasks = [t.id for t in call_tasks + sms_tasks]

        def settled() -> bool:
            states = [session.get(Task, t) for t in tasks]
            replies = session.scalars(select(Attempt).where(Attempt.direction == "inbound")).all()
            return all(s.state != TaskState.queued for s in states) and len(replies) == 2

        _settle(app, session, settled)
    finally:
        server.stop()

    ok, callback, unanswered = (session.get(Task, t.id) for t in call_tasks)
    assert ok.state == TaskState.done and ok.outcome == Outcome.reached_ok
    assert callback.channel == ChannelPolicy.staff and callback.callback_at is not None
    assert callback.outcome == Outcome.callback_requested
    assert unanswered.state == TaskState.pending and unanswered.channel == ChannelPolicy.ivr
    replied_ok, asked_help = (session.get(Task, t.id) for t in sms_tasks)
    assert replied_ok.state == TaskState.done and replied_ok.outcome == Outcome.reached_ok
    assert asked_help.channel == ChannelPolicy.staff and asked_help.state == TaskState.pending
    assert asked_help.outcome == Outcome.help_requested and asked_help.priority == 0

    # The outcomes are on the senior pages.
    worker = make_user(session, org, "social_worker")
    session.commit()
    client = app.test_client()
    login(client, worker.email)
    page = client.get(f"/seniors/{callers[0].id}").text
    assert "Appel automatique" in page and "a appuyé sur 1" in page
    page = client.get(f"/seniors/{texted[0].id}").text
    assert "SMS reçu" in page and "« OK »" in page
    assert session.get(Senior, texted[0].id).opted_out_sms_at is None
