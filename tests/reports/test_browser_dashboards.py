"""The home dashboards of each role and the campaign page in a real browser.

Screenshots at 1366 and 390 px go to /tmp/shots/dashboard-*.png for a human look. The
history is built around the real clock of the live server (a browser's cookies do not
travel in time): the assertions read what the pages show of it, not a date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outreach.calls.outcomes import Outcome
from outreach.campaigns.models import TaskState
from outreach.campaigns.schedule import paris_today
from tests.conftest import TEST_PASSWORD
from tests.factories import make_org, make_senior, make_user
from tests.reports.test_dashboard import attempt, campaign, task

SHOTS = Path("/tmp/shots")
WIDTHS = (1366, 390)


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"dashboard-{name}-{width}.png"), full_page=True)
        # Nothing wider than the screen: the tables scroll inside their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} overflows at {width} px"
    page.set_viewport_size({"width": 1366, "height": 900})


def _history(session):
    now = datetime.now(UTC)
    today = paris_today(now)
    org = make_org(session, name="Touraine Habitat")
    c = campaign(session, org, name="Courtoisie d'été")
    people = {
        role: make_user(session, org, role, email=f"{role}@example.org")
        for role in ("manager", "caller", "social_worker")
    }
    for n in range(6):
        s = make_senior(
            session, org, last_name=f"Senior{n}", referent_id=people["social_worker"].id
        )
        for back in range(7):
            day = today - timedelta(days=back)
            done = back > 0 or n < 3
            outcome = Outcome.reached_ok if (n + back) % 3 else Outcome.unreached
            t = task(
                session,
                c,
                s,
                day,
                TaskState.done if done else TaskState.pending,
                outcome if done else None,
            )
            if done:
                at = now - timedelta(days=back, minutes=n)
                attempt(session, s, at, outcome, people["caller"], t)
    lost = make_senior(session, org, last_name="Sansnouvelles")
    task(session, c, lost, today - timedelta(days=40), TaskState.done, Outcome.unreached)
    attempt(session, lost, now - timedelta(days=40), Outcome.unreached)
    reinforced = make_senior(
        session, org, last_name="Renforcee", referent_id=people["social_worker"].id
    )
    reinforced.reinforced_since = today - timedelta(days=10)
    task(session, c, reinforced, today)
    session.commit()
    return c, people


@pytest.mark.browser
def test_dashboards_of_each_role_and_the_campaign_page(session, page):
    c, people = _history(session)

    _login(page, people["manager"].email)
    # The week picker: last week (Monday to Sunday) holds a day on which all six were called
    # whatever today's weekday; then back to this week through the date field.
    page.get_by_role("link", name="Semaine précédente").click()
    page.wait_for_url("**/?semaine=*")
    week = page.locator("#semaine")
    assert week.get_by_role("img").count() == 1  # the SVG chart, named by its title
    assert week.locator("svg title").text_content() == "Seniors joints et non joints, jour par jour"
    assert week.locator(".figure-seniors_attempted dd").inner_text() == "6"
    rows = week.locator(".chart-table tbody tr")
    assert rows.count() == 7
    assert "Sansnouvelles" in page.locator("#sans-nouvelles").inner_text()
    assert "Courtoisie d'été" in page.locator("#campagnes-en-cours").inner_text()
    _shots(page, "manager")
    page.get_by_label("Semaine du", exact=True).fill(paris_today(datetime.now(UTC)).isoformat())
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Semaine suivante").count() == 0  # this week
    assert page.get_by_role("link", name="Semaine précédente").count() == 1

    page.locator("#campagnes-en-cours").get_by_role("link", name="Courtoisie d'été").click()
    page.wait_for_url(f"**/campagnes/{c.id}")
    assert page.locator(".outcome-counts").count() == 1
    assert page.locator("table.campaign-days tbody tr").count() == 7
    _shots(page, "campaign")

    page.context.clear_cookies()
    _login(page, people["caller"].email)
    assert page.locator("#mes-appels").is_visible()
    assert page.get_by_role("link", name="Ma file du jour").first.is_visible()
    assert page.locator("#semaine").count() == 0
    _shots(page, "caller")

    page.context.clear_cookies()
    _login(page, people["social_worker"].email)
    assert "Renforcee" in page.locator("#suivis").inner_text()
    assert page.get_by_role("link", name="Mes alertes").first.is_visible()
    _shots(page, "social-worker")
