"""The canicule board in a real browser: it changes when a call is recorded in another tab,
without a reload. Screenshots go to /tmp/shots/canicule-board-*.png for a human look."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Outcome, Severity
from outreach.campaigns.models import Task, TaskState
from outreach.campaigns.operations import activate_canicule
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from outreach.escalation.models import Alert, AlertCause, AlertSource
from outreach.roster.models import EmergencyContact
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"canicule-board-{name}.png"), full_page=True)


def _arrange(session):
    # A live server reads the real clock: the day is today, whatever today is.
    now = datetime.now(UTC)
    org = make_org(session, name="Touraine Habitat")
    manager = make_user(session, org, "manager", email="cheffe@example.org")
    referent = make_user(session, org, "social_worker")
    referent.name = "Claire Référente"
    first = make_senior(session, org, last_name="Lambert", departement="37",
                        canicule_register=True, birth_date=date(1931, 5, 2),
                        lives_alone=True)  # fmt: skip
    make_senior(session, org, last_name="Roux", departement="37", canicule_register=True)
    lost = make_senior(session, org, last_name="Moreau", departement="37", canicule_register=True)
    make_senior(session, org, last_name="Blanc", departement="41", canicule_register=True)
    session.add(EmergencyContact(organisation_id=org.id, senior_id=lost.id, name="Luc Moreau",
                                 relation="fils", phone="+33611223344"))  # fmt: skip
    campaign, _ = activate_canicule(session, org.id, ["37", "41"], "orange", paris_today(now), now)
    # Any hour of the day: the test must not depend on when it runs.
    campaign.call_window = {d: [["00:00", "23:59"]] for d in WEEKDAYS}
    # Moreau: unreached after the last attempt, with her "levée de doute" alert.
    task = session.scalar(select(Task).where(Task.senior_id == lost.id))
    task.state, task.outcome, task.completed_at = TaskState.failed, Outcome.unreached, now
    session.add(Attempt(organisation_id=org.id, task_id=task.id, senior_id=lost.id,
                        channel=AttemptChannel.staff, started_at=now, ended_at=now,
                        outcome=Outcome.unreached))  # fmt: skip
    alert = Alert(organisation_id=org.id, senior_id=lost.id, cause=AlertCause.canicule_unreached,
                  severity=Severity.urgent, summary="Canicule : injoignable", opened_at=now,
                  due_at=now, referent_id=referent.id)  # fmt: skip
    session.add(alert)
    session.flush()
    session.add(AlertSource(alert_id=alert.id, kind="task", source_id=task.id))
    session.commit()
    return manager, first


def _login(page, email):
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_board_changes_when_a_call_is_recorded_in_another_tab(page, session, app):
    from playwright.sync_api import expect

    manager, first = _arrange(session)
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, manager.email)
    page.get_by_role("link", name="Tableau canicule").first.click()
    ok = page.locator('[data-fig="37:reached_ok"]')
    expect(ok).to_have_text("0")
    expect(page.locator('[data-fig="37:to_call"]')).to_have_text("3")
    expect(page.locator('[data-fig="total:registered"]')).to_have_text("4")
    expect(page.get_by_text("Luc Moreau (fils)")).to_be_visible()
    expect(page.get_by_role("link", name="06 11 22 33 44")).to_have_attribute(
        "href", "tel:+33611223344"
    )
    expect(page.get_by_text("Claire Référente")).to_be_visible()
    _shot(page, "1366")
    page.evaluate("window.notReloaded = true")

    # Another tab: the manager works the queue and records "tout va bien".
    calls = page.context.new_page()
    calls.goto("/file/")
    calls.get_by_role("button", name="Appeler le senior suivant").click()
    expect(calls.get_by_role("heading", level=1)).to_contain_text("Lambert")
    as_if_on_the_phone(app)
    calls.get_by_role("button", name="Joint(e), tout va bien").click()
    expect(calls.get_by_text("Résultat enregistré")).to_be_visible()
    calls.close()

    # The board changes by itself, and says so politely.
    expect(ok).to_have_text("1", timeout=20_000)
    expect(page.locator('[data-fig="37:attempted"]')).to_have_text("2")
    expect(page.locator("#board-status")).to_contain_text("Joints, tout va bien : 0 → 1")
    assert page.evaluate("window.notReloaded") is True
    session.expire_all()
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == first.id))
    assert attempt is not None and attempt.outcome == Outcome.reached_ok

    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "390")
    # No horizontal scrolling at 390 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto("/canicule/tableau?mur=1")
    page.set_viewport_size({"width": 1920, "height": 1080})
    expect(page.locator("nav")).to_have_count(0)
    expect(ok).to_have_text("1")
    _shot(page, "mur")
