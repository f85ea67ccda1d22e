"""A caller corrects a senior's mobile phone in a real browser, using labels and the keyboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.roster.models import Senior
from tests.conftest import TEST_PASSWORD
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


@pytest.mark.browser
def test_caller_finds_and_corrects_a_phone(page, session, database_url):
    from playwright.sync_api import expect

    org = make_org(session, name="Touraine Logement")
    caller = make_user(session, org, "caller")
    senior = make_senior(
        session, org, first_name="Odette", last_name="Lambert", phone_mobile="+33612345678",
        phone_landline="+33247123456", city="Tours", lives_alone=True, canicule_register=True,
    )  # fmt: skip
    for last, first in (("Bernard", "Lucienne"), ("Lefèvre", "Marcel"), ("Roux", "Simone")):
        make_senior(session, org, first_name=first, last_name=last)
    session.commit()
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    SHOTS.mkdir(exist_ok=True)

    page.goto("/login")
    # The skip link is the first stop of the keyboard.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.get_by_label("Adresse e-mail").fill(caller.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("navigation").get_by_role("link", name="Seniors suivis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seniors suivis")
    page.screenshot(path=str(SHOTS / f"roster-list-{backend}.png"), full_page=True)
    search = page.get_by_label("Rechercher", exact=True)
    search.fill("lambert")
    search.press("Enter")  # the keyboard submits the search, no mouse needed
    expect(page.get_by_text("1 senior", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="06 12 34 56 78")).to_be_visible()
    page.get_by_role("link", name="Lambert Odette").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mme Odette Lambert")
    expect(page.get_by_role("link", name="06 12 34 56 78")).to_have_attribute(
        "href", "tel:+33612345678"
    )
    page.screenshot(path=str(SHOTS / f"senior-page-{backend}.png"), full_page=True)
    page.get_by_role("link", name="Modifier").click()

    mobile = page.get_by_label("Téléphone portable", exact=True)
    expect(mobile).to_have_value("06 12 34 56 78")
    mobile.fill("07 81 22 33 44")
    page.get_by_role("button", name="Enregistrer les modifications").click()

    expect(page.get_by_role("status")).to_have_text("Modifications enregistrées.")
    expect(page.get_by_role("link", name="07 81 22 33 44")).to_have_attribute(
        "href", "tel:+33781223344"
    )
    session.expire_all()
    assert session.get(Senior, senior.id).phone_mobile == "+33781223344"


@pytest.mark.browser
def test_invalid_phone_is_explained_next_to_the_field(page, session):
    from playwright.sync_api import expect

    org = make_org(session)
    caller = make_user(session, org, "caller")
    senior = make_senior(session, org, last_name="Perrin")
    session.commit()

    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(caller.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/seniors/{senior.id}/modifier")
    mobile = page.get_by_label("Téléphone portable", exact=True)
    mobile.fill("06 12")
    page.get_by_role("button", name="Enregistrer les modifications").click()

    mobile = page.get_by_label("Téléphone portable", exact=True)
    expect(mobile).to_have_attribute("aria-invalid", "true")
    described = re.compile("Erreur : Numéro de téléphone invalide")
    expect(mobile).to_have_accessible_description(described)
    expect(mobile).to_have_value("06 12")  # what was typed is kept, not lost
    session.expire_all()
    assert session.get(Senior, senior.id).phone_mobile == "+33612345678"
