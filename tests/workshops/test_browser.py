"""A manager plans a workshop and invites a residence by SMS; the team notes an answer and,
after the workshop, the attendance. Screenshots at 1366 and 390 px under /tmp/shots/D/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.workshops.models import Invitation, Workshop, WorkshopState
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user

SHOTS = Path("/tmp/shots/D")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        # No sideways scrolling of the page on a phone: wide tables scroll in their box.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
def test_from_planning_and_inviting_to_attendance(page, app, session, org, people):
    from playwright.sync_api import expect

    manager = make_user(session, org, "manager")
    session.commit()
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Ateliers").first.click()
    page.get_by_role("link", name="Nouvel atelier").click()
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    page.get_by_label("Thème").fill("Bien vivre l'été")
    page.get_by_label("Nombre de places").fill("2")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Heure de début").fill("14:30")
    page.get_by_label("Lieu").fill("Salle des Tilleuls")
    page.get_by_label("Territoire").fill("37")
    _shot(page, "form")
    page.get_by_role("button", name="Créer l'atelier").click()
    expect(page.get_by_role("heading", name="Bien vivre l'été")).to_be_visible()
    page.get_by_label("Résidences").fill("Les Tilleuls")
    page.get_by_role("button", name="Envoyer les invitations").click()
    expect(page.get_by_text("3 personnes invitées")).to_be_visible()
    page.get_by_role("button", name="Vient").first.click()
    expect(page.get_by_role("cell", name="Inscrit(e)")).to_have_count(1)
    _shot(page, "workshop")
    # The workshop took place: its start moved into the past.
    workshop = session.scalar(select(Workshop))
    workshop.starts_at = datetime.now(UTC) - timedelta(hours=2)
    session.commit()
    page.reload()
    page.locator("input[name=present]").first.check()
    page.get_by_role("button", name="Enregistrer les présences").click()
    expect(page.get_by_text("Présents : 1.")).to_be_visible()
    session.expire_all()
    assert workshop.state == WorkshopState.held
    assert session.scalar(select(Invitation).where(Invitation.attended.is_(True)))
    page.get_by_role("link", name="← Tous les ateliers").click()
    _shot(page, "index")
