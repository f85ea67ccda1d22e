"""Correcting a recorded call over HTTP: who may and until when, the pre-filled form, a
refused form kept, and the alerts following the correction."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask_login import login_user
from sqlalchemy import select

from outreach.calls.models import Attempt, Signal
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from outreach.escalation.models import Alert, AlertCause, AlertStatus, Resolution
from tests.conftest import csrf_from, login
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user


@pytest.fixture
def world(session):
    now = datetime.now(UTC)
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    referent = make_user(session, org, "social_worker")
    senior = make_senior(session, org, last_name="Bernard", referent_id=referent.id)
    campaign = create_campaign(
        session,
        org.id,
        "Courtoisie",
        CampaignKind.courtesy,
        call_window={d: [["00:00", "23:59"]] for d in WEEKDAYS},
        skip_holidays=False,
    )
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    return org, caller, senior


def _call(client, data):
    """Take the next senior of the queue and record ``data`` on the outcome form."""
    page = client.get("/file/")
    url = client.post("/file/suivant", data={"csrf_token": csrf_from(page.text)})
    url = url.headers["Location"]
    as_if_on_the_phone(client.application)
    token = csrf_from(client.get(url).text)
    assert client.post(url, data={"csrf_token": token, **data}).status_code == 302


def _attempt(session):
    session.expire_all()
    return session.scalar(select(Attempt).order_by(Attempt.id.desc()))


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_from(client.get(url).text), **data})


def _checked(html: str, name: str, value: str) -> bool:
    return re.search(rf'<input checked [^>]*name="{name}"[^>]*value="{value}"', html) is not None


FALL = {"disposition": "reached_concern", "signals": ["fall"], "severity": "urgent"}


def test_the_author_corrects_within_thirty_minutes_then_no_longer(client, session, world):
    org, caller, senior = world
    login(client, caller.email)
    _call(client, {"quick": "1"})
    attempt = _attempt(session)
    url = f"/appels/{attempt.id}/corriger"
    page = client.get(url)
    assert page.status_code == 200
    assert _checked(page.text, "disposition", "reached_ok")  # the form holds what was recorded
    assert "Vous pouvez corriger cet appel jusqu" in page.text
    resp = _post(client, url, {**FALL, "notes": "Chute dans la salle de bain"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/seniors/{senior.id}")
    page = client.get(resp.headers["Location"])
    assert "Correction enregistrée" in page.text and "Chute" in page.text

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31)):
        assert client.get(url).status_code == 403
        token = csrf_from(client.get("/file/").text)
        resp = client.post(url, data={"csrf_token": token, "disposition": "reached_ok"})
        assert resp.status_code == 403
    assert _attempt(session).disposition == "reached_concern"


def test_a_manager_corrects_at_any_time_and_others_may_not(client, session, world):
    org, caller, senior = world
    manager = make_user(session, org, "manager")
    colleague = make_user(session, org, "caller")
    stranger = make_user(session, make_org(session), "volunteer")
    session.commit()
    login(client, caller.email)
    _call(client, {"disposition": "no_answer"})
    url = f"/appels/{_attempt(session).id}/corriger"
    for who, status in ((colleague, 403), (stranger, 404)):
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
        login(client, who.email)
        assert client.get(url).status_code == status
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    with time_machine.travel(datetime.now(UTC) + timedelta(days=3)):
        login(client, manager.email)
        resp = _post(client, url, {"disposition": "busy"})
        assert resp.status_code == 302
    assert _attempt(session).disposition == "busy"


def test_a_refused_correction_keeps_what_was_typed(client, session, world):
    org, caller, _ = world
    login(client, caller.email)
    _call(client, {"quick": "1"})
    url = f"/appels/{_attempt(session).id}/corriger"
    resp = _post(client, url, {"disposition": "reached_concern", "notes": "Se sent seule"})
    assert resp.status_code == 400
    assert "cochez au moins un signal" in resp.text
    assert "Se sent seule" in resp.text and _checked(resp.text, "disposition", "reached_concern")
    assert _attempt(session).disposition == "reached_ok"


def test_a_mistaken_fall_alert_is_closed_by_the_correction(client, session, world):
    org, caller, senior = world
    login(client, caller.email)
    _call(client, FALL)
    alert = session.scalar(select(Alert))
    assert (alert.cause, alert.status) == (AlertCause.urgent_signal, AlertStatus.open)
    url = f"/appels/{_attempt(session).id}/corriger"
    page = client.get(url)
    assert _checked(page.text, "signals", "fall") and _checked(page.text, "severity", "urgent")
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "disposition": "reached_ok"})
    assert resp.status_code == 302
    session.expire_all()
    alert = session.scalar(select(Alert))
    assert (alert.status, alert.resolution) == (AlertStatus.resolved, Resolution.no_action)
    assert alert.resolution_note.startswith("Corrigé : ")
    assert session.scalar(select(Signal)) is None


def test_a_correction_to_a_fall_opens_the_urgent_alert(client, session, world):
    org, caller, senior = world
    login(client, caller.email)
    _call(client, {"quick": "1"})
    assert session.scalar(select(Alert)) is None
    resp = _post(client, f"/appels/{_attempt(session).id}/corriger", FALL)
    assert resp.status_code == 302
    session.expire_all()
    [alert] = session.scalars(select(Alert)).all()
    assert (alert.cause, alert.severity, alert.status) == ("urgent_signal", "urgent", "open")
    assert alert.senior_id == senior.id


def test_a_volunteer_corrects_her_call_without_notes(client, session, world):
    org, _, _ = world
    volunteer = make_user(session, org, "volunteer")
    session.commit()
    login(client, volunteer.email)
    _call(client, {"quick": "1"})
    url = f"/appels/{_attempt(session).id}/corriger"
    assert 'name="notes"' not in client.get(url).text
    resp = _post(client, url, {"disposition": "voicemail"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/file/")


def test_correctable_tells_the_pages_when_to_offer_the_link(app, session, world):
    org, caller, senior = world
    manager = make_user(session, org, "manager")
    now = datetime.now(UTC)
    attempt = Attempt(
        organisation_id=org.id,
        senior_id=senior.id,
        channel="staff",
        user_id=caller.id,
        started_at=now,
        ended_at=now,
        disposition="reached_ok",
        outcome="reached_ok",
    )
    session.add(attempt)
    session.commit()
    correctable = app.jinja_env.globals["correctable"]
    for user, at, expected in (
        (caller, now, True),
        (caller, now + timedelta(minutes=31), False),
        (manager, now + timedelta(days=30), True),
    ):
        with time_machine.travel(at), app.test_request_context():
            login_user(user)
            assert correctable(attempt) is expected
