"""SMS replies whose webhook failed (the service was down) are read back from the gateway's
message list and applied once: against Twilio's real list format (``responses``) and
against the simulator over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy import func, select

from outreach.calls.models import Attempt
from outreach.campaigns.models import ChannelPolicy
from outreach.roster.models import Senior
from outreach.telephony import sms
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import TwilioGateway, make_gateway
from outreach.telephony.reconcile import INBOUND_EVERY, recover_inbound
from outreach.telephony.simulator import SimulatorServer
from tests.telephony.conftest import FakeGateway, FakeTime, make_automated

ACCOUNT = "AC" + "7" * 32
OUR_NUMBER = "+33970000001"
LIST_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # a Tuesday


def _twilio() -> TwilioGateway:
    return TwilioGateway(ACCOUNT, "token", "https://api.twilio.com", "+33970000000", OUR_NUMBER)


def _message(sid: str, sender: str, body: str, sent: datetime, direction="inbound") -> dict:
    """A message as Twilio's REST API lists it."""
    inbound = direction == "inbound"
    return {
        "account_sid": ACCOUNT,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": format_datetime(sent),
        "date_sent": format_datetime(sent),
        "date_updated": format_datetime(sent),
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": sender if inbound else OUR_NUMBER,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "received" if inbound else "delivered",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json"},
        "to": OUR_NUMBER if inbound else sender,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
    }


def _page(messages: list[dict], page: int, last: bool) -> dict[str, Any]:
    base = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json?To=%2B33970000001&PageSize=1000"
    return {
        "first_page_uri": f"{base}&Page=0",
        "end": page * 1000 + len(messages) - 1,
        "previous_page_uri": f"{base}&Page={page - 1}" if page else None,
        "messages": messages,
        "uri": f"{base}&Page={page}",
        "page_size": 1000,
        "start": page * 1000,
        "next_page_uri": None if last else f"{base}&Page={page + 1}&PageToken=PASM{'0' * 32}",
        "page": page,
    }


def _sid(n: int) -> str:
    return f"SM{n:032x}"


@responses.activate
def test_list_inbound_reads_every_page_and_keeps_replies_since_the_moment():
    since = NOW - timedelta(minutes=10)
    newest = [
        _message(_sid(3), "+33612345678", "OK", NOW - timedelta(minutes=1)),
        _message(_sid(9), "+33612345678", "Bonjour", NOW - timedelta(minutes=2), "outbound-api"),
    ]  # fmt: skip
    older = [
        _message(_sid(2), "+33611111111", "AIDE", NOW - timedelta(minutes=5)),
        _message(_sid(1), "+33622222222", "STOP", NOW - timedelta(hours=2)),  # before since
    ]
    responses.get(LIST_URL, json=_page(newest, 0, last=False))
    responses.get(LIST_URL, json=_page(older, 1, last=True))
    received = _twilio().list_inbound(since)
    # Replies only, oldest first, none sent before ``since``.
    assert [(m.sid, m.from_, m.body) for m in received] == [
        (_sid(2), "+33611111111", "AIDE"),
        (_sid(3), "+33612345678", "OK"),
    ]
    assert received[0].sent_at == NOW - timedelta(minutes=5) and received[0].to == OUR_NUMBER
    first, second = (parse_qs(urlsplit(c.request.url).query) for c in responses.calls)
    # Twilio's documented filter: To our number, DateSent>= a GMT day.
    assert first == {
        "To": [OUR_NUMBER],
        "DateSent>": [since.date().isoformat()],
        "PageSize": ["1000"],
    }
    assert second["Page"] == ["1"] and second["PageToken"] == ["PASM" + "0" * 32]


def _texted(session, app, org, now=NOW):
    """An SMS campaign sent to one senior through a fake gateway (no message list)."""
    _, seniors, tasks = make_automated(session, org, channel=ChannelPolicy.sms, now=now)
    session.commit()
    clock = FakeTime(now)
    Dispatcher(
        session, app.config["OUTREACH"], FakeGateway(), clock.now, clock.monotonic, clock.sleep
    ).run()
    return seniors[0], tasks[0]


def _replies(session) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(
        select(Attempt).where(Attempt.direction == "inbound").order_by(Attempt.id)
    )
    return [(a.gateway_sid, a.reply) for a in rows]


@responses.activate
def test_a_reply_lost_while_down_is_applied_once(app, session, org):
    senior, _ = _texted(session, app, org)
    # Two replies reached Twilio; the webhook of the first failed, the second got through.
    lost = _message(_sid(11), senior.phone_mobile, "STOP", NOW + timedelta(minutes=1))
    arrived = _message(
        _sid(12), senior.phone_mobile, "Merci pour l'appel", NOW + timedelta(minutes=2)
    )
    webhook = {
        "MessageSid": arrived["sid"], "SmsSid": arrived["sid"], "AccountSid": ACCOUNT,
        "From": senior.phone_mobile, "To": OUR_NUMBER, "Body": arrived["body"],
        "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
    }  # fmt: skip
    # The webhook's inbox row, applied as the process-webhooks job applies it.
    sms.inbound(session, webhook, NOW + timedelta(minutes=2, seconds=2))
    session.commit()
    assert _replies(session) == [(_sid(12), "Merci pour l'appel")]
    responses.get(LIST_URL, json=_page([arrived, lost], 0, last=True))

    later = NOW + timedelta(minutes=3)
    assert recover_inbound(session, _twilio(), later) == 1
    session.commit()
    assert _replies(session) == [(_sid(12), "Merci pour l'appel"), (_sid(11), "STOP")]
    # Applied as its webhook would have been: her refusal is recorded.
    assert session.get(Senior, senior.id).opted_out_sms_at is not None
    # Within a minute the list is not read again; after it, nothing is applied twice.
    assert recover_inbound(session, _twilio(), later + INBOUND_EVERY / 2) == 0
    assert len(responses.calls) == 1
    assert recover_inbound(session, _twilio(), later + INBOUND_EVERY) == 0
    session.commit()
    assert len(responses.calls) == 2
    assert session.scalar(select(func.count(Attempt.id)).where(Attempt.direction == "inbound")) == 2


@responses.activate
def test_the_list_is_read_back_to_the_last_read_even_after_a_restart(app, session, org):
    _texted(session, app, org)
    responses.get(LIST_URL, json=_page([], 0, last=True))
    assert recover_inbound(session, _twilio(), NOW + timedelta(minutes=1)) == 0
    session.commit()
    # Hours later (the service was down): the next read starts from the last one, whatever
    # was stored meanwhile, less a margin.
    assert recover_inbound(session, _twilio(), NOW + timedelta(days=1, hours=3)) == 0
    asked = [parse_qs(urlsplit(c.request.url).query)["DateSent>"] for c in responses.calls]
    assert asked == [[(NOW - timedelta(days=7)).date().isoformat()], [NOW.date().isoformat()]]


def test_without_sms_in_use_the_list_is_not_read(app, session, org):
    make_automated(session, org, now=NOW)  # calls only
    session.commit()

    class Listing(FakeGateway):
        asked: list[datetime] = []

        def list_inbound(self, since):
            self.asked.append(since)
            return []

    assert recover_inbound(session, Listing(), NOW) == 0
    assert Listing.asked == []


def test_the_simulator_lists_a_reply_whose_webhook_failed(app, session, org):
    """The whole path: the production gateway code reads the simulator's message list."""
    config = app.config["OUTREACH"]
    config["simulator"].update(port=0, reply_seconds=0)
    senior, _ = _texted(session, app, org)
    posted: list[tuple[str, int]] = []

    def service_down(url: str, params: dict[str, str]) -> tuple[int, str]:
        posted.append((urlsplit(url).path, 503))
        return 503, ""

    sender = config["telephony"]["sms_sender"]
    with SimulatorServer(
        config, "http://hooks.invalid", deliver=service_down, clock=lambda: NOW
    ) as server:
        config["simulator"]["port"] = server.port
        sim = server.simulator
        sim.send_inbound(senior.phone_mobile, sender, "STOP")
        sim.send_inbound("+33698765432", sender, "Qui est-ce ?")
        sim.run_due(NOW)
        assert posted == [("/twilio/sms/inbound", 503)] * 2  # lost: never posted again
        assert _replies(session) == []
        reply_sid = next(m["sid"] for m in sim.messages if m["from"] == senior.phone_mobile)

        gateway = make_gateway(config)
        assert [m.body for m in gateway.list_inbound(NOW - timedelta(minutes=5))] == [
            "STOP",
            "Qui est-ce ?",
        ]
        # The second sender is nobody's number: listed, but there is nothing to apply it to.
        later = NOW + timedelta(minutes=2)
        recover_inbound(session, gateway, later)
        session.commit()
        assert _replies(session) == [(reply_sid, "STOP")]
        assert session.get(Senior, senior.id).opted_out_sms_at is not None
        recover_inbound(session, gateway, later + INBOUND_EVERY)
        session.commit()
        assert _replies(session) == [(reply_sid, "STOP")]


def test_the_simulator_pages_and_filters_its_message_list():
    from outreach.config import load_config

    config = load_config({"simulator": {"port": 0}}, environ={})
    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    clock = [at]
    with SimulatorServer(
        config, "http://hooks.invalid", deliver=lambda u, p: (200, ""), clock=lambda: clock[0]
    ) as server:
        sim = server.simulator
        for i in range(5):
            clock[0] = at + timedelta(hours=i)
            sim.send_inbound(f"+3361234567{i}", "OUTREACH", f"réponse {i}")
            sim.send_inbound(f"+3361234567{i}", "AUTRE", "ailleurs")
            sim.run_due()
        gateway = TwilioGateway(
            sim.account_sid, sim.auth_token, server.base_url, "+33970000000", "OUTREACH"
        )
        records = gateway.client.messages.list(to="OUTREACH", page_size=2)
        assert [m.body for m in records] == [f"réponse {i}" for i in (4, 3, 2, 1, 0)]
        records = gateway.client.messages.list(
            to="OUTREACH", date_sent_after=at + timedelta(hours=3), page_size=2
        )
        assert [m.body for m in records] == ["réponse 4", "réponse 3"]
        assert [m.body for m in gateway.list_inbound(at + timedelta(hours=2, minutes=1))] == [
            "réponse 3",
            "réponse 4",
        ]
