"""Walk every URL rule of the app with hostile input as a logged-in admin: whatever the
query string or the form holds, no page answers 500 (a bad value is a 400, a 404, or the
page with a French message), and no hostile text comes back unescaped.

The walk takes the values of the URL arguments from test_isolation, so a new route is
walked too. Query and form fields are tried under the names the pages use.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Outcome, Severity
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from outreach.doorknock.models import DoorKnock
from outreach.escalation.models import Alert, AlertCause
from outreach.partners.operations import create_partner
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user
from tests.test_isolation import _rules, _values

# Values that broke pages of services like this one: integer overflow, negative pages,
# impossible dates, markup, SQL, right-to-left overrides, NUL bytes, very long text.
HOSTILE = [
    "-1",
    "0",
    "abc",
    "99999999999999999999",
    "2026-02-30",
    "9999-99-99",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202eevil",
    "\x00",
    "é" * 3000,
    '=HYPERLINK("http://x")',
]
# The names of the query and form fields the pages read (filters, pagination, forms).
FIELDS = [
    "page", "q", "status", "state", "kind", "from", "to", "departement", "campaign",
    "campaign_id", "user", "user_id", "action", "senior", "senior_id", "severity", "cause",
    "referent", "referent_id", "format", "org", "organisation_id", "sort", "day", "date",
    "channel", "outcome", "disposition", "notes", "callback_at", "until", "level",
    "departements", "name", "last_name", "first_name", "phone", "phone_mobile", "birth_date",
    "gir", "confirm", "confirmation", "resolution", "note", "partner_id", "partner", "email",
    "consent_status", "consent_date", "paused_until", "left_on", "period", "entity",
    "residence", "reason", "staff",
    "member", "reserve", "draw",  # the panel's agreements (issue 13)
]  # fmt: skip


@pytest.fixture
def one_landlord(session):
    org = make_org(session, "landlord-h", "Bailleur H")
    senior = make_senior(session, org)
    now = datetime.now(UTC)
    campaign = create_campaign(session, org.id, "Campagne H", CampaignKind.custom)
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    task = session.scalar(select(Task).where(Task.campaign_id == campaign.id))
    alert = Alert(
        organisation_id=org.id,
        senior_id=senior.id,
        cause=AlertCause.urgent_signal,
        severity=Severity.urgent,
        summary="Signal : chute",
        opened_at=now,
        due_at=now,
    )
    session.add(alert)
    partner = create_partner(session, org.id, name="CCAS H", kind="ccas")
    attempt = Attempt(
        organisation_id=org.id,
        senior_id=senior.id,
        channel=AttemptChannel.sms,
        direction="inbound",
        started_at=now,
        reply="Bonjour",
        outcome=Outcome.reply_to_read,
    )
    session.add(attempt)
    session.flush()
    knock = DoorKnock(organisation_id=org.id, senior_id=senior.id, alert_id=alert.id,
                      residence="Les Tilleuls", due_at=now)  # fmt: skip
    session.add(knock)
    from outreach.vigilance.models import ProposalKind, ProposalState, VigilanceProposal

    proposal = VigilanceProposal(organisation_id=org.id, kind=ProposalKind.activate,
                                 departements=["37"], level="orange", colour=3,
                                 for_day=now.date(), state=ProposalState.open)  # fmt: skip
    session.add(proposal)
    from outreach.telephony.models import InboundCall

    call = InboundCall(organisation_id=org.id, from_number="+33612345678",
                       call_sid="CA" + "e" * 32, received_at=now)  # fmt: skip
    session.add(call)
    from datetime import timedelta

    from outreach.workshops.invitations import invite
    from outreach.workshops.operations import create_workshop

    later = now + timedelta(days=3)
    workshop = create_workshop(session, org.id, now, None, theme="Atelier H", place="Salle H",
                               starts_at=later, capacity=1, territory="37")  # fmt: skip
    invite(session, workshop, {}, "sms", now, None)
    admin = make_user(session, org, "admin")
    session.commit()
    ids = {
        "senior_id": senior.id,
        "id": senior.id,
        "task_id": task.id if task else 1,
        "campaign_id": campaign.id,
        "organisation_id": org.id,
        "alert_id": alert.id,
        "partner_id": partner.id,
        "attempt_id": attempt.id,
        "knock_id": knock.id,
        "proposal_id": proposal.id,
        "call_id": call.id,
        "workshop_id": workshop.id,
    }
    return admin, ids


def _url(app: Flask, rule, ids: dict[str, int]) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **_values(rule, ids))


# What only the database can refuse differently: SQLite's own limits (an integer beyond 64
# bits, a NUL byte) and the parsing of ids. Escaping, dates and long texts are the pages'
# own and walked in full on PostgreSQL (the walk of all twelve on both took a minute).
SQLITE_HOSTILE = ["-1", "abc", "99999999999999999999", "\x00"]


# The walk is the suite's longest test on PostgreSQL: split in three by value, so that the
# test workers share it.
CHUNKS = 3


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_no_page_answers_500_to_hostile_input(app, client, one_landlord, chunk):
    admin, ids = one_landlord
    sqlite = app.config["OUTREACH"]["database"]["url"].startswith("sqlite")
    values = (SQLITE_HOSTILE if sqlite else HOSTILE)[chunk::CHUNKS]
    login(client, admin.email)
    token = csrf_from(client.get("/").get_data(as_text=True))
    failures = []
    for rule, method in _rules(app):
        if rule.endpoint == "auth.logout":
            continue
        url = _url(app, rule, ids)
        for value in values:
            fields = dict.fromkeys(FIELDS, value)
            try:
                if method == "GET":
                    resp = client.get(url, query_string=fields)
                else:
                    resp = client.post(url, data=fields | {"csrf_token": token})
            except Exception as exc:  # the test app propagates what would be a 500
                failures.append(f"{method} {url} with {value[:20]!r}: {type(exc).__name__}")
                continue
            if resp.status_code >= 500:
                failures.append(f"{method} {url} with {value[:20]!r}: {resp.status_code}")
            body = resp.get_data(as_text=True)
            if resp.mimetype == "text/html" and "<script>alert(1)</script>" in body:
                failures.append(f"{method} {url} echoed markup unescaped")
    assert not failures, "\n".join(failures)
