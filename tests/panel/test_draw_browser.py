"""The quotas and the draw in a real browser: set a quota, draw, see the table, at 1366 and
390 px. Screenshots go to /tmp/shots/B/ for a human look."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.accounts.models import Role
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user
from tests.panel.listing_factory import make_region

SHOTS = Path("/tmp/shots/B")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"panel-{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_manager_sets_a_quota_and_draws(page, session):
    from playwright.sync_api import expect

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the pages are the same on both databases: test_draw_pages runs both")
    region = make_region(session, sizes=(120, 60), departements=("37",))
    manager = make_user(session, region.association, Role.manager)
    session.commit()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Panel", exact=True).click()
    page.get_by_role("link", name="2. Quotas").click()
    page.get_by_label("Taille du panel (exacte)").fill("60")
    page.get_by_label("En QPV — cible").fill("95")
    page.get_by_role("button", name="Enregistrer les quotas du 37").click()
    expect(page.get_by_text("Quotas du département 37 enregistrés.")).to_be_visible()
    _shot(page, "quotas-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "quotas-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name="3. Tirage").click()
    page.get_by_label("Graine du tirage").fill("4")
    page.get_by_role("button", name="Tirer le panel").click()
    expect(page.get_by_text("voici le tirage le plus proche")).to_be_visible()
    expect(page.locator('tr.missed[data-quota="qpv"]')).to_be_visible()
    expect(page.get_by_role("link", name="Bailleur 1 (XLSX)")).to_be_visible()
    _shot(page, "draw-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/panel/tirage")
    _shot(page, "draw-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
