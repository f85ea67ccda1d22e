"""A fall, from the call screen to its resolution, in a real browser.

A caller records a fall on "Ma file du jour"; the senior's referent finds the alert in
"Mes alertes", acknowledges it and closes it with a referral to a partner. Screenshots go
to /tmp/shots/alerts-*.png for a human look at the pages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.campaigns.models import ChannelPolicy
from outreach.escalation.models import Alert, AlertCause, AlertStatus, Resolution
from outreach.partners.models import Referral
from outreach.partners.operations import create_partner
from outreach.roster.models import EmergencyContact
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_org, make_user
from tests.telephony.conftest import make_automated

SHOTS = Path("/tmp/shots")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"alerts-{name}.png"), full_page=True)


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_a_fall_reaches_the_referent_who_refers_to_a_partner(page, session, app):
    from playwright.sync_api import expect

    org = make_org(session, name="Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    referent = make_user(session, org, "social_worker")
    _campaign, [senior], _tasks = make_automated(session, org, channel=ChannelPolicy.staff)
    senior.last_name = "Lambert"
    senior.referent_id = referent.id
    senior.emergency_contacts.append(
        EmergencyContact(
            organisation_id=org.id, name="Sophie Lambert", relation="fille", phone="+33247001122"
        )
    )
    partner = create_partner(
        session, org.id, name="CCAS de Tours", kind="ccas", departements=["37"]
    )
    create_partner(session, org.id, name="CLIC d'Indre-et-Loire", kind="clic")
    session.commit()

    # The caller claims the senior in her queue and records a fall, urgent.
    _login(page, caller.email)
    expect(page.get_by_role("link", name="Mes alertes")).to_have_count(0)
    page.locator("#main").get_by_role("link", name="Ma file du jour").click()
    page.get_by_role("button", name=f"Appeler {senior.display_name}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    as_if_on_the_phone(app)  # an outcome seconds after the claim is refused
    page.get_by_label("Joint(e), une inquiétude").check()
    page.get_by_label("Chute").check()
    page.get_by_label("Urgent").check()
    page.get_by_role("button", name="Enregistrer le résultat").click()
    expect(page.get_by_text("Résultat enregistré")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()

    # The referent sees it in "Mes alertes", the most pressing first.
    _login(page, referent.email)
    page.locator("#main").get_by_role("link", name="Mes alertes").click()
    expect(page.locator('[data-counter="new"]')).to_have_text("1")
    row = page.get_by_role("row").filter(has_text="Lambert")
    expect(row).to_contain_text("Signal urgent")
    expect(row).to_contain_text("Urgente")
    _shot(page, "1-inbox")
    row.get_by_role("link", name=senior.display_name).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Lambert")
    expect(page.get_by_role("region", name="L'alerte")).to_contain_text("Signal : chute")
    expect(page.locator('a[href="tel:+33247001122"]')).to_be_visible()
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.get_by_text("Vous avez pris en charge cette alerte.")).to_be_visible()
    expect(page.get_by_role("button", name="Prendre en charge")).to_have_count(0)

    page.get_by_label("Orientation vers un partenaire").check()
    page.get_by_label("Partenaire", exact=True).select_option(label="CCAS de Tours")
    page.get_by_label("Note", exact=True).fill("Portage de repas et visite du CCAS demandés.")
    _shot(page, "2-alert")
    page.get_by_role("button", name="Clore l'alerte").click()
    expect(page.get_by_text("Alerte close : Orientation vers un partenaire.")).to_be_visible()
    history = page.get_by_role("region", name="Qui a fait quoi")
    expect(history).to_contain_text("Prise en charge")
    expect(history).to_contain_text(referent.name)
    _shot(page, "3-closed")

    session.expire_all()
    alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
    assert alert.cause == AlertCause.urgent_signal
    assert alert.status == AlertStatus.resolved
    assert alert.resolution == Resolution.partner_referral
    assert alert.acknowledged_by_id == alert.resolved_by_id == referent.id
    referral = session.scalar(select(Referral).where(Referral.alert_id == alert.id))
    assert referral.partner_id == partner.id
    assert referral.senior_id == senior.id and referral.user_id == referent.id
    assert referral.note == "Portage de repas et visite du CCAS demandés."
