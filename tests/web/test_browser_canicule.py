"""A manager declares a canicule in two clicks in a real browser, then reads the campaign.

Screenshots go to /tmp/shots/campaigns-*.png for a human look at the pages.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import ConsentStatus
from tests.conftest import TEST_PASSWORD
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"campaigns-{name}.png"), full_page=True)


@pytest.mark.browser
def test_manager_declares_a_canicule_in_two_clicks(session, page):
    org = make_org(session, name="Touraine Habitat")
    manager = make_user(session, org, "manager", email="cheffe@example.org")
    for n in range(4):
        make_senior(
            session,
            org,
            last_name=f"Registre{n}",
            departement="37",
            canicule_register=True,
            birth_date=date(1938, 5, 1),
        )
    make_senior(
        session,
        org,
        last_name="Sansaccord",
        departement="37",
        canicule_register=True,
        consent_status=ConsentStatus.refused,
    )
    make_senior(session, org, last_name="Blois", departement="41", canicule_register=True)
    session.commit()

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("link", name="Campagnes").first.click()
    page.wait_for_url("**/campagnes/")
    _shot(page, "1-list")

    # Click 1: tick 37. Click 2: declare. The level is preselected (orange).
    page.get_by_role("checkbox", name="37").check()
    assert page.get_by_label("Niveau de vigilance").input_value() == "orange"
    page.get_by_role("button", name=re.compile("Déclencher la canicule")).click()
    # The confirmation (issue 12): channel, how many seniors, when the last is called.
    assert "4 seniors" in page.locator('[data-fig="count"]').inner_text()
    page.get_by_role("button", name="Confirmer le déclenchement").click()
    page.wait_for_url("**/campagnes/")
    flash = page.locator(".flash-success")
    assert "Canicule déclenchée pour 37 : 4 appels créés." in flash.inner_text()
    assert "Lever l'alerte pour le 37" in page.content().replace("&#39;", "'")
    _shot(page, "2-declared")

    page.get_by_role("link", name=re.compile("Voir la campagne")).click()
    page.wait_for_url(re.compile(r".*/campagnes/\d+$"))
    counts = page.locator(".task-counts")
    assert counts.locator(".count-total dd").inner_text() == "4"
    assert counts.locator(".count-pending dd").inner_text() == "4"
    assert counts.locator(".count-skips dd").inner_text() == "1"
    assert "Sansaccord" in page.locator("#ecartes").inner_text()
    _shot(page, "3-campaign")

    session.expire_all()
    today = paris_today(datetime.now(UTC))
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.kind == CampaignKind.canicule and campaign.vigilance_level == "orange"
    tasks = session.scalars(select(Task).where(Task.campaign_id == campaign.id)).all()
    assert len(tasks) == 4
    assert {(t.due_date, t.state) for t in tasks} == {(today, TaskState.pending)}


@pytest.mark.browser
def test_campaign_form_counts_live(session, page):
    org = make_org(session, name="Touraine Habitat")
    manager = make_user(session, org, "manager")
    for dep in ("37", "37", "37", "41"):
        make_senior(session, org, departement=dep)
    session.commit()

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/campagnes/nouvelle")
    live = page.locator("#live-count")
    live.filter(has_text="4 seniors correspondent").wait_for()
    # Without JavaScript a "Compter" button does this; with it, the button is hidden.
    assert not page.get_by_role("button", name="Compter les seniors correspondants").is_visible()
    page.get_by_label("Départements").fill("41")
    live.filter(has_text="1 senior correspond").wait_for()
    page.get_by_label("Départements").fill("3x")
    live.filter(has_text="Département inconnu").wait_for()
    page.get_by_label("Départements").fill("37")
    live.filter(has_text="3 seniors correspondent").wait_for()
    # A canicule campaign gets the canicule hours (every day) and hides the courtesy cadence.
    page.get_by_label("Type de campagne").select_option("canicule")
    assert page.locator("#w_sun_1_start").input_value() == "09:00"
    assert not page.get_by_label(re.compile("Les autres : tous les")).is_visible()
    _shot(page, "4-form")

    # A refused submit keeps what was typed and shows the error next to the field.
    page.get_by_label("Nom de la campagne").fill("Essai")
    page.get_by_label("Âge minimum").fill("80")
    page.get_by_label("Âge maximum").fill("70")
    page.get_by_role("button", name="Créer la campagne").click()
    page.locator(".error-summary").wait_for()
    assert "supérieur ou égal à l'âge minimum" in page.locator("#max_age-err").inner_text()
    assert page.get_by_label("Nom de la campagne").input_value() == "Essai"
    assert page.get_by_label("Départements").input_value() == "37"
    _shot(page, "5-form-error")
    session.expire_all()
    assert session.scalars(select(Campaign)).first() is None
