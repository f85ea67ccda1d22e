"""The door-knock page: what proximity staff see, what they may do, and nothing else."""

from __future__ import annotations

import re

import pytest
from flask import url_for
from sqlalchemy import select

from outreach.doorknock.models import DoorKnock, KnockState
from outreach.escalation.models import Alert, AlertStatus
from tests.conftest import csrf_from, login
from tests.doorknock.helpers import TILLEULS, canicule_alert, world
from tests.factories import make_org, make_senior, make_user
from tests.test_isolation import _rules

ACACIAS = "Résidence Les Acacias"


@pytest.fixture
def two_residences(app, session):
    config = app.config["OUTREACH"]
    w = world(session)
    canicule_alert(session, config, w.senior)
    other = make_senior(session, w.org, last_name="Acaciasdame", residence=ACACIAS,
                        door_code="9999Z", canicule_register=True)  # fmt: skip
    canicule_alert(session, config, other, source_id=2)
    stranger = world(session, make_org(session))  # another landlord, same residence name
    stranger.senior.last_name = "Étrangère"
    canicule_alert(session, config, stranger.senior, source_id=3)
    manager = make_user(session, w.org, "manager")
    session.commit()
    knocks = {k.senior_id: k.id for k in session.scalars(select(DoorKnock))}
    return w, manager, knocks[w.senior.id], knocks[other.id], knocks[stranger.senior.id]


def _post(client, knock_id, outcome, note="", page="/passages/"):
    html = client.get(page).get_data(as_text=True)
    token = csrf_from(html)
    return client.post(f"/passages/{knock_id}", data={
        f"k{knock_id}-csrf_token": token, f"k{knock_id}-outcome": outcome,
        f"k{knock_id}-note": note})  # fmt: skip


def test_proximity_staff_land_on_their_residence_only(client, two_residences):
    w, _, mine, theirs, foreign = two_residences
    login(client, w.gardien.email)
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/passages/")
    body = client.get("/passages/").get_data(as_text=True)
    # One residence: straight to its doors, with what the visit needs.
    for text in (TILLEULS, w.senior.last_name, "12 rue des Tilleuls", "4821B",
                 "Clé chez la voisine du 2e", "Volets fermés", "Pas de réponse"):  # fmt: skip
        assert text in body, text
    for hidden in ("Acaciasdame", "9999Z", "Étrangère", w.senior.phone_mobile):
        assert hidden not in body, hidden
    assert client.get("/passages/?residence=" + ACACIAS).get_data(as_text=True).count(
        "Acaciasdame") == 0  # fmt: skip
    # Another residence's knock, another landlord's: not found.
    assert _post(client, theirs, "seen_well").status_code == 404
    assert _post(client, foreign, "seen_well").status_code == 404
    assert _post(client, mine, "seen_well").status_code == 302


def test_managers_see_every_residence_of_their_organisation(client, two_residences):
    w, manager, *_ = two_residences
    login(client, manager.email)
    body = client.get("/passages/").get_data(as_text=True)
    assert TILLEULS in body and ACACIAS in body and "Étrangère" not in body
    assert "Acaciasdame" in client.get("/passages/?residence=" + ACACIAS).get_data(as_text=True)


def test_a_refused_form_keeps_the_note(client, session, two_residences):
    w, _, mine, *_ = two_residences
    login(client, w.gardien.email)
    note = "Volets ouverts " + "x" * 600
    resp = _post(client, mine, "seen_well", note)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "500 caractères" in body and "Volets ouverts xxx" in body
    resp = _post(client, mine, "opened_the_door", "bruit")
    assert resp.status_code == 400 and "Choisissez ce que vous avez constaté" in resp.text
    knock = session.get(DoorKnock, mine)
    session.refresh(knock)
    assert knock.state == KnockState.open and knock.outcome is None


def test_the_outcome_is_recorded_and_moves_the_alert(client, session, two_residences):
    w, _, mine, *_ = two_residences
    login(client, w.gardien.email)
    resp = _post(client, mine, "no_answer", "personne")
    assert resp.status_code == 302
    body = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Personne n&#39;a répondu" in body or "Personne n'a répondu" in body
    for step in ('href="tel:15"', 'href="tel:18"', 'href="tel:112"', w.referent.name):
        assert step in body, step
    _post(client, mine, "seen_well")
    knock = session.get(DoorKnock, mine)
    assert knock.state == KnockState.done
    assert session.get(Alert, knock.alert_id).status == AlertStatus.resolved


def test_every_other_page_is_closed_to_proximity_staff(app, client, two_residences):
    """A gardien holds doorknock.work and nothing else: every other page answers 403 or
    404 (the home page sends them to their door-knocks)."""
    w, *_ = two_residences
    login(client, w.gardien.email)
    token = csrf_from(client.get("/passages/").get_data(as_text=True))
    own = {"doorknock.index", "doorknock.record_outcome", "views.home", "auth.logout"}
    opened, checked = [], 0
    for rule, method in _rules(app):
        if rule.endpoint in own or rule.endpoint.startswith("auth."):
            continue
        checked += 1
        with app.test_request_context():
            url = url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1))
        resp = client.open(url, method=method, data={"csrf_token": token})
        if resp.status_code not in (403, 404, 405):
            opened.append(f"{method} {url} {resp.status_code}")
    assert opened == [] and checked > 40


def test_the_knock_page_needs_the_permission(client, session, two_residences):
    caller = make_user(session, two_residences[0].org, "caller")
    session.commit()
    login(client, caller.email)
    assert client.get("/passages/").status_code == 403
    assert re.search(r"Passages à domicile", client.get("/").get_data(as_text=True)) is None
