"""The simulator's calls on a fake clock: Twilio's order, formats and signatures.

Webhooks go through the real ``WebhookDeliverer`` into ``FakeApp``, which checks every
signature with twilio's ``RequestValidator`` as outreach does, and answers with TwiML built
like outreach's (twilio's ``VoiceResponse``: a ``<Gather>`` menu, then a ``<Redirect>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

from outreach.telephony.simulator import Simulator, WebhookDeliverer

SID = "AC" + "1" * 32
TOKEN = "test-simulator-token"
BASE = "https://outreach.example.org"
ANSWER_URL = f"{BASE}/twilio/voice/answer?a=7"
STATUS_URL = f"{BASE}/twilio/voice/status?a=7"
SENIOR = "+33612345678"
CALLER = "+33999000000"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Response:
    status_code: int
    text: str


Route = Callable[[dict[str, str], dict[str, str]], str | tuple[int, str]]


@dataclass
class FakeApp:
    """outreach's side, reached through ``WebhookDeliverer``'s session: refuses a bad
    signature with 403, records the rest and answers by path (query, form) -> TwiML."""

    routes: dict[str, Route] = field(default_factory=dict)
    token: str = TOKEN
    received: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def post(self, url: str, *, data: dict[str, str], headers: dict[str, str], timeout: float):
        signature = headers["X-Twilio-Signature"]
        if not RequestValidator(self.token).validate(url, data, signature):
            self.refused.append(url)
            return _Response(403, "")
        self.received.append((url, dict(data)))
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = self.routes.get(parts.path)
        answer = route(query, data) if route else (204, "")
        return _Response(*answer) if isinstance(answer, tuple) else _Response(200, answer)

    def paths(self) -> list[str]:
        return [urlsplit(url).path for url, _ in self.received]


def ivr_routes() -> dict[str, Route]:
    """The menu as outreach plays it: one key, nothing pressed → once more, then goodbye."""

    def menu(round_: int) -> str:
        url = f"{BASE}/twilio/voice/gather?a=7&round={round_}"
        response = VoiceResponse()
        gather = Gather(input="dtmf", num_digits=1, timeout=6, action=url, method="POST")
        gather.say("Bonjour, tapez 1 si tout va bien.", language="fr-FR")
        response.append(gather)
        response.redirect(url, method="POST")
        return str(response)

    def goodbye() -> str:
        response = VoiceResponse()
        response.say("Au revoir.", language="fr-FR")
        response.hangup()
        return str(response)

    def answer(query: dict[str, str], form: dict[str, str]) -> str:
        if form.get("AnsweredBy", "human") != "human":
            return goodbye()
        return menu(1)

    def gather(query: dict[str, str], form: dict[str, str]) -> str:
        if form.get("Digits") or query["round"] == "2":
            return goodbye()
        return menu(2)

    return {"/twilio/voice/answer": answer, "/twilio/voice/gather": gather}


def make_sim(hooks: FakeApp, clock: FakeClock, **settings: Any) -> Simulator:
    deliver = WebhookDeliverer(TOKEN, session=hooks)
    return Simulator({"seed": 1, **settings}, SID, TOKEN, BASE, deliver, clock)


def run_all(sim: Simulator, clock: FakeClock) -> None:
    """Move the fake clock from event to event until nothing is pending."""
    for _ in range(1000):
        due = sim.next_due()
        if due is None:
            return
        clock.now = max(clock.now, due)
        sim.run_due()
    raise AssertionError("the simulation does not end")


def call_params(**extra: Any) -> dict[str, Any]:
    return {
        "To": SENIOR,
        "From": CALLER,
        "Url": ANSWER_URL,
        "Method": "POST",
        "StatusCallback": STATUS_URL,
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": ALL_EVENTS,
        "MachineDetection": "Enable",
    } | extra


def summary(hooks: FakeApp) -> list[tuple[str, str, str | None]]:
    """(path, CallStatus, SequenceNumber or Digits) of each webhook received."""
    return [
        (urlsplit(url).path, p["CallStatus"], p.get("SequenceNumber", p.get("Digits")))
        for url, p in hooks.received
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hooks() -> FakeApp:
    return FakeApp(ivr_routes())


def test_answered_call_follows_twilios_order(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human", digits=["1"])
    call = sim.create_call(call_params())
    assert call["sid"].startswith("CA") and len(call["sid"]) == 34
    assert call["status"] == "queued"
    assert (call["to"], call["from"], call["direction"]) == (SENIOR, CALLER, "outbound-api")
    assert call["date_created"] == "Mon, 03 Jun 2024 08:00:00 +0000"

    assert sim.run_due() == 1
    assert sim.fetch_call(call["sid"])["status"] == "initiated"
    run_all(sim, clock)

    assert hooks.refused == []
    assert summary(hooks) == [
        ("/twilio/voice/status", "initiated", "0"),
        ("/twilio/voice/status", "ringing", "1"),
        ("/twilio/voice/answer", "in-progress", None),
        ("/twilio/voice/status", "in-progress", "2"),
        ("/twilio/voice/gather", "in-progress", "1"),
        ("/twilio/voice/status", "completed", "3"),
    ]
    answer_url, answer = hooks.received[2]
    assert answer_url == ANSWER_URL
    assert answer["AnsweredBy"] == "human"
    assert "CallbackSource" not in answer
    for _, params in hooks.received:
        assert params["CallSid"] == call["sid"]
        assert params["AccountSid"] == SID
        assert (params["From"], params["To"]) == (CALLER, SENIOR)
        assert params["ApiVersion"] == "2010-04-01"
        assert params["Direction"] == "outbound-api"
    gather_url, _ = hooks.received[4]
    assert parse_qs(urlsplit(gather_url).query) == {"a": ["7"], "round": ["1"]}
    # Answered at 08:00:03 after 2 s of ringing; prompt (4 s), key, goodbye (4 s).
    final = hooks.received[5][1]
    assert final["CallbackSource"] == "call-progress-events"
    assert final["CallDuration"] == "9"
    assert final["Duration"] == "1"
    assert final["AnsweredBy"] == "human"
    assert final["Timestamp"] == "Mon, 03 Jun 2024 08:00:12 +0000"
    fetched = sim.fetch_call(call["sid"])
    assert (fetched["status"], fetched["duration"], fetched["answered_by"]) == (
        "completed",
        "9",
        "human",
    )
    assert fetched["start_time"] == "Mon, 03 Jun 2024 08:00:03 +0000"


def test_nothing_pressed_then_a_key_on_the_repeated_menu(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human", digits=["none", "2"])
    sim.create_call(call_params())
    run_all(sim, clock)

    requests = [(url, p.get("Digits")) for url, p in hooks.received if "status" not in url]
    assert requests == [
        (ANSWER_URL, None),
        (f"{BASE}/twilio/voice/gather?a=7&round=1", None),  # the <Redirect>: no Digits
        (f"{BASE}/twilio/voice/gather?a=7&round=2", "2"),
    ]
    assert sim.calls[0]["status"] == "completed"


def test_gather_action_is_resolved_against_the_document_url(clock: FakeClock) -> None:
    def answer(query: dict[str, str], form: dict[str, str]) -> str:
        return '<Response><Gather action="gather?round=1"><Say>Menu</Say></Gather></Response>'

    hooks = FakeApp({"/twilio/voice/answer": answer})
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human", digits=["3"])
    sim.create_call(call_params())
    run_all(sim, clock)

    assert (f"{BASE}/twilio/voice/gather?round=1", "3") in [
        (url, p.get("Digits")) for url, p in hooks.received
    ]


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_unanswered_calls_end_with_their_status(
    hooks: FakeApp, clock: FakeClock, outcome: str
) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer=outcome)
    call = sim.create_call(call_params())
    run_all(sim, clock)

    expected = ["initiated"] + (["ringing"] if outcome != "failed" else []) + [outcome]
    assert [p["CallStatus"] for _, p in hooks.received] == expected
    assert set(hooks.paths()) == {"/twilio/voice/status"}
    final = hooks.received[-1][1]
    assert final["CallDuration"] == "0"
    assert "AnsweredBy" not in final
    fetched = sim.fetch_call(call["sid"])
    assert (fetched["status"], fetched["duration"]) == (outcome, "0")


@pytest.mark.parametrize(("outcome", "answered_by"), [("machine", "machine_start"), ("fax", "fax")])
def test_machines_are_reported_and_never_press(
    clock: FakeClock, outcome: str, answered_by: str
) -> None:
    # A document that keeps asking, and weights where any human would press 1.
    def answer(query: dict[str, str], form: dict[str, str]) -> str:
        return '<Response><Gather action="/g"><Say>Menu</Say></Gather><Say>Bye</Say></Response>'

    hooks = FakeApp({"/twilio/voice/answer": answer})
    sim = make_sim(hooks, clock, digit_weights={"1": 1})
    sim.script_number(SENIOR, answer=outcome)
    sim.create_call(call_params())
    run_all(sim, clock)

    assert hooks.paths().count("/twilio/voice/answer") == 1
    assert "/g" not in hooks.paths()
    answered = [p for _, p in hooks.received if p["CallStatus"] in ("in-progress", "completed")]
    assert len(answered) == 3  # the TwiML request, "answered", "completed"
    assert {p["AnsweredBy"] for p in answered} == {answered_by}
    assert sim.calls[0]["answered_by"] == answered_by


def test_answered_by_only_with_machine_detection(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="machine")
    sim.create_call(call_params(MachineDetection=""))
    run_all(sim, clock)

    assert all("AnsweredBy" not in p for _, p in hooks.received)
    assert sim.calls[0]["answered_by"] is None


@pytest.mark.parametrize("events", [["completed"], None, "ringing completed"])
def test_only_the_asked_events_are_sent(
    hooks: FakeApp, clock: FakeClock, events: list[str] | str | None
) -> None:
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human", digits=["1"])
    sim.create_call(call_params(StatusCallbackEvent=events))
    run_all(sim, clock)

    statuses = [
        (p["CallStatus"], p["SequenceNumber"]) for url, p in hooks.received if "/status" in url
    ]
    if events == "ringing completed":
        assert statuses == [("ringing", "0"), ("completed", "1")]
    else:
        assert statuses == [("completed", "0")]


def test_a_redirect_loop_is_cut_after_ten_requests(clock: FakeClock) -> None:
    def again(query: dict[str, str], form: dict[str, str]) -> str:
        return f"<Response><Redirect>{BASE}/twilio/voice/answer?again=1</Redirect></Response>"

    hooks = FakeApp({"/twilio/voice/answer": again})
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human")
    sim.create_call(call_params())
    run_all(sim, clock)

    assert hooks.paths().count("/twilio/voice/answer") == 10
    assert hooks.received[-1][1]["CallStatus"] == "completed"


@pytest.mark.parametrize("reply", [(500, "oops"), (200, "not xml"), (200, "<html/>")])
def test_an_unusable_answer_ends_the_call(clock: FakeClock, reply: tuple[int, str]) -> None:
    hooks = FakeApp({"/twilio/voice/answer": lambda q, f: reply})
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human")
    call = sim.create_call(call_params())
    run_all(sim, clock)

    assert hooks.paths()[-2:] == ["/twilio/voice/status", "/twilio/voice/status"]
    assert hooks.received[-1][1]["CallStatus"] == "completed"
    assert sim.fetch_call(call["sid"])["duration"] == "0"


def test_signatures_are_made_with_the_auth_token(clock: FakeClock) -> None:
    # An application holding another token refuses everything: the call cannot go on.
    hooks = FakeApp(ivr_routes(), token="another-token")
    sim = make_sim(hooks, clock)
    sim.script_number(SENIOR, answer="human", digits=["1"])
    sim.create_call(call_params())
    run_all(sim, clock)

    assert hooks.received == []
    assert ANSWER_URL in hooks.refused
    assert f"{BASE}/twilio/voice/gather?a=7&round=1" not in hooks.refused
    assert [w.status for w in sim.webhooks] == [403] * len(sim.webhooks)


def test_events_wait_for_their_time(hooks: FakeApp, clock: FakeClock) -> None:
    sim = make_sim(hooks, clock, ring_seconds=30)
    sim.script_number(SENIOR, answer="human", digits=["1"])
    sim.create_call(call_params())

    assert sim.run_due() == 1  # initiated
    assert sim.run_due(T0 + timedelta(seconds=30)) == 1  # ringing at +1 s, answer at +31 s
    assert sim.calls[0]["status"] == "ringing"
    assert sim.next_due() == T0 + timedelta(seconds=31)
    assert sim.run_due(T0 + timedelta(seconds=31)) == 2  # the TwiML request and "answered"
    assert sim.calls[0]["status"] == "in-progress"


def test_invalid_numbers_are_refused(hooks: FakeApp, clock: FakeClock) -> None:
    from outreach.telephony.simulator import TwilioError

    sim = make_sim(hooks, clock)
    with pytest.raises(TwilioError) as refused:
        sim.create_call(call_params(To="+3312"))
    assert (refused.value.status, refused.value.code) == (400, 21211)
    with pytest.raises(TwilioError) as missing:
        sim.create_call(call_params(Url=""))
    assert missing.value.status == 400
    assert sim.calls == []
