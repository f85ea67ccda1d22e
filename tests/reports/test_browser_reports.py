"""The "Rapports" page: managers and admins download each format; callers and volunteers
are refused, and another landlord's organisation is a 404. Screenshots at 1366 and 390 px
go to /tmp/shots/reports-*.png for a human look."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from outreach.accounts.models import Role
from tests.conftest import TEST_PASSWORD, login
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")
WIDTHS = {"large": 1366, "phone": 390}
QUERY = "du=2025-07-01&au=2025-07-31&format=json&mode=standard"


@pytest.fixture
def landlords(session):
    a = make_org(session, "bailleur-a", "Bailleur A")
    b = make_org(session, "bailleur-b", "Bailleur B")
    for _ in range(7):
        make_senior(session, a)
    users = {role: make_user(session, a, role) for role in Role}
    session.commit()
    return a, b, users


@pytest.mark.parametrize("role", [Role.caller, Role.volunteer, Role.social_worker])
def test_other_roles_are_refused(client, landlords, role):
    a, _, users = landlords
    login(client, users[role].email)
    assert client.get("/rapports/").status_code == 403
    assert client.get(f"/rapports/telecharger?org={a.id}&{QUERY}").status_code == 403
    assert "Rapports" not in client.get("/").text


def test_another_landlords_organisation_is_a_404(client, landlords):
    a, b, users = landlords
    login(client, users[Role.manager].email)
    assert client.get(f"/rapports/telecharger?org={b.id}&{QUERY}").status_code == 404
    resp = client.get(f"/rapports/telecharger?org={a.id}&{QUERY}")
    assert resp.status_code == 200
    assert json.loads(resp.data)["indicators"]["seniors_followed"] == 7
    bad = client.get(f"/rapports/telecharger?org={a.id}&du=2025-07-31&au=2025-07-01&format=csv")
    assert bad.status_code == 400 and "La date de fin doit suivre" in bad.text


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"reports-{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["large"], "height": 900})


@pytest.mark.browser
def test_a_manager_downloads_each_format(page, landlords, tmp_path):
    from playwright.sync_api import expect

    _, _, users = landlords
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(users[Role.manager].email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("link", name="Rapports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapports")
    _shots(page, "form")
    page.get_by_label("Du", exact=True).fill("2025-07-01")
    page.get_by_label("Au (inclus)").fill("2025-07-31")
    files = {}
    for fmt, label in (("xlsx", "Excel (XLSX)"), ("csv", "CSV (tableur)"),
                       ("json", "JSON (données)")):  # fmt: skip
        page.get_by_label(label).check()
        with page.expect_download() as info:
            page.get_by_role("button", name="Télécharger").click()
        download = info.value
        assert download.suggested_filename == f"rapport-bailleur-a-2025-07-01-2025-07-31.{fmt}"
        files[fmt] = tmp_path / download.suggested_filename
        download.save_as(files[fmt])
    book = load_workbook(io.BytesIO(files["xlsx"].read_bytes()))
    assert book["Indicateurs"]["B7"].value == 7 and book["Indicateurs"]["B7"].data_type == "n"
    assert files["csv"].read_bytes().startswith("\ufeffOrganisation;Bailleur A".encode())
    assert json.loads(files["json"].read_text())["indicators"]["seniors_followed"] == 7
    page.get_by_label("Pour un financeur").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Télécharger").click()
    assert info.value.suggested_filename.endswith("-financeur.json")
    funder = json.loads(Path(info.value.path()).read_text())
    assert funder["indicators"]["seniors_followed"] == 7
    assert funder["indicators"]["seniors_reached"] == 0
    # A period that ends before it starts: the form again, with the error.
    page.get_by_label("Au (inclus)").fill("2025-06-01")
    page.get_by_role("button", name="Télécharger").click()
    expect(page.get_by_text("La date de fin doit suivre la date de début.")).to_be_visible()
    _shots(page, "error")
