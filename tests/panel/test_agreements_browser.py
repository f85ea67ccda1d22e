"""The agreements in a real browser: the association's manager confirms a substitute, then
freezes the panel. Screenshots go to /tmp/shots/C/ for a human look."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.accounts.models import Role
from outreach.panel.models import MemberRole, MemberStatus
from tests.conftest import TEST_PASSWORD
from tests.factories import make_user
from tests.panel.agreement_factory import add_member, linked_senior, make_panel

SHOTS = Path("/tmp/shots/C")


def _shot(page, name: str, keep: bool) -> None:
    """Screenshots at 1366 and 390 px (once, on SQLite: the pages are the same on both)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        if keep:
            page.screenshot(path=str(SHOTS / f"agreements-{name}-{width}.png"), full_page=True)
        # No horizontal scrolling on a phone: wide tables scroll in their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
def test_the_association_confirms_a_substitute_then_freezes_the_panel(app, page, session):
    from playwright.sync_api import expect

    panel = make_panel(session)
    refused = add_member(session, panel, panel.a, reference="A-0007")
    linked_senior(session, refused)
    refused.status = MemberStatus.refused
    add_member(session, panel, panel.a, reference="A-RES-1", role=MemberRole.reserve, rank=1)
    agreed = add_member(session, panel, panel.b, reference="B-0003")
    linked_senior(session, agreed)
    agreed.status = MemberStatus.agreed
    lost = add_member(session, panel, panel.b, reference="B-0004")
    lost.status, lost.unreachable_cycles = MemberStatus.unreachable, 3
    add_member(session, panel, panel.b, reference="B-0005")  # roster row not imported yet
    manager = make_user(session, panel.association, Role.manager)
    session.commit()
    shots = app.config["OUTREACH"]["database"]["url"].startswith("sqlite")

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Panel", exact=True).click()
    page.get_by_role("link", name="4. Accords de principe").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("accords de principe")
    expect(page.locator(f'tr[data-member="{lost.id}"]')).to_contain_text("injoignable ×3")
    expect(page.get_by_role("cell", name="coordonnées à importer")).to_be_visible()
    _shot(page, "page", shots)

    page.get_by_role("button", name="Remplacer par A-RES-1").click()
    expect(page.get_by_text("Remplacement enregistré")).to_be_visible()
    expect(page.get_by_text("remplace A-0007")).to_be_visible()

    page.get_by_role("link", name="Figer le panel…").click()
    expect(page.locator(f'tr[data-landlord="{panel.b.id}"]')).to_contain_text("1")
    _shot(page, "freeze", shots)
    page.get_by_role("button", name="Figer le panel avec 1 accord(s)").click()
    expect(page.get_by_text("Panel figé :")).to_be_visible()
    expect(page.get_by_role("button", name="Remplacer par")).to_have_count(0)
