"""Status callbacks arrive duplicated and out of order: the end state must not care.

Hypothesis shuffles and duplicates real Twilio callback sequences (each posted, signed,
through the webhook) and checks that the attempt and its task end exactly as when the same
callbacks arrive once, in order.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from outreach.calls.models import Attempt
from outreach.campaigns.models import ChannelPolicy, Task
from outreach.telephony.dispatch import Dispatcher
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated, signed_post

pytestmark = pytest.mark.date_sensitive

CALL_SEQUENCES = {
    "no-answer": [("initiated", {}), ("ringing", {}), ("no-answer", {"CallDuration": "0"})],
    "busy": [("initiated", {}), ("ringing", {}), ("busy", {"CallDuration": "0"})],
    "failed": [("initiated", {}), ("failed", {})],
    "machine": [
        ("initiated", {}),
        ("ringing", {}),
        ("in-progress", {"AnsweredBy": "machine_start"}),
        ("completed", {"CallDuration": "9", "AnsweredBy": "machine_start"}),
    ],
    "silent-human": [
        ("initiated", {}),
        ("ringing", {}),
        ("in-progress", {"AnsweredBy": "human"}),
        ("completed", {"CallDuration": "41", "AnsweredBy": "human"}),
    ],
}
SMS_SEQUENCES = {
    "delivered": [("queued", {}), ("sent", {}), ("delivered", {})],
    "undelivered": [("queued", {}), ("sent", {}), ("undelivered", {"ErrorCode": "30006"})],
}


def _deliveries(draw, sequence):
    """The sequence with some callbacks repeated, all in a random order."""
    extra = draw(st.lists(st.sampled_from(range(len(sequence))), max_size=len(sequence) + 2))
    events = list(range(len(sequence))) + extra
    return draw(st.permutations(events))


@st.composite
def scenario(draw):
    channel = draw(st.sampled_from(["ivr", "sms"]))
    table = CALL_SEQUENCES if channel == "ivr" else SMS_SEQUENCES
    name = draw(st.sampled_from(sorted(table)))
    return channel, name, _deliveries(draw, table[name])


def _post(client, app, attempt, channel, status, extra, seq):
    if channel == "ivr":
        params = {
            "CallSid": attempt.gateway_sid,
            "AccountSid": "AC00000000000000000000000000000000",
            "From": "+33999000000",
            "To": "+33600000001",
            "CallStatus": status,
            "ApiVersion": "2010-04-01",
            "Direction": "outbound-api",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(seq),
            **extra,
        }
        return signed_post(client, app, "voice_status", params, a=attempt.id)
    params = {
        "MessageSid": attempt.gateway_sid,
        "SmsSid": attempt.gateway_sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "OUTREACH",
        "To": "+33600000001",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return signed_post(client, app, "sms_status", params, a=attempt.id)


def _state(session, attempt_id):
    session.expire_all()
    a = session.get(Attempt, attempt_id)
    t = session.get(Task, a.task_id)
    return (
        a.gateway_status,
        a.disposition,
        a.duration_seconds,
        a.answered_by,
        a.error_code,
        a.ended_at is not None,
        t.state,
        t.channel,
        t.attempts,
        t.disposition,
        t.not_before is not None,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
def test_shuffled_and_repeated_callbacks_end_as_in_order(app, client, session, org, case):
    channel, name, order = case
    sequence = (CALL_SEQUENCES if channel == "ivr" else SMS_SEQUENCES)[name]
    policy = ChannelPolicy.ivr_then_staff if channel == "ivr" else ChannelPolicy.sms
    _, _, tasks = make_automated(session, org, channel=policy, seniors=2)
    session.commit()
    clock = FakeTime()
    Dispatcher(
        session, app.config["OUTREACH"], FakeGateway(), clock.now, clock.monotonic, clock.sleep
    ).run()
    in_order, shuffled = (
        session.scalar(select(Attempt).where(Attempt.task_id == t.id)) for t in tasks
    )
    for seq, (status, extra) in enumerate(sequence):
        assert _post(client, app, in_order, channel, status, extra, seq).status_code == 204
    for i in order:
        status, extra = sequence[i]
        assert _post(client, app, shuffled, channel, status, extra, i).status_code == 204
    assert _state(session, shuffled.id) == _state(session, in_order.id)
