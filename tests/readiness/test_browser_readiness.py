"""The pre-season check in a real browser, from the campaigns page to the draft test SMS.
Screenshots go to /tmp/shots/P/readiness-*.png for a human look."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.web import readiness as page_module
from tests.conftest import TEST_PASSWORD
from tests.readiness.test_pages import NOW

SHOTS = Path("/tmp/shots/P")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"readiness-{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_manager_checks_the_list_and_prepares_a_test_sms(page, roster, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr(page_module, "_now", lambda: NOW)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(roster.manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/campagnes/")
    page.get_by_role("link", name="Préparer l'été : vérifier la liste canicule").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Préparer l'été")
    expect(page.locator('[data-problem="no_referent"] dd')).to_have_text("1")
    expect(page.locator('[data-problem="failed_numbers"] dd')).to_have_text("1")
    expect(page.locator('table[data-list="no_emergency_contact"] tbody tr')).to_have_count(1)
    _shot(page, "1366")

    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "390")
    # No horizontal scrolling at 390 px: wide tables scroll in their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("button", name="Préparer un SMS de test").click()
    expect(page.get_by_text("Campagne de test créée en brouillon")).to_be_visible()
    sms = page.get_by_text("Ceci est un message de test de Touraine Habitat")
    expect(sms.first).to_be_visible()
    _shot(page, "campaign")
