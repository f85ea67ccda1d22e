"""One contact a day, refusals at once, one eligibility rule (DESIGN.md, issue 9 §2)."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Outcome
from outreach.campaigns import lifecycle
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import (
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Skip,
    SkipReason,
    Task,
    TaskState,
)
from outreach.campaigns.operations import activate_canicule, create_campaign, set_state
from outreach.queue.operations import QueueError, claim_next
from outreach.queue.recording import Outcome as Entry
from outreach.queue.recording import record_outcome
from outreach.roster.editing import update_senior
from outreach.telephony import outcomes
from outreach.telephony.sms import opt_out
from tests.factories import make_org, make_senior, make_user

pytestmark = pytest.mark.date_sensitive

TODAY = date(2026, 6, 8)  # a Monday
NOW = datetime(2026, 6, 8, 8, 0, tzinfo=UTC)  # 10:00 in Paris
LATER = NOW + timedelta(minutes=5)  # the outcome, a few minutes after the claim


def _campaign(session, org, kind=CampaignKind.courtesy, name="Courtoisie", **kw):
    kw.setdefault("call_window", {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed")})
    c = create_campaign(session, org.id, name, kind, **kw)
    set_state(session, c, CampaignState.active, NOW)
    return c


def _tasks(session, senior):
    session.expire_all()
    return {
        _name(t.campaign): t
        for t in session.scalars(select(Task).where(Task.senior_id == senior.id)).all()
    }


def _name(campaign):
    # The canicule campaign is named after its day of activation.
    return "Canicule" if campaign.kind == CampaignKind.canicule else campaign.name


def _claim(session, org, user, now=NOW):
    return claim_next(session, [org.id], user.id, TODAY, now, claim_minutes=20)


def _drain(session, org, user):
    """Every senior handed out by the queue, once each, in order."""
    got = []
    while (task := _claim(session, org, user)) is not None:
        got.append((task.senior_id, _name(task.campaign)))
    return got


@pytest.fixture
def world(session):
    org = make_org(session)
    caller = make_user(session, org)
    # 75+: targeted by the canicule campaign as well as by courtesy.
    both = make_senior(session, org, birth_date=date(1940, 1, 1), canicule_register=True)
    only = make_senior(session, org, birth_date=date(1960, 1, 1))
    _campaign(session, org)
    generate_day(session, TODAY, NOW)
    activate_canicule(session, org.id, ["37"], "orange", TODAY, NOW)
    return org, caller, both, only


def test_a_senior_in_two_campaigns_is_handed_out_once_the_canicule_leading(session, world):
    org, caller, both, only = world
    assert _drain(session, org, caller) == [(both.id, "Canicule"), (only.id, "Courtoisie")]
    tasks = _tasks(session, both)
    assert tasks["Courtoisie"].lead_id == tasks["Canicule"].id


def test_the_contact_made_settles_the_other_tasks_of_the_day_with_its_reason(session, world):
    org, caller, both, _ = world
    task = _claim(session, org, caller)
    assert task.senior_id == both.id
    record_outcome(session, task, caller.id, Entry(Disposition.reached_ok), LATER, True)
    tasks = _tasks(session, both)
    courtesy = tasks["Courtoisie"]
    assert courtesy.state == TaskState.done and courtesy.outcome == Outcome.reached_ok
    assert courtesy.settled_by_id == tasks["Canicule"].id
    assert courtesy.disposition == lifecycle.SETTLED
    # Only one call was made.
    assert len(session.scalars(select(Attempt)).all()) == 1


def test_an_unreached_lead_settles_its_followers_as_tried(session, world):
    org, caller, both, _ = world
    for minutes in (5, 70, 140):  # the canicule's three tries of the day (60 min apart)
        task = _claim(session, org, caller, NOW + timedelta(minutes=minutes))
        assert task is not None and task.senior_id == both.id, minutes
        at = NOW + timedelta(minutes=minutes + 2)
        record_outcome(session, task, caller.id, Entry(Disposition.no_answer), at, True)
    tasks = _tasks(session, both)
    assert tasks["Canicule"].state == TaskState.failed
    assert tasks["Courtoisie"].state == TaskState.failed
    assert tasks["Courtoisie"].settled_by_id == tasks["Canicule"].id


def test_a_campaign_with_its_own_message_is_never_settled_by_another(session):
    org = make_org(session)
    caller = make_user(session, org)
    senior = make_senior(session, org)
    _campaign(session, org)
    reminder = _campaign(
        session,
        org,
        CampaignKind.custom,
        name="Atelier mémoire",
        own_message=True,
    )
    generate_day(session, TODAY, NOW)
    handed = _drain(session, org, caller)
    assert sorted(name for _, name in handed) == ["Atelier mémoire", "Courtoisie"]
    assert all(t.lead_id is None for t in _tasks(session, senior).values())
    assert reminder.own_message


def test_requires_human_against_an_automated_lead(session):
    org = make_org(session)
    senior = make_senior(session, org)
    human = _campaign(session, org, name="Courtoisie", requires_human=True)
    robot = _campaign(
        session,
        org,
        CampaignKind.custom,
        name="Appel automatique",
        channel_policy=ChannelPolicy.ivr,
    )
    generate_day(session, TODAY, NOW)
    tasks = _tasks(session, senior)
    # Same priority (100): the older task leads; make the automated one lead.
    lead, follower = tasks["Appel automatique"], tasks["Courtoisie"]
    if lead.lead_id is not None:
        lead.priority = 50
        lifecycle.regroup(session, TODAY, senior_ids={senior.id})
        session.expire_all()
        lead, follower = session.get(Task, lead.id), session.get(Task, follower.id)
    assert follower.lead_id == lead.id
    assert lifecycle.mark_queued(session, lead.id)
    attempt = Attempt(
        organisation_id=org.id,
        task_id=lead.id,
        senior_id=senior.id,
        channel=AttemptChannel.ivr,
        started_at=NOW,
    )
    session.add(attempt)
    session.flush()
    session.refresh(lead)
    outcomes.apply_result(session, attempt, Outcome.reached_ok, NOW)
    session.expire_all()
    follower = session.get(Task, follower.id)
    # An automated OK does not settle a campaign that requires a human voice.
    assert follower.state == TaskState.pending and follower.lead_id is None
    assert human.requires_human and robot.channel_policy == ChannelPolicy.ivr


def test_a_senior_reached_earlier_today_is_skipped_with_the_campaign_named(session):
    org = make_org(session)
    caller = make_user(session, org)
    senior = make_senior(session, org, birth_date=date(1940, 1, 1))
    _campaign(session, org)
    generate_day(session, TODAY, NOW)
    task = _claim(session, org, caller)
    record_outcome(session, task, caller.id, Entry(Disposition.reached_ok), LATER, True)
    # A canicule activated in the afternoon: she was already reached today.
    activate_canicule(session, org.id, ["37"], "orange", TODAY, NOW + timedelta(hours=5))
    skip = session.scalar(select(Skip).where(Skip.senior_id == senior.id))
    assert skip.reason == SkipReason.already_contacted and skip.detail == "Courtoisie"
    assert "Canicule" not in _tasks(session, senior)


def test_the_dispatcher_sees_one_task_per_senior(app, session):
    from outreach.telephony.dispatch import Dispatcher

    org = make_org(session)
    senior = make_senior(session, org, phone_landline=None)
    for name in ("Appel A", "Appel B"):
        _campaign(session, org, CampaignKind.custom, name=name, channel_policy=ChannelPolicy.ivr)
    generate_day(session, TODAY, NOW)
    assert len(_tasks(session, senior)) == 2

    from tests.telephony.conftest import FakeGateway, FakeTime

    gateway, clock = FakeGateway(), FakeTime(NOW)
    config = app.config["OUTREACH"]
    Dispatcher(session, config, gateway, clock.now, clock.monotonic, clock.sleep).run(2)
    assert [c["to"] for c in gateway.calls] == [senior.phone_mobile]


# -- refusals at once -------------------------------------------------------------------


def test_ne_souhaite_plus_etre_appelee_cancels_the_days_other_tasks_at_once(session, world):
    org, caller, both, only = world
    task = _claim(session, org, caller)
    record_outcome(session, task, caller.id, Entry(Disposition.refused), LATER, True)
    tasks = _tasks(session, both)
    assert tasks["Canicule"].state == TaskState.done
    assert tasks["Canicule"].outcome == Outcome.refused
    assert tasks["Courtoisie"].state in (TaskState.cancelled, TaskState.done)
    assert both.opted_out_phone_at is not None
    # The queue goes on with the others only.
    assert _drain(session, org, caller) == [(only.id, "Courtoisie")]


def test_an_sms_stop_cancels_sms_tasks_but_not_phone_calls(session):
    org = make_org(session)
    senior = make_senior(session, org)
    _campaign(session, org, name="Courtoisie")
    _campaign(
        session, org, CampaignKind.custom, name="SMS", channel_policy=ChannelPolicy.sms,
        own_message=True,
    )  # fmt: skip
    generate_day(session, TODAY, NOW)
    opt_out(session, senior, NOW, "reply")
    tasks = _tasks(session, senior)
    assert tasks["SMS"].state == TaskState.cancelled and tasks["SMS"].disposition == "opted_out"
    assert tasks["Courtoisie"].state == TaskState.pending


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"consent_status": "withdrawn"}, "no_consent"),
        ({"paused_until": date(2026, 6, 20)}, "paused"),
        ({"active": False}, "left"),
    ],
)
def test_a_change_on_the_senior_page_takes_effect_on_the_days_tasks(session, change, reason):
    org = make_org(session)
    caller = make_user(session, org)
    senior = make_senior(session, org)
    _campaign(session, org)
    generate_day(session, TODAY, NOW)
    update_senior(session, senior, change, caller.id, now=NOW)
    (task,) = _tasks(session, senior).values()
    assert task.state == TaskState.cancelled and task.disposition == reason
    assert _claim(session, org, caller) is None


def test_absent_until_a_date_pauses_her_and_cancels_what_it_forbids(session, world):
    org, caller, both, _ = world
    task = _claim(session, org, caller)
    entry = Entry(Disposition.absent, absent_until=date(2026, 6, 30))
    record_outcome(session, task, caller.id, entry, LATER, True)
    assert both.paused_until == date(2026, 6, 30)
    assert _tasks(session, both)["Courtoisie"].state == TaskState.cancelled


def test_a_claim_checks_the_rule_again_and_skips_a_senior_who_refused_since(session, world):
    org, caller, both, only = world
    both.opted_out_phone_at = NOW  # recorded by some path that did not cancel her tasks
    session.flush()
    assert _drain(session, org, caller) == [(only.id, "Courtoisie")]
    assert _tasks(session, both)["Canicule"].disposition == "opted_out"


# -- nothing recorded by accident ---------------------------------------------------------


def test_an_outcome_seconds_after_the_claim_is_refused(session, world):
    org, caller, *_ = world
    task = _claim(session, org, caller)
    soon = NOW + timedelta(seconds=3)
    with pytest.raises(QueueError, match="venez de prendre"):
        record_outcome(session, task, caller.id, Entry(Disposition.reached_ok), soon, True, 10)
    assert session.scalar(select(Attempt)) is None
    record_outcome(session, task, caller.id, Entry(Disposition.reached_ok), LATER, True, 10)


def test_rappeler_plus_tard_needs_a_time_and_keeps_the_task_for_it(session, world):
    org, caller, both, _ = world
    task = _claim(session, org, caller)
    with pytest.raises(QueueError, match="quand rappeler"):
        record_outcome(session, task, caller.id, Entry(Disposition.reached_later), LATER, True)
    at = NOW + timedelta(hours=3)
    entry = Entry(Disposition.reached_later, callback_at=at, callback_for_me=True)
    attempt = record_outcome(session, task, caller.id, entry, LATER, True)
    assert attempt.outcome == Outcome.reached_later
    session.refresh(task)
    assert task.state == TaskState.pending and task.callback_for_id == caller.id
    assert task.callback_at == at


# -- one place for each rule ------------------------------------------------------------


def _state_writes(path: Path) -> list[str]:
    """Assignments of a task's state in a module: ``x.state = TaskState.…`` or
    ``.values(state=…)`` on a task."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == "state":
                    if "TaskState" in ast.unparse(node.value) or "task" in ast.unparse(t):
                        found.append(f"{path}:{node.lineno}")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "values":
            for kw in node.keywords:
                if kw.arg == "state" and "TaskState" in ast.unparse(kw.value):
                    found.append(f"{path}:{node.lineno}")
    return found


def test_only_the_lifecycle_module_changes_a_tasks_state():
    root = Path(__file__).resolve().parents[2] / "outreach"
    lifecycle_path = root / "campaigns" / "lifecycle.py"
    offenders = [
        hit
        for path in sorted(root.rglob("*.py"))
        if path != lifecycle_path
        for hit in _state_writes(path)
    ]
    assert offenders == []
    # The scan itself finds an assignment where there is one.
    assert _state_writes(lifecycle_path)


def test_a_premium_number_stored_before_the_check_counts_as_no_phone(session):
    from outreach.roster.eligibility import ineligible

    org = make_org(session)
    senior = make_senior(session, org, phone_mobile=None, phone_landline="+33899123456")
    assert ineligible(senior, ChannelPolicy.staff, TODAY) == SkipReason.no_phone
    senior.phone_landline = "+33247000000"
    assert ineligible(senior, ChannelPolicy.staff, TODAY) is None
