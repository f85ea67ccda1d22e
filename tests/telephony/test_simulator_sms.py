"""The simulator's messages on a fake clock, opt-outs, and seeded replays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from outreach.telephony.simulator import TwilioError
from outreach.telephony.simulator.resources import num_segments
from tests.telephony.test_simulator import (
    BASE,
    SENIOR,
    SID,
    FakeApp,
    FakeClock,
    call_params,
    ivr_routes,
    make_sim,
    run_all,
)

SENDER = "+33999000001"
LANDLINE = "+33247123456"
SMS_STATUS = f"{BASE}/twilio/sms/status?a=9"


def sms_params(**extra: Any) -> dict[str, Any]:
    params = {"To": SENIOR, "From": SENDER, "Body": "Bonjour Madame", "StatusCallback": SMS_STATUS}
    return params | extra


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hooks() -> FakeApp:
    return FakeApp()


def test_delivered_message_then_reply(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock, reply_seconds=60)
    sim.script_number(SENIOR, reply="AIDE")
    message = sim.create_message(sms_params())
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert (message["status"], message["num_segments"], message["body"]) == (
        "queued",
        "1",
        "Bonjour Madame",
    )
    run_all(sim, clock)

    assert hooks.refused == []
    assert [(url, p.get("MessageStatus")) for url, p in hooks.received] == [
        (SMS_STATUS, "sent"),
        (SMS_STATUS, "delivered"),
        (f"{BASE}/twilio/sms/inbound", None),
    ]
    for _, params in hooks.received[:2]:
        assert params["MessageSid"] == params["SmsSid"] == message["sid"]
        assert params["SmsStatus"] == params["MessageStatus"]
        assert (params["AccountSid"], params["From"], params["To"]) == (SID, SENDER, SENIOR)
        assert params["ApiVersion"] == "2010-04-01"
    inbound = hooks.received[2][1]
    assert inbound["MessageSid"].startswith("SM") and inbound["MessageSid"] != message["sid"]
    assert inbound["SmsMessageSid"] == inbound["SmsSid"] == inbound["MessageSid"]
    assert (inbound["From"], inbound["To"], inbound["Body"]) == (SENIOR, SENDER, "AIDE")
    assert (inbound["NumMedia"], inbound["NumSegments"], inbound["AccountSid"]) == ("0", "1", SID)
    delivered_at, replied_at = sim.webhooks[1].at, sim.webhooks[2].at
    assert replied_at - delivered_at == timedelta(seconds=60)
    fetched = sim.fetch_message(message["sid"])
    assert fetched["status"] == "delivered" and fetched["date_sent"] is not None
    assert fetched["error_code"] is None


def test_a_landline_gets_nothing_and_never_replies(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(LANDLINE, reply="OK")
    message = sim.create_message(sms_params(To=LANDLINE))
    run_all(sim, clock)

    assert [p["MessageStatus"] for _, p in hooks.received] == ["sent", "undelivered"]
    assert hooks.received[1][1]["ErrorCode"] == "30006"
    fetched = sim.fetch_message(message["sid"])
    assert (fetched["status"], fetched["error_code"]) == ("undelivered", 30006)


def test_no_reply_when_the_senior_says_nothing(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock, reply_weights={"OK": 1, "none": 0})
    sim.script_number(SENIOR, reply="none")
    sim.create_message(sms_params(StatusCallback=""))
    run_all(sim, clock)

    assert hooks.received == []  # no status callback asked, no reply
    assert sim.messages[0]["status"] == "delivered"


@pytest.mark.parametrize("stop", ["STOP", "Arret", " stop "])
def test_stop_refuses_the_next_message_until_start(
    hooks: FakeApp, clock: FakeClock, stop: str
) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, reply=stop)
    sim.create_message(sms_params())
    run_all(sim, clock)
    assert SENIOR in sim.unsubscribed

    with pytest.raises(TwilioError) as refused:
        sim.create_message(sms_params(Body="Encore"))
    assert refused.value.status == 400
    assert refused.value.body() == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    # Other numbers are not affected; START from the senior lifts the opt-out.
    sim.script_number("+33698765432", reply="none")
    sim.create_message(sms_params(To="+33698765432"))
    sim.send_inbound(SENIOR, SENDER, "START")
    run_all(sim, clock)
    inbound = [p for url, p in hooks.received if url.endswith("/twilio/sms/inbound")]
    assert [p["Body"] for p in inbound] == [stop, "START"]
    assert sim.create_message(sms_params(Body="Encore"))["status"] == "queued"


def test_a_reply_other_than_stop_does_not_unsubscribe(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, reply="Merci, STOP les appels le dimanche")
    sim.create_message(sms_params())
    run_all(sim, clock)
    assert sim.unsubscribed == frozenset()


@pytest.mark.parametrize(
    ("params", "code"),
    [({"To": "0612"}, 21211), ({"To": ""}, 21604), ({"From": ""}, 21603), ({"Body": ""}, 21602)],
)
def test_invalid_messages_are_refused(
    hooks: FakeApp, clock: FakeClock, params: dict[str, str], code: int
) -> None:
    sim = make_sim(hooks, clock)
    with pytest.raises(TwilioError) as refused:
        sim.create_message(sms_params(**params))
    assert (refused.value.status, refused.value.code) == (400, code)
    assert sim.messages == []


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("Bonjour, à demain é è ù", 1),  # GSM-7 has these accents
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("Fenêtre" + "a" * 63, 1),  # ê: UCS-2, 70 a segment
        ("Fenêtre" + "a" * 64, 2),
        ("{" * 80, 1),  # extended GSM-7 characters count twice
        ("{" * 81, 2),
    ],
)
def test_segments(body: str, segments: int) -> None:
    assert num_segments(body) == segments


def _scenario(seed: int) -> list[tuple[Any, ...]]:
    """Thirty calls and ten messages with the default weights; what the app received,
    without SIDs (fresh in every run by design) and with the time of each event."""
    clock = FakeClock()
    hooks = FakeApp(ivr_routes())
    sim = make_sim(hooks, clock, seed=seed)
    for i in range(30):
        sim.create_call(call_params(To=f"+336120000{i:02d}"))
        clock.now += timedelta(seconds=1)
    for i in range(10):
        sim.create_message(sms_params(To=f"+337510000{i:02d}"))
    run_all(sim, clock)
    assert hooks.refused == []
    return [
        (
            w.at,
            urlsplit(w.url).path,
            w.params["To"],
            w.params.get("CallStatus") or w.params.get("MessageStatus"),
            w.params.get("AnsweredBy"),
            w.params.get("Digits"),
            w.params.get("Body"),
        )
        for w in sim.webhooks
    ]


def test_a_seeded_run_replays_identically() -> None:
    first = _scenario(seed=42)
    assert first == _scenario(seed=42)
    assert first != _scenario(seed=43)
    # The weights were really used: several outcomes happened.
    outcomes = {(row[3], row[4]) for row in first if row[1] == "/twilio/voice/status"}
    assert len(outcomes) >= 3
