"""The pre-season check page: managers only, their own seniors only, the XLSX list for the
proximity staff (safe cells, audited) and the test SMS campaign button."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.campaigns.models import Campaign, CampaignKind, CampaignState, ChannelPolicy
from outreach.campaigns.targeting import CANICULE_DEFAULT_ANY_OF
from outreach.web import readiness as page
from tests.conftest import csrf_from, login
from tests.factories import make_senior, make_user
from tests.readiness.conftest import contact, xlsx_table

NOW = datetime(2027, 5, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def logged(client, roster, monkeypatch):
    monkeypatch.setattr(page, "_now", lambda: NOW)
    login(client, roster.manager.email)
    return client


def test_only_managers_see_it(client, session, roster):
    caller = make_user(session, roster.org, "caller")
    session.commit()
    login(client, caller.email)
    assert client.get("/canicule/preparation").status_code == 403
    assert client.get("/canicule/preparation?format=xlsx").status_code == 403


def test_the_page_lists_each_problem_and_never_another_landlords_senior(logged, roster):
    html = unescape(logged.get("/canicule/preparation").get_data(as_text=True))
    assert "6 seniors sur la liste au 15/05/2027" in html
    for senior in (roster.no_number, roster.no_consent, roster.no_contact, roster.no_referent,
                   roster.failed):  # fmt: skip
        assert f'data-senior="{senior.id}"' in html
        assert f'href="/seniors/{senior.id}"' in html
    assert f'data-senior="{roster.fine.id}"' not in html
    assert "Intrus" not in html and roster.foreign.external_ref not in html
    assert "Garnier" not in html  # not on the canicule list
    assert 'data-list="no_valid_number"' in html
    assert "aucun(e) référent(e)" in html


def test_the_xlsx_list_has_a_row_per_senior_to_complete_with_safe_cells(logged, session, roster):
    hostile = make_senior(session, roster.org, last_name='=HYPERLINK("http://x")',
                          canicule_register=True, residence="+cmd|' /C calc'!A0",
                          referent_id=roster.referent.id)  # fmt: skip
    session.commit()
    resp = logged.get("/canicule/preparation?format=xlsx")
    assert resp.status_code == 200
    assert logged.get("/canicule/preparation?format=csv").status_code == 404
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="verification-canicule-2027-05-15.xlsx"'
    )
    header, rows, sheet = xlsx_table(resp.data)
    assert header[:4] == ["Référence", "Nom", "Adresse", "Résidence"]
    assert header[-4:] == ["Numéro vérifié ou nouveau numéro",
                           "Contact d'urgence à ajouter (nom, lien, téléphone)",
                           "Observations", "Vérifié le, par"]  # fmt: skip
    refs = [r[0] for r in rows]
    assert roster.foreign.external_ref not in refs and roster.fine.external_ref not in refs
    assert len(rows) == 6
    bad = next(r for r in rows if r[0] == hostile.external_ref)
    assert bad[1] == 'Mme Jeanne =HYPERLINK("http://x")'
    assert bad[3] == "+cmd|' /C calc'!A0"
    assert (
        "Sans contact d'urgence avec un téléphone : aucun contact d'urgence"
        in bad[header.index("Ce qui manque")]
    )
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    failed = next(r for r in rows if r[0] == roster.failed.external_ref)
    assert failed[header.index("Fixe")] == "02 47 00 00 02"
    assert failed[header.index("Contact d'urgence")] == "Luc Proche (fils) 06 11 22 33 44"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.user_id, event.organisation_id) == (roster.manager.id, roster.org.id)
    assert event.details == {"rows": 6, "filters": ["canicule_readiness"]}


def test_the_test_sms_button_creates_a_draft_to_review(logged, session, roster):
    html = logged.get("/canicule/preparation").get_data(as_text=True)
    token = {"csrf_token": csrf_from(html)}
    # Another landlord's id: refused, nothing created.
    assert logged.post(f"/canicule/preparation/{roster.other.id}/sms-test",
                       data=token).status_code == 404  # fmt: skip
    assert session.scalar(select(Campaign)) is None
    resp = logged.post(f"/canicule/preparation/{roster.org.id}/sms-test", data=token)
    assert resp.status_code == 302
    campaign = session.scalar(select(Campaign))
    assert resp.headers["Location"] == f"/campagnes/{campaign.id}"
    assert (campaign.kind, campaign.state) == (CampaignKind.custom, CampaignState.draft)
    assert campaign.channel_policy == ChannelPolicy.sms
    assert campaign.targeting == {"any_of": CANICULE_DEFAULT_ANY_OF}
    assert (campaign.script, campaign.max_attempts, campaign.own_message) == (
        "canicule_test", 1, True)  # fmt: skip
    assert campaign.name == "Test SMS avant l'été 2027"
    shown = unescape(logged.get(resp.headers["Location"]).get_data(as_text=True))
    assert "Ceci est un message de test de Touraine Habitat avant l'été : répondez OK" in shown


def test_nothing_missing_says_so(client, session, monkeypatch):
    from tests.factories import make_org

    org = make_org(session, name="Bailleur prêt")
    manager = make_user(session, org, "manager")
    referent = make_user(session, org, "social_worker")
    senior = make_senior(session, org, canicule_register=True, referent_id=referent.id)
    contact(session, senior)
    session.commit()
    monkeypatch.setattr(page, "_now", lambda: NOW)
    login(client, manager.email)
    html = unescape(client.get("/canicule/preparation").get_data(as_text=True))
    assert "Rien ne manque" in html
    assert "1 senior sur la liste au 15/05/2027" in html
