"""Gateway settings per organisation (issue 12): each landlord's calls and SMS show its own
caller ID and sender, go through its own Twilio account, at that account's own rate; its
webhooks are checked with that account's token. Settings are edited by an administrator
(page and CLI) and validated."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from outreach.accounts.models import Organisation
from outreach.accounts.operations import AccountError, set_gateway_settings
from outreach.audit.models import AuditEvent
from outreach.campaigns.models import ChannelPolicy
from outreach.cli import cli
from outreach.config import ConfigError, load_config
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import make_gateway
from outreach.telephony.urls import PATHS, public_url
from tests.conftest import TEST_PASSWORD, csrf_from, login
from tests.factories import make_org, make_user
from tests.telephony.conftest import FakeTime, make_automated
from tests.telephony.test_pacing import busiest_second

SID_A, SID_B = "AC" + "a" * 32, "AC" + "b" * 32
TOKEN_A, TOKEN_B = "token-of-account-a", "token-of-account-b"
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SHOTS = Path("/tmp/shots/i2")


class RecordingTwilio:
    """Twilio's REST API on a free port: notes each call or SMS request (account, From, To)
    and the moment it arrived on the test's clock."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.requests: list[dict[str, Any]] = []
        self._sids = count(1)
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        form = dict(parse_qsl(request.get_data(as_text=True)))
        parts = request.path.split("/")  # /2010-04-01/Accounts/<sid>/Calls.json
        kind = "SM" if parts[-1] == "Messages.json" else "CA"
        self.requests.append(
            {"at": self.clock.t, "account": parts[3], "path": request.path, **form}
        )
        body = {"sid": f"{kind}{next(self._sids):032x}", "account_sid": parts[3]}
        body |= {"status": "queued", "to": form.get("To"), "from": form.get("From")}
        return Response(json.dumps(body), 201, content_type="application/json")(
            environ, start_response
        )


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(NOW)


@pytest.fixture
def twilio(clock: FakeTime) -> Iterator[RecordingTwilio]:
    stand_in = RecordingTwilio(clock)
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    thread.join(5)


def _twilio_config(app, url: str, **accounts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The app's settings on the real Twilio code, at ``url``, with named ``accounts``."""
    config = app.config["OUTREACH"]
    tel = config["telephony"] | {
        "backend": "twilio",
        "api_base_url": url,
        "account_sid": SID_A,
        "auth_token": TOKEN_A,
        "caller_id": "+33970000000",
        "sms_sender": "OUTREACH",
        "calls_per_second": 1,
        "accounts": accounts,
    }
    return {**config, "telephony": tel}


def _dispatch(session, config, clock: FakeTime) -> None:
    Dispatcher(session, config, make_gateway(config), clock.now, clock.monotonic, clock.sleep).run(
        max_seconds=60
    )


# -- dispatch: caller ID, sender, account, rate -----------------------------------------


def test_each_landlord_calls_and_texts_from_its_own_number_and_name(app, session, twilio, clock):
    own = make_org(session, "vth", "Val Touraine Habitat")
    plain = make_org(session, "tl", "Touraine Logement")
    set_gateway_settings(session, own, {}, caller_id="09 70 00 00 01", sms_sender="VTH")
    senders = {}
    for org in (own, plain):
        for channel in (ChannelPolicy.ivr, ChannelPolicy.sms):
            _, people, _ = make_automated(session, org, channel=channel, now=NOW)
            senders[people[0].phone_mobile] = (org.slug, channel)
    session.commit()
    _dispatch(session, _twilio_config(app, twilio.url), clock)
    seen = {senders[r["To"]]: r["From"] for r in twilio.requests}
    assert seen == {
        ("vth", ChannelPolicy.ivr): "+33970000001",
        ("vth", ChannelPolicy.sms): "VTH",
        # No settings of its own: the configuration's.
        ("tl", ChannelPolicy.ivr): "+33970000000",
        ("tl", ChannelPolicy.sms): "OUTREACH",
    }
    # The SMS still names its sender: the organisation's name, as before.
    texts = [r["Body"] for r in twilio.requests if "Body" in r]
    assert any("Val Touraine Habitat" in t for t in texts)


def test_each_account_gets_its_own_requests_at_its_own_rate(app, session, twilio, clock):
    config = _twilio_config(
        app, twilio.url, b={"account_sid": SID_B, "auth_token": TOKEN_B, "calls_per_second": 2}
    )
    default = make_org(session, "vth", "Val Touraine Habitat")
    own = make_org(session, "tl", "Touraine Logement")
    set_gateway_settings(session, own, config, account="b")
    phones = {}
    for org in (default, own):
        _, people, _ = make_automated(session, org, channel=ChannelPolicy.ivr, seniors=5, now=NOW)
        phones |= {p.phone_mobile: org.slug for p in people}
    session.commit()
    _dispatch(session, config, clock)

    by_org: dict[str, list[dict[str, Any]]] = {"vth": [], "tl": []}
    for r in twilio.requests:
        by_org[phones[r["To"]]].append(r)
    assert len(by_org["vth"]) == len(by_org["tl"]) == 5
    assert {r["path"] for r in by_org["vth"]} == {f"/2010-04-01/Accounts/{SID_A}/Calls.json"}
    assert {r["path"] for r in by_org["tl"]} == {f"/2010-04-01/Accounts/{SID_B}/Calls.json"}
    # Each account at its own rate, in every sliding second...
    assert busiest_second([r["at"] for r in by_org["vth"]]) <= 1
    assert busiest_second([r["at"] for r in by_org["tl"]]) <= 2
    # ...and side by side, not one after the other: 3 calls in the first second.
    assert busiest_second([r["at"] for r in twilio.requests]) == 3
    assert max(r["at"] for r in twilio.requests) == pytest.approx(4.0)


# -- webhooks: each account's token ---------------------------------------------------


def _post(client, app, token: str, params: dict[str, str]):
    config = app.config["OUTREACH"]
    url = public_url(config, PATHS["sms_status"], "a=1")
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(
        PATHS["sms_status"] + "?a=1", data=params, headers={"X-Twilio-Signature": signature}
    )


def test_a_webhook_is_checked_with_the_token_of_its_account(app, client):
    # In place: the webhook app shares the main app's configuration object.
    app.config["OUTREACH"]["telephony"] = _twilio_config(
        app, "http://127.0.0.1:9", b={"account_sid": SID_B, "auth_token": TOKEN_B}
    )["telephony"]
    status = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert _post(client, app, TOKEN_B, {**status, "AccountSid": SID_B}).status_code == 204
    assert _post(client, app, TOKEN_A, {**status, "AccountSid": SID_A}).status_code == 204
    # Account A's token cannot speak for account B, nor for an account unknown here.
    assert _post(client, app, TOKEN_A, {**status, "AccountSid": SID_B}).status_code == 403
    unknown = {**status, "AccountSid": "AC" + "c" * 32}
    assert _post(client, app, TOKEN_A, unknown).status_code == 403
    assert _post(client, app, TOKEN_B, unknown).status_code == 403


# -- validation -------------------------------------------------------------------------


def test_caller_id_and_sender_are_validated(app, session):
    org = make_org(session)
    with pytest.raises(AccountError, match="06/07"):
        set_gateway_settings(session, org, {}, caller_id="06 12 34 56 78")
    with pytest.raises(AccountError, match="11 characters"):
        set_gateway_settings(session, org, {}, sms_sender="VALTOURAINEH")  # 12
    with pytest.raises(AccountError, match="unknown gateway account"):
        set_gateway_settings(session, org, app.config["OUTREACH"], account="nowhere")
    set_gateway_settings(session, org, {}, caller_id="09 70 00 00 01", sms_sender="VTH 37")
    assert (org.caller_id, org.sms_sender) == ("+33970000001", "VTH 37")
    # A two-way number for replies (not a mobile), and back to the configuration's.
    set_gateway_settings(session, org, {}, sms_sender="+33970000002")
    assert org.sms_sender == "+33970000002"
    set_gateway_settings(session, org, {}, caller_id="", sms_sender="")
    assert (org.caller_id, org.sms_sender) == (None, None)


def test_accounts_in_the_configuration(tmp_path):
    path = tmp_path / "outreach.toml"
    path.write_text(
        '[telephony]\nbackend = "twilio"\ncaller_id = "+33970000000"\n'
        f'account_sid = "{SID_A}"\nauth_token = "a-token-of-our-own"\n'
        f'[telephony.accounts.vth]\naccount_sid = "{SID_B}"\nsms_per_second = 5\n'
    )
    environ = {"OUTREACH_CONFIG": str(path), "TWILIO_AUTH_TOKEN_VTH": "from-the-environment"}
    config = load_config(environ=environ)
    assert config["telephony"]["accounts"]["vth"] == {
        "account_sid": SID_B,
        "auth_token": "from-the-environment",
        "sms_per_second": 5,
    }
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN_VTH"):
        load_config(environ={"OUTREACH_CONFIG": str(path)})  # no token
    bad = {"telephony": {"accounts": {"vth": {"account_sid": SID_B, "rate": 2}}}}
    with pytest.raises(ConfigError, match="unknown key telephony.accounts.vth.rate"):
        load_config(bad, environ=environ)
    production = {
        "app": {"env": "production", "secret_key": "0123456789abcdef" * 3},
        "telephony": {"accounts": {"vth": {"account_sid": SID_B, "auth_token": "test-secret-key"}}},
    }
    with pytest.raises(ConfigError, match="accounts.vth.auth_token: production refuses"):
        load_config(production, environ={"OUTREACH_CONFIG": str(path)})


# -- the administrator's page and the command -------------------------------------------


def _page_post(client, org, **data):
    page = client.get("/organisations/telephonie")
    assert page.status_code == 200
    form = {f"org{org.id}-{k}": v for k, v in data.items()}
    form[f"org{org.id}-csrf_token"] = csrf_from(page.text)
    return client.post(f"/organisations/{org.id}/telephonie", data=form, follow_redirects=True)


def test_an_administrator_sets_the_gateway_settings(app, client, session):
    app.config["OUTREACH"]["telephony"]["accounts"] = {"vth": {}}
    org, other = make_org(session, name="Val Touraine Habitat"), make_org(session)
    admin = make_user(session, org, "admin")
    manager = make_user(session, org, "manager")
    session.commit()
    login(client, admin.email)
    resp = _page_post(client, org, caller_id="09 70 00 00 01", sms_sender="VTH", account="vth")
    assert "Réglages de téléphonie enregistrés" in resp.text
    session.expire_all()
    saved = session.get(Organisation, org.id)
    assert (saved.caller_id, saved.sms_sender, saved.gateway_account) == (
        "+33970000001",
        "VTH",
        "vth",
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "gateway_settings"))
    assert event is not None and event.user_id == admin.id
    # Refused, in French, with what was typed kept; nothing changes.
    resp = _page_post(client, org, caller_id="06 12 34 56 78", sms_sender="VALTOURAINEH")
    assert resp.status_code == 422
    assert "numéro de mobile (06, 07)" in resp.text and "11 caractères au plus" in resp.text
    assert 'value="06 12 34 56 78"' in resp.text and 'value="VALTOURAINEH"' in resp.text
    session.expire_all()
    assert session.get(Organisation, org.id).caller_id == "+33970000001"
    # Another organisation's settings are out of reach; a manager has no access at all.
    page = client.get("/organisations/telephonie")
    form = {f"org{other.id}-caller_id": "", "csrf_token": csrf_from(page.text)}
    assert client.post(f"/organisations/{other.id}/telephonie", data=form).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    login(client, manager.email)
    assert client.get("/organisations/telephonie").status_code == 403


def test_the_command_sets_them_too(app, session):
    make_org(session, "vth", "Val Touraine Habitat")
    session.commit()

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))

    result = run("org", "gateway", "vth", "--caller-id", "0970000001", "--sms-sender", "VTH")
    assert result.exit_code == 0, result.output
    assert "caller ID +33970000001" in result.output
    refused = run("org", "gateway", "vth", "--caller-id", "07 81 23 45 67")
    assert refused.exit_code == 1 and "06/07" in refused.output
    session.expire_all()
    org = session.scalar(select(Organisation).where(Organisation.slug == "vth"))
    assert (org.caller_id, org.sms_sender) == ("+33970000001", "VTH")


@pytest.mark.browser
def test_the_page_in_a_browser(page, session):
    from playwright.sync_api import expect

    org = make_org(session, name="Val Touraine Habitat")
    admin = make_user(session, org, "admin", email="admin@example.org")
    session.commit()
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(admin.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/organisations/telephonie")
    page.get_by_label("Numéro présenté sur les appels automatiques").fill("06 12 34 56 78")
    page.get_by_label("Expéditeur des SMS").fill("VTH")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Un numéro de mobile (06, 07)")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"org-gateway-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_label("Numéro présenté sur les appels automatiques").fill("09 70 00 00 01")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Réglages de téléphonie enregistrés")).to_be_visible()
