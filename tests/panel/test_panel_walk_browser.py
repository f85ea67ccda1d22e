"""The panel from end to end in a real browser: the association uploads a landlord's
anonymised listing and draws; the landlord imports the drawn references' roster rows; its
caller records one agreement and one refusal from the queue; the association confirms the
substitute and freezes the panel, and the agreed senior is followed with her accord."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.accounts.models import Role
from outreach.accounts.operations import create_organisation
from outreach.campaigns.generation import generate_day
from outreach.campaigns.schedule import paris_today
from outreach.panel.models import Draw, DrawState, ListingRow, MemberRole, MemberStatus, PanelMember
from outreach.roster.importer import import_roster
from outreach.roster.models import ConsentStatus, Senior
from tests.conftest import TEST_PASSWORD
from tests.factories import as_if_on_the_phone, make_user
from tests.panel.agreement_factory import agreement_campaign
from tests.panel.listing_files import HEADER


def _listing(count: int = 220) -> bytes:
    """A listing whose mix lets every default quota be met (seeded: the same every run)."""
    r = random.Random(13)
    lines = [";".join(HEADER)]
    for i in range(count):
        lines.append(";".join([
            f"T{i:04d}", str(r.choice([r.randint(1952, 1961), r.randint(1930, 1951)])),
            "F" if r.random() < 0.57 else "H", f"37{r.randint(0, 999):03d}",
            "Collectif" if r.random() < 0.75 else "Individuel", r.choice(["Urbain", "Rural"]),
            "Oui" if r.random() < 0.3 else "Non", r.choice(["Oui", "Non"]),
            r.choice(["Oui", "Non"]),
        ]))  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def _login(page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_listing_draw_agreements_substitute_frozen_panel(request, app, page, session, tmp_path):
    from playwright.sync_api import expect

    if "postgresql" in request.node.callspec.id:
        pytest.skip("one walk is enough: each step's pages are tested on both databases")
    association = create_organisation(session, "asso-walk", "Association régionale")
    landlord = create_organisation(session, "bailleur-walk", "Bailleur Touraine", "asso-walk")
    manager = make_user(session, association, Role.manager)
    caller = make_user(session, landlord, Role.caller)
    session.commit()
    listing = tmp_path / "liste.csv"
    listing.write_bytes(_listing())

    # 1. The association uploads the landlord's anonymised listing, then draws.
    _login(page, manager.email)
    page.get_by_role("link", name="Panel", exact=True).click()
    page.get_by_label("Bailleur").select_option(label="Bailleur Touraine")
    page.get_by_label("Liste anonymisée (CSV ou Excel .xlsx)").set_input_files(str(listing))
    page.get_by_role("button", name="Importer la liste").click()
    summary = page.get_by_role("heading", name=re.compile("Département 37 — 220 seniors"))
    expect(summary).to_be_visible()
    page.get_by_role("link", name="3. Tirage").click()
    page.get_by_label("Graine du tirage").fill("2027")
    page.get_by_role("button", name="Tirer le panel").click()
    expect(page.get_by_text("Tirage effectué : tous les quotas sont respectés.")).to_be_visible()

    # 2. The landlord imports the roster rows of two drawn references (identities stay
    # with it until then), and asks for their agreement.
    drawn = session.execute(
        select(PanelMember, ListingRow.reference)
        .join(ListingRow, ListingRow.id == PanelMember.listing_row_id)
        .where(PanelMember.role == MemberRole.drawn)
        .order_by(PanelMember.rank)
        .limit(2)
    ).all()
    (yes, yes_ref), (no, no_ref) = drawn
    roster = (
        "Référence;Civilité;Nom;Prénom;Téléphone portable\r\n"
        f"{yes_ref};Mme;Accord;Odette;0612345671\r\n{no_ref};M.;Refus;Marcel;0612345672\r\n"
    ).encode()
    now = datetime.now(UTC)
    result = import_roster(
        session, landlord, io.BytesIO(roster), "drawn.csv", config=app.config["OUTREACH"]
    )
    assert not result.rejected
    agreement_campaign(session, landlord, now)
    generate_day(session, paris_today(now), now)
    session.commit()

    # 3. The landlord's caller works the queue: one agrees, one declines.
    _login(page, caller.email)
    for _ in range(2):
        page.goto("/file/")
        page.get_by_role("button", name="Appeler le senior suivant").click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_contain_text(re.compile("Accord|Refus"))
        as_if_on_the_phone(app)
        if "Accord" in heading.inner_text():
            page.get_by_label("Joint(e), tout va bien").check()
        else:
            page.get_by_label("Ne souhaite plus être appelé(e)").check()
        page.get_by_role("button", name="Enregistrer le résultat").click()
        expect(page.get_by_text("Résultat enregistré")).to_be_visible()

    # 4. The association confirms the substitute proposed for the refusal, then freezes.
    _login(page, manager.email)
    page.get_by_role("link", name="Panel", exact=True).click()
    page.get_by_role("link", name="4. Accords de principe").click()
    expect(page.locator(f'tr[data-member="{no.id}"]')).to_contain_text("refus")
    page.get_by_role("button", name=re.compile("^Remplacer par ")).first.click()
    expect(page.get_by_text("Remplacement enregistré")).to_be_visible()
    page.get_by_role("link", name="Figer le panel…").click()
    page.get_by_role("button", name=re.compile("^Figer le panel avec 1 accord")).click()
    expect(page.get_by_text("Panel figé :")).to_be_visible()

    session.expire_all()
    assert session.get(PanelMember, yes.id).status == MemberStatus.agreed
    assert session.get(PanelMember, no.id).status == MemberStatus.replaced
    substitute = session.scalar(select(PanelMember).where(PanelMember.substitute_for_id == no.id))
    assert substitute is not None and substitute.status == MemberStatus.to_contact
    assert session.scalar(select(Draw.state)) == DrawState.frozen
    followed = session.scalar(select(Senior).where(Senior.external_ref == yes_ref))
    assert followed.consent_status == ConsentStatus.given
    assert followed.consent_source == "accord de principe"
