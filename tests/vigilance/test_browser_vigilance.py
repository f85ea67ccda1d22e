"""From a recorded orange map to the one-click activation, in a real browser: the job reads
the stand-in, the banner appears, the manager opens it, sees the count and the ETA,
confirms, and the canicule campaign is active with today's tasks. Screenshots go to
/tmp/shots/V/ at 1366 and 390 px."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.campaigns.models import Campaign, CampaignState, Task
from outreach.campaigns.schedule import paris_today
from outreach.scheduling.runner import run_job
from outreach.vigilance.standin import StandIn, running
from tests.conftest import TEST_PASSWORD, own_app
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots/V")


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
def test_from_an_orange_map_to_the_one_click_activation(page, session, database_url):
    from playwright.sync_api import expect

    # A live server reads the real clock: the stand-in serves its orange map for today.
    now = datetime.now(UTC)
    org = make_org(session, name="Touraine Habitat")
    manager = make_user(session, org, "manager", email="cheffe@example.org")
    make_user(session, org, "caller")
    for n in range(4):
        make_senior(
            session, org, last_name=f"Registre{n}", departement="37", canicule_register=True
        )
    make_senior(session, org, last_name="Loiret", departement="45", canicule_register=True)
    session.commit()

    standin = StandIn(current="orange", today=lambda: paris_today(now))
    with (
        running(standin) as base_url,
        own_app(
            database_url, vigilance={"api_base_url": base_url, "api_key": "test-key"}
        ) as poller,
    ):
        assert "proposals 1 new" in run_job(poller, "vigilance", now)

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    banner = page.locator(".vigilance-banner")
    expect(banner).to_contain_text("Vigilance canicule orange")
    expect(banner).to_contain_text("37, 45")
    _shots(page, "1-banner")

    banner.get_by_role("link", name="Déclencher la canicule…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("37, 45")
    expect(page.locator('[data-fig="count"]')).to_have_text("5 seniors")
    expect(page.locator('[data-fig="eta"]')).not_to_be_empty()
    expect(page.get_by_label("Appel automatique, puis l'équipe si pas de réponse")).to_be_checked()
    _shots(page, "2-proposal")

    page.get_by_label("Appels par l'équipe").check()
    page.get_by_role("button", name=re.compile("Déclencher la canicule")).click()
    page.wait_for_url("**/campagnes/")
    expect(page.locator(".flash-success")).to_contain_text("Canicule déclenchée pour 37, 45")
    expect(page.locator(".vigilance-banner")).to_have_count(0)

    session.expire_all()
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.state == CampaignState.active and campaign.channel_policy.value == "staff"
    tasks = session.scalars(select(Task).where(Task.campaign_id == campaign.id)).all()
    assert len(tasks) == 5 and {t.due_date for t in tasks} == {paris_today(now)}

    page.goto("/vigilance/")
    _shots(page, "3-overview")
    # The manual activation's confirmation (extending the campaign: its channel is kept).
    page.goto("/campagnes/")
    page.get_by_role("checkbox", name="37").check()
    page.get_by_role("button", name="2. Déclencher / étendre la canicule").click()
    expect(page.get_by_role("button", name="Confirmer le déclenchement")).to_be_visible()
    _shots(page, "4-confirm-manual")
