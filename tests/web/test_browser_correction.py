"""A caller corrects a call in a real browser: "tout va bien" recorded, a fall remembered.

Screenshots of the correction page go to /tmp/shots/correct-*.png (desktop and phone).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Signal
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS, paris_today
from outreach.escalation.models import Alert
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


def _shot(page, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(SHOTS / f"correct-{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_caller_corrects_all_is_well_into_a_fall(app, page, session):
    from playwright.sync_api import expect

    now = datetime.now(UTC)
    org = make_org(session, name="Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    referent = make_user(session, org, "social_worker")
    senior = make_senior(session, org, last_name="Lambert", referent_id=referent.id)
    campaign = create_campaign(
        session, org.id, "Courtoisie", CampaignKind.courtesy,
        call_window={d: [["00:00", "23:59"]] for d in WEEKDAYS}, skip_holidays=False,
    )  # fmt: skip
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    # Last week's call, long past correcting by its author.
    week_ago = now - timedelta(days=7)
    session.add(
        Attempt(
            organisation_id=org.id, senior_id=senior.id, channel="staff", user_id=caller.id,
            started_at=week_ago, ended_at=week_ago, disposition="reached_ok", outcome="reached_ok",
        )
    )  # fmt: skip
    session.commit()

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(caller.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/file/")
    page.get_by_role("button", name="Appeler le senior suivant").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    as_if_on_the_phone(app)
    page.get_by_role("button", name="Joint(e), tout va bien").click()
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()

    # A minute later she remembers the fall the senior mentioned.
    attempt = session.scalar(select(Attempt).order_by(Attempt.id.desc()))
    page.goto(f"/appels/{attempt.id}/corriger")
    expect(page.get_by_role("heading", level=1)).to_have_text("Corriger l'appel")
    expect(page.get_by_label("Joint(e), tout va bien")).to_be_checked()
    expect(page.get_by_text("Autres appels récents")).to_be_visible()
    expect(page.get_by_role("link", name="Corriger")).to_have_count(0)  # too late for that one
    _shot(page, "1366", 1366)
    _shot(page, "390", 390)
    # "Une inquiétude" without its signal is refused, with what was chosen kept.
    page.get_by_label("Joint(e), une inquiétude").check()
    page.get_by_role("button", name="Enregistrer la correction").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("Joint(e), une inquiétude")).to_be_checked()
    _shot(page, "refused-390", 390)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_label("Chute").check()
    page.get_by_label("Joint(e), une inquiétude").check()
    page.get_by_label("Urgent").check()
    page.get_by_role("button", name="Enregistrer la correction").click()

    expect(page.get_by_text("Correction enregistrée")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    expect(page.get_by_text("Signal : Chute")).to_be_visible()
    session.expire_all()
    signal = session.scalar(select(Signal).where(Signal.senior_id == senior.id))
    assert (signal.kind, signal.severity) == ("fall", "urgent")
    alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
    assert (alert.severity, alert.status) == ("urgent", "open")
