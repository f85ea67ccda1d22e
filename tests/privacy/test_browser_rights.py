"""A manager exports a senior's data from her page; an admin erases her, typing the
confirmation; her name is gone from the roster. Screenshots at 1366 and 390 px wide go to
/tmp/shots/rights-*.png for a human look at the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from tests.privacy.conftest import LAST, REF

SHOTS = Path("/tmp/shots")
WIDTHS = {"large": 1366, "phone": 390}


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"rights-{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["large"], "height": 900})


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_a_manager_exports_and_an_admin_erases(page, session, held, tmp_path):
    from playwright.sync_api import expect

    _login(page, held.manager.email)
    page.goto(f"/seniors/{held.senior_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(LAST)
    expect(page.get_by_role("link", name="Effacer ses données")).to_have_count(0)
    page.get_by_text("Exporter ses données").click()
    _shots(page, "senior-page-export-menu")
    with page.expect_download() as info:
        page.get_by_role("link", name="Fichier JSON (pour un logiciel)").click()
    path = tmp_path / "export.json"
    info.value.save_as(path)
    assert info.value.suggested_filename == f"donnees-{REF}.json"
    assert json.loads(path.read_text(encoding="utf-8"))["identity"]["last_name"] == LAST

    with page.context.expect_page() as tab:
        page.get_by_role("link", name="Document à lui remettre").click()
    document = tab.value
    document.wait_for_load_state()
    expect(document.get_by_role("heading", name="Votre identité")).to_be_visible()
    expect(document.get_by_role("heading", name="Nos appels et SMS")).to_be_visible()
    _shots(document, "export-document")
    document.close()

    page.context.clear_cookies()
    _login(page, held.admin.email)
    page.goto(f"/seniors/{held.senior_id}")
    _shots(page, "senior-page-admin")
    page.get_by_role("link", name="Effacer ses données").click()
    expect(page.get_by_role("heading", name="Ce qui est effacé")).to_be_visible()
    _shots(page, "erase-confirmation")
    field = page.get_by_label("Pour confirmer, saisissez sa référence ou le mot EFFACER")
    field.fill("oui")
    page.get_by_role("button", name="Effacer définitivement ses données").click()
    expect(page.get_by_role("alert")).to_contain_text("rien n'a été effacé")
    _shots(page, "erase-refused")
    page.get_by_label("Pour confirmer, saisissez sa référence ou le mot EFFACER").fill("EFFACER")
    # The erasure rewrites the database files before it answers; on PostgreSQL it may wait
    # for the other test worker's transactions (privacy.compact_wait_seconds).
    page.set_default_timeout(120_000)
    page.get_by_role("button", name="Effacer définitivement ses données").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Les données de la personne ont été effacées.", timeout=120_000
    )
    page.set_default_timeout(10_000)
    expect(page.locator("main")).not_to_contain_text(LAST)
    page.goto("/seniors/?status=all")
    expect(page.locator("main")).not_to_contain_text(LAST)
    expect(page.locator("main")).to_contain_text("Données effacées")
    page.goto(f"/seniors/{held.senior_id}")
    expect(page.get_by_text("Données effacées le")).to_be_visible()
    expect(page.get_by_text("Exporter ses données")).to_have_count(0)
    _shots(page, "senior-page-erased")
