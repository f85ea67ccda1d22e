"""The Twilio backend against Twilio's real REST formats (mocked with ``responses``), and
the configuration checks of French telephony rules."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from outreach.config import ConfigError, load_config
from outreach.telephony.gateway import GatewayError, TwilioGateway, make_gateway

SID = "AC" + "1" * 32
CALL_SID = "CA" + "2" * 32
MSG_SID = "SM" + "3" * 32
BASE = "https://api.twilio.com/2010-04-01/Accounts/" + SID


def _gateway(base: str = "https://api.twilio.com") -> TwilioGateway:
    return TwilioGateway(SID, "secret-token", base, "+33970000000", "VTH", timeout=5)


def _call_json(status: str = "queued") -> dict:
    return {
        "sid": CALL_SID,
        "account_sid": SID,
        "status": status,
        "to": "+33247000000",
        "from": "+33970000000",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "duration": None,
        "answered_by": None,
        "uri": f"/2010-04-01/Accounts/{SID}/Calls/{CALL_SID}.json",
    }


@responses.activate
def test_place_call_sends_twilio_its_parameters():
    responses.post(f"{BASE}/Calls.json", json=_call_json(), status=201)
    sent = _gateway().place_call(
        "+33247000000",
        "https://x.fr/twilio/voice/answer?a=1",
        "https://x.fr/twilio/voice/status?a=1",
    )
    assert (sent.sid, sent.status) == (CALL_SID, "queued")
    request = responses.calls[0].request
    form = parse_qs(request.body)
    assert form["To"] == ["+33247000000"] and form["From"] == ["+33970000000"]
    assert form["Url"] == ["https://x.fr/twilio/voice/answer?a=1"]
    assert form["MachineDetection"] == ["Enable"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_api_base_url_points_the_same_code_elsewhere():
    other = "http://127.0.0.1:9/2010-04-01/Accounts/" + SID
    responses.post(f"{other}/Messages.json", json={"sid": MSG_SID, "status": "queued"}, status=201)
    sent = _gateway("http://127.0.0.1:9").send_sms("+33612345678", "Bonjour", "https://x.fr/s")
    assert sent.sid == MSG_SID
    assert responses.calls[0].request.url.startswith("http://127.0.0.1:9/2010-04-01/")


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, 20429, True),
        (500, 20500, True),
        (503, 20503, True),
        (400, 21610, False),
        (400, 21211, False),
    ],
)
@responses.activate
def test_errors_say_whether_to_retry(status, code, retryable):
    body = {
        "code": code,
        "message": "error",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    responses.post(
        f"{BASE}/Messages.json",
        body=json.dumps(body),
        status=status,
        content_type="application/json",
    )
    with pytest.raises(GatewayError) as err:
        _gateway().send_sms("+33612345678", "Bonjour", "https://x.fr/s")
    assert err.value.retryable is retryable and err.value.code == code
    assert not err.value.ambiguous


@responses.activate
def test_a_read_timeout_is_ambiguous_a_refused_connection_is_not():
    responses.post(f"{BASE}/Calls.json", body=requests.ReadTimeout("slow"))
    with pytest.raises(GatewayError) as err:
        _gateway().place_call("+33247000000", "https://x.fr/a", "https://x.fr/s")
    assert err.value.ambiguous and not err.value.retryable
    responses.replace(
        responses.POST, f"{BASE}/Calls.json", body=requests.ConnectionError("refused")
    )
    with pytest.raises(GatewayError) as err:
        _gateway().place_call("+33247000000", "https://x.fr/a", "https://x.fr/s")
    assert err.value.retryable and not err.value.ambiguous


@responses.activate
def test_fetch_call_reads_status_duration_and_answered_by():
    body = {**_call_json("completed"), "duration": "37", "answered_by": "human"}
    responses.get(f"{BASE}/Calls/{CALL_SID}.json", json=body)
    remote = _gateway().fetch_call(CALL_SID)
    assert (remote.status, remote.duration, remote.answered_by) == ("completed", 37, "human")


def test_twilio_logs_no_personal_data(caplog):
    import logging

    assert logging.getLogger("twilio.http_client").getEffectiveLevel() >= logging.WARNING


def test_make_gateway_uses_the_simulator_by_default():
    config = load_config({"simulator": {"port": 5099}}, environ={})
    gateway = make_gateway(config)
    assert gateway.client.http_client.base_url == "http://127.0.0.1:5099"


@pytest.mark.parametrize(
    ("telephony", "message"),
    [
        ({"caller_id": "06 12 34 56 78"}, "06/07"),
        ({"caller_id": "+33 7 81 23 45 67"}, "06/07"),
        ({"caller_id": "pas un numéro"}, "caller_id"),
        ({"sms_sender": "VALTOURAINEHABITAT"}, "11 characters"),
        ({"sms_sender": "06 12 34 56 78"}, "06/07"),
        ({"backend": "twilio", "caller_id": "+33970000000"}, "TWILIO_ACCOUNT_SID"),
        ({"backend": "twilio"}, "caller_id"),
    ],
)
def test_french_rules_refuse_the_configuration(telephony, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"telephony": telephony}, environ={})


def test_a_proper_configuration_is_accepted():
    config = load_config(
        {"telephony": {"backend": "twilio", "caller_id": "09 70 00 00 00", "sms_sender": "VTH 37"}},
        environ={"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t"},
    )
    assert config["telephony"]["auth_token"] == "t"
