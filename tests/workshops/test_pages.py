"""The workshops pages: plan, invite, answers noted by the team, attendance; the report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from outreach.reports.indicators import Period, compute
from outreach.workshops.models import Invitation, InvitationStatus, Workshop, WorkshopState
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_user
from tests.workshops.conftest import workshop_for


def test_a_manager_plans_and_invites_the_team_notes_answers_and_attendance(
    client, session, org, people
):
    texted, _, _ = people
    manager = make_user(session, org, "manager")
    caller = make_user(session, org, "caller")
    session.commit()
    login(client, manager.email)
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    page = client.get("/ateliers/nouveau")
    token = csrf_from(page.get_data(as_text=True))
    form = {
        "csrf_token": token,
        "theme": "Prévention des chutes",
        "day": day.isoformat(),
        "start": "14:30",
        "place": "Salle commune",
        "capacity": "1",
        "territory": "37",
        "partner": "",
    }
    bad = client.post("/ateliers/nouveau", data=form | {"capacity": "0", "postcode": "3700"})
    assert bad.status_code == 400 and "De 1 à 500 places" in bad.get_data(as_text=True)
    resp = client.post("/ateliers/nouveau", data=form)
    assert resp.status_code == 302
    workshop = session.scalar(select(Workshop))
    resp = client.post(
        f"/ateliers/{workshop.id}/inviter",
        data={"csrf_token": token, "residences": "Les Tilleuls", "channel": "staff"},
    )
    assert resp.status_code == 302
    assert session.scalar(select(Invitation).where(Invitation.workshop_id == workshop.id))
    # The team: sees, notes her answer, but does not plan.
    client.post("/logout", data={"csrf_token": token})
    login(client, caller.email)
    token = csrf_from(client.get("/ateliers/").get_data(as_text=True))
    assert client.get("/ateliers/nouveau").status_code == 403
    page = client.get(f"/ateliers/{workshop.id}").get_data(as_text=True)
    assert "Prévention des chutes" in page and texted[0].last_name in page
    assert "Inviter un groupe" not in page
    invs = session.scalars(select(Invitation).order_by(Invitation.senior_id)).all()
    for inv in invs[:2]:
        client.post(
            f"/ateliers/{workshop.id}/reponse",
            data={"csrf_token": token, "invitation_id": inv.id, "comes": "yes"},
        )
    client.post(
        f"/ateliers/{workshop.id}/transport",
        data={"csrf_token": token, "invitation_id": invs[0].id, "needed": "1", "note": "fauteuil"},
    )
    session.expire_all()
    assert [i.status for i in invs[:2]] == [InvitationStatus.registered, InvitationStatus.waiting]
    assert invs[0].transport_needed and invs[0].transport_note == "fauteuil"
    # Attendance once it started (moved into the past here).
    workshop.starts_at = datetime.now(UTC) - timedelta(hours=1)
    session.commit()
    resp = client.post(
        f"/ateliers/{workshop.id}/presence",
        data={"csrf_token": token, "present": [str(invs[0].id)]},
    )
    assert resp.status_code == 302
    session.expire_all()
    assert invs[0].attended is True and workshop.state == WorkshopState.held
    listing = client.get("/ateliers/").get_data(as_text=True)
    assert "Prévention des chutes" in listing


def test_another_landlords_workshop_is_not_found(client, session, org):
    workshop = workshop_for(session, org)
    other = make_org(session, "autre", "Autre bailleur")
    intruder = make_user(session, other, "manager")
    session.commit()
    login(client, intruder.email)
    assert client.get(f"/ateliers/{workshop.id}").status_code == 404
    assert "Bien vivre" not in client.get("/ateliers/").get_data(as_text=True)


def test_the_period_report_has_the_workshops(session, org, people):
    workshop = workshop_for(session, org)
    day = workshop.starts_at.date()
    report = compute(session, [org.id], Period(day, day), now=datetime(2030, 3, 1, tzinfo=UTC))
    assert report["workshops"]["total"]["workshops"] == 1
    assert report["workshops"]["by_territory"]["37"]["capacity"] == 2
    from outreach.reports.export import render

    csv = render(report, "csv").decode("utf-8")
    assert "Ateliers par territoire" in csv and "Bien vivre l'été" in csv
    assert (
        compute(
            session,
            [org.id],
            Period(date(2030, 1, 1), date(2030, 1, 2)),
            now=datetime(2030, 3, 1, tzinfo=UTC),
        )["workshops"]["by_workshop"]
        == []
    )
