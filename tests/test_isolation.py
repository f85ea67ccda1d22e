"""Walk every URL rule of the app: nothing is served without a login, and nothing of one
landlord is served to a member of another.

A new route with an URL argument this test does not know makes it fail on purpose: add the
argument to ``_values`` so the new route is checked too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from outreach.audit.operations import record
from outreach.calls.models import Attempt, AttemptChannel, Outcome, Severity
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from outreach.doorknock.models import DoorKnock
from outreach.escalation.models import Alert, AlertCause
from outreach.partners.operations import create_partner
from outreach.telephony.urls import PATHS
from outreach.web import PUBLIC_ENDPOINTS
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user

SECRET_NAME = "Zéphyrine"
SECRET_REF = "SECRET-REF-42"


# URL arguments naming one row of A's: a member of B gets 404, as for a missing row.
OWN_IDS = {"senior_id", "id", "task_id", "campaign_id", "partner_id", "alert_id", "knock_id",
           "proposal_id", "call_id", "workshop_id"}  # fmt: skip


def _rules(app: Flask):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            yield rule, method


def _values(rule, ids: dict[str, int]) -> dict[str, object]:
    values: dict[str, object] = {}
    for arg in rule.arguments:
        if arg not in ids:
            pytest.fail(f"test_isolation does not know the URL argument {arg!r} of {rule.rule}")
        values[arg] = ids[arg]
    return values


@pytest.fixture
def two_landlords(session):
    a = make_org(session, "landlord-a", "Bailleur A")
    b = make_org(session, "landlord-b", "Bailleur B")
    senior_a = make_senior(session, a, first_name=SECRET_NAME, external_ref=SECRET_REF)
    make_senior(session, b)
    now = datetime.now(UTC)
    campaign_a = create_campaign(session, a.id, f"Campagne {SECRET_NAME}", CampaignKind.custom)
    set_state(session, campaign_a, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    task_a = session.scalar(select(Task).where(Task.campaign_id == campaign_a.id))
    alert_a = Alert(
        organisation_id=a.id,
        senior_id=senior_a.id,
        cause=AlertCause.urgent_signal,
        severity=Severity.urgent,
        summary=f"Signal : chute de {SECRET_NAME}",
        opened_at=now,
        due_at=now,
    )
    session.add(alert_a)
    partner_a = create_partner(session, a.id, name=f"CCAS {SECRET_NAME}", kind="ccas")
    # A staff call and an SMS reply of A's (SMS à lire, corrections).
    attempt_a = Attempt(
        organisation_id=a.id,
        senior_id=senior_a.id,
        channel=AttemptChannel.sms,
        direction="inbound",
        started_at=now,
        reply=f"Bonjour c'est {SECRET_NAME}",
        outcome=Outcome.reply_to_read,
    )
    session.add(attempt_a)
    session.flush()
    # A door-knock of A's, in a residence named after the secret (the door-knock pages).
    knock_a = DoorKnock(organisation_id=a.id, senior_id=senior_a.id, alert_id=alert_a.id,
                        residence=SECRET_NAME, due_at=now)  # fmt: skip
    session.add(knock_a)
    # A's audit trail, by a member of A whose name is the secret (the journal, its CSV).
    reader_a = make_user(session, a, "manager")
    reader_a.name = SECRET_NAME
    record(session, action="view", entity="senior", entity_id=senior_a.id,
           organisation_id=a.id, user_id=reader_a.id, details={"screen": "call"})  # fmt: skip
    # A vigilance proposal of A's (its page, accept, refuse, seen).
    from outreach.vigilance.models import ProposalKind, ProposalState, VigilanceProposal

    proposal_a = VigilanceProposal(organisation_id=a.id, kind=ProposalKind.activate,
                                   departements=["37"], level="orange", colour=3,
                                   for_day=paris_today(now), state=ProposalState.open)  # fmt: skip
    session.add(proposal_a)
    # A call received by A, to return (Appels reçus à rappeler).
    from outreach.telephony.models import InboundCall

    call_a = InboundCall(organisation_id=a.id, senior_id=senior_a.id, from_number="+33612345678",
                         call_sid="CA-isolation", received_at=now)  # fmt: skip
    session.add(call_a)
    # A workshop of A's (outreach.workshops), named after her.
    from datetime import timedelta

    from outreach.workshops.operations import create_workshop

    workshop_a = create_workshop(session, a.id, now, None, theme=f"Atelier {SECRET_NAME}",
                                 starts_at=now + timedelta(days=3), place="Salle A",
                                 capacity=10, territory="37")  # fmt: skip
    # The broadest roles of B: whatever they may see, it must never be A's.
    intruder = make_user(session, b, "admin")
    session.commit()
    ids = {
        "senior_id": senior_a.id,
        "id": senior_a.id,
        "task_id": task_a.id,
        "campaign_id": campaign_a.id,
        "organisation_id": a.id,
        "alert_id": alert_a.id,
        "partner_id": partner_a.id,
        "attempt_id": attempt_a.id,
        "knock_id": knock_a.id,
        "proposal_id": proposal_a.id,
        "call_id": call_a.id,
        "workshop_id": workshop_a.id,
    }
    return intruder, ids


def test_every_webhook_refuses_an_unsigned_request(app, client):
    """The gateway's webhooks need no login but a Twilio signature: none gets 403, and the
    pages' app serves nothing under /twilio/ (the webhook app does, web/webhooks.py)."""
    assert not [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/twilio")]
    hooks = app.extensions["outreach.webhooks"]
    served = sorted(r.rule for r in hooks.url_map.iter_rules() if r.endpoint != "static")
    assert served == sorted(PATHS.values())
    for path in PATHS.values():
        resp = client.post(path, data={"CallSid": "CA" + "0" * 32, "Digits": "1"})
        assert resp.status_code == 403, path
        assert "Set-Cookie" not in resp.headers


def test_every_rule_requires_a_login(app, client, two_landlords):
    _, ids = two_landlords
    checked = 0
    for rule, method in _rules(app):
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_values(rule, ids))
        resp = client.open(url, method=method)
        assert resp.status_code == 302, f"{method} {url} served {resp.status_code} without login"
        assert resp.headers["Location"].startswith("/login"), url
        checked += 1
    assert checked >= 3


def test_another_landlords_data_is_never_served(app, client, two_landlords):
    intruder, ids = two_landlords
    login(client, intruder.email)
    # A valid CSRF token, so that POST routes reach their handler and its access check.
    token = csrf_from(client.get("/").get_data(as_text=True))
    for rule, method in _rules(app):
        if rule.endpoint == "auth.logout":
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **_values(rule, ids))
        data = {"csrf_token": token} if method == "POST" else None
        resp = client.open(url, method=method, data=data)
        body = resp.get_data(as_text=True)
        assert SECRET_NAME not in body and SECRET_REF not in body, f"{method} {url} leaked"
        if rule.arguments & OWN_IDS:
            assert resp.status_code == 404, f"{method} {url} gave {resp.status_code}, not 404"
        if "organisation_id" in rule.arguments:
            assert resp.status_code in (403, 404), f"{method} {url} gave {resp.status_code}"
