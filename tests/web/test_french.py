"""French on the pages: agreement with the noun (« Gravité : Toutes »), singular for one
(« 1 terminé », « 1 appel à faire »), agreement with the senior; and the home page, which
leads a caller to « Ma file du jour »."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from outreach.accounts.models import Role
from outreach.accounts.operations import create_user
from outreach.calls.models import Severity
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task, TaskState
from outreach.campaigns.operations import activate_canicule, create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from outreach.escalation.models import Alert, AlertCause, AlertStatus
from outreach.partners.operations import create_partner
from outreach.roster.models import LeftReason, Sex
from tests.conftest import TEST_PASSWORD, login
from tests.factories import make_senior, make_user

ALL_DAY = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _text(resp) -> str:
    assert resp.status_code == 200, resp.text[:300]
    # One space between words, whatever the template's line breaks.
    return re.sub(r"\s+", " ", unescape(resp.get_data(as_text=True)))


def _options(html: str, name: str) -> dict[str, str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_html, name
    return {
        v: label.strip()
        for v, label in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)<', select_html[1])
    }


def _alert(session, senior, referent, due):
    alert = Alert(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        referent_id=referent.id,
        cause=AlertCause.concern_signal,
        severity=Severity.concern,
        status=AlertStatus.open,
        summary="Signal : isolement",
        opened_at=due - timedelta(days=1),
        due_at=due,
    )
    session.add(alert)
    session.flush()
    return alert


def _courtesy_day(session, org):
    """An active all-day courtesy campaign and today's staff tasks for the org's seniors."""
    now = datetime.now(UTC)
    campaign = create_campaign(
        session,
        org.id,
        "Courtoisie",
        CampaignKind.courtesy,
        call_window=ALL_DAY,
        skip_holidays=False,
    )
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    return campaign


# ------------------------------------------------------------------ filters: « Toutes »


def test_alert_filters_agree_with_their_noun(client, session, org):
    worker = make_user(session, org, "social_worker")
    session.commit()
    login(client, worker.email)
    html = _text(client.get("/alertes/"))
    assert _options(html, "gravite")[""] == "Toutes"  # la gravité
    assert _options(html, "motif")[""] == "Tous"  # le motif
    assert _options(html, "statut")["toutes"] == "Toutes"  # les alertes


def test_roster_organisation_filter_says_toutes(client, session, org, other_org):
    user = create_user(
        session,
        "deux@example.org",
        "Deux Bailleurs",
        TEST_PASSWORD,
        [(org, Role.manager), (other_org, Role.manager)],
    )
    session.commit()
    login(client, user.email)
    html = _text(client.get("/seniors/"))
    assert _options(html, "org")[""] == "Toutes"
    assert _options(html, "dep")[""] == "Tous"  # le département


# ------------------------------------------------------------------ one, not « 1 ...s »


@pytest.mark.date_sensitive  # generates today's calls, counts them as of today
def test_canicule_panel_says_1_termine_then_2_termines(client, session, org, manager):
    for _ in range(3):
        make_senior(session, org, departement="37", canicule_register=True)
    now = datetime.now(UTC)
    activate_canicule(session, org.id, ["37"], "orange", paris_today(now), now)
    tasks = list(session.scalars(select(Task).order_by(Task.id)))
    assert len(tasks) == 3
    tasks[0].state = TaskState.done
    session.commit()
    login(client, manager.email)
    text = _text(client.get("/campagnes/"))
    assert "Appels du jour : 3 créés, 2 restants, 1 terminé." in text
    tasks[1].state = TaskState.done
    session.commit()
    text = _text(client.get("/campagnes/"))
    assert "Appels du jour : 3 créés, 1 restant, 2 terminés." in text


def test_counts_of_one_are_singular(client, session, org, manager):
    senior = make_senior(session, org)
    worker = make_user(session, org, "social_worker")
    _alert(session, senior, worker, datetime.now(UTC) + timedelta(days=3))
    create_partner(session, org.id, name="CCAS de Tours", kind="ccas", departements=["37"])
    campaign = create_campaign(
        session,
        org.id,
        "Courtoisie",
        CampaignKind.courtesy,
        max_attempts_per_day=1,
        cadence=[{"every_days": 1}],
    )
    session.commit()
    login(client, manager.email)
    assert "1 senior " in _text(client.get("/seniors/")) + " "
    assert "1 seniors" not in _text(client.get("/seniors/"))
    assert "1 partenaire " in _text(client.get("/partenaires/"))
    alerts = _text(client.get("/alertes/"))
    assert "1 alerte " in alerts and "1 alertes" not in alerts
    show = _text(client.get(f"/campagnes/{campaign.id}"))
    assert "1 tentative par jour" in show and "1 tentatives" not in show
    assert "Les autres : tous les jours" in show and "tous les 1 jours" not in show


def test_senior_page_agrees_with_her(client, session, org, manager):
    her = make_senior(
        session, org, civility="Mme", lives_alone=True, active=False, left_reason=LeftReason.moved
    )
    him = make_senior(session, org, civility=None, sex=Sex.male, lives_alone=True)
    unknown = make_senior(session, org, civility=None, sex=None)
    session.commit()
    login(client, manager.email)
    text = _text(client.get(f"/seniors/{her.id}"))
    assert "<dt>Vit seule</dt>" in text and "partie —" in text
    text = _text(client.get(f"/seniors/{him.id}"))
    assert "<dt>Vit seul</dt>" in text and "suivi actuellement" in text
    text = _text(client.get(f"/seniors/{unknown.id}"))
    assert "<dt>Vit seul(e)</dt>" in text and "suivi(e) actuellement" in text
    roster = _text(client.get("/seniors/?status=all"))
    assert '<span class="tag">partie</span>' in roster


# ------------------------------------------------------------------ home


@pytest.mark.date_sensitive  # generates today's calls, counts them as of today
@pytest.mark.parametrize("role", ["caller", "volunteer"])
def test_a_callers_home_leads_to_the_queue_with_whats_left(client, session, org, role):
    user = make_user(session, org, role)
    make_senior(session, org)
    _courtesy_day(session, org)
    login(client, user.email)
    html = client.get("/").text
    assert re.search(r'<a class="button primary big-link" href="/file/">Ma file du jour</a>', html)
    text = _text(client.get("/"))
    assert "1 appel à faire" in text and "1 appels" not in text
    if role == "volunteer":
        assert "/alertes/" not in html and "/seniors/" not in html


@pytest.mark.date_sensitive  # generates today's calls, counts them as of today
def test_the_home_count_is_plural_above_one_and_says_when_nothing_is_left(
    client, session, org, caller
):
    session.commit()
    login(client, caller.email)
    text = _text(client.get("/"))
    assert "Aucun appel à faire pour le moment." in text
    assert "/file/" in text  # the queue stays one click away
    make_senior(session, org)
    make_senior(session, org)
    _courtesy_day(session, org)
    assert "2 appels à faire" in _text(client.get("/"))


@pytest.mark.date_sensitive  # late or not: due times around now
def test_a_social_workers_home_shows_her_alerts(client, session, org):
    worker = make_user(session, org, "social_worker")
    now = datetime.now(UTC)
    _alert(session, make_senior(session, org), worker, now - timedelta(days=3))
    _alert(session, make_senior(session, org), worker, now + timedelta(days=3))
    session.commit()
    login(client, worker.email)
    html = client.get("/").text
    text = _text(client.get("/"))
    assert "2 alertes à traiter pour les seniors que vous suivez" in text
    assert "dont 1 en retard" in text
    assert '<a class="button primary big-link" href="/alertes/">Mes alertes</a>' in html
    assert 'big-link" href="/file/"' not in html
    assert 'href="/file/"' in html  # she may call too, from a plain link


def test_a_managers_home_keeps_its_links(client, session, org, manager):
    session.commit()
    login(client, manager.email)
    html = client.get("/").text
    assert "big-link" not in html
    for href in ("/campagnes/", "/seniors/", "/alertes/", "/file/"):
        assert f'href="{href}"' in html
    assert "Touraine Logement" in html
