"""The weekly digest to managers: off by default, once a week, the right figures, no name.

The run is on Monday 13 July 2026 at 08:05 Paris (06:05 UTC); the week reported is Monday 6
to Sunday 12 July.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Severity
from outreach.calls.outcomes import Outcome
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task, TaskState
from outreach.escalation.models import Alert, AlertCause, AlertStatus
from outreach.notifications.models import Notification
from outreach.reports.digest import previous_week
from outreach.reports.jobs import weekly_digest
from tests.factories import make_org, make_senior, make_user

NOW = datetime(2026, 7, 13, 6, 5, tzinfo=UTC)  # Monday, 08:05 in Paris


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 7, day, hour, tzinfo=UTC)


@pytest.fixture
def world(app, session):
    org = make_org(session, "hlm-a", "HLM Touraine")
    other = make_org(session, "hlm-b", "HLM Loiret")
    managers = [make_user(session, org, "manager"), make_user(session, org, "manager")]
    make_user(session, org, "caller")  # not a manager: gets nothing
    other_manager = make_user(session, other, "manager")
    campaign = Campaign(organisation_id=org.id, name="Courtoisie", kind=CampaignKind.courtesy)
    session.add(campaign)
    session.flush()
    seniors = [make_senior(session, org, last_name=f"Dupontel{i}") for i in range(6)]
    # Tasks on the 6th..10th are in the week; the 13th is this week's, outside.
    for senior, day in zip(seniors, [6, 7, 8, 9, 10, 13], strict=True):
        session.add(
            Task(
                organisation_id=org.id,
                campaign_id=campaign.id,
                senior_id=senior.id,
                due_date=date(2026, 7, day),
                channel=ChannelPolicy.staff,
                state=TaskState.done,
            )
        )
    outcomes = [Outcome.reached_ok, Outcome.unreached, Outcome.help_requested, Outcome.refused]
    for senior, outcome, day in zip(seniors, outcomes, [6, 7, 8, 9], strict=False):
        session.add(
            Attempt(
                organisation_id=org.id,
                senior_id=senior.id,
                channel=AttemptChannel.ivr,
                started_at=at(day, 8),
                ended_at=at(day, 8) + timedelta(minutes=1),
                outcome=outcome,
            )
        )
    for senior, due, status in [
        (seniors[0], NOW - timedelta(hours=2), AlertStatus.open),  # overdue now
        (seniors[1], NOW + timedelta(hours=2), AlertStatus.open),  # not yet
        (seniors[2], NOW - timedelta(days=2), AlertStatus.resolved),
    ]:
        session.add(
            Alert(
                organisation_id=org.id,
                senior_id=senior.id,
                cause=AlertCause.help_requested,
                severity=Severity.concern,
                status=status,
                summary="…",
                opened_at=at(8, 9),
                due_at=due,
            )
        )
    session.commit()
    return {"org": org, "managers": managers, "other_manager": other_manager}


def _run(app, session, now=NOW, **reports):
    app.config["OUTREACH"]["reports"].update(reports)
    with app.app_context():
        line = weekly_digest(session, now)
    session.commit()
    return line


def _figures(body: str) -> dict[str, int]:
    """The "label : number" lines of a digest."""
    pairs = (line.rsplit(" : ", 1) for line in body.splitlines() if " : " in line)
    return {label.strip(): int(n) for label, n in pairs if n.isdigit()}


def _emails(session):
    return session.scalars(select(Notification).order_by(Notification.id)).all()


def test_previous_week_is_monday_to_sunday_before_the_run():
    week = previous_week(NOW)
    assert (week.start, week.end) == (date(2026, 7, 6), date(2026, 7, 12))
    # Sunday 12 July at 23:30 Paris is 21:30 UTC: still that week, so the one before.
    week = previous_week(at(12, 21) + timedelta(minutes=30))
    assert (week.start, week.end) == (date(2026, 6, 29), date(2026, 7, 5))


def test_off_by_default_nothing_queued(app, session, world):
    assert app.config["OUTREACH"]["reports"]["weekly_digest"] is False
    assert _run(app, session) == "weekly-digest: off"
    assert _emails(session) == []


def test_one_email_per_manager_with_the_week_figures(app, session, world):
    assert _run(app, session, weekly_digest=True) == "weekly-digest: queued 3"
    emails = _emails(session)
    org_id = world["org"].id
    mine = [e for e in emails if e.organisation_id == org_id]
    assert sorted(e.user_id for e in mine) == sorted(u.id for u in world["managers"])
    assert [e.user_id for e in emails if e.organisation_id != org_id] == [world["other_manager"].id]
    assert {e.channel for e in emails} == {"email"}
    body = mine[0].body
    assert "HLM Touraine" in body
    assert "du lundi 06/07/2026 au dimanche 12/07/2026" in body
    assert _figures(body) == {
        "Personnes ciblées": 5,  # the tasks of the 6th to the 10th, not the 13th's
        "Personnes sollicitées": 4,
        "Personnes jointes": 2,  # reached_ok, help_requested (a refusal is not "reached")
        "Personnes jamais jointes": 3,
        "Demandes d'aide": 1,
        "Refus": 1,
        "Alertes en retard à cette heure": 1,
    }
    assert "http://127.0.0.1:5000/" in body
    assert "Dupontel" not in body and "REF" not in body
    assert mine[0].dedupe_key == f"weekly-digest:2026-W28:org{org_id}:user{mine[0].user_id}"
    other = next(e for e in emails if e.organisation_id != org_id).body
    assert set(_figures(other).values()) == {0}


def test_a_second_run_the_same_week_sends_nothing_twice(app, session, world):
    assert _run(app, session, weekly_digest=True) == "weekly-digest: queued 3"
    assert _run(app, session, now=NOW + timedelta(minutes=30)) == "weekly-digest: queued 0"
    assert len(_emails(session)) == 3
    # Next week: a new digest.
    assert _run(app, session, now=NOW + timedelta(days=7)) == "weekly-digest: queued 3"


@pytest.mark.parametrize(
    "now", [NOW + timedelta(hours=1), NOW + timedelta(days=1), NOW - timedelta(hours=1)]
)
def test_not_the_weekday_or_hour_nothing_queued(app, session, world, now):
    assert _run(app, session, now=now, weekly_digest=True) == "weekly-digest: not the hour"
    assert _emails(session) == []


def test_the_configured_weekday_and_hour(app, session, world):
    # Friday 17 July 18:05 Paris (16:05 UTC).
    friday = datetime(2026, 7, 17, 16, 5, tzinfo=UTC)
    line = _run(app, session, now=friday, weekly_digest=True, digest_weekday=4, digest_hour=18)
    assert line == "weekly-digest: queued 3"
    assert _run(app, session, now=NOW) == "weekly-digest: not the hour"
