"""Campaign pages: list, form with targeting and live count, state changes, canicule, skips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from outreach.accounts.models import Membership, Role
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Skip,
    Task,
    TaskState,
)
from outreach.campaigns.operations import create_campaign
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import ConsentStatus
from tests.conftest import csrf_from, login
from tests.factories import make_senior, make_user


def today() -> date:
    return paris_today(datetime.now(UTC))


def years_ago(n: int) -> date:
    t = today()
    return date(t.year - n, 1, 1) if (t.month, t.day) != (1, 1) else date(t.year - n - 1, 6, 1)


@pytest.fixture
def logged(client, session, manager):
    session.commit()
    login(client, manager.email)
    return client


def _campaign(session, org, name="Courtoisie hiver", kind=CampaignKind.courtesy, **kw):
    return create_campaign(session, org.id, name, kind, **kw)


def _tasks(session, campaign_id=None, **where):
    session.expire_all()
    stmt = select(Task)
    if campaign_id is not None:
        stmt = stmt.where(Task.campaign_id == campaign_id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Task, key) == value)
    return list(session.scalars(stmt))


class _FormReader(HTMLParser):
    """What a browser would submit for the campaign form as it stands (no button pressed)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "campaign-form"
        if not self._in_form or not a.get("name") and tag != "option":
            return
        if tag == "input":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "y"
            else:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            self.values.setdefault(self._select, a.get("value", ""))
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def _form_data(html: str, **changes) -> dict:
    """The campaign form as a browser would submit it untouched, with ``changes``
    (None removes a field, as an unticked checkbox)."""
    reader = _FormReader()
    reader.feed(html)
    data = dict(reader.values)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# ------------------------------------------------------------------ list


def test_list_shows_only_the_users_organisations_campaigns(session, org, other_org, logged):
    _campaign(session, org, "Courtoisie Tours")
    _campaign(session, other_org, "Courtoisie Ailleurs")
    session.commit()
    resp = logged.get("/campagnes/")
    assert resp.status_code == 200
    assert "Courtoisie Tours" in resp.text
    assert "Courtoisie Ailleurs" not in resp.text
    assert "Brouillon" in resp.text and "Courtoisie" in resp.text
    assert "Appels par l'équipe" in unescape(resp.text)


def test_list_counts_todays_tasks(session, org, logged):
    for _ in range(4):
        make_senior(session, org)
    make_senior(session, org, consent_status=ConsentStatus.refused)
    c = _campaign(session, org, "Liste ponctuelle", CampaignKind.custom)
    session.commit()
    _set_state(logged, c.id, "active")
    first, second = _tasks(session, c.id)[:2]
    first.state, second.state = TaskState.done, TaskState.failed
    session.commit()
    text = logged.get("/campagnes/").text
    row = text[text.index(f'href="/campagnes/{c.id}"') :].split("</tr>")[0]
    cells = [cell.split("<")[0].strip() for cell in row.split('class="num">')[1:]]
    # created, left, done, failed; then the skips, as a link to the reasons
    assert cells[:4] == ["4", "2", "1", "1"]
    assert f'href="/campagnes/{c.id}#ecartes">1</a>' in row


def test_callers_get_403(session, org, client):
    caller = make_user(session, org, "caller")
    c = _campaign(session, org)
    session.commit()
    login(client, caller.email)
    assert client.get("/campagnes/").status_code == 403
    assert client.get(f"/campagnes/{c.id}").status_code == 403
    assert client.get("/campagnes/nouvelle").status_code == 403
    assert client.get("/campagnes/compte").status_code == 403
    # POSTs need a CSRF token from a page the caller can open.
    token = csrf_from(client.get("/seniors/").text)
    resp = client.post(f"/campagnes/{c.id}/etat", data={"state": "active", "csrf_token": token})
    assert resp.status_code == 403
    resp = client.post(
        f"/campagnes/canicule/{org.id}/declencher",
        data={
            f"o{org.id}-departements": "37",
            f"o{org.id}-level": "orange",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 403
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.draft
    assert session.scalar(select(func.count()).select_from(Task)) == 0


# ------------------------------------------------------------------ create and edit


def _new_form(logged, **changes):
    page = logged.get("/campagnes/nouvelle")
    assert page.status_code == 200
    return _form_data(page.text, **changes)


def test_new_form_is_prefilled_with_the_kind_defaults(logged):
    text = logged.get("/campagnes/nouvelle").text
    assert 'name="w_mon_1_start"' in text and 'value="10:00"' in text
    assert 'name="w_sat_1_start"' in text
    data = _new_form(logged)
    assert data["w_mon_2_end"] == "20:00" and data["w_sat_1_start"] == ""
    assert data["retry_delay_minutes"] == "120" and data["cadence_fragile_days"] == "7"
    canicule = _form_data(logged.get("/campagnes/nouvelle?kind=canicule").text)
    assert canicule["w_sat_1_start"] == "09:00" and canicule["script"] == "canicule"


def test_prefill_button_applies_the_kind_defaults_without_javascript(session, logged):
    data = _new_form(logged, name="Été", kind="canicule", action="prefill", departements="37")
    resp = logged.post("/campagnes/nouvelle", data=data)
    assert resp.status_code == 200
    values = _form_data(resp.text)
    assert values["w_sun_1_start"] == "09:00" and values["w_mon_1_end"] == "19:00"
    assert values["w_mon_2_start"] == "" and values["script"] == "canicule"
    assert "skip_holidays" not in values  # canicule calls on public holidays
    assert values["retry_delay_minutes"] == "60"
    assert values["name"] == "Été" and values["departements"] == "37"  # typed text kept
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_manager_of_two_organisations_chooses_one(session, org, other_org, client):
    manager = make_user(session, org, "manager")
    manager.memberships.append(Membership(organisation_id=other_org.id, role=Role.manager))
    make_senior(session, org, departement="37")
    for _ in range(2):
        make_senior(session, other_org, departement="86")
    session.commit()
    login(client, manager.email)
    page = client.get("/campagnes/").text
    assert "Canicule — Touraine Logement" in page and "Canicule — Autre Bailleur" in page
    count = client.get("/campagnes/compte", query_string={"organisation": other_org.id})
    assert count.get_json()["count"] == 2
    data = _form_data(client.get("/campagnes/nouvelle").text)
    data.update(name="Vienne", organisation=str(other_org.id), action="save")
    assert client.post("/campagnes/nouvelle", data=data).status_code == 302
    session.expire_all()
    assert session.scalars(select(Campaign)).one().organisation_id == other_org.id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_age": "80", "max_age": "70"}, "L'âge maximum doit être supérieur"),
        ({"departements": "37, 3x"}, "Département inconnu : 3x"),
        ({"w_mon_1_start": "14:00", "w_mon_1_end": "12:00"}, "La fin doit être après le début"),
        ({"gir_max": "9"}, "Le GIR est un chiffre de 1 à 6"),
    ],
)
def test_bad_input_shows_a_french_error_and_saves_nothing(session, logged, changes, message):
    data = _new_form(logged, name="Campagne ratée", action="save", **changes)
    resp = logged.post("/campagnes/nouvelle", data=data)
    assert resp.status_code == 400
    assert message in unescape(resp.text)
    assert "Campagne ratée" in resp.text  # what was typed is kept
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_operation_errors_are_shown_next_to_the_form(session, logged, monkeypatch):
    # A rule the form cannot check itself, refused by targeting.validate.
    data = _new_form(logged, name="Essai", action="save", min_age="131")
    resp = logged.post("/campagnes/nouvelle", data=data)
    assert resp.status_code == 400 and "Un âge entre 0 et 130 ans" in resp.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_create_a_valid_campaign_stores_targeting_window_and_retry(session, org, logged):
    data = _new_form(
        logged,
        name="Courtoisie 75+",
        action="save",
        departements="37, 41",
        min_age="75",
        max_age="",
        lives_alone="oui",
        canicule_register="",
        gir_max="4",
        residences="Les Tilleuls\nLe Clos",
        consent="given",
        channel_policy="ivr_then_staff",
        w_mon_1_start="09:30",
        w_mon_1_end="12:00",
        w_mon_2_start="",
        w_mon_2_end="",
        w_sat_1_start="10:00",
        w_sat_1_end="12:00",
        skip_holidays=None,
        retry_delay_minutes="45",
        max_attempts_per_day="3",
        max_attempts="5",
        cadence_fragile_days="7",
        cadence_other_days="21",
        starts_on="2026-06-01",
        ends_on="2026-09-15",
    )
    resp = logged.post("/campagnes/nouvelle", data=data)
    assert resp.status_code == 302, resp.text
    session.expire_all()
    c = session.scalars(select(Campaign)).one()
    assert resp.headers["Location"].endswith(f"/campagnes/{c.id}")
    assert c.organisation_id == org.id and c.state == CampaignState.draft
    assert c.targeting == {
        "departements": ["37", "41"],
        "min_age": 75,
        "gir_max": 4,
        "lives_alone": True,
        "residences": ["Les Tilleuls", "Le Clos"],
        "consent": "given",
    }
    assert c.call_window["mon"] == [["09:30", "12:00"]]
    assert c.call_window["sat"] == [["10:00", "12:00"]]
    assert c.call_window["tue"] == [["10:00", "13:00"], ["14:00", "20:00"]]
    assert "sun" not in c.call_window
    assert c.skip_holidays is False
    assert (c.retry_delay_minutes, c.max_attempts_per_day, c.max_attempts) == (45, 3, 5)
    assert c.channel_policy == ChannelPolicy.ivr_then_staff
    assert c.cadence == [
        {"when": {"min_age": 75, "lives_alone": True}, "every_days": 7},
        {"every_days": 21},
    ]
    assert (c.starts_on, c.ends_on) == (date(2026, 6, 1), date(2026, 9, 15))


def test_reminder_campaign_stores_the_event_in_utc(session, logged):
    data = _new_form(
        logged,
        name="Réunion de résidence",
        kind="reminder",
        action="save",
        event_date="2026-07-03",
        event_time="15:00",
        remind_hours_before="48",
    )
    assert logged.post("/campagnes/nouvelle", data=data).status_code == 302
    session.expire_all()
    c = session.scalars(select(Campaign)).one()
    assert c.kind == CampaignKind.reminder
    assert c.event_at == datetime(2026, 7, 3, 13, 0, tzinfo=UTC)  # 15:00 in Paris, summer
    assert c.remind_hours_before == 48


def test_edit_keeps_rules_the_form_cannot_show(session, org, logged):
    c = _campaign(
        session,
        org,
        "Canicule manuelle",
        CampaignKind.canicule,
        targeting={"departements": ["37"], "qpv": True, "any_of": [{"min_age": 80}]},
    )
    session.commit()
    page = logged.get(f"/campagnes/{c.id}/modifier")
    assert page.status_code == 200
    data = _form_data(page.text, departements="37, 41", action="save")
    resp = logged.post(f"/campagnes/{c.id}/modifier", data=data)
    assert resp.status_code == 302, resp.text
    session.expire_all()
    c = session.get(Campaign, c.id)
    assert c.targeting == {"departements": ["37", "41"], "qpv": True, "any_of": [{"min_age": 80}]}
    assert c.kind == CampaignKind.canicule


def test_priority_checkbox_sets_the_canicule_any_of(session, org, logged):
    data = _new_form(logged, name="Prioritaires", action="save", priority_only="y")
    assert logged.post("/campagnes/nouvelle", data=data).status_code == 302
    session.expire_all()
    c = session.scalars(select(Campaign)).one()
    assert c.targeting["any_of"] == [
        {"canicule_register": True},
        {"min_age": 75},
        {"lives_alone": True},
    ]


# ------------------------------------------------------------------ live count


@pytest.fixture
def roster(session, org, other_org):
    make_senior(session, org, departement="37", birth_date=years_ago(80), lives_alone=True)
    make_senior(session, org, departement="37", birth_date=years_ago(70), lives_alone=True)
    make_senior(session, org, departement="41", birth_date=years_ago(85))
    make_senior(session, org, departement="37", birth_date=years_ago(90), active=False)
    for _ in range(4):  # another landlord's seniors, all matching
        make_senior(session, other_org, departement="37", birth_date=years_ago(80))
    session.commit()


def test_count_endpoint_counts_matching_active_seniors(session, org, logged, roster):
    def count(**args):
        resp = logged.get("/campagnes/compte", query_string={"organisation": org.id, **args})
        return resp.status_code, resp.get_json()

    assert count() == (200, {"count": 3, "text": "3 seniors correspondent"})
    assert count(departements="37")[1]["count"] == 2
    assert count(departements="37", min_age="75")[1]["count"] == 1
    assert count(lives_alone="non")[1]["count"] == 1
    assert count(departements="41, 37", max_age="72")[1] == {
        "count": 1,
        "text": "1 senior correspond",
    }
    status, body = count(departements="3x")
    assert status == 400 and "Département inconnu" in body["error"]


def test_count_is_scoped_to_the_users_organisations(session, org, other_org, logged, roster):
    # Another landlord's organisation id: refused, never counted.
    resp = logged.get("/campagnes/compte", query_string={"organisation": other_org.id})
    assert resp.status_code == 404
    # A campaign id of another landlord: 404.
    foreign = _campaign(session, other_org, "Ailleurs")
    session.commit()
    resp = logged.get("/campagnes/compte", query_string={"campaign_id": foreign.id})
    assert resp.status_code == 404
    # The user's single organisation is the default; other seniors are never counted.
    assert logged.get("/campagnes/compte").get_json()["count"] == 3


def test_count_for_an_existing_campaign_uses_its_organisation(session, org, logged, roster):
    c = _campaign(session, org, "Existante", targeting={"any_of": [{"min_age": 84}]})
    session.commit()
    resp = logged.get("/campagnes/compte", query_string={"campaign_id": c.id})
    assert resp.get_json()["count"] == 1  # kept any_of: only the 85-year-old


def test_count_button_without_javascript(session, org, logged, roster):
    data = _new_form(logged, name="", action="count", departements="37")
    resp = logged.post("/campagnes/nouvelle", data=data)
    assert resp.status_code == 200
    assert "2 seniors correspondent" in resp.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_other_organisations_campaign_pages_are_404(session, other_org, logged):
    foreign = _campaign(session, other_org, "Ailleurs")
    session.commit()
    assert logged.get(f"/campagnes/{foreign.id}").status_code == 404
    assert logged.get(f"/campagnes/{foreign.id}/modifier").status_code == 404
    token = csrf_from(logged.get("/campagnes/").text)
    resp = logged.post(
        f"/campagnes/{foreign.id}/etat", data={"state": "active", "csrf_token": token}
    )
    assert resp.status_code == 404
    session.expire_all()
    assert session.get(Campaign, foreign.id).state == CampaignState.draft


# ------------------------------------------------------------------ state changes


def _set_state(logged, campaign_id, state, **extra):
    token = csrf_from(logged.get(f"/campagnes/{campaign_id}").text)
    return logged.post(
        f"/campagnes/{campaign_id}/etat", data={"state": state, "csrf_token": token, **extra}
    )


def test_activate_pause_resume_close(session, org, logged):
    for _ in range(2):
        make_senior(session, org)
    c = _campaign(session, org, "Courtoisie", CampaignKind.custom)
    session.commit()
    page = logged.get(f"/campagnes/{c.id}").text
    assert "Activer" in page and "Clôturer" in page

    resp = _set_state(logged, c.id, "active")
    assert resp.status_code == 302
    page = unescape(logged.get(f"/campagnes/{c.id}").text)
    assert "Campagne active : 2 appels créés aujourd'hui" in page
    assert len(_tasks(session, c.id, due_date=today(), state=TaskState.pending)) == 2

    _set_state(logged, c.id, "paused")
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.paused
    # Paused, the day's tasks wait (the queue ignores them) instead of being cancelled.
    assert {t.state for t in _tasks(session, c.id)} == {TaskState.pending}
    assert "Reprendre" in logged.get(f"/campagnes/{c.id}").text

    _set_state(logged, c.id, "active")
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.active

    # Closing without the confirmation box changes nothing.
    _set_state(logged, c.id, "closed")
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.active
    assert "Cochez la case de confirmation" in logged.get(f"/campagnes/{c.id}").text
    _set_state(logged, c.id, "closed", confirm="y")
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.closed
    assert {t.state for t in _tasks(session, c.id)} == {TaskState.cancelled}
    assert logged.get(f"/campagnes/{c.id}/modifier").status_code == 302


def test_an_impossible_move_is_refused(session, org, logged):
    c = _campaign(session, org)
    session.commit()
    _set_state(logged, c.id, "paused")  # a draft cannot be paused
    session.expire_all()
    assert session.get(Campaign, c.id).state == CampaignState.draft
    assert "impossible de passer" in logged.get(f"/campagnes/{c.id}").text.lower()


# ------------------------------------------------------------------ canicule


def _canicule_form(logged, org, deps, level="orange"):
    page = logged.get("/campagnes/").text
    data = {"csrf_token": csrf_from(page), f"o{org.id}-level": level}
    if deps:
        data[f"o{org.id}-departements"] = deps
    return page, data


def test_canicule_panel_offers_the_organisations_departements(session, org, other_org, logged):
    make_senior(session, org, departement="37")
    make_senior(session, org, departement="41")
    make_senior(session, other_org, departement="86")
    session.commit()
    page = logged.get("/campagnes/").text
    assert "Déclencher la canicule" in page
    assert f'name="o{org.id}-departements" type="checkbox" value="37"' in page
    assert 'value="41"' in page and 'value="86"' not in page
    assert "checked" not in page.split("Déclencher la canicule")[0].split("dep-checks")[1]
    assert '<option selected value="orange">' in page


def test_canicule_activation_creates_tasks_at_once(session, org, logged):
    for _ in range(3):
        make_senior(session, org, departement="37", canicule_register=True)
    make_senior(session, org, departement="41", canicule_register=True)
    make_senior(session, org, departement="37", canicule_register=True, phone_mobile=None)
    session.commit()
    _page, data = _canicule_form(logged, org, ["37"])
    resp = logged.post(f"/campagnes/canicule/{org.id}/declencher", data=data)
    assert resp.status_code == 302
    text = unescape(logged.get("/campagnes/").text)
    assert "Canicule déclenchée pour 37 : 3 appels créés." in text
    assert "1 senior écarté (voir pourquoi" in text
    assert "Lever l'alerte pour le 37" in text
    tasks = _tasks(session, due_date=today())
    assert len(tasks) == 3 and {t.state for t in tasks} == {TaskState.pending}
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.kind == CampaignKind.canicule and campaign.state == CampaignState.active
    assert campaign.vigilance_level == "orange"


def test_canicule_without_departement_is_refused(session, org, logged):
    make_senior(session, org, departement="37")
    session.commit()
    _page, data = _canicule_form(logged, org, [])
    resp = logged.post(f"/campagnes/canicule/{org.id}/declencher", data=data)
    assert resp.status_code == 400
    assert "Cochez au moins un département." in resp.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_canicule_for_another_organisation_is_404(session, org, other_org, logged):
    make_senior(session, other_org, departement="37")
    session.commit()
    page = logged.get("/campagnes/").text
    data = {"csrf_token": csrf_from(page), f"o{other_org.id}-departements": "37"}
    resp = logged.post(f"/campagnes/canicule/{other_org.id}/declencher", data=data)
    assert resp.status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_canicule_deactivation_cancels_the_departements_tasks(session, org, logged):
    a = make_senior(session, org, departement="37", canicule_register=True)
    b = make_senior(session, org, departement="41", canicule_register=True)
    session.commit()
    _page, data = _canicule_form(logged, org, ["37", "41"], level="rouge")
    logged.post(f"/campagnes/canicule/{org.id}/declencher", data=data)
    token = csrf_from(logged.get("/campagnes/").text)

    resp = logged.post(
        f"/campagnes/canicule/{org.id}/lever", data={"csrf_token": token, "departement": "37"}
    )
    assert resp.status_code == 302
    states = {t.senior_id: t.state for t in _tasks(session)}
    assert states == {a.id: TaskState.cancelled, b.id: TaskState.pending}
    page = unescape(logged.get("/campagnes/").text)
    assert "Alerte levée pour 37" in page
    assert "Lever l'alerte pour le 41" in page and "Lever l'alerte pour le 37" not in page

    logged.post(
        f"/campagnes/canicule/{org.id}/lever", data={"csrf_token": token, "departement": "41"}
    )
    assert {t.state for t in _tasks(session)} == {TaskState.cancelled}
    assert session.scalars(select(Campaign)).one().state == CampaignState.closed
    assert "Aucune canicule en cours." in logged.get("/campagnes/").text


# ------------------------------------------------------------------ skips


def test_campaign_page_lists_skips_by_reason(session, org, logged):
    make_senior(session, org, last_name="Appelée")
    make_senior(session, org, last_name="Sansaccord", consent_status=ConsentStatus.refused)
    make_senior(session, org, last_name="Opposée", opted_out_phone_at=datetime.now(UTC))
    make_senior(session, org, last_name="Sansnumero", phone_mobile=None, phone_landline=None)
    paused = make_senior(session, org, last_name="Envacances", paused_until=today())
    make_senior(session, org, last_name="Partie", active=False)
    c = _campaign(session, org, "Ponctuelle", CampaignKind.custom)
    session.commit()
    _set_state(logged, c.id, "active")
    page = logged.get(f"/campagnes/{c.id}").text
    section = page[page.index('id="ecartes"') :]
    for label, name in [
        ("Pas de consentement", "Sansaccord"),
        ("Opposé(e) à ce canal", "Opposée"),
        ("Pas de numéro valide", "Sansnumero"),
        ("En pause / absent(e)", "Envacances"),
        ("Parti(e)", "Partie"),
    ]:
        assert label in section, label
        block = section[section.index(label) :].split("</ul>")[0]
        assert name in block, (label, name)
    assert "Appelée" not in section
    assert f'href="/seniors/{paused.id}"' in section
    assert session.scalar(select(func.count()).select_from(Skip)) == 5
    # Another day shows that day's figures, not today's.
    other = logged.get(f"/campagnes/{c.id}?jour={(today() - timedelta(days=3)).isoformat()}")
    assert "Aucun senior écarté ce jour-là." in other.text


def test_no_none_leaks_into_attributes(session, org, logged):
    make_senior(session, org, departement="37")
    c = _campaign(session, org)
    session.commit()
    for url in ("/campagnes/", "/campagnes/nouvelle", f"/campagnes/{c.id}/modifier"):
        assert '="None"' not in logged.get(url).text, url
    bad = _new_form(logged, name="X", action="save", min_age="90", max_age="80")
    assert '="None"' not in logged.post("/campagnes/nouvelle", data=bad).text


def test_the_list_warns_when_the_gateway_is_failing(session, logged):
    from datetime import UTC, datetime

    from outreach.telephony import health

    assert "ne répond plus" not in logged.get("/campagnes/").text
    health.record_failure(session, datetime.now(UTC), "gateway refused: HTTP 503")
    session.commit()
    assert "ne répond plus" in logged.get("/campagnes/").text
    health.record_ok(session, datetime.now(UTC))
    session.commit()
    assert "ne répond plus" not in logged.get("/campagnes/").text


def test_activating_a_campaign_tells_of_overlapping_campaigns(session, org, logged):
    make_senior(session, org, birth_date=years_ago(80))
    make_senior(session, org, birth_date=years_ago(80))
    running = _campaign(session, org, name="Courtoisie 37")
    running.state = CampaignState.active
    second = _campaign(session, org, name="Atelier", kind=CampaignKind.custom)
    session.commit()
    token = csrf_from(logged.get(f"/campagnes/{second.id}").text)
    resp = logged.post(
        f"/campagnes/{second.id}/etat",
        data={"state": "active", "csrf_token": token},
        follow_redirects=True,
    )
    text = unescape(resp.text)
    assert "2 seniors sont aussi dans la campagne « Courtoisie 37 »" in text
    assert "qu'une fois par jour" in text


def test_the_form_sets_what_another_campaigns_contact_means(session, org, logged):
    page = logged.get("/campagnes/nouvelle?kind=reminder")
    assert "Message propre" in unescape(page.text) and "Voix humaine" in unescape(page.text)
    c = _campaign(session, org, kind=CampaignKind.canicule, name="Canicule test")
    reminder = _campaign(session, org, kind=CampaignKind.reminder, name="Rappel atelier")
    # The defaults of the kinds: a canicule wants a human voice, a reminder its own message.
    assert c.requires_human and not c.own_message
    assert reminder.own_message and not reminder.requires_human
