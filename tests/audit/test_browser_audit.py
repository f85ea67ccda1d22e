"""A manager filters the audit journal and downloads it; the notice as seniors will read it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.audit.operations import record
from tests.conftest import TEST_PASSWORD
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")


@pytest.mark.browser
def test_manager_filters_the_journal_and_downloads_it(page, session, database_url):
    from playwright.sync_api import expect

    org = make_org(session, name="Touraine Logement")
    manager = make_user(session, org, "manager")
    manager.name = "Claire Responsable"
    caller = make_user(session, org, "caller")
    caller.name = "Camille Appelante"
    odette = make_senior(session, org, first_name="Odette", last_name="Lambert",
                         external_ref="TL-0042")  # fmt: skip
    marcel = make_senior(session, org, first_name="Marcel", last_name="Roux")
    for day, user, senior, action, details in (
        (10, caller, odette, "view", {"screen": "call"}),
        (11, caller, marcel, "view", None),
        (12, manager, odette, "update", {"fields": ["phone_mobile", "city"]}),
        (14, caller, odette, "view", None),
    ):
        event = record(session, action=action, entity="senior", entity_id=senior.id,
                       organisation_id=org.id, user_id=user.id, details=details)  # fmt: skip
        event.at = datetime(2025, 3, day, 9, 15, tzinfo=UTC)
    event = record(session, action="import", entity="roster", organisation_id=org.id,
                   details={"created": 2, "updated": 0})  # fmt: skip
    event.at = datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    session.commit()
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    SHOTS.mkdir(exist_ok=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(manager.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation").get_by_role("link", name="RGPD").click()
    page.get_by_role("link", name="Ouvrir le journal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal d'audit")
    expect(page.locator("#result-count")).to_contain_text("5 événements")

    page.get_by_label("Utilisateur").select_option(label="Camille Appelante")
    page.get_by_label("Action").select_option(label="Consultation")
    page.get_by_label("Senior (réf. ou n°)").fill("TL-0042")
    page.get_by_label("Depuis le").fill("2025-03-10")
    page.get_by_label("Jusqu'au (inclus)").fill("2025-03-13")
    page.get_by_role("button", name="Appliquer les filtres").click()
    expect(page.locator("#result-count")).to_contain_text("1 événement")
    assert "TL-0042" not in page.url  # her reference never travels in the address
    row = page.locator("table.audit tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("10/03/2025 10:15")
    expect(row.get_by_role("link", name="Mme Odette Lambert")).to_be_visible()
    page.wait_for_load_state()  # the stylesheets too, not only the DOM
    page.screenshot(path=str(SHOTS / f"audit-1366-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"audit-390-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter ce journal (CSV)").click()
    path = info.value.path()
    assert info.value.suggested_filename.startswith("journal-audit-")
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert [(r["Date"], r["Utilisateur"], r["Action"]) for r in rows] == [
        ("10/03/2025", "Camille Appelante", "Consultation")
    ]

    page.goto("/confidentialite/")
    page.get_by_role("link", name="Voir la notice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("vos informations")
    page.wait_for_load_state()
    page.screenshot(path=str(SHOTS / f"notice-1366-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"notice-390-{backend}.png"), full_page=True)
    page.goto("/confidentialite/registre")
    page.screenshot(path=str(SHOTS / f"register-390-{backend}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(SHOTS / f"register-1366-{backend}.png"), full_page=True)
