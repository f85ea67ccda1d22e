"""A caller works "Ma file du jour" in a real browser: next senior, outcome with a signal,
and "reached, all is well" from the keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Signal
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task, TaskState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user


def _arrange(session):
    now = datetime.now(UTC)
    org = make_org(session, name="Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    first = make_senior(session, org, last_name="Lambert", lives_alone=True,
                        birth_date=datetime(1931, 5, 2).date())  # fmt: skip
    second = make_senior(session, org, last_name="Roux", birth_date=datetime(1958, 1, 1).date())
    campaign = create_campaign(
        session, org.id, "Courtoisie", CampaignKind.courtesy,
        call_window={d: [["00:00", "23:59"]] for d in WEEKDAYS}, skip_holidays=False,
    )  # fmt: skip
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    return caller, first, second


def _login(page, email):
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_caller_takes_next_senior_and_records_a_signal(page, session, app):
    from playwright.sync_api import expect

    caller, first, _ = _arrange(session)
    _login(page, caller.email)
    # The caller's home page leads to the queue.
    page.locator("#main").get_by_role("link", name="Ma file du jour").click()
    expect(page.get_by_text("appels à faire")).to_be_visible()
    page.get_by_role("button", name="Appeler le senior suivant").click()
    # The most fragile senior comes first, with her script.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    as_if_on_the_phone(app)
    expect(page.get_by_text("Bonjour Mme Lambert")).to_be_visible()
    page.get_by_label("Joint(e), une inquiétude").check()
    page.get_by_label("Chute").check()
    page.get_by_label("Urgent").check()
    page.get_by_label("Note sociale").fill("Tombée hier soir, sa fille est prévenue.")
    page.get_by_role("button", name="Enregistrer le résultat").click()
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()

    session.expire_all()
    signal = session.scalar(select(Signal).where(Signal.senior_id == first.id))
    assert (signal.kind, signal.severity) == ("fall", "urgent")
    task = session.scalar(select(Task).where(Task.senior_id == first.id))
    assert task.state == TaskState.done


@pytest.mark.browser
def test_two_enter_presses_right_after_a_claim_record_nothing_then_the_keyboard_works(
    page, session, app
):
    from playwright.sync_api import expect

    caller, first, second = _arrange(session)
    _login(page, caller.email)
    page.goto("/file/")
    # Enter on the focused "next senior" button takes the first senior; a second Enter at
    # once must not record a call that was never made.
    expect(page.get_by_role("button", name="Appeler le senior suivant")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    session.expire_all()
    assert session.scalar(select(Attempt)) is None
    # After the call, the keyboard alone records "tout va bien".
    as_if_on_the_phone(app)
    quick = page.get_by_role("button", name="Joint(e), tout va bien")
    quick.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()

    session.expire_all()
    attempt = session.scalar(select(Attempt).where(Attempt.senior_id == first.id))
    assert attempt.outcome == "reached_ok" and attempt.user_id == caller.id
    assert session.scalar(select(Attempt).where(Attempt.senior_id == second.id)) is None
