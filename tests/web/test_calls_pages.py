"""Nothing entered is lost, SMS à lire, Mes rappels, a call recorded from a senior's page,
her history (issue 9 §1, §3, §4)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, ChannelPolicy, Task, TaskState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import PARIS, paris_today
from outreach.roster.models import Senior
from tests.conftest import csrf_from, login
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user

ALWAYS = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def world(session):
    now = datetime.now(UTC)
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    volunteer = make_user(session, org, "volunteer")
    senior = make_senior(session, org, civility="Mme", last_name="Bernard", first_name="Odette")
    campaign = create_campaign(
        session, org.id, "Courtoisie", CampaignKind.courtesy, call_window=ALWAYS,
        skip_holidays=False,
    )  # fmt: skip
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    return org, caller, volunteer, senior


def _claim(client):
    page = client.get("/file/")
    resp = client.post("/file/suivant", data={"csrf_token": csrf_from(page.text)})
    as_if_on_the_phone(client.application)
    url = resp.headers["Location"]
    return url, client.get(url)


def _checked(html: str, name: str, value: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*>', html)
    return bool(tag) and "checked" in tag.group(0)


def test_a_refused_form_keeps_everything_typed_and_ticked(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url, page = _claim(client)
    data = {
        "csrf_token": csrf_from(page.text),
        # "une inquiétude" with a fall ticked, but a callback in the past: refused.
        "disposition": "reached_concern",
        "signals": ["fall"],
        "severity": "urgent",
        "notes": "Est tombée dans la salle de bains",
        "callback_at": "2020-01-01T10:00",
    }
    resp = client.post(url, data=data)
    assert resp.status_code == 400
    assert 'id="error-summary"' in resp.text and "le rappel doit être dans le futur" in resp.text
    assert _checked(resp.text, "signals", "fall")
    assert _checked(resp.text, "disposition", "reached_concern")
    assert _checked(resp.text, "severity", "urgent")
    assert "Est tombée dans la salle de bains" in resp.text
    assert session.scalar(select(Attempt)) is None


def test_the_quick_action_is_refused_while_signals_or_a_note_are_entered(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url, page = _claim(client)
    token = csrf_from(page.text)
    resp = client.post(url, data={"csrf_token": token, "quick": "1", "signals": ["fall"]})
    assert resp.status_code == 400 and "rien de ce que vous avez saisi" in resp.text
    assert _checked(resp.text, "signals", "fall")
    assert not _checked(resp.text, "disposition", "reached_ok")
    resp = client.post(url, data={"csrf_token": token, "quick": "1", "notes": "fatiguée"})
    assert resp.status_code == 400 and "fatiguée" in resp.text
    assert session.scalar(select(Attempt)) is None
    # With nothing else entered it records "tout va bien" at once.
    assert client.post(url, data={"csrf_token": token, "quick": "1"}).status_code == 302
    assert session.scalar(select(Attempt.outcome)) == Outcome.reached_ok


def test_enter_pressed_twice_right_after_the_claim_records_nothing(client, session, world):
    _, caller, _, _ = world
    login(client, caller.email)
    page = client.get("/file/")
    url = client.post("/file/suivant", data={"csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(url)
    # No button of the call page takes the focus by itself.
    assert "autofocus" not in page.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "quick": "1"})
    assert resp.status_code == 400 and "vous venez de prendre cet appel" in resp.text
    assert session.scalar(select(Attempt)) is None


def test_the_call_page_warns_when_she_refused_since_the_claim(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url, _ = _claim(client)
    session.get(Senior, senior.id).opted_out_phone_at = datetime.now(UTC)
    session.commit()
    page = client.get(url)
    assert "Attention, depuis la prise de cet appel" in page.text
    assert "opposé(e) à ce canal" in page.text


def _reply(session, senior, text, task=None):
    reply = Attempt(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        task_id=task.id if task else None,
        channel=AttemptChannel.sms,
        direction="inbound",
        started_at=datetime.now(UTC),
        reply=text,
        outcome=Outcome.reply_to_read,
    )
    session.add(reply)
    session.commit()
    return reply


def test_sms_a_lire_is_classified_in_one_click_by_a_caller_not_a_volunteer(client, session, world):
    _, caller, volunteer, senior = world
    task = session.scalar(select(Task).where(Task.senior_id == senior.id))
    reply = _reply(session, senior, "je suis à l'hôpital, ma fille passe", task)
    login(client, volunteer.email)
    assert "je suis à l" not in client.get("/file/").text
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    login(client, caller.email)
    page = client.get("/file/")
    assert "SMS à lire" in page.text and "je suis à l&#39;hôpital" in page.text
    resp = client.post(
        f"/file/sms/{reply.id}",
        data={"csrf_token": csrf_from(page.text), "outcome": "callback_requested"},
    )
    assert resp.status_code == 302
    session.expire_all()
    reply = session.get(Attempt, reply.id)
    assert reply.outcome == Outcome.callback_requested and reply.user_id == caller.id
    task = session.get(Task, task.id)
    assert task.callback_at is not None and task.outcome == Outcome.callback_requested
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "sms_reply_classified"))
    assert "SMS à lire" not in client.get("/file/").text


def test_an_sms_read_as_stop_opts_her_out(client, session, world):
    _, caller, _, senior = world
    reply = _reply(session, senior, "je ne veux plus de vos messages")
    login(client, caller.email)
    page = client.get("/file/")
    client.post(
        f"/file/sms/{reply.id}", data={"csrf_token": csrf_from(page.text), "outcome": "refused"}
    )
    session.expire_all()
    assert session.get(Senior, senior.id).opted_out_sms_at is not None


def test_mes_rappels_lists_the_callbacks_a_caller_promised(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url, page = _claim(client)
    later = (datetime.now(PARIS) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    resp = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "disposition": "reached_later",
            "callback_at": later,
            "callback_for_me": "y",
        },
    )
    assert resp.status_code == 302, resp.text
    page = client.get("/file/rappels")
    mine = page.text.split("Les rappels pour toute l")[0]
    assert "Odette Bernard" in mine
    assert session.scalar(select(Attempt.outcome)) == Outcome.reached_later


def test_a_call_outside_the_queue_is_recorded_from_her_page(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    page = client.get(f"/seniors/{senior.id}")
    assert "Enregistrer un appel passé hors de la file" in page.text
    form = client.get(f"/seniors/{senior.id}/appel")
    resp = client.post(
        f"/seniors/{senior.id}/appel",
        data={"csrf_token": csrf_from(form.text), "disposition": "reached_ok"},
    )
    assert resp.status_code == 302
    session.expire_all()
    # Her call of the day is made: the queue will not call her again.
    task = session.scalar(select(Task).where(Task.senior_id == senior.id))
    assert task.state == TaskState.done and task.outcome == Outcome.reached_ok
    assert "Personne à appeler" in client.get("/file/").text
    # A refused entry keeps what was typed.
    resp = client.post(
        f"/seniors/{senior.id}/appel",
        data={"csrf_token": csrf_from(form.text), "notes": "Elle a appelé pour sa facture"},
    )
    assert resp.status_code == 400 and "Elle a appelé pour sa facture" in resp.text


def test_her_history_says_when_which_channel_and_who_and_keeps_plans_apart(client, session, world):
    _, caller, _, senior = world
    login(client, caller.email)
    url, page = _claim(client)
    client.post(url, data={"csrf_token": csrf_from(page.text), "disposition": "no_answer"})
    page = client.get(f"/seniors/{senior.id}").text
    planned, happened = re.split("Ce qui s(?:'|&#39;)est passé", page)
    assert "À venir" in planned and "Appel prévu : Courtoisie" in planned
    assert f"Appel par {caller.name}" in happened and "Pas joint(e)" in happened
    assert "Appel prévu" not in happened
    # Its author may correct it for a while: the link is beside the call.
    assert "/corriger" in happened and "Corriger" in happened


@pytest.mark.date_sensitive
def test_why_she_was_not_called_today(client, session, app):
    monday = datetime(2026, 6, 8, 10, 0, tzinfo=PARIS)
    with time_machine.travel(monday, tick=True):
        org = make_org(session)
        caller = make_user(session, org, "caller")
        senior = make_senior(session, org, birth_date=date(1960, 1, 1))
        campaign = create_campaign(session, org.id, "Courtoisie", CampaignKind.courtesy)
        set_state(session, campaign, CampaignState.active, monday)
        session.add(
            Attempt(
                organisation_id=org.id,
                senior_id=senior.id,
                channel=AttemptChannel.staff,
                started_at=monday - timedelta(days=3),
                outcome=Outcome.reached_ok,
            )
        )
        generate_day(session, monday.date(), monday)
        sms = create_campaign(
            session, org.id, "SMS", CampaignKind.custom, channel_policy=ChannelPolicy.sms
        )
        set_state(session, sms, CampaignState.active, monday)
        session.commit()
        login(client, caller.email)
        page = client.get(f"/seniors/{senior.id}").text
        # Reached on Friday 5 June, every 14 days: next call on Friday 19 June.
        assert re.search("Pas d(?:'|&#39;)appel aujourd(?:'|&#39;)hui : Courtoisie", page)
        assert "prochain appel le 19/06" in page, page
    with time_machine.travel(datetime(2026, 6, 13, 10, 0, tzinfo=PARIS), tick=True):
        page = client.get(f"/seniors/{senior.id}").text
        assert re.search("pas un jour d(?:'|&#39;)appel", page)  # Saturday: weekdays only
