"""Appels reçus à rappeler: calls received on our numbers, listed on the queue page of their
organisation, returned with one button ("Rappelé(e)")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.telephony.models import InboundCall
from tests.conftest import TEST_PASSWORD, csrf_from, login
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots/i1")
RECEIVED = datetime(2026, 7, 15, 8, 5, tzinfo=UTC)  # 10:05 in Paris
STRANGER = "+33655554444"


def _call(session, org, sid, number, senior=None):
    call = InboundCall(
        organisation_id=org.id,
        senior_id=senior.id if senior else None,
        from_number=number,
        call_sid=sid,
        received_at=RECEIVED,
    )
    session.add(call)
    session.flush()
    return call


@pytest.fixture
def world(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    other = make_org(session, "tmh", "Tours Métropole Habitat")
    people = {
        "caller": make_user(session, org, "caller"),
        "volunteer": make_user(session, org, "volunteer"),
        "outsider": make_user(session, other, "caller"),
    }
    odette = make_senior(session, org, last_name="Bernard", first_name="Odette",
                         phone_mobile="+33612120000")  # fmt: skip
    calls = {
        "unknown": _call(session, org, "CA-unknown", STRANGER),
        "odette": _call(session, org, "CA-odette", odette.phone_mobile, odette),
        "theirs": _call(session, other, "CA-theirs", "+33677778888"),
    }
    session.commit()
    return people, calls


def _fresh(session, call) -> InboundCall:
    session.rollback()
    session.expire_all()
    return session.get(InboundCall, call.id)


def test_callers_see_the_calls_of_their_organisation_to_return(client, world):
    people, _ = world
    login(client, people["caller"].email)
    page = client.get("/file/").text
    assert "Appels reçus à rappeler" in page
    assert "06 55 55 44 44" in page and "Numéro inconnu" in page
    assert "Bernard" in page and 'name="note"' in page
    assert "06 77 77 88 88" not in page  # another landlord's caller


def test_volunteers_see_the_number_only(client, world):
    people, _ = world
    login(client, people["volunteer"].email)
    page = client.get("/file/").text
    assert "06 55 55 44 44" in page and "06 12 12 00 00" in page
    assert "Bernard" not in page and 'name="note"' not in page


def test_rappele_handles_the_call_once_with_its_note(client, session, world):
    people, calls = world
    login(client, people["caller"].email)
    url = f"/file/appels-recus/{calls['unknown'].id}"
    token = csrf_from(client.get("/file/").text)
    assert client.post(url, data={"note": "x"}).status_code == 400  # no CSRF token
    assert _fresh(session, calls["unknown"]).handled_at is None
    resp = client.post(url, data={"csrf_token": token, "note": " Voisine de Mme Roux "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#inbound")
    call = _fresh(session, calls["unknown"])
    assert call.handled_by_id == people["caller"].id and call.note == "Voisine de Mme Roux"
    handled_at = call.handled_at
    assert handled_at is not None
    page = client.get("/file/").text
    assert "06 55 55 44 44" not in page and "Bernard" in page
    again = client.post(url, data={"csrf_token": token, "note": "encore"}, follow_redirects=True)
    assert "déjà été rappelé" in again.text
    call = _fresh(session, calls["unknown"])
    assert (call.handled_at, call.note) == (handled_at, "Voisine de Mme Roux")


def test_a_volunteer_returns_a_call_without_a_note(client, session, world):
    people, calls = world
    login(client, people["volunteer"].email)
    token = csrf_from(client.get("/file/").text)
    url = f"/file/appels-recus/{calls['odette'].id}"
    assert client.post(url, data={"csrf_token": token, "note": "elle va bien"}).status_code == 302
    call = _fresh(session, calls["odette"])
    assert call.handled_by_id == people["volunteer"].id and call.note is None


def test_another_organisation_cannot_touch_the_call(client, session, world):
    people, calls = world
    login(client, people["outsider"].email)
    token = csrf_from(client.get("/file/").text)
    resp = client.post(f"/file/appels-recus/{calls['unknown'].id}", data={"csrf_token": token})
    assert resp.status_code == 404
    assert _fresh(session, calls["unknown"]).handled_at is None
    assert (
        session.scalar(select(InboundCall.handled_at).where(InboundCall.call_sid == "CA-theirs"))
        is None
    )


@pytest.mark.browser
def test_the_section_on_a_desktop_and_a_phone(page, session, world):
    from playwright.sync_api import expect

    people, calls = world
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(people["caller"].email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/file/")
    section = page.locator("#inbound-section")
    expect(section.get_by_role("heading", name="Appels reçus à rappeler")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        section.screenshot(path=str(SHOTS / f"inbound-queue-{width}.png"))
        # Nothing wider than the screen on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    item = section.locator(".inbound-item").filter(has_text="06 55 55 44 44")
    item.get_by_label("Note").fill("Rappelée, une voisine")
    item.get_by_role("button", name="Rappelé(e)").click()
    expect(page.locator("#inbound-section .inbound-item")).to_have_count(1)
    assert _fresh(session, calls["unknown"]).note == "Rappelée, une voisine"
