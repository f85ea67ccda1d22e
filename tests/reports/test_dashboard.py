"""The home dashboards' figures against a history built by hand (fixed instants).

NOW is Monday 15 June 2026, 12:00 in Paris (10:00 UTC); the week is 9–15 June.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from outreach.accounts.models import Organisation
from outreach.calls.models import Attempt, AttemptChannel, Severity
from outreach.calls.outcomes import Outcome
from outreach.campaigns import stats
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Skip,
    SkipReason,
    Task,
    TaskState,
)
from outreach.escalation.models import Alert, AlertCause, AlertStatus
from outreach.reports import dashboard
from outreach.roster.models import ConsentStatus
from tests.conftest import login
from tests.factories import make_org, make_senior, make_user

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
TODAY = date(2026, 6, 15)
WEEK = dashboard.week_of(TODAY)


def campaign(session, org, **fields) -> Campaign:
    values = {"name": "Appels de courtoisie", "kind": CampaignKind.courtesy}
    values.update(fields)
    c = Campaign(organisation_id=org.id, state=CampaignState.active, **values)
    session.add(c)
    session.flush()
    return c


def task(session, c, senior, due, state=TaskState.pending, outcome=None, **fields) -> Task:
    t = Task(
        organisation_id=c.organisation_id,
        campaign_id=c.id,
        senior_id=senior.id,
        due_date=due,
        state=state,
        outcome=outcome,
        channel=ChannelPolicy.staff,
        **fields,
    )
    session.add(t)
    session.flush()
    return t


def attempt(session, senior, at, outcome, user=None, t=None) -> Attempt:
    a = Attempt(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        task_id=t.id if t else None,
        channel=AttemptChannel.staff,
        started_at=at,
        ended_at=at + timedelta(minutes=5) if outcome else None,
        outcome=outcome,
        user_id=user.id if user else None,
    )
    session.add(a)
    session.flush()
    return a


def utc(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# ------------------------------------------------------------------ the week


def test_week_is_the_last_seven_paris_days():
    assert WEEK.start == date(2026, 6, 9) and WEEK.end == TODAY
    assert len(dashboard.days_of(WEEK)) == 7


def _week_history(session):
    org, other = make_org(session), make_org(session)
    c = campaign(session, org)
    a, b, s3, idle = (make_senior(session, org, last_name=n) for n in ("A", "B", "C", "Idle"))
    for s in (a, b, s3, idle):
        task(session, c, s, date(2026, 6, 14))
    # A, Sunday 14: no answer in the morning, reached in the afternoon: one senior, reached.
    attempt(session, a, utc(2026, 6, 14, 7), Outcome.unreached)
    attempt(session, a, utc(2026, 6, 14, 13), Outcome.reached_ok)
    # A again at 00:30 Paris on Saturday 13 = 22:30 UTC on Friday 12: counted on the 13th.
    attempt(session, a, utc(2026, 6, 12, 22, 30), Outcome.unreached)
    # B: Sunday 14 not reached; Thursday 11 asked for help (reached).
    attempt(session, b, utc(2026, 6, 14, 8), Outcome.unreached)
    attempt(session, b, utc(2026, 6, 11, 9), Outcome.help_requested)
    # C: today, twice unreached, and a call still in progress (no outcome yet).
    attempt(session, s3, utc(2026, 6, 15, 7), Outcome.unreached)
    attempt(session, s3, utc(2026, 6, 15, 9), None)
    # Outside the week (Monday 8, 23:59 Paris = 21:59 UTC) and another landlord's call.
    attempt(session, b, utc(2026, 6, 8, 21, 59), Outcome.reached_ok)
    theirs = make_senior(session, other)
    attempt(session, theirs, utc(2026, 6, 14, 9), Outcome.reached_ok)
    return org, other


def test_reach_by_day(session):
    org, _other = _week_history(session)
    days = {d.day: d for d in dashboard.reach_by_day(session, [org.id], WEEK)}
    assert list(days) == dashboard.days_of(WEEK)
    assert (days[date(2026, 6, 14)].attempted, days[date(2026, 6, 14)].reached) == (2, 1)
    assert days[date(2026, 6, 14)].not_reached == 1
    assert (days[date(2026, 6, 13)].attempted, days[date(2026, 6, 13)].reached) == (1, 0)
    assert (days[date(2026, 6, 12)].attempted, days[date(2026, 6, 12)].reached) == (0, 0)
    assert (days[date(2026, 6, 11)].attempted, days[date(2026, 6, 11)].reached) == (1, 1)
    assert (days[TODAY].attempted, days[TODAY].reached) == (1, 0)
    assert (days[date(2026, 6, 9)].attempted, days[date(2026, 6, 9)].reached) == (0, 0)
    assert dashboard.reach_by_day(session, [], WEEK)[0].attempted == 0


def test_week_figures_come_from_the_indicators(session):
    org, _other = _week_history(session)
    figures = dashboard.week_figures(session, [org.id], WEEK, NOW)
    # Targeted: the four seniors with a task in the week; attempted A, B, C; reached A, B.
    assert figures == {"seniors_targeted": 4, "seniors_attempted": 3, "seniors_reached": 2}


# ------------------------------------------------------------------ four weeks without news


def test_never_reached_for_four_weeks(session):
    org, other = make_org(session), make_org(session)
    c = campaign(session, org)
    cutoff = NOW - timedelta(days=28)

    def called(name, reached_at, **fields):
        s = make_senior(session, org, last_name=name, **fields)
        task(session, c, s, date(2026, 4, 1))
        if reached_at is not None:
            attempt(session, s, reached_at, Outcome.reached_ok)
        return s

    old = called("Ancienne", cutoff - timedelta(days=1))
    attempt(session, old, NOW - timedelta(days=2), Outcome.unreached)
    called("Juste", cutoff - timedelta(seconds=1))
    called("Limite", cutoff)  # reached exactly 28 days ago: not yet "older than 28 days"
    called("Recente", NOW - timedelta(days=1))
    never = called("Jamais", None)
    attempt(session, never, NOW - timedelta(days=30), Outcome.wrong_number)
    # Never reached, but only targeted since last week: not four weeks without news.
    newcomer = make_senior(session, org, last_name="Nouvelle")
    task(session, c, newcomer, TODAY - timedelta(days=5))
    # Never called at all (in no campaign): not on the list.
    make_senior(session, org, last_name="Horscampagne")
    called("Partie", cutoff - timedelta(days=10), active=False)
    called("Retrait", cutoff - timedelta(days=10), consent_status=ConsentStatus.withdrawn)
    theirs = make_senior(session, other, last_name="Ailleurs")
    attempt(session, theirs, cutoff - timedelta(days=10), Outcome.reached_ok)

    found = dashboard.long_unreached(session, [org.id], NOW)
    assert found.total == 3
    assert [s.last_name for s in found.seniors] == ["Ancienne", "Jamais", "Juste"]
    row = found.seniors[0]
    assert row.external_ref == old.external_ref
    assert _aware(row.last_reached_at) == cutoff - timedelta(days=1)
    assert _aware(row.last_attempt_at) == NOW - timedelta(days=2)
    assert row.last_outcome == Outcome.unreached
    assert found.seniors[1].last_reached_at is None
    assert found.seniors[1].last_outcome == Outcome.wrong_number

    capped = dashboard.long_unreached(session, [org.id], NOW, limit=1)
    assert (capped.total, len(capped.seniors), capped.more) == (3, 1, 2)
    # Scoping: the other landlord's list holds only her own senior.
    theirs_only = dashboard.long_unreached(session, [other.id], NOW)
    assert [s.last_name for s in theirs_only.seniors] == ["Ailleurs"]
    assert dashboard.long_unreached(session, [], NOW).total == 0


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------ alerts, campaigns, roles


def test_overdue_alerts_and_running_campaigns(session):
    org, other = make_org(session), make_org(session)

    def alert(status, due_at, o=org):
        session.add(
            Alert(
                organisation_id=o.id,
                senior_id=make_senior(session, o).id,
                cause=AlertCause.concern_signal,
                severity=Severity.concern,
                status=status,
                summary="x",
                due_at=due_at,
            )
        )

    alert(AlertStatus.open, NOW - timedelta(hours=1))
    alert(AlertStatus.acknowledged, NOW - timedelta(days=2))
    alert(AlertStatus.resolved, NOW - timedelta(days=2))
    alert(AlertStatus.open, NOW + timedelta(hours=1))
    alert(AlertStatus.open, NOW - timedelta(hours=1), other)
    session.flush()
    assert dashboard.overdue_alerts(session, [org.id], NOW) == 2

    campaign(session, org, name="Zeta")
    campaign(session, org, name="Canicule 37", kind=CampaignKind.canicule)
    draft = campaign(session, org, name="Brouillon")
    draft.state = CampaignState.draft
    campaign(session, other, name="Ailleurs")
    session.flush()
    names = [c.name for c in dashboard.running_campaigns(session, [org.id])]
    assert names == ["Canicule 37", "Zeta"]


def test_association_member_landlords(session):
    assoc = make_org(session, name="Association régionale")
    a = make_org(session, name="Bailleur B")
    b = make_org(session, name="Bailleur A")
    a.parent_id = b.parent_id = assoc.id
    make_org(session, name="Indépendant")
    session.flush()
    found = dashboard.member_landlords(session, [assoc.id])
    assert [o.name for o in found] == ["Bailleur A", "Bailleur B"]
    assert dashboard.member_landlords(session, [a.id]) == []
    assert isinstance(found[0], Organisation)


def test_my_calls_today_and_follow_ups(session):
    org = make_org(session)
    me = make_user(session, org, "caller")
    worker = make_user(session, org, "social_worker")
    s = make_senior(session, org)
    attempt(session, s, utc(2026, 6, 15, 7), Outcome.reached_ok, me)
    attempt(session, s, utc(2026, 6, 15, 8), Outcome.unreached, me)
    attempt(session, s, utc(2026, 6, 15, 9), Outcome.unreached, me)
    attempt(session, s, utc(2026, 6, 15, 9, 30), None, me)
    attempt(session, s, utc(2026, 6, 14, 21, 59), Outcome.reached_ok, me)  # yesterday, Paris
    attempt(session, s, utc(2026, 6, 15, 9), Outcome.reached_ok, worker)  # someone else's
    calls = dashboard.my_calls_today(session, [org.id], me.id, TODAY)
    assert calls == {Outcome.reached_ok: 1, Outcome.unreached: 2, None: 1}

    c = campaign(session, org)
    reinforced = make_senior(session, org, last_name="Renforce", referent_id=worker.id)
    reinforced.reinforced_since = date(2026, 5, 1)
    callback = make_senior(session, org, last_name="Rappel", referent_id=worker.id)
    plain = make_senior(session, org, last_name="Simple", referent_id=worker.id)
    not_mine = make_senior(session, org, last_name="Autre")
    not_mine.reinforced_since = date(2026, 5, 1)
    task(session, c, reinforced, TODAY)
    task(session, c, reinforced, TODAY - timedelta(days=1), state=TaskState.done)
    task(session, c, callback, TODAY, callback_at=NOW + timedelta(hours=2))
    task(session, c, plain, TODAY)
    task(session, c, not_mine, TODAY)
    total, rows = dashboard.follow_ups_due(session, [org.id], worker.id, TODAY)
    assert total == 2
    assert [r.last_name for r in rows] == ["Rappel", "Renforce"]


# ------------------------------------------------------------------ the campaign page


def _campaign_history(session):
    org = make_org(session)
    c = campaign(session, org, starts_on=date(2026, 6, 12))
    seniors = [make_senior(session, org) for _ in range(5)]
    d1, d2 = date(2026, 6, 13), date(2026, 6, 14)
    task(session, c, seniors[0], d1, TaskState.done, Outcome.reached_ok)
    task(session, c, seniors[1], d1, TaskState.done, Outcome.reached_ok)
    task(session, c, seniors[2], d1, TaskState.done, Outcome.help_requested)
    task(session, c, seniors[3], d1, TaskState.failed, Outcome.unreached)
    task(session, c, seniors[4], d1, TaskState.done, None)  # settled by another contact
    task(session, c, seniors[0], d2, TaskState.done, Outcome.unreached)
    task(session, c, seniors[1], d2, TaskState.pending)
    task(session, c, seniors[2], d2, TaskState.claimed)
    task(session, c, seniors[3], d2, TaskState.cancelled)
    task(session, c, seniors[0], date(2026, 6, 11), TaskState.done, Outcome.reached_ok)
    session.add(
        Skip(
            organisation_id=org.id,
            campaign_id=c.id,
            senior_id=seniors[4].id,
            day=d2,
            reason=SkipReason.no_phone,
        )
    )
    session.flush()
    return org, c


def test_campaign_days_and_outcomes(session):
    _org, c = _campaign_history(session)
    days = stats.campaign_days(session, c, date(2026, 6, 15))
    # Newest first, from the campaign's start (the 11th is before it): the 13th and 14th.
    assert [d.day for d in days] == [date(2026, 6, 14), date(2026, 6, 13)]
    d14, d13 = days
    assert (d14.due, d14.done, d14.open, d14.closed_otherwise, d14.skipped) == (
        4,
        {Outcome.unreached: 1},
        2,
        1,
        1,
    )
    assert d13.due == 5 and d13.done_total == 4 and d13.skipped == 0
    assert d13.done == {Outcome.reached_ok: 2, Outcome.help_requested: 1, None: 1}
    assert (d13.open, d13.closed_otherwise) == (0, 1)
    assert stats.done_by_outcome(session, c.id, date(2026, 6, 13)) == d13.done
    # A bounded window back from the day shown.
    assert [d.day for d in stats.campaign_days(session, c, date(2026, 6, 14), days=1)] == [
        date(2026, 6, 14)
    ]


# ------------------------------------------------------------------ the pages


def _figure(html: str, name: str) -> int:
    found = re.search(rf'class="figure-{name}[^"]*"><dt>[^<]*</dt><dd>(\d+)</dd>', html)
    assert found, name
    return int(found.group(1))


def _home(client, user, path: str = "/") -> str:
    with time_machine.travel(NOW, tick=False):
        login(client, user.email)
        response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_home_shows_the_week(session, client, role):
    org, other = _week_history(session)
    manager = make_user(session, org, role)
    make_user(session, other, "manager")
    session.commit()
    # Any day picks its week: Wednesday 10 June → Monday 8 to Sunday 14 (B's call on Monday
    # 8 at 23:59 Paris is in; C's calls of Monday 15 are not).
    html = _home(client, manager, "/?semaine=2026-06-10")
    assert "Semaine du 08/06/2026 au 14/06/2026" in html
    assert _figure(html, "seniors_targeted") == 4
    assert _figure(html, "seniors_attempted") == 2
    assert _figure(html, "seniors_reached") == 2
    assert 'href="/?semaine=2026-06-01#semaine" rel="prev"' in html
    assert 'href="/?semaine=2026-06-15#semaine" rel="next"' in html
    assert _figure(html, "overdue") == 0
    # The chart and its table: Sunday 14 has one reached and one not reached.
    assert '<svg class="chart" id="chart-week"' in html and 'role="img"' in html
    row = re.search(r'<tr><th scope="row">dim\. 14</th>(.*?)</tr>', html)
    assert row, "no row for Sunday 14"
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["1", "1", "2"]
    assert "Appels de courtoisie" in html  # the running campaign
    assert "Sans nouvelles depuis 28 jours" in html


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/", None),
        ("/?semaine=2026-06-21", None),  # Sunday of this week
        ("/?semaine=2026-13-01", "Date de semaine invalide"),
        ("/?semaine=2026-06-22", "pas encore commencé"),  # next week: not yet
    ],
)
def test_week_picker_falls_back_to_this_week(session, client, path, message):
    org, _other = _week_history(session)
    manager = make_user(session, org, "manager")
    session.commit()
    html = _home(client, manager, path)
    # This week: Monday 15 to Sunday 21; only C was called (today), nobody had a task.
    assert "Semaine du 15/06/2026 au 21/06/2026" in html
    assert _figure(html, "seniors_attempted") == 1
    assert _figure(html, "seniors_targeted") == 0
    assert 'rel="next"' not in html  # no week to come
    assert (message is None) == ("flash-" not in html)
    if message:
        assert message in html


def test_caller_home_has_no_week(session, client):
    org, _other = _week_history(session)
    caller = make_user(session, org, "caller")
    session.commit()
    html = _home(client, caller)
    assert 'id="semaine"' not in html and "Sans nouvelles" not in html
    assert 'id="mes-appels"' in html and "Ma file du jour" in html


def test_unreached_list_and_scoping_on_the_page(session, client, app):
    org, other = make_org(session), make_org(session)
    c = campaign(session, org)
    s = make_senior(session, org, last_name="Oubliee")
    task(session, c, s, date(2026, 4, 1))
    attempt(session, s, NOW - timedelta(days=40), Outcome.unreached)
    mine = make_user(session, org, "manager")
    theirs = make_user(session, other, "manager")
    session.commit()
    html = _home(client, mine)
    assert "Oubliee" in html and f"/seniors/{s.id}" in html and "Pas joint(e)" in html
    html = _home(app.test_client(), theirs)
    assert 'id="sans-nouvelles"' in html and "Oubliee" not in html


def test_association_sees_its_landlords_side_by_side(session, client):
    assoc = make_org(session, name="Association régionale")
    member, _other = _week_history(session)
    member.name = "Bailleur Membre"
    member.parent_id = assoc.id
    boss = make_user(session, assoc, "manager")
    session.commit()
    html = _home(client, boss, "/?semaine=2026-06-08")
    row = re.search(rf'<tr data-landlord="{member.slug}">(.*?)</tr>', html, re.S)
    assert row, "no row for the member landlord"
    # followed, targeted, attempted, reached, never reached, help, concerns (8–14 June)
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert cells[1:4] == ["4", "2", "2"]
    assert "Bailleur Membre" in html and "Indépendant" not in html


def test_social_worker_sees_her_follow_ups(session, client):
    org = make_org(session)
    worker = make_user(session, org, "social_worker")
    c = campaign(session, org)
    s = make_senior(session, org, last_name="Renforcee", referent_id=worker.id)
    s.reinforced_since = date(2026, 5, 1)
    task(session, c, s, TODAY)
    session.commit()
    html = _home(client, worker)
    assert 'id="suivis"' in html and "Renforcee" in html and "Mes alertes" in html
    assert 'id="semaine"' not in html


def test_campaign_page_splits_done_and_lists_days(session, client):
    org, c = _campaign_history(session)
    manager = make_user(session, org, "manager")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        login(client, manager.email)
        html = client.get(f"/campagnes/{c.id}?jour=2026-06-13").get_data(as_text=True)
    outcomes = dict(re.findall(r'<div class="outcome-(\w+)"><dt>[^<]*</dt><dd>(\d+)</dd>', html))
    assert outcomes == {"reached_ok": "2", "help_requested": "1", "none": "1"}
    assert "Joint(e), tout va bien" in html and "Demande de l&#39;aide" in html
    row = re.search(r'<tr data-day="2026-06-13"[^>]*>(.*?)</tr>', html, re.S)
    assert row
    cells = dict(re.findall(r'data-col="(\w+)">(\d+)</td>', row.group(1)))
    assert cells == {
        "due": "5",
        "reached_ok": "2",
        "help_requested": "1",
        "unreached": "0",  # a column: the 14th, after the day shown, had one
        "settled": "1",
        "open": "0",
        "closed": "1",
        "skipped": "0",
    }
