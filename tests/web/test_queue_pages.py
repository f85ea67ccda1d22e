"""Ma file du jour over HTTP: next senior, call screen, outcome form, volunteers' limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Disposition, Signal
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task, TaskState
from outreach.campaigns.operations import activate_canicule, create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import EmergencyContact
from tests.conftest import csrf_from, login
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user


@pytest.fixture
def world(session):
    now = datetime.now(UTC)
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    volunteer = make_user(session, org, "volunteer")
    senior = make_senior(session, org, civility="Mme", last_name="Bernard", first_name="Odette")
    session.add(
        EmergencyContact(
            organisation_id=org.id,
            senior_id=senior.id,
            name="Claire Bernard",
            relation="fille",
            phone="+33639980001",
        )
    )
    campaign = create_campaign(
        session,
        org.id,
        "Courtoisie",
        CampaignKind.courtesy,
        call_window={
            d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        skip_holidays=False,
    )
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    return org, caller, volunteer, senior


def _next(client):
    page = client.get("/file/")
    assert page.status_code == 200
    resp = client.post("/file/suivant", data={"csrf_token": csrf_from(page.text)})
    as_if_on_the_phone(client.application)
    return resp


def test_caller_takes_next_senior_and_sees_the_call_screen(client, world):
    _, caller, _, senior = world
    login(client, caller.email)
    resp = _next(client)
    assert resp.status_code == 302 and "/file/appel/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert "Bonjour Mme Bernard" in page.text  # the script, rendered for her
    assert 'href="tel:+33612345678"' in page.text
    assert "Claire Bernard" in page.text and 'href="tel:+33639980001"' in page.text
    assert "Val Touraine Habitat" in page.text


def test_reached_ok_in_one_submit(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url = _next(client).headers["Location"]
    page = client.get(url)
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "quick": "1"})
    assert resp.status_code == 302
    task = session.scalar(select(Task).where(Task.senior_id == senior.id))
    session.refresh(task)
    assert task.state == TaskState.done
    attempt = session.scalar(select(Attempt).where(Attempt.task_id == task.id))
    assert attempt.disposition == Disposition.reached_ok and attempt.user_id == caller.id


def test_outcome_form_with_signal_and_note(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url = _next(client).headers["Location"]
    token = csrf_from(client.get(url).text)
    resp = client.post(
        url,
        data={
            "csrf_token": token,
            "disposition": "reached_concern",
            "signals": ["fall"],
            "severity": "urgent",
            "notes": "Est tombée dans la cuisine.",
        },
    )
    assert resp.status_code == 302, resp.text
    sig = session.scalar(select(Signal).where(Signal.senior_id == senior.id))
    assert (sig.kind, sig.severity) == ("fall", "urgent")
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == senior.id))
    assert attempt.notes == "Est tombée dans la cuisine."
    # The senior page's history shows the call, the signal and the note.
    page = client.get(f"/seniors/{senior.id}")
    assert "Chute" in page.text and "Est tombée dans la cuisine." in page.text


def test_missing_disposition_is_refused_and_changes_nothing(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url = _next(client).headers["Location"]
    resp = client.post(url, data={"csrf_token": csrf_from(client.get(url).text)})
    assert resp.status_code == 400
    assert "Choisissez le résultat" in resp.text
    assert session.scalar(select(Attempt)) is None


def test_volunteer_neither_sees_nor_writes_notes(client, session, world):
    org, caller, volunteer, senior = world
    # A caller leaves a note on an earlier call.
    login(client, caller.email)
    url = _next(client).headers["Location"]
    client.post(
        url,
        data={
            "csrf_token": csrf_from(client.get(url).text),
            "disposition": "no_answer",
            "notes": "Note sociale confidentielle",
        },
    )
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    session.execute(Task.__table__.update().values(not_before=None))
    session.commit()

    login(client, volunteer.email)
    url = _next(client).headers["Location"]
    page = client.get(url)
    assert "Note sociale confidentielle" not in page.text
    assert 'name="notes"' not in page.text
    client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "disposition": "reached_ok",
            "notes": "glissée",
        },
    )
    notes = session.scalars(select(Attempt.notes).order_by(Attempt.id)).all()
    assert notes == ["Note sociale confidentielle", None]
    # Volunteers do not browse the roster either.
    assert client.get(f"/seniors/{senior.id}").status_code == 403


def test_another_organisations_task_is_404(client, session, world):
    org, caller, _, _ = world
    other = make_org(session)
    intruder = make_user(session, other, "admin")
    session.commit()
    task = session.scalar(select(Task))
    login(client, intruder.email)
    assert client.get(f"/file/appel/{task.id}").status_code == 404
    page = client.get("/file/")
    assert "Bernard" not in page.text
    resp = client.post(f"/file/appel/{task.id}/prendre", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 404


def test_canicule_checklist_becomes_signals(client, session, world):
    org, caller, _, senior = world
    now = datetime.now(UTC)
    senior.canicule_register = True
    activate_canicule(session, org.id, ["37"], "rouge", paris_today(now), now)
    session.commit()
    login(client, caller.email)
    url = _next(client).headers["Location"]  # the canicule task comes first
    page = client.get(url)
    assert "Canicule : ce qui ne va pas" in page.text and "0 800 06 66 66" in page.text
    # One checklist: each question is asked once, beside what to tick.
    assert page.text.count("Avez-vous bu de") == 1
    assert page.text.count("Avez-vous mangé normalement") == 1
    client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "disposition": "reached_concern",
            "canicule": ["heat_illness", "not_drinking"],
        },
    )
    kinds = sorted((s.kind, s.severity) for s in session.scalars(select(Signal)).all())
    assert kinds == [("heat_distress", "urgent"), ("not_eating_drinking", "concern")]


def test_the_caller_says_which_number_she_dialled_and_a_wrong_one_is_skipped_after(
    client, session, world
):
    from outreach.telephony.numbers import call_order

    _, caller, _, senior = world
    senior.phone_landline = "+33247000001"
    session.commit()
    login(client, caller.email)
    url = _next(client).headers["Location"]
    page = client.get(url)
    # Both numbers offered, the first to call ticked.
    assert (
        '<input checked id="phone-0" name="phone" type="radio" value="+33247000001">' in page.text
    )
    assert '<input id="phone-1" name="phone" type="radio" value="+33612345678">' in page.text
    forged = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "disposition": "wrong_number",
            "phone": "+33100000000",
        },
    )
    assert forged.status_code == 400
    assert session.scalar(select(Attempt).where(Attempt.senior_id == senior.id)) is None
    resp = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "disposition": "wrong_number",
            "phone": "+33247000001",
        },
    )
    assert resp.status_code == 302, resp.text
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == senior.id))
    assert attempt.phone == "+33247000001"
    session.expire_all()
    assert call_order(session, session.get(type(senior), senior.id)) == ["+33612345678"]
