"""The simulator as a service: its REST API through the production gateway (twilio-python's
``Client`` via ``TwilioGateway``), and signed webhooks over real local HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from outreach.config import load_config
from outreach.telephony.gateway import GatewayError, TwilioGateway, make_gateway
from outreach.telephony.simulator import SimulatorServer, start_for_app

SENIOR = "+33612345678"
CALLER = "+33999000000"
HOOKS = "http://hooks.invalid"  # never reached: these tests record deliveries instead


def config(**simulator: Any) -> dict[str, dict[str, Any]]:
    return load_config({"simulator": {"port": 0, "seed": 5, **simulator}}, environ={})


def gateway_for(server: SimulatorServer, token: str | None = None) -> TwilioGateway:
    sim = server.simulator
    return TwilioGateway(
        sim.account_sid, token or sim.auth_token, server.base_url, CALLER, "OUTREACH", timeout=5
    )


@pytest.fixture
def deliveries() -> list[tuple[str, dict[str, str]]]:
    return []


@pytest.fixture
def server(deliveries: list[tuple[str, dict[str, str]]]) -> Iterator[SimulatorServer]:
    def deliver(url: str, params: dict[str, str]) -> tuple[int, str]:
        deliveries.append((url, params))
        return 200, "<Response><Hangup/></Response>"

    with SimulatorServer(config(), HOOKS, deliver=deliver) as server:
        yield server


def later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


def test_place_and_fetch_a_call(server: SimulatorServer, deliveries: list[Any]) -> None:
    server.simulator.script_number(SENIOR, answer="human")
    gateway = gateway_for(server)
    sent = gateway.place_call(SENIOR, f"{HOOKS}/answer", f"{HOOKS}/status")
    assert sent.sid.startswith("CA") and len(sent.sid) == 34
    assert sent.status == "queued"

    call = gateway.client.calls(sent.sid).fetch()
    assert (call.sid, call.to, call._from, call.direction) == (
        sent.sid,
        SENIOR,
        CALLER,
        "outbound-api",
    )
    assert call.date_created.tzinfo is not None  # twilio-python parsed the RFC 2822 date

    server.simulator.run_due(later())
    # What twilio-python sent arrived whole: the repeated StatusCallbackEvent and AMD.
    statuses = [p["CallStatus"] for url, p in deliveries if url.endswith("/status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    answer = next(p for url, p in deliveries if url.endswith("/answer"))
    assert answer["AnsweredBy"] == "human"
    remote = gateway.fetch_call(sent.sid)
    assert (remote.sid, remote.status, remote.answered_by, remote.duration) == (
        sent.sid,
        "completed",
        "human",
        0,
    )


def test_send_and_fetch_a_message(server: SimulatorServer) -> None:
    gateway = gateway_for(server)
    sent = gateway.send_sms(SENIOR, "Bonjour, tout va bien ?", f"{HOOKS}/sms")
    assert sent.sid.startswith("SM") and sent.status == "queued"
    message = gateway.client.messages(sent.sid).fetch()
    assert (message.body, message.to, message.num_segments) == (
        "Bonjour, tout va bien ?",
        SENIOR,
        "1",
    )
    server.simulator.run_due(later())
    assert gateway.fetch_message(sent.sid).status == "delivered"


def test_a_stop_reply_makes_the_next_sms_fail_with_21610(server: SimulatorServer) -> None:
    server.simulator.script_number(SENIOR, reply="STOP")
    gateway = gateway_for(server)
    gateway.send_sms(SENIOR, "Bonjour", f"{HOOKS}/sms")
    server.simulator.run_due(later())

    with pytest.raises(GatewayError) as refused:
        gateway.send_sms(SENIOR, "Bonjour encore", f"{HOOKS}/sms")
    assert (refused.value.status, refused.value.code) == (400, 21610)
    assert not refused.value.retryable


def test_bad_credentials_get_401(server: SimulatorServer) -> None:
    with pytest.raises(GatewayError) as refused:
        gateway_for(server, token="wrong").place_call(SENIOR, f"{HOOKS}/a", f"{HOOKS}/s")
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert not refused.value.retryable
    assert server.simulator.calls == []


def test_unknown_sid_and_other_account_get_404(server: SimulatorServer) -> None:
    with pytest.raises(GatewayError) as unknown:
        gateway_for(server).fetch_call("CA" + "0" * 32)
    assert (unknown.value.status, unknown.value.code) == (404, 20404)

    sim = server.simulator
    other = f"{server.base_url}/2010-04-01/Accounts/AC{'9' * 32}/Calls.json"
    response = requests.post(
        other, data={"To": SENIOR}, auth=(sim.account_sid, sim.auth_token), timeout=5
    )
    assert response.status_code == 404
    assert response.json()["code"] == 20404


def test_a_down_gateway_is_retryable(server: SimulatorServer) -> None:
    gateway = gateway_for(server)
    server.simulator.set_down(503)
    with pytest.raises(GatewayError) as down:
        gateway.place_call(SENIOR, f"{HOOKS}/a", f"{HOOKS}/s")
    assert (down.value.status, down.value.code, down.value.retryable) == (503, 20500, True)
    assert server.simulator.calls == []

    server.simulator.set_down(None)
    assert gateway.place_call(SENIOR, f"{HOOKS}/a", f"{HOOKS}/s").status == "queued"


class Receiver:
    """A stand-in for outreach's webhooks on a real port: checks each signature against
    the URL it was reached at, as outreach does against its public URL."""

    def __init__(self, token: str) -> None:
        self.validator = RequestValidator(token)
        self.received: list[tuple[str, dict[str, str], bool]] = []
        self.done = threading.Event()
        self.call_done = self.reply_done = False
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        form = request.form.to_dict()
        valid = self.validator.validate(
            request.url, form, request.headers.get("X-Twilio-Signature", "")
        )
        self.received.append((request.path, form, valid))
        body = ""
        if request.path == "/twilio/voice/answer":
            body = (
                f'<Response><Gather numDigits="1" action="{self.url}/twilio/voice/gather">'
                '<Say language="fr-FR">Tapez 1 si tout va bien.</Say></Gather></Response>'
            )
        elif request.path == "/twilio/voice/gather":
            body = "<Response><Say>Merci, au revoir.</Say><Hangup/></Response>"
        if form.get("CallStatus") == "completed":
            self.call_done = True
        if request.path == "/twilio/sms/inbound":
            self.reply_done = True
        if self.call_done and self.reply_done:
            self.done.set()
        return Response(body, content_type="text/xml")(environ, start_response)


def test_webhooks_over_http_are_signed_and_in_order() -> None:
    cfg = config(ring_seconds=0, talk_seconds=0, reply_seconds=0)
    receiver = Receiver(cfg["simulator"]["auth_token"])
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    try:
        with SimulatorServer(cfg, receiver.url) as server:
            server.simulator.script_number(SENIOR, answer="human", digits=["1"], reply="OK")
            gateway = gateway_for(server)
            gateway.place_call(
                SENIOR,
                f"{receiver.url}/twilio/voice/answer?a=1",
                f"{receiver.url}/twilio/voice/status?a=1",
            )
            gateway.send_sms(SENIOR, "Bonjour Madame, répondez OK", f"{receiver.url}/sms/st")
            assert receiver.done.wait(timeout=20), receiver.received
    finally:
        receiver.server.shutdown()

    assert all(valid for _, _, valid in receiver.received)
    voice = [
        (path, f.get("CallStatus"), f.get("Digits"))
        for path, f, _ in receiver.received
        if path.startswith("/twilio/voice")
    ]
    assert voice == [
        ("/twilio/voice/status", "initiated", None),
        ("/twilio/voice/status", "ringing", None),
        ("/twilio/voice/answer", "in-progress", None),
        ("/twilio/voice/status", "in-progress", None),
        ("/twilio/voice/gather", "in-progress", "1"),
        ("/twilio/voice/status", "completed", None),
    ]
    sms = [
        (path, f.get("MessageStatus"), f.get("Body"))
        for path, f, _ in receiver.received
        if not path.startswith("/twilio/voice")
    ]
    assert sms == [
        ("/sms/st", "sent", None),
        ("/sms/st", "delivered", None),
        ("/twilio/sms/inbound", None, "OK"),
    ]


def test_start_for_app_writes_the_port_back_for_the_gateway() -> None:
    app = Flask(__name__)
    app.config["OUTREACH"] = config()
    server = start_for_app(app)
    try:
        assert app.config["OUTREACH"]["simulator"]["port"] == server.port != 0
        sent = make_gateway(app.config["OUTREACH"]).place_call(SENIOR, f"{HOOKS}/a", f"{HOOKS}/s")
        assert [c["sid"] for c in server.simulator.calls] == [sent.sid]
    finally:
        server.stop()
    # Stopped means closed: the gateway can no longer reach it, and may retry later.
    with pytest.raises(GatewayError) as gone:
        make_gateway(app.config["OUTREACH"]).fetch_call(sent.sid)
    assert gone.value.retryable
