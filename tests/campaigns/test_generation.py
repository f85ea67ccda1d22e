"""Generation of the day's tasks: eligibility, skips with reasons, idempotence, canicule."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Outcome
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import (
    CampaignKind,
    CampaignState,
    Skip,
    SkipReason,
    Task,
    TaskState,
)
from outreach.campaigns.operations import (
    CampaignError,
    activate_canicule,
    create_campaign,
    deactivate_canicule,
    set_state,
)
from outreach.roster.models import ConsentStatus
from tests.factories import make_org, make_senior

pytestmark = pytest.mark.date_sensitive

MONDAY = date(2026, 6, 8)
NOW = datetime(2026, 6, 8, 6, 0, tzinfo=UTC)


def _courtesy(session, org, **kw):
    c = create_campaign(session, org.id, "Appels de courtoisie", CampaignKind.courtesy, **kw)
    set_state(session, c, CampaignState.active, NOW)
    return c


def _tasks(session, campaign):
    return session.scalars(select(Task).where(Task.campaign_id == campaign.id)).all()


def _skips(session, campaign):
    rows = session.execute(
        select(Skip.senior_id, Skip.reason).where(Skip.campaign_id == campaign.id)
    ).all()
    return dict(rows)


def test_each_reason_for_no_task_is_recorded(session):
    org = make_org(session)
    ok = make_senior(session, org)
    left = make_senior(session, org, active=False)
    no_consent = make_senior(session, org, consent_status=ConsentStatus.refused)
    opted = make_senior(session, org, opted_out_phone_at=NOW - timedelta(days=3))
    no_phone = make_senior(session, org, phone_mobile=None, phone_landline=None)
    paused = make_senior(session, org, paused_until=MONDAY + timedelta(days=2))
    campaign = _courtesy(session, org)

    result = generate_day(session, MONDAY, NOW)

    assert [t.senior_id for t in _tasks(session, campaign)] == [ok.id]
    assert _skips(session, campaign) == {
        left.id: SkipReason.left,
        no_consent.id: SkipReason.no_consent,
        opted.id: SkipReason.opted_out,
        no_phone.id: SkipReason.no_phone,
        paused.id: SkipReason.paused,
    }
    assert (result.created, result.skipped) == (1, 5)


def test_sms_needs_a_mobile_and_sms_consent(session):
    org = make_org(session)
    landline_only = make_senior(session, org, phone_mobile=None, phone_landline="+33247000000")
    sms_refused = make_senior(session, org, consent_sms=False)
    fine = make_senior(session, org)
    campaign = _courtesy(session, org, channel_policy="sms")
    generate_day(session, MONDAY, NOW)
    assert [t.senior_id for t in _tasks(session, campaign)] == [fine.id]
    assert _skips(session, campaign) == {
        landline_only.id: SkipReason.no_phone,
        sms_refused.id: SkipReason.no_consent,
    }


def test_running_twice_creates_nothing_twice(session):
    org = make_org(session)
    for _ in range(5):
        make_senior(session, org)
    make_senior(session, org, active=False)
    campaign = _courtesy(session, org)
    first = generate_day(session, MONDAY, NOW)
    second = generate_day(session, MONDAY, NOW)
    assert (first.created, first.skipped) == (5, 1)
    assert (second.created, second.skipped) == (0, 0)
    assert len(_tasks(session, campaign)) == 5
    assert session.scalar(select(func.count(Skip.id))) == 1


def test_targeting_limits_who_matches(session):
    org = make_org(session)
    old_alone = make_senior(session, org, birth_date=date(1940, 1, 1), lives_alone=True)
    make_senior(session, org, birth_date=date(1960, 1, 1), lives_alone=True)  # 66
    make_senior(session, org, birth_date=date(1940, 1, 1), departement="41")
    make_senior(session, org, birth_date=date(1935, 1, 1), lives_alone=False, active=False)
    campaign = _courtesy(
        session, org, targeting={"departements": ["37"], "min_age": 75, "lives_alone": True}
    )
    generate_day(session, MONDAY, NOW)
    assert [t.senior_id for t in _tasks(session, campaign)] == [old_alone.id]
    assert _skips(session, campaign) == {}  # the one who left does not match at all


def test_cadence_follows_last_reached_contact(session):
    org = make_org(session)
    alone_old = make_senior(session, org, birth_date=date(1940, 1, 1), lives_alone=True)
    other = make_senior(session, org, birth_date=date(1955, 1, 1), lives_alone=False)
    never = make_senior(session, org)
    reached_on = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # Monday a week ago
    for senior in (alone_old, other):
        session.add(
            Attempt(
                organisation_id=org.id,
                senior_id=senior.id,
                channel=AttemptChannel.staff,
                started_at=reached_on,
                disposition=Disposition.reached_ok,
                outcome=Outcome.reached_ok,
            )
        )
    campaign = _courtesy(session, org)  # weekly for 75+ alone, else every two weeks
    generate_day(session, MONDAY, NOW)
    assert sorted(t.senior_id for t in _tasks(session, campaign)) == sorted(
        [alone_old.id, never.id]
    )
    generate_day(session, MONDAY + timedelta(days=7), NOW + timedelta(days=7))
    due_second_week = [t.senior_id for t in _tasks(session, campaign) if t.due_date > MONDAY]
    # The first week's tasks are still open, so only `other` is newly due.
    assert due_second_week == [other.id]


def test_no_courtesy_task_on_a_sunday_or_holiday(session):
    org = make_org(session)
    make_senior(session, org)
    campaign = _courtesy(session, org)
    generate_day(session, date(2026, 6, 7), NOW)  # Sunday
    generate_day(session, date(2026, 7, 14), NOW)  # fête nationale
    assert _tasks(session, campaign) == []


def test_paused_or_draft_campaign_generates_nothing(session):
    org = make_org(session)
    make_senior(session, org)
    create_campaign(session, org.id, "Brouillon", CampaignKind.courtesy)
    assert generate_day(session, MONDAY, NOW).created == 0


def test_canicule_activation_creates_tasks_at_once_and_outranks_courtesy(session):
    org = make_org(session)
    register = make_senior(session, org, canicule_register=True, birth_date=date(1960, 1, 1))
    old = make_senior(session, org, birth_date=date(1945, 1, 1))
    make_senior(session, org, birth_date=date(1960, 1, 1))  # 66, not alone, not registered
    elsewhere = make_senior(session, org, canicule_register=True, departement="45")
    courtesy = _courtesy(session, org)
    generate_day(session, MONDAY, NOW)

    campaign, result = activate_canicule(session, org.id, ["37", "41"], "orange", MONDAY, NOW)
    tasks = _tasks(session, campaign)
    assert sorted(t.senior_id for t in tasks) == sorted([register.id, old.id])
    assert elsewhere.id not in [t.senior_id for t in tasks]
    assert result.created == 2
    assert all(t.priority < _tasks(session, courtesy)[0].priority for t in tasks)

    # Activating another département extends the same campaign.
    again, _ = activate_canicule(session, org.id, ["45"], "rouge", MONDAY, NOW)
    assert again.id == campaign.id
    assert elsewhere.id in [t.senior_id for t in _tasks(session, campaign)]


def test_canicule_runs_on_sundays_and_replaces_yesterdays_tasks(session):
    org = make_org(session)
    senior = make_senior(session, org, canicule_register=True)
    campaign, _ = activate_canicule(session, org.id, ["37"], "orange", MONDAY, NOW)
    sunday = date(2026, 6, 14)
    generate_day(session, sunday, NOW + timedelta(days=6))
    by_day = {t.due_date: t.state for t in _tasks(session, campaign)}
    assert by_day == {MONDAY: TaskState.failed, sunday: TaskState.pending}
    assert senior.id in [t.senior_id for t in _tasks(session, campaign)]


def test_canicule_deactivation_cancels_and_closes(session):
    org = make_org(session)
    a = make_senior(session, org, canicule_register=True)
    b = make_senior(session, org, canicule_register=True, departement="41")
    campaign, _ = activate_canicule(session, org.id, ["37", "41"], "orange", MONDAY, NOW)
    deactivate_canicule(session, org.id, ["37"], NOW)
    states = {t.senior_id: t.state for t in _tasks(session, campaign)}
    assert states == {a.id: TaskState.cancelled, b.id: TaskState.pending}
    assert campaign.state == CampaignState.active
    deactivate_canicule(session, org.id, ["41"], NOW)
    assert campaign.state == CampaignState.closed
    with pytest.raises(CampaignError):
        deactivate_canicule(session, org.id, ["41"], NOW)


@pytest.mark.parametrize(
    ("deps", "level"), [([], "orange"), (["3x"], "orange"), (["37"], "violet")]
)
def test_canicule_bad_input_is_refused(session, deps, level):
    org = make_org(session)
    with pytest.raises(CampaignError):
        activate_canicule(session, org.id, deps, level, MONDAY, NOW)


def test_other_organisations_seniors_are_never_targeted(session):
    org, other = make_org(session), make_org(session)
    mine = make_senior(session, org)
    make_senior(session, other)
    campaign = _courtesy(session, org)
    generate_day(session, MONDAY, NOW)
    assert [t.senior_id for t in _tasks(session, campaign)] == [mine.id]


def test_pause_keeps_tasks_and_resume_brings_them_back(session):
    from outreach.queue.operations import claim_next

    org = make_org(session)
    make_senior(session, org)
    from tests.factories import make_user

    caller = make_user(session, org)
    campaign = _courtesy(session, org)
    generate_day(session, MONDAY, NOW)
    set_state(session, campaign, CampaignState.paused, NOW)
    assert claim_next(session, [org.id], caller.id, MONDAY, NOW, 20) is None
    set_state(session, campaign, CampaignState.active, NOW)
    task = claim_next(session, [org.id], caller.id, MONDAY, NOW, 20)
    assert task is not None and task.campaign_id == campaign.id


def test_only_one_active_canicule_per_organisation(session):
    org = make_org(session)
    activate_canicule(session, org.id, ["37"], "orange", MONDAY, NOW)
    second = create_campaign(session, org.id, "Canicule bis", CampaignKind.canicule)
    with pytest.raises(CampaignError):
        set_state(session, second, CampaignState.active, NOW)


def test_reinforced_follow_up_calls_weekly(session):
    org = make_org(session)
    usual = make_senior(session, org, birth_date=date(1955, 1, 1), lives_alone=False)
    reinforced = make_senior(
        session, org, birth_date=date(1955, 1, 1), lives_alone=False, reinforced_since=MONDAY
    )
    reached_on = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a week ago: fortnightly not yet due
    for senior in (usual, reinforced):
        session.add(
            Attempt(
                organisation_id=org.id,
                senior_id=senior.id,
                channel=AttemptChannel.staff,
                started_at=reached_on,
                disposition=Disposition.reached_ok,
                outcome=Outcome.reached_ok,
            )
        )
    campaign = _courtesy(session, org)
    generate_day(session, MONDAY, NOW)
    assert [t.senior_id for t in _tasks(session, campaign)] == [reinforced.id]
