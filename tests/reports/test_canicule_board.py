"""The canicule board and the bilan canicule against a heatwave day built by hand.

Day D (15 July 2026), département 37, canicule campaign of landlord A:
- Lambert: staff call, reached, all is well (also reached the day before);
- Roux: staff call, reached with a concern;
- Petit: IVR "3", help requested (alert resolved: phoned back);
- Moreau: three unanswered calls, task failed → "levée de doute" alert (acknowledged), with
  an emergency contact;
- Fabre: refused;
- Girard: claimed by a caller, not called yet.
Département 41: Blanc on the register with no task; Noël, not registered, an IVR task not
sent yet. Landlord B has its own canicule day, which A never sees.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.calls.models import Attempt, AttemptChannel, Outcome, Severity
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.operations import create_campaign, set_state
from outreach.escalation.models import (
    Alert,
    AlertCause,
    AlertSource,
    AlertStatus,
    Resolution,
)
from outreach.reports import canicule, canicule_bilan
from outreach.roster.models import ConsentStatus, EmergencyContact
from outreach.timezone import PARIS
from outreach.web.canicule_board import eta_text, hour_text
from tests.conftest import login
from tests.factories import make_org, make_senior, make_user

D = date(2026, 7, 15)


def at(hour: int, minute: int = 0, day: date = D) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


NOW = at(10, 0)


def _task(session, campaign, senior, state, channel=ChannelPolicy.staff, day=D, **kw):
    task = Task(
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.id,
        senior_id=senior.id,
        due_date=day,
        state=state,
        channel=channel,
        priority=0,
        created_at=at(6, 0, day),
        **kw,
    )
    session.add(task)
    session.flush()
    return task


def _attempt(session, task, outcome, when, channel=AttemptChannel.staff, user=None, **kw):
    attempt = Attempt(
        organisation_id=task.organisation_id,
        task_id=task.id,
        senior_id=task.senior_id,
        channel=channel,
        user_id=user.id if user else None,
        started_at=when,
        ended_at=when,
        outcome=outcome,
        **kw,
    )
    session.add(attempt)
    return attempt


@pytest.fixture
def day(session):
    a = make_org(session, "bailleur-a", "Bailleur A")
    b = make_org(session, "bailleur-b", "Bailleur B")
    manager = make_user(session, a, "manager")
    referent = make_user(session, a, "social_worker")
    referent.name = "Claire Référente"
    caller = make_user(session, a, "caller")
    outsider = make_user(session, b, "manager")
    campaign = create_campaign(session, a.id, "Canicule juillet", CampaignKind.canicule)
    set_state(session, campaign, CampaignState.active, NOW)

    def senior(name, dep="37", **kw):
        kw.setdefault("canicule_register", True)
        return make_senior(session, a, last_name=name, departement=dep, **kw)

    lambert, roux, petit = senior("Lambert"), senior("Roux"), senior("Petit")
    moreau, fabre, girard = senior("Moreau"), senior("Fabre"), senior("Girard")
    senior("Blanc", "41")
    noel = senior("Noël", "41", canicule_register=False)
    # On the register but not counted: no consent, left.
    senior("Sansaccord", consent_status=ConsentStatus.refused)
    senior("Partie", active=False)
    session.add(EmergencyContact(organisation_id=a.id, senior_id=moreau.id, name="Luc Moreau",
                                 relation="fils", phone="+33611223344"))  # fmt: skip

    before = _task(session, campaign, lambert, TaskState.done, day=D - timedelta(days=1),
                   outcome=Outcome.reached_ok)  # fmt: skip
    _attempt(session, before, Outcome.reached_ok, at(9, 15, D - timedelta(days=1)), user=caller)
    t = _task(session, campaign, lambert, TaskState.done, outcome=Outcome.reached_ok)
    _attempt(session, t, Outcome.reached_ok, at(9, 10), user=caller, duration_seconds=600)
    t = _task(session, campaign, roux, TaskState.done, outcome=Outcome.reached_concern)
    _attempt(session, t, Outcome.reached_concern, at(9, 20), user=caller, duration_seconds=480)
    t = _task(session, campaign, petit, TaskState.pending, ChannelPolicy.ivr)
    _attempt(session, t, Outcome.help_requested, at(9, 5), AttemptChannel.ivr, digits="3")
    help_alert = Alert(organisation_id=a.id, senior_id=petit.id, cause=AlertCause.help_requested,
                       severity=Severity.urgent, summary="Demande de l'aide", opened_at=at(9, 6),
                       due_at=at(10, 6), status=AlertStatus.resolved, resolved_at=at(9, 40),
                       resolution=Resolution.phoned_back)  # fmt: skip
    session.add(help_alert)
    t = _task(session, campaign, moreau, TaskState.failed, outcome=Outcome.unreached)
    for hour in (9, 11, 13):
        _attempt(session, t, Outcome.unreached, at(hour), AttemptChannel.ivr)
    session.flush()
    levee = Alert(organisation_id=a.id, senior_id=moreau.id, cause=AlertCause.canicule_unreached,
                  severity=Severity.urgent, summary="Canicule : injoignable",
                  opened_at=at(19, 5), due_at=at(20, 5), status=AlertStatus.acknowledged,
                  referent_id=referent.id)  # fmt: skip
    session.add(levee)
    session.flush()
    session.add(AlertSource(alert_id=levee.id, kind="task", source_id=t.id))
    t = _task(session, campaign, fabre, TaskState.done, outcome=Outcome.refused)
    _attempt(session, t, Outcome.refused, at(9, 30), user=caller)
    _task(session, campaign, girard, TaskState.claimed, claimed_by_id=caller.id,
          claimed_at=NOW - timedelta(minutes=5))  # fmt: skip
    _task(session, campaign, noel, TaskState.pending, ChannelPolicy.ivr)

    # Landlord B: a canicule day of its own, unreached, in the same département.
    campaign_b = create_campaign(session, b.id, "Canicule B", CampaignKind.canicule)
    set_state(session, campaign_b, CampaignState.active, NOW)
    other = make_senior(session, b, last_name="Zorglub", canicule_register=True)
    t = _task(session, campaign_b, other, TaskState.failed, outcome=Outcome.unreached)
    _attempt(session, t, Outcome.unreached, at(9), AttemptChannel.ivr)
    session.commit()
    return {"a": a, "b": b, "manager": manager, "caller": caller, "outsider": outsider,
            "campaign": campaign, "moreau": moreau, "levee": levee}  # fmt: skip


EXPECTED_37 = {"registered": 6, "to_call": 6, "attempted": 5, "reached": 3, "reached_ok": 1,
               "concern": 1, "help": 1, "unreached": 1, "refused": 1}  # fmt: skip
EXPECTED_41 = {"registered": 1, "to_call": 1, "attempted": 0, "reached": 0, "reached_ok": 0,
               "concern": 0, "help": 0, "unreached": 0, "refused": 0}  # fmt: skip


def test_board_counts_every_figure_per_departement(session, day):
    board = canicule.board(session, [day["a"].id], D)
    assert board.by_departement["37"].as_dict() == EXPECTED_37
    assert board.by_departement["41"].as_dict() == EXPECTED_41
    assert board.total.as_dict() == {k: EXPECTED_37[k] + EXPECTED_41[k] for k in EXPECTED_37}
    (item,) = board.unreached
    assert item["senior"].id == day["moreau"].id
    assert item["alert_id"] == day["levee"].id
    assert (item["alert_status"], item["owner"]) == ("acknowledged", "Claire Référente")
    assert [(c.name, c.relation, c.phone) for c in item["contacts"]] == [
        ("Luc Moreau", "fils", "+33611223344")
    ]
    # The day before: only Lambert, reached.
    yesterday = canicule.board(session, [day["a"].id], D - timedelta(days=1))
    assert yesterday.by_departement["37"].as_dict() == {
        **dict.fromkeys(EXPECTED_37, 0), "registered": 6, "to_call": 1, "attempted": 1,
        "reached": 1, "reached_ok": 1}  # fmt: skip
    assert yesterday.unreached == []
    assert canicule.campaign_days(session, [day["a"].id]) == [D, D - timedelta(days=1)]


def test_another_landlord_sees_only_its_own_day(session, day):
    board = canicule.board(session, [day["b"].id], D)
    assert list(board.by_departement) == ["37"]
    assert board.total.as_dict() == {**dict.fromkeys(EXPECTED_37, 0), "registered": 1,
                                     "to_call": 1, "attempted": 1, "unreached": 1}  # fmt: skip
    assert [i["senior"].last_name for i in board.unreached] == ["Zorglub"]


def test_eta_from_the_database_rate_and_staff(session, day):
    eta = canicule.day_eta(
        session, [day["a"].id], NOW, {"calls_per_second": 1, "sms_per_second": 1}
    )
    # Noël's IVR call and Girard's staff call are left; one caller at work (claim 5 min ago),
    # today's staff calls averaged (600 + 480) / 2 s = 9 min.
    assert eta.remaining_automated == {"ivr": 1, "sms": 0}
    assert (eta.remaining_staff, eta.staff_working, eta.call_seconds) == (1, 1, 540.0)
    assert eta.at == NOW + timedelta(minutes=9)
    assert eta_text(eta) == "Dernier premier appel vers 10 h 10."
    # Later, nobody at work: no estimate for the staff's calls.
    later = canicule.day_eta(
        session,
        [day["a"].id],
        NOW + timedelta(hours=2),
        {"calls_per_second": 1, "sms_per_second": 1},
    )
    assert later.staff_working == 0 and later.at is None
    assert "Aucun appelant" in eta_text(later)


def _spans(day: date = D):
    return canicule.window_spans([{"wed": [["09:00", "12:00"], ["14:00", "19:00"]]}], day)


def test_eta_rates_staff_and_the_call_window():
    kw = {"calls_per_second": 2, "sms_per_second": 10, "staff_working": 3, "call_seconds": 300}
    # 7,200 IVR calls at 2/s: one hour; 600 SMS at 10/s: one minute; 9 staff calls among
    # three callers at 5 min: 15 min. The slowest decides.
    eta = canicule.estimate({"ivr": 7200, "sms": 600, "staff": 9}, now=NOW, spans=_spans(), **kw)
    assert eta.at == NOW + timedelta(hours=1)
    assert hour_text(eta.at) == "11 h 00"
    # Work stops at noon and resumes at 14:00.
    late = at(11, 30)
    eta = canicule.estimate({"ivr": 7200}, now=late, spans=_spans(), **kw)
    assert eta.at == at(14, 30)
    # Before the window opens: counted from 9:00.
    eta = canicule.estimate({"staff": 9}, now=at(7, 0), spans=_spans(), **kw)
    assert eta.at == at(9, 15)
    # Past the window's close: not today.
    eta = canicule.estimate({"staff": 9}, now=at(18, 50), spans=_spans(), **kw)
    assert eta.at is None and eta.beyond_window
    assert "fermeture" in eta_text(eta)
    eta = canicule.estimate({}, now=NOW, spans=_spans(), **kw)
    assert eta.done and eta_text(eta) == "Tous ont eu un premier appel."
    assert hour_text(at(11, 36)) == "11 h 40" and hour_text(at(11, 58)) == "12 h 00"


def test_bilan_counts_times_and_alerts(session, day):
    report = canicule_bilan.compute(session, [day["a"].id], D - timedelta(days=1), D)
    rows = {(r.day, r.departement): r for r in report.days}
    assert sorted(rows) == [(D - timedelta(days=1), "37"), (D, "37"), (D, "41")]
    today = rows[(D, "37")]
    assert today.counts.as_dict() == EXPECTED_37
    # The day starts when the window opens (9:00; tasks were made at 6:00); the last first
    # attempt was Fabre's at 9:30; not everyone was reached, so no time to reach everyone.
    assert today.started_at == at(9, 0)
    assert today.last_first_attempt == at(9, 30) and today.minutes_to_first_attempts == 30.0
    assert today.last_reach == at(9, 20) and today.minutes_to_reach is None
    first = rows[(D - timedelta(days=1), "37")]
    assert (first.minutes_to_first_attempts, first.minutes_to_reach) == (15.0, 15.0)
    assert rows[(D, "41")].minutes_to_first_attempts is None
    alerts = {(a.cause, a.severity): a for a in report.alerts}
    assert sorted(alerts) == [("canicule_unreached", "urgent"), ("help_requested", "urgent")]
    assert (alerts[("canicule_unreached", "urgent")].opened,
            alerts[("canicule_unreached", "urgent")].still_open) == (1, 1)  # fmt: skip
    helped = alerts[("help_requested", "urgent")]
    assert (helped.opened, helped.still_open, dict(helped.resolutions)) == (
        1, 0, {"phoned_back": 1})  # fmt: skip
    # Of the campaign: its days.
    campaign = session.get(Campaign, day["campaign"].id)
    assert canicule_bilan.period_of(session, campaign) == (D - timedelta(days=1), D)
    assert canicule_bilan.compute(session, [day["b"].id], D, D).days[0].counts.to_call == 1


def _figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-fig="([^"]+)"[^>]*>\s*([^<]*?)\s*<', html))


def test_board_page_fragment_and_wall(client, day):
    login(client, day["manager"].email)
    html = client.get(f"/canicule/tableau?jour={D.isoformat()}").get_data(as_text=True)
    figures = _figures(html)
    for key, value in EXPECTED_37.items():
        if key != "reached":
            assert figures[f"37:{key}"] == str(value), key
    assert figures["total:to_call"] == "7" and figures["41:registered"] == "1"
    assert figures["levee"] == "1"
    assert "Luc Moreau (fils)" in html and 'href="tel:+33611223344"' in html
    assert "Claire Référente" in html and f"/alertes/{day['levee'].id}" in html
    assert "Zorglub" not in html
    assert 'href="/canicule/tableau?jour=' in html and "Mettre à jour" in html
    assert "board.js" in html and "<script>" not in html
    fragment = client.get(f"/canicule/tableau/fragment?jour={D.isoformat()}")
    assert _figures(fragment.get_data(as_text=True)) == figures
    assert "<nav" not in fragment.get_data(as_text=True)
    wall = client.get(f"/canicule/tableau?jour={D.isoformat()}&mur=1").get_data(as_text=True)
    assert 'class="wall"' in wall and "<nav" not in wall and _figures(wall) == figures
    # The nav shows the board while a canicule campaign is active.
    assert 'href="/canicule/tableau"' in client.get("/").get_data(as_text=True)


def test_board_is_scoped_and_forbidden_to_callers(client, day):
    login(client, day["outsider"].email)
    html = client.get(f"/canicule/tableau?jour={D.isoformat()}").get_data(as_text=True)
    assert "Moreau" not in html and "Zorglub" in html
    assert _figures(html)["37:to_call"] == "1"
    assert client.get(f"/canicule/bilan?campagne={day['campaign'].id}").status_code == 404
    client.post("/logout", data={})
    caller = client.application.test_client()
    login(caller, day["caller"].email)
    assert caller.get("/canicule/tableau").status_code == 403
    assert 'href="/canicule/tableau"' not in caller.get("/").get_data(as_text=True)


def test_bilan_page_and_downloads(client, day):
    from openpyxl import load_workbook

    login(client, day["manager"].email)
    url = f"/canicule/bilan?campagne={day['campaign'].id}"
    html = client.get(url).get_data(as_text=True)
    row = re.search(rf'data-row="{D.isoformat()}:37">(.*?)</tr>', html, re.S).group(1)
    cells = dict(re.findall(r'data-col="([^"]+)">([^<]*)<', row))
    assert {k: int(cells[k]) for k in EXPECTED_37} == EXPECTED_37
    assert cells["minutes_first"] == "30.0" and cells["minutes_reach"] == "—"
    assert "Moreau" not in html  # aggregates only
    csv = client.get(url + "&format=csv")
    assert csv.mimetype == "text/csv" and csv.data.startswith(b"\xef\xbb\xbf")
    text = csv.data.decode("utf-8-sig")
    assert "Bilan canicule" in text and "15/07/2026;37;6;6;5;3;1;1;1;1;1;" in text
    xlsx = client.get(url + "&format=xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    sheet = book["Jours"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(values) if r[0] == "Jour")
    data = [r for r in values[header + 1 :] if r[1] == "37" and r[0].date() == D]
    assert data[0][2:11] == [6, 6, 5, 3, 1, 1, 1, 1, 1]
    assert client.get("/canicule/bilan?du=2026-07-20&au=2026-07-01").status_code == 404
    assert client.get("/canicule/bilan?du=2026-07-20&au=9999-12-31").status_code == 404
    assert client.get("/canicule/tableau?jour=2026-13-01").status_code == 404
    period = client.get("/canicule/bilan?du=2026-07-14&au=2026-07-15").get_data(as_text=True)
    assert f'data-row="{D.isoformat()}:41"' in period
    assert "Zorglub" not in period and "Canicule B" not in period
