"""The caller's screen in a real browser: nothing typed is lost, the quick action is refused
with signals, a senior in two campaigns is shown once, a refusal removes her at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState
from outreach.campaigns.operations import activate_canicule, create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from outreach.roster.models import Senior
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


def _arrange(session, canicule=False):
    now = datetime.now(UTC)
    org = make_org(session, name="Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    # Both 75+ and on the canicule register: targeted by courtesy and by the canicule.
    first = make_senior(session, org, last_name="Lambert", lives_alone=True,
                        birth_date=date(1931, 5, 2), canicule_register=True)  # fmt: skip
    second = make_senior(session, org, last_name="Roux", birth_date=date(1958, 1, 1))
    campaign = create_campaign(
        session, org.id, "Courtoisie", CampaignKind.courtesy,
        call_window={d: [["00:00", "23:59"]] for d in WEEKDAYS}, skip_holidays=False,
    )  # fmt: skip
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    if canicule:
        activate_canicule(session, org.id, ["37"], "orange", paris_today(now), now)
    session.commit()
    return caller, first, second


def _login(page, email):
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def _take_first(page, app, name):
    from playwright.sync_api import expect

    page.goto("/file/")
    page.get_by_role("button", name="Appeler le senior suivant").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    as_if_on_the_phone(app)


def _shoot(page, name):
    SHOTS.mkdir(exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.mark.browser
def test_a_refused_form_keeps_a_ticked_fall_and_focuses_the_summary(page, session, app):
    from playwright.sync_api import expect

    caller, first, _ = _arrange(session)
    _login(page, caller.email)
    _take_first(page, app, "Lambert")
    _shoot(page, "call")
    page.get_by_label("Chute").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Note sociale").fill("Tombée dans la cuisine")
    # No disposition chosen: refused.
    page.get_by_role("button", name="Enregistrer le résultat").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.get_by_label("Chute")).to_be_checked()
    expect(page.get_by_label("Urgent")).to_be_checked()
    expect(page.get_by_label("Note sociale")).to_have_value("Tombée dans la cuisine")
    _shoot(page, "call-refused")
    page.get_by_label("Joint(e), une inquiétude").check()
    page.get_by_role("button", name="Enregistrer le résultat").click()
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()
    session.expire_all()
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == first.id))
    assert attempt.outcome == Outcome.reached_concern
    assert [s.kind for s in attempt.signals] == ["fall"]


@pytest.mark.browser
def test_the_quick_action_is_refused_with_signals_ticked(page, session, app):
    from playwright.sync_api import expect

    caller, first, _ = _arrange(session)
    _login(page, caller.email)
    _take_first(page, app, "Lambert")
    page.get_by_label("Mémoire, confusion").check()
    page.get_by_role("button", name="Joint(e), tout va bien").click()
    expect(page.locator("#error-summary")).to_contain_text("rien de ce que vous avez saisi")
    expect(page.get_by_label("Mémoire, confusion")).to_be_checked()
    session.expire_all()
    assert session.scalar(select(Attempt)) is None


@pytest.mark.browser
def test_a_senior_in_two_campaigns_is_shown_once(page, session, app):
    from playwright.sync_api import expect

    caller, first, second = _arrange(session, canicule=True)
    _login(page, caller.email)
    page.goto("/file/")
    rows = page.locator("table.queue-table tbody tr")
    expect(rows).to_have_count(2)  # Lambert (canicule only) and Roux
    expect(rows.filter(has_text="Lambert")).to_have_count(1)
    expect(rows.filter(has_text="Lambert")).to_contain_text("Canicule")
    _shoot(page, "queue")


@pytest.mark.browser
def test_a_refusal_removes_her_from_the_days_queue_at_once(page, session, app):
    from playwright.sync_api import expect

    caller, first, second = _arrange(session, canicule=True)
    _login(page, caller.email)
    _take_first(page, app, "Lambert")
    page.get_by_label("Ne souhaite plus être appelé(e)").check()
    page.get_by_role("button", name="Enregistrer le résultat").click()
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()
    # Her courtesy call of the day is gone too; only Roux is left.
    rows = page.locator("table.queue-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Roux")
    session.expire_all()
    assert session.get(Senior, first.id).opted_out_phone_at is not None
