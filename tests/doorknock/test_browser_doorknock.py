"""A gardien on a phone (390 px): logs in, lands on the door-knock page, records "pas de
réponse", then "vu(e), va bien", with the keyboard only. Screenshots under /tmp/shots/doorknock/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.doorknock.models import DoorKnock, KnockState
from outreach.escalation.models import Alert, AlertStatus, Resolution
from tests.conftest import TEST_PASSWORD
from tests.doorknock.helpers import TILLEULS, canicule_alert, world
from tests.factories import make_senior, make_user

SHOTS = Path("/tmp/shots/doorknock")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_gardien_records_no_answer_then_seen_well_with_the_keyboard(page, app, session):
    from playwright.sync_api import expect

    w = world(session)
    alert = canicule_alert(session, app.config["OUTREACH"], w.senior)
    manager = make_user(session, w.org, "manager")
    other = make_senior(session, w.org, residence="Résidence Les Acacias", canicule_register=True)
    canicule_alert(session, app.config["OUTREACH"], other, source_id=2)
    session.commit()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(w.gardien.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    # Straight to the doors of the only residence.
    expect(page.get_by_role("heading", name=TILLEULS)).to_be_visible()
    expect(page.get_by_text("4821B")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width})"
    _shot(page, "residence-390")

    page.get_by_label("Note (facultative)").focus()
    page.keyboard.type("Personne ne répond, volets fermés")
    page.keyboard.press("Tab")  # to "Vu(e), va bien"
    page.keyboard.press("Tab")  # "Vu(e), ne va pas bien"
    page.keyboard.press("Tab")  # "Pas de réponse"
    expect(page.get_by_role("button", name="Pas de réponse")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Pas de réponse")
    expect(page.get_by_role("heading", name="Personne n'a répondu")).to_be_visible()
    expect(page.get_by_role("link", name="15 SAMU")).to_have_attribute("href", "tel:15")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "no-answer-390")

    page.get_by_role("button", name="Vu(e), va bien").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Vu(e), va bien")
    session.expire_all()
    knock = session.scalar(select(DoorKnock).where(DoorKnock.alert_id == alert.id))
    assert knock.state == KnockState.done
    closed = session.get(Alert, alert.id)
    assert (closed.status, closed.resolution) == (AlertStatus.resolved, Resolution.home_visit)

    # The manager's view at 1366 px, for a look.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login?next=/passages/")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    # A manager sees every residence of the organisation: the list first.
    expect(page.get_by_role("link", name="Résidence Les Acacias")).to_be_visible()
    _shot(page, "list-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "list-390")
    page.get_by_role("link", name=TILLEULS).click()
    expect(page.get_by_role("heading", name=TILLEULS)).to_be_visible()
    page.set_viewport_size({"width": 1366, "height": 900})
    _shot(page, "residence-1366")
