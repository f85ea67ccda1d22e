"""The audit journal: filters (user, action, period in Paris time, senior), scope, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.audit.operations import record
from outreach.calls.models import Attempt, AttemptChannel
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user


def _event(session, at: datetime, **fields) -> AuditEvent:
    event = record(session, **fields)
    event.at = at
    return event


@pytest.fixture
def trail(session):
    """Organisation A's trail (five events) and B's (one), at known instants."""
    a = make_org(session, "bailleur-a", "Bailleur A")
    b = make_org(session, "bailleur-b", "Bailleur B")
    manager = make_user(session, a, "manager")
    caller = make_user(session, a, "caller")
    caller.name = "Camille Appelante"
    odette = make_senior(session, a, first_name="Odette", last_name="Lambert", external_ref="A-1")
    marcel = make_senior(session, a, first_name="Marcel", last_name="Roux", external_ref="A-2")
    erased = make_senior(session, a, first_name="X", last_name="X", external_ref="A-3")
    erased.erased_at = datetime(2024, 3, 1, tzinfo=UTC)
    attempt = Attempt(organisation_id=a.id, senior_id=odette.id, channel=AttemptChannel.staff,
                      started_at=datetime(2024, 3, 9, tzinfo=UTC))  # fmt: skip
    session.add(attempt)
    intruder_senior = make_senior(session, b, external_ref="B-1")
    b_user = make_user(session, b, "admin")
    b_user.name = "Bérénice Autre"
    session.flush()
    ev = {
        # 10 March, 11:00 in Paris.
        "caller_view": _event(session, datetime(2024, 3, 10, 10, 0, tzinfo=UTC), action="view",
                              entity="senior", entity_id=odette.id, organisation_id=a.id,
                              user_id=caller.id, details={"screen": "call"}),
        # 12 March, 23:30 in Paris (22:30 UTC): still the 12th.
        "update": _event(session, datetime(2024, 3, 12, 22, 30, tzinfo=UTC), action="update",
                         entity="senior", entity_id=marcel.id, organisation_id=a.id,
                         user_id=manager.id, details={"fields": ["city"]}),
        # 13 March, 00:30 in Paris (23:30 UTC on the 12th): already the 13th in Paris.
        "import": _event(session, datetime(2024, 3, 12, 23, 30, tzinfo=UTC), action="import",
                         entity="roster", organisation_id=a.id, details={"created": 3}),
        "corrected": _event(session, datetime(2024, 3, 14, 9, 0, tzinfo=UTC),
                            action="outcome_corrected", entity="attempt", entity_id=attempt.id,
                            organisation_id=a.id, user_id=manager.id,
                            details={"old": {"outcome": "unreached"}}),
        "erased_view": _event(session, datetime(2024, 3, 15, 9, 0, tzinfo=UTC), action="view",
                              entity="senior", entity_id=erased.id, organisation_id=a.id,
                              user_id=manager.id),
        "other_org": _event(session, datetime(2024, 3, 10, 9, 0, tzinfo=UTC), action="view",
                            entity="senior", entity_id=intruder_senior.id, organisation_id=b.id,
                            user_id=b_user.id),
    }  # fmt: skip
    session.commit()
    return {
        "a": a, "manager": manager, "caller": caller, "odette": odette, "marcel": marcel,
        "erased": erased, "b_senior": intruder_senior, "events": ev,
    }  # fmt: skip


def _csv(resp) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.status_code
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def _ids(client, query: str = "") -> set[int]:
    """The events the CSV export lists for ``query`` (the same filters as the page)."""
    rows = _csv(client.get(f"/journal/export.csv{query}"))
    found = set()
    for row in rows:
        key = (row["Action"], row["N°"], row["Date"], row["Heure"])
        found.add(key)
    return found


def _expected(trail, *names: str) -> set[tuple[str, str, str, str]]:
    from outreach.audit.queries import action_label
    from outreach.timezone import PARIS

    out = set()
    for name in names:
        e = trail["events"][name]
        at = e.at.astimezone(PARIS)
        out.add((action_label(e.action), "" if e.entity_id is None else str(e.entity_id),
                 f"{at:%d/%m/%Y}", f"{at:%H:%M:%S}"))  # fmt: skip
    return out


@pytest.fixture
def manager_client(client, trail):
    login(client, trail["manager"].email)
    return client


def test_lists_the_organisations_events_newest_first(manager_client, trail):
    page = manager_client.get("/journal/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "5 événements" in html
    assert "Bérénice Autre" not in html  # B's events never show
    # Newest first, in French, Paris time.
    assert html.index("15/03/2024 10:00") < html.index("10/03/2024 11:00")
    assert "Résultat d&#39;appel corrigé" in html or "Résultat d'appel corrigé" in html
    assert "Import du fichier" in html and "Système" in html
    assert "depuis : l&#39;écran d&#39;appel" in html
    # A link to the senior's page, except for an erased senior.
    assert f'href="/seniors/{trail["odette"].id}"' in html
    assert "Mme Odette Lambert" in html
    assert f'href="/seniors/{trail["erased"].id}"' not in html
    assert "effacé(e)" in html


def test_everything_but_the_other_organisation(manager_client, trail):
    assert _ids(manager_client) == _expected(
        trail, "caller_view", "update", "import", "corrected", "erased_view"
    )


def test_filter_by_user(manager_client, trail):
    q = f"?utilisateur={trail['caller'].id}"
    assert _ids(manager_client, q) == _expected(trail, "caller_view")
    assert _ids(manager_client, "?utilisateur=systeme") == _expected(trail, "import")


def test_filter_by_action(manager_client, trail):
    assert _ids(manager_client, "?action=update") == _expected(trail, "update")
    assert _ids(manager_client, "?action=view") == _expected(trail, "caller_view", "erased_view")


def test_filter_by_period_in_paris_time(manager_client, trail):
    # The import at 00:30 on 13 March in Paris is 23:30 on the 12th in UTC.
    assert _ids(manager_client, "?du=2024-03-12&au=2024-03-12") == _expected(trail, "update")
    assert _ids(manager_client, "?du=2024-03-13&au=2024-03-14") == _expected(
        trail, "import", "corrected"
    )
    assert _ids(manager_client, "?au=2024-03-10") == _expected(trail, "caller_view")


def test_filter_by_senior_includes_her_calls(manager_client, trail):
    q = f"?senior={trail['odette'].id}"
    assert _ids(manager_client, q) == _expected(trail, "caller_view", "corrected")


def test_another_organisations_senior_gives_nothing(manager_client, trail):
    assert _ids(manager_client, f"?senior={trail['b_senior'].id}") == set()


def test_senior_reference_travels_by_post_not_in_the_url(manager_client, trail):
    page = manager_client.get("/journal/")
    token = csrf_from(page.get_data(as_text=True))
    resp = manager_client.post(
        "/journal/", data={"csrf_token": token, "senior": "A-1", "action": "view"}
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "A-1" not in location
    assert f"senior={trail['odette'].id}" in location and "action=view" in location
    html = manager_client.get(location).get_data(as_text=True)
    assert "1 événement" in html
    assert 'value="A-1"' in html  # the field shows her reference again


def test_unknown_or_foreign_reference_is_refused(manager_client, trail):
    token = csrf_from(manager_client.get("/journal/").get_data(as_text=True))
    for ref in ("NOPE", "B-1", str(trail["b_senior"].id)):
        resp = manager_client.post("/journal/", data={"csrf_token": token, "senior": ref})
        assert resp.status_code == 400
        assert "Aucun senior de vos organisations" in resp.get_data(as_text=True)


def test_end_before_start_is_refused(manager_client):
    token = csrf_from(manager_client.get("/journal/").get_data(as_text=True))
    resp = manager_client.post(
        "/journal/", data={"csrf_token": token, "du": "2024-03-12", "au": "2024-03-10"}
    )
    assert resp.status_code == 400
    assert "La date de fin doit suivre la date de début." in resp.get_data(as_text=True)


def test_hand_edited_values_are_ignored(manager_client):
    resp = manager_client.get("/journal/?senior=99999999999&utilisateur=-1&du=hier&page=x")
    assert resp.status_code == 200
    assert "5 événements" in resp.get_data(as_text=True)


def test_pagination(app, manager_client, trail):
    app.config["OUTREACH"]["app"]["page_size"] = 2
    html = manager_client.get("/journal/?page=3").get_data(as_text=True)
    assert "Page 3 sur 3" in html
    assert "10/03/2024 11:00" in html and "15/03/2024" not in html


def test_csv_neutralises_formulas_and_is_for_french_excel(session, manager_client, trail):
    trail["caller"].name = '=HYPERLINK("http://evil.example","x")'
    session.add(trail["caller"])
    session.commit()
    resp = manager_client.get("/journal/export.csv")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = _csv(resp)
    names = {r["Utilisateur"] for r in rows}
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert not any(n.startswith("=") for n in names)
    corrected = next(r for r in rows if r["Action"] == "Résultat d'appel corrigé")
    assert corrected["Senior n°"] == str(trail["odette"].id)


def test_exporting_the_journal_is_logged_without_values(session, manager_client, trail):
    manager_client.get(f"/journal/export.csv?senior={trail['odette'].id}&action=view")
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.entity == "audit")).one()
    assert event.action == "export"
    assert event.user_id == trail["manager"].id
    assert event.organisation_id == trail["a"].id
    assert event.details["filters"] == ["senior", "action"]
    assert event.details["rows"] == 1
    assert set(event.details) == {"rows", "filters", "format"}  # names, never values


@pytest.mark.parametrize("role", ["caller", "volunteer", "social_worker"])
def test_staff_without_audit_permission_get_403(session, client, trail, role):
    user = make_user(session, trail["a"], role)
    session.commit()
    login(client, user.email)
    for url in ("/journal/", "/journal/export.csv", "/confidentialite/",
                "/confidentialite/registre", "/confidentialite/notice"):  # fmt: skip
        assert client.get(url).status_code == 403, url
    assert "/confidentialite" not in client.get("/").get_data(as_text=True)
