"""The alert pages: "Mes alertes" (order, counters, filters) and one alert (acknowledge,
resolve, reassign, reinforced follow-up), who may see them, and the senior page's entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Severity, Signal
from outreach.campaigns.schedule import PARIS
from outreach.escalation.models import (
    Alert,
    AlertCause,
    AlertEvent,
    AlertStatus,
    Resolution,
)
from outreach.partners.models import Referral
from outreach.partners.operations import create_partner
from outreach.roster.models import EmergencyContact, Senior
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user


@pytest.fixture
def org(session):
    return make_org(session, name="Touraine Logement")


@pytest.fixture
def other_org(session):
    return make_org(session, name="Autre Bailleur")


@pytest.fixture
def people(session, org):
    """The staff of the landlord, by role; two social workers to share the alerts."""
    return {
        role: make_user(session, org, role.split(":")[0])
        for role in ("social_worker", "social_worker:2", "manager", "caller", "volunteer")
    }


def make_alert(session, senior, *, due, referent=None, **fields):
    now = datetime.now(UTC)
    values = {
        "cause": AlertCause.urgent_signal,
        "severity": Severity.urgent,
        "status": AlertStatus.open,
        "summary": "Signal : chute",
        "opened_at": now - timedelta(hours=3),
    }
    values.update(fields)
    alert = Alert(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        referent_id=referent.id if referent else None,
        due_at=due,
        **values,
    )
    session.add(alert)
    session.flush()
    session.add(AlertEvent(alert_id=alert.id, at=alert.opened_at, action="opened"))
    session.flush()
    return alert


def client_for(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alert-id="(\d+)"', html)]


def counter(html: str, name: str) -> int:
    match = re.search(rf'data-counter="{name}">(\d+)<', html)
    assert match, name
    return int(match.group(1))


def post(client, url: str, **data):
    token = csrf_from(client.get("/alertes/").text)
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture
def inbox(session, org, people):
    """Alerts of the first social worker (late, due today, later, acknowledged, closed),
    one of the second social worker, and one of another landlord."""
    now = datetime.now(UTC)
    end_of_day = datetime.combine(now.astimezone(PARIS).date() + timedelta(days=1), time(0), PARIS)
    me, colleague = people["social_worker"], people["social_worker:2"]
    alerts = {
        "later": make_alert(
            session,
            make_senior(session, org),
            due=now + timedelta(days=3),
            referent=me,
            cause=AlertCause.concern_signal,
            severity=Severity.concern,
        ),
        "late": make_alert(
            session, make_senior(session, org), due=now - timedelta(hours=2), referent=me
        ),
        # Halfway to midnight: due today whatever the hour the test runs.
        "today": make_alert(
            session,
            make_senior(session, org),
            due=now + (end_of_day - now) / 2,
            referent=me,
            cause=AlertCause.canicule_unreached,
        ),
        "acknowledged": make_alert(
            session,
            make_senior(session, org),
            due=now + timedelta(days=1, hours=1),
            referent=me,
            status=AlertStatus.acknowledged,
            acknowledged_at=now,
            acknowledged_by_id=me.id,
        ),
        "closed": make_alert(
            session,
            make_senior(session, org),
            due=now - timedelta(days=2),
            referent=me,
            status=AlertStatus.resolved,
            resolution=Resolution.no_action,
            resolved_at=now - timedelta(days=1),
        ),
        "colleague": make_alert(
            session, make_senior(session, org), due=now - timedelta(hours=5), referent=colleague
        ),
    }
    outsider = make_org(session, name="Bailleur voisin")
    alerts["elsewhere"] = make_alert(
        session, make_senior(session, outsider), due=now - timedelta(hours=9)
    )
    session.commit()
    return alerts


def test_inbox_sorted_by_due_time_with_counters(app, session, people, inbox):
    client = client_for(app, people["social_worker"])
    html = client.get("/alertes/").text
    # A social worker opens her own alerts still to do, the most pressing first.
    assert row_ids(html) == [inbox[k].id for k in ("late", "today", "acknowledged", "later")]
    assert counter(html, "overdue") == 1
    assert counter(html, "today") == 1
    assert counter(html, "new") == 3
    assert counter(html, "todo") == 4
    assert "en retard" in html and "Mes alertes" in html
    # The nav shows the count of her overdue alerts.
    assert re.search(r'Mes alertes <span class="tag">1<', html)


def test_filters(app, session, people, inbox):
    client = client_for(app, people["social_worker"])
    everyone = client.get("/alertes/?qui=toutes").text
    assert row_ids(everyone) == [
        inbox[k].id for k in ("colleague", "late", "today", "acknowledged", "later")
    ]
    assert counter(everyone, "overdue") == 2
    assert inbox["elsewhere"].id not in row_ids(everyone)
    assert row_ids(client.get("/alertes/?statut=closes").text) == [inbox["closed"].id]
    assert row_ids(client.get("/alertes/?gravite=concern").text) == [inbox["later"].id]
    canicule = client.get("/alertes/?motif=canicule_unreached").text
    assert row_ids(canicule) == [inbox["today"].id]
    # A hand-edited URL falls back to the defaults instead of failing.
    assert row_ids(client.get("/alertes/?statut=x&gravite=y&qui=z").text) == row_ids(
        client.get("/alertes/").text
    )


def test_manager_sees_the_whole_organisation_by_default(app, people, inbox):
    client = client_for(app, people["manager"])
    html = client.get("/alertes/").text
    assert row_ids(html) == [
        inbox[k].id for k in ("colleague", "late", "today", "acknowledged", "later")
    ]
    assert row_ids(client.get("/alertes/?qui=moi").text) == []


def test_acknowledge_in_one_click(app, session, people, inbox):
    me = people["social_worker"]
    client = client_for(app, me)
    alert = inbox["late"]
    page = client.get(f"/alertes/{alert.id}").text
    assert "Prendre en charge" in page
    resp = post(client, f"/alertes/{alert.id}/prise-en-charge")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/alertes/{alert.id}")
    session.expire_all()
    alert = session.get(Alert, alert.id)
    assert alert.status == AlertStatus.acknowledged and alert.acknowledged_by_id == me.id
    page = client.get(f"/alertes/{alert.id}").text
    assert "Vous avez pris en charge cette alerte." in page
    # The history says who did it.
    assert re.search(r"Prise en charge</strong>.*?</td>\s*<td>" + re.escape(me.name), page, re.S)
    again = post(client, f"/alertes/{alert.id}/prise-en-charge")
    assert "déjà prise en charge" in client.get(again.headers["Location"]).text


def test_resolve_with_a_referral_to_a_partner(app, session, org, people, inbox):
    me = people["social_worker"]
    partner = create_partner(
        session, org.id, name="CCAS de Tours", kind="ccas", departements=["37"]
    )
    session.commit()
    client = client_for(app, me)
    alert = inbox["late"]
    assert "CCAS de Tours" in client.get(f"/alertes/{alert.id}").text
    resp = post(
        client,
        f"/alertes/{alert.id}/cloture",
        resolution="partner_referral",
        partner=str(partner.id),
        note="Portage de repas demandé.",
    )
    assert resp.status_code == 302
    session.expire_all()
    alert = session.get(Alert, alert.id)
    assert alert.status == AlertStatus.resolved
    assert alert.resolution == Resolution.partner_referral
    assert alert.resolved_by_id == me.id and alert.resolution_note == "Portage de repas demandé."
    referral = session.scalar(select(Referral).where(Referral.alert_id == alert.id))
    assert referral.partner_id == partner.id and referral.senior_id == alert.senior_id
    page = client.get(f"/alertes/{alert.id}").text
    assert "Alerte close : Orientation vers un partenaire." in page
    assert "Orienté(e) vers" in page and "CCAS de Tours" in page
    # A closed alert offers no more form to close it.
    assert f'action="/alertes/{alert.id}/cloture"' not in page


def test_a_referral_needs_a_partner_of_the_same_landlord(
    app, session, org, other_org, people, inbox
):
    theirs = create_partner(session, other_org.id, name="CCAS d'ailleurs", kind="ccas")
    session.commit()
    client = client_for(app, people["social_worker"])
    alert = inbox["late"]
    for partner in ("", str(theirs.id)):
        resp = post(
            client, f"/alertes/{alert.id}/cloture", resolution="partner_referral", partner=partner
        )
        assert resp.status_code == 400
        if not partner:
            assert "Choisissez le partenaire vers lequel la personne est orientée." in resp.text
    session.expire_all()
    assert session.get(Alert, alert.id).status == AlertStatus.open
    assert session.scalar(select(Referral.id)) is None


def test_resolve_without_a_partner(app, session, people, inbox):
    client = client_for(app, people["social_worker"])
    alert = inbox["acknowledged"]
    resp = post(
        client, f"/alertes/{alert.id}/cloture", resolution="home_visit", note="Vue ce jour."
    )
    assert resp.status_code == 302
    session.expire_all()
    alert = session.get(Alert, alert.id)
    assert (alert.status, alert.resolution) == (AlertStatus.resolved, Resolution.home_visit)
    assert session.scalar(select(Referral.id)) is None
    missing = post(client, f"/alertes/{inbox['late'].id}/cloture", note="?")
    assert missing.status_code == 400 and "Choisissez ce qui a été fait." in missing.text


def test_reassign_to_a_colleague_of_the_same_organisation(app, session, other_org, people, inbox):
    colleague = people["social_worker:2"]
    outsider = make_user(session, other_org, "social_worker")
    session.commit()
    client = client_for(app, people["social_worker"])
    alert = inbox["late"]
    # Neither a caller nor another landlord's social worker may receive it.
    for user in (people["caller"], outsider):
        post(client, f"/alertes/{alert.id}/reattribuer", referent=str(user.id))
        session.expire_all()
        assert session.get(Alert, alert.id).referent_id == people["social_worker"].id
    resp = post(client, f"/alertes/{alert.id}/reattribuer", referent=str(colleague.id))
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(Alert, alert.id).referent_id == colleague.id
    page = client.get(f"/alertes/{alert.id}").text
    assert f"Alerte confiée à {colleague.name}." in page
    assert f"à {colleague.name}" in page  # in the history


def test_reinforced_follow_up_on_and_off(app, session, people, inbox):
    client = client_for(app, people["social_worker"])
    alert = inbox["late"]
    assert post(client, f"/alertes/{alert.id}/suivi-renforce", on="1").status_code == 302
    session.expire_all()
    senior = session.get(Senior, alert.senior_id)
    assert senior.reinforced_since == datetime.now(PARIS).date()
    page = client.get(f"/alertes/{alert.id}").text
    assert "Passage en suivi renforcé" in page and "Revenir au suivi habituel" in page
    # Asking for the same state twice changes nothing (a double click).
    post(client, f"/alertes/{alert.id}/suivi-renforce", on="1")
    assert post(client, f"/alertes/{alert.id}/suivi-renforce", on="0").status_code == 302
    session.expire_all()
    assert session.get(Senior, alert.senior_id).reinforced_since is None
    actions = session.scalars(
        select(AlertEvent.action).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
    ).all()
    assert actions == ["opened", "reinforced_on", "reinforced_off"]
    assert post(client, f"/alertes/{alert.id}/suivi-renforce", on="2").status_code == 400


@pytest.mark.parametrize("role", ["volunteer", "caller"])
def test_volunteers_and_callers_never_see_alerts(app, session, people, inbox, role):
    client = client_for(app, people[role])
    alert = inbox["late"]
    home = client.get("/").text
    assert "Mes alertes" not in home
    assert client.get("/alertes/").status_code == 403
    assert client.get(f"/alertes/{alert.id}").status_code == 403
    token = csrf_from(home)
    for action in ("prise-en-charge", "cloture", "reattribuer", "suivi-renforce"):
        resp = client.post(f"/alertes/{alert.id}/{action}", data={"csrf_token": token, "on": "1"})
        assert resp.status_code == 403, action
    session.expire_all()
    assert session.get(Alert, alert.id).status == AlertStatus.open
    if role == "caller":  # callers read the senior page, without her alerts
        page = client.get(f"/seniors/{alert.senior_id}").text
        assert "Alerte :" not in page and f"/alertes/{alert.id}" not in page


def test_another_landlords_alert_is_not_found(app, session, other_org, inbox):
    intruder = make_user(session, other_org, "manager")
    session.commit()
    client = client_for(app, intruder)
    alert = inbox["late"]
    assert client.get(f"/alertes/{alert.id}").status_code == 404
    for action in ("prise-en-charge", "cloture", "reattribuer", "suivi-renforce"):
        resp = post(client, f"/alertes/{alert.id}/{action}", on="1", resolution="no_action")
        assert resp.status_code == 404, action
    assert row_ids(client.get("/alertes/?qui=toutes&statut=toutes").text) == []
    session.expire_all()
    assert session.get(Alert, alert.id).status == AlertStatus.open


def test_levee_de_doute_puts_the_emergency_contacts_first(app, session, people, inbox):
    alert = inbox["today"]  # canicule_unreached
    session.add(
        EmergencyContact(
            organisation_id=alert.organisation_id,
            senior_id=alert.senior_id,
            name="Sophie Durand",
            relation="fille",
            phone="+33247001122",
        )
    )
    session.commit()
    page = client_for(app, people["social_worker"]).get(f"/alertes/{alert.id}").text
    assert "Levée de doute" in page
    contact = page.index('href="tel:+33247001122"')
    assert contact < page.index('id="a-summary"')
    assert contact < page.index('href="tel:+33612345678"')  # then the senior's own phone
    assert "Sophie Durand" in page and "02 47 00 11 22" in page


def test_alert_page_shows_the_senior_timeline_and_the_senior_page_lists_alerts(
    app, session, people, inbox
):
    me = people["social_worker"]
    alert = inbox["late"]
    attempt = Attempt(
        organisation_id=alert.organisation_id,
        senior_id=alert.senior_id,
        channel=AttemptChannel.staff,
        user_id=people["caller"].id,
        started_at=datetime.now(UTC) - timedelta(hours=4),
        disposition=Disposition.reached_concern,
        notes="Tombée dans la salle de bain.",
    )
    session.add(attempt)
    session.flush()
    session.add(
        Signal(
            organisation_id=alert.organisation_id,
            attempt_id=attempt.id,
            senior_id=alert.senior_id,
            kind="fall",
            severity=Severity.urgent,
        )
    )
    session.commit()
    client = client_for(app, me)
    page = client.get(f"/alertes/{alert.id}").text
    assert "Tombée dans la salle de bain." in page and "Signal : Chute" in page
    senior_page = client.get(f"/seniors/{alert.senior_id}").text
    assert "Alerte : Signal urgent" in senior_page and f"/alertes/{alert.id}" in senior_page


def test_the_day_counter_is_today_in_paris(app, session, org, people):
    """ "Today" ends at midnight in Paris: an alert due a minute later is not counted."""
    me = people["social_worker"]
    now = datetime.now(UTC)
    tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, time(0), PARIS)
    make_alert(session, make_senior(session, org), due=midnight + timedelta(minutes=1), referent=me)
    session.commit()
    html = client_for(app, me).get("/alertes/").text
    assert counter(html, "today") == 0 and counter(html, "todo") == 1
