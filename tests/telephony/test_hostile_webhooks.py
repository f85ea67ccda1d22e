"""Signed webhooks with hostile values (a signature proves who sent a request, not that its
values are sane): every webhook answers without a 500, the inbox job applies or sets aside
each row without crashing, and what a senior said is never lost to a bad neighbour."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outreach.roster.models import Senior
from outreach.telephony.gateway import credentials
from outreach.telephony.inbox import WebhookInbox
from outreach.telephony.urls import PATHS
from tests.telephony.conftest import signed_post
from tests.telephony.test_sms_webhooks import _inbound, _sent

SID = "CA" + "f" * 32
HOSTILE_VALUES = ["", "-1", "abc", "99999999999999999999", "1e999", "9" * 5000, "é\u202e<b>"]
FIELDS = [
    "CallSid", "MessageSid", "SmsSid", "AccountSid", "From", "To", "Digits", "CallStatus",
    "MessageStatus", "SmsStatus", "AnsweredBy", "CallDuration", "ErrorCode", "Body",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(PATHS))
def test_hostile_values_never_answer_500(app, client, session, org, name):
    webhooks = ("voice_answer", "voice_gather", "voice_status", "sms_status", "sms_inbound")
    if name not in (*webhooks, "voice_inbound", "voice_inbound_dial"):
        pytest.skip(f"{name}: not a webhook of this version")
    account_sid = credentials(app.config["OUTREACH"])[0]
    for value in HOSTILE_VALUES:
        # Every field hostile but the account: a request from an unknown account is refused
        # (403) before anything is read, which test_org_gateway covers.
        params = dict.fromkeys(FIELDS, value) | {"AccountSid": account_sid}
        for ref in (value, "1"):
            resp = signed_post(client, app, name, params, a=ref)
            # Signed, so past the signature check (not a 403), and never a 500.
            assert resp.status_code < 500, (name, value[:20], resp.status_code)
            assert resp.status_code != 403, (name, value[:20])


def test_a_stop_after_hostile_rows_still_counts(app, client, session, org):
    people, _, _, _ = _sent(session, app, org)
    for value in HOSTILE_VALUES:
        signed_post(client, app, "sms_inbound", _inbound(value or "x", value))
        signed_post(client, app, "sms_status", dict.fromkeys(FIELDS, value), a=value)
    signed_post(client, app, "sms_inbound", _inbound(people[0].phone_mobile, "STOP"))
    session.expire_all()
    assert session.get(Senior, people[0].id).opted_out_sms_at is not None
    # Nothing hostile is left failing forever in the inbox either.
    assert session.scalars(select(WebhookInbox.error)).all() == []
