"""The listings page: upload for one's landlord or, as an association, for a member one;
refused identities; the summary per département (SQLite and PostgreSQL; one browser test
with screenshots in /tmp/shots/A/)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.panel.models import ListingRow
from tests.conftest import TEST_PASSWORD, csrf_from, login
from tests.factories import make_org, make_user
from tests.panel.listing_files import HEADER, ROWS, csv_bytes

SHOTS = Path("/tmp/shots/A")


@pytest.fixture
def region(session):
    """An association with one member landlord, and another landlord outside it."""
    association = make_org(session, "asso-region", "Association Région")
    member = make_org(session, "bailleur-membre", "Bailleur Membre")
    member.parent_id = association.id
    other = make_org(session, "bailleur-autre", "Bailleur Autre")
    people = {
        "association": make_user(session, association, "manager"),
        "other": make_user(session, other, "manager"),
        "caller": make_user(session, member, "caller"),
    }
    session.commit()
    return association, member, other, people


def upload(client, org_id: int, data: bytes, name: str = "liste.csv", dry_run: bool = False):
    token = csrf_from(client.get("/panel/listing").text)
    form = {"csrf_token": token, "organisation": str(org_id), "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/panel/listing", data=form, content_type="multipart/form-data")


def refs(session, org) -> list[str]:
    session.rollback()
    stmt = select(ListingRow.reference).where(ListingRow.organisation_id == org.id)
    return sorted(session.scalars(stmt))


def test_an_association_manager_uploads_for_a_member_landlord(client, session, region):
    _, member, other, people = region
    login(client, people["association"].email)
    page = client.get("/panel/listing")
    assert "Bailleur Membre" in page.text and "Bailleur Autre" not in page.text
    resp = upload(client, member.id, csv_bytes(), dry_run=True)
    assert resp.status_code == 200 and "Résultat de la simulation" in resp.text
    assert refs(session, member) == []
    resp = upload(
        client, member.id, csv_bytes([*ROWS, ["L4", "1950", "F", "", "", "", "", "", ""]])
    )
    assert resp.status_code == 200
    assert "code postal manquant" in resp.text and '<th scope="row">5</th>' in resp.text
    assert refs(session, member) == ["L1", "L2", "L3"]
    # The summary: one table per département, the member landlord's counts.
    assert "Département 37" in resp.text and "Département 2A" in resp.text
    assert resp.text.count("Bailleur Membre") >= 4  # the report's title and three tables
    # Not a landlord of the association's: refused by the form's choices, nothing stored.
    resp = upload(client, other.id, csv_bytes())
    assert resp.status_code == 400 and refs(session, other) == []
    # A listing with a name: refused, the column named, the stored listing untouched.
    named = csv_bytes([["L9", *ROWS[0][1:], "Dupont"]], [*HEADER, "Nom de famille"])
    resp = upload(client, member.id, named)
    assert resp.status_code == 400
    assert "Colonne refusée : « Nom de famille »" in resp.text and "Dupont" not in resp.text
    assert refs(session, member) == ["L1", "L2", "L3"]


def test_another_landlords_manager_cannot_upload_for_the_member(app, client, session, region):
    _, member, other, people = region
    login(client, people["other"].email)
    page = client.get("/panel/listing")
    assert "Bailleur Membre" not in page.text
    assert upload(client, member.id, csv_bytes()).status_code == 400
    assert refs(session, member) == []
    # Her own landlord: the only choice, taken without asking.
    token = csrf_from(client.get("/panel/listing").text)
    form = {"csrf_token": token, "file": (io.BytesIO(csv_bytes()), "liste.csv")}
    resp = client.post("/panel/listing", data=form, content_type="multipart/form-data")
    assert resp.status_code == 200 and refs(session, other) == ["L1", "L2", "L3"]
    caller = app.test_client()
    login(caller, people["caller"].email)
    assert caller.get("/panel/listing").status_code == 403


@pytest.mark.browser
def test_browser_upload_and_summary(request, page, session, region, tmp_path):
    from playwright.sync_api import expect

    if "postgresql" in request.node.callspec.id:
        pytest.skip("the layout is the browser's; the page's behaviour is tested on both")

    _, member, _, people = region
    rows = [*ROWS, ["L4", "1949", "H", "37200", "Individuel", "Rural", "Non", "Non", "Oui"],
            ["L5", "1962", "F", "37000", "Collectif", "Urbain", "Oui", "Oui", "Non"],
            ["L6", "1950", "X", "37000", "", "", "", "", ""]]  # fmt: skip
    path = tmp_path / "liste.csv"
    path.write_bytes(csv_bytes(rows))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(people["association"].email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Panel", exact=True).click()
    page.get_by_label("Bailleur").select_option(label="Bailleur Membre")
    page.get_by_label("Liste anonymisée (CSV ou Excel .xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Importer la liste").click()
    expect(
        page.get_by_role("heading", name="Résultat de l'import — Bailleur Membre")
    ).to_be_visible()
    expect(page.get_by_text("sexe non reconnu : X (F ou H attendu)")).to_be_visible()
    expect(page.get_by_role("heading", name="Département 37 — 3 seniors")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "listing-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "listing-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
