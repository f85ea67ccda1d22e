"""The vigilance pages over HTTP: banner for the managers concerned, the proposal with its
confirmation (count, ETA), accept, refuse, CSRF, scope; the manual activation's
confirmation step; the automatic activation setting (admins only)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from outreach.campaigns.models import Campaign, CampaignState, ChannelPolicy, Task
from outreach.vigilance.models import ProposalState, VigilanceProposal
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user
from tests.vigilance.conftest import apply


@pytest.fixture
def arranged(app, session):
    org = make_org(session, name="Touraine")
    manager = make_user(session, org, "manager")
    caller = make_user(session, org, "caller")
    for _ in range(3):
        make_senior(session, org, departement="37")
    other = make_org(session, name="Orléans")
    other_manager = make_user(session, other, "manager")
    make_senior(session, other, departement="45")
    session.commit()
    apply(session, app, "orange")
    mine = session.scalar(
        select(VigilanceProposal).where(VigilanceProposal.organisation_id == org.id)
    )
    theirs = session.scalar(
        select(VigilanceProposal).where(VigilanceProposal.organisation_id == other.id)
    )
    return {"org": org, "manager": manager, "caller": caller, "mine": mine, "theirs": theirs,
            "other_manager": other_manager}  # fmt: skip


def test_banner_on_every_page_for_the_managers_concerned(client, arranged):
    login(client, arranged["manager"].email)
    for url in ("/", "/seniors/", "/campagnes/"):
        page = unescape(client.get(url).text)
        assert "Vigilance canicule orange" in page and "Déclencher la canicule…" in page
        assert f"/vigilance/propositions/{arranged['mine'].id}" in page
        assert f"/vigilance/propositions/{arranged['theirs'].id}" not in page


def test_no_banner_for_a_caller(client, arranged):
    login(client, arranged["caller"].email)
    assert "Vigilance canicule" not in client.get("/").text
    assert client.get(f"/vigilance/propositions/{arranged['mine'].id}").status_code == 403


def test_another_organisations_proposal_is_404(client, arranged):
    login(client, arranged["manager"].email)
    assert client.get(f"/vigilance/propositions/{arranged['theirs'].id}").status_code == 404
    token = csrf_from(client.get("/vigilance/").text)
    resp = client.post(f"/vigilance/propositions/{arranged['theirs'].id}/declencher",
                       data={"csrf_token": token, "channel": "staff"})  # fmt: skip
    assert resp.status_code == 404


def test_proposal_page_shows_count_and_eta_then_activates(client, session, arranged):
    login(client, arranged["manager"].email)
    url = f"/vigilance/propositions/{arranged['mine'].id}"
    page = unescape(client.get(url).text)
    assert "3 seniors" in page and "à appeler aujourd'hui" in page
    # The configured channel is pre-filled.
    assert re.search(r'<input checked[^>]*value="ivr_then_staff"', page)
    assert "Dernier premier appel vers" in page or "Pas tous avant" in page
    recount = unescape(client.get(url + "?channel=sms&staff=2").text)
    assert "3 seniors" in recount
    # Without the CSRF token: refused, nothing activated.
    assert client.post(url + "/declencher", data={"channel": "staff"}).status_code == 400
    assert session.scalar(select(Campaign)) is None
    resp = client.post(
        url + "/declencher", data={"csrf_token": csrf_from(page), "channel": "staff"}
    )
    assert resp.status_code == 302
    session.expire_all()
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.state == CampaignState.active and campaign.channel_policy == ChannelPolicy.staff
    assert session.query(Task).count() == 3
    assert session.get(VigilanceProposal, arranged["mine"].id).state == ProposalState.accepted
    assert "Vigilance canicule orange" not in client.get("/").text


def test_refuse_with_a_reason(client, session, arranged):
    login(client, arranged["manager"].email)
    url = f"/vigilance/propositions/{arranged['mine'].id}"
    token = csrf_from(client.get(url).text)
    too_long = client.post(url + "/refuser", data={"csrf_token": token, "reason": "x" * 501})
    assert too_long.status_code == 400
    resp = client.post(url + "/refuser", data={"csrf_token": token, "reason": "Le CCAS appelle"})
    assert resp.status_code == 302
    session.expire_all()
    p = session.get(VigilanceProposal, arranged["mine"].id)
    assert p.state == ProposalState.refused and p.reason == "Le CCAS appelle"
    assert session.scalar(select(Campaign)) is None
    assert "refusée" in unescape(client.get(url).text)


def test_only_an_admin_turns_auto_activation_on(client, session, arranged):
    org = arranged["org"]
    login(client, arranged["manager"].email)
    page = client.get("/vigilance/").text
    token = csrf_from(page)
    data = {"csrf_token": token, f"org{org.id}-auto_activate": "y"}
    assert client.post(f"/vigilance/reglages/{org.id}", data=data).status_code == 404
    admin = make_user(session, org, "admin")
    session.commit()
    client.post("/logout", data={"csrf_token": token})
    login(client, admin.email)
    data["csrf_token"] = csrf_from(client.get("/vigilance/").text)
    assert client.post(f"/vigilance/reglages/{org.id}", data=data).status_code == 302
    session.expire_all()
    assert session.get(type(org), org.id).auto_activate is True


def test_manual_activation_asks_for_confirmation_first(client, session, arranged):
    org = arranged["org"]
    login(client, arranged["manager"].email)
    token = csrf_from(client.get("/campagnes/").text)
    data = {"csrf_token": token, f"o{org.id}-departements": "37", f"o{org.id}-level": "orange"}
    page = unescape(client.post(f"/campagnes/canicule/{org.id}/confirmer", data=data).text)
    assert "Confirmer le déclenchement" in page and "3 seniors" in page
    assert session.scalar(select(Campaign)) is None  # nothing yet
    data["channel"] = "ivr"
    assert client.post(f"/campagnes/canicule/{org.id}/declencher", data=data).status_code == 302
    session.expire_all()
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.channel_policy == ChannelPolicy.ivr
