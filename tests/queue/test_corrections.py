"""Correcting a recorded call: who may, what is audited, and escalation following the
corrected outcome (a mistaken alert closed with its reason, a justified one opened)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, Disposition, Severity, Signal, SignalKind
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, TaskState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.escalation.models import (
    Alert,
    AlertCause,
    AlertEvent,
    AlertSource,
    AlertStatus,
    Resolution,
)
from outreach.escalation.rules import sweep
from outreach.queue.corrections import correct_outcome, may_correct
from outreach.queue.operations import QueueError, claim_next
from outreach.queue.recording import Outcome, record_outcome
from tests.factories import make_org, make_senior, make_user

TODAY = date(2026, 6, 8)
NOW = datetime(2026, 6, 8, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris
LATER = NOW + timedelta(minutes=5)
FALL = Outcome(Disposition.reached_concern, signals=[(SignalKind.fall, Severity.urgent, None)])


@pytest.fixture
def world(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    manager = make_user(session, org, "manager")
    referent = make_user(session, org, "social_worker")
    senior = make_senior(session, org, referent_id=referent.id)
    return org, caller, manager, senior


def _campaign(session, org, kind=CampaignKind.courtesy, **kw):
    campaign = create_campaign(session, org.id, "Campagne", kind, **kw)
    set_state(session, campaign, CampaignState.active, NOW)
    generate_day(session, TODAY, NOW)
    return campaign


def _recorded(session, app, org, caller, outcome, **campaign):
    """A staff call recorded on the day's task, and the rules run as the queue page does."""
    _campaign(session, org, **campaign)
    task = claim_next(session, [org.id], caller.id, TODAY, NOW, claim_minutes=20)
    assert task is not None
    attempt = record_outcome(session, task, caller.id, outcome, NOW, True)
    sweep(session, app.config["OUTREACH"], NOW, senior_id=task.senior_id)
    return attempt, task


def _correct(session, app, attempt, user, outcome, now=LATER):
    return correct_outcome(session, app.config["OUTREACH"], attempt, user.id, outcome, now, True)


def _alerts(session):
    return session.scalars(select(Alert).order_by(Alert.id)).all()


def test_author_within_the_window_a_manager_at_any_time(app, session, world):
    org, caller, manager, _ = world
    other = make_user(session, org, "caller")
    attempt, _ = _recorded(session, app, org, caller, Outcome(Disposition.reached_ok))
    assert may_correct(attempt, caller, False, NOW + timedelta(minutes=30), 30)
    assert not may_correct(attempt, caller, False, NOW + timedelta(minutes=31), 30)
    assert not may_correct(attempt, other, False, NOW + timedelta(minutes=1), 30)
    assert may_correct(attempt, manager, True, NOW + timedelta(days=40), 30)
    # An automated call is not corrected this way, even by a manager.
    attempt.channel = "ivr"
    assert not may_correct(attempt, manager, True, NOW, 30)


def test_a_mistaken_fall_alert_is_closed_with_its_reason(app, session, world):
    org, caller, _, senior = world
    attempt, task = _recorded(session, app, org, caller, FALL)
    [alert] = _alerts(session)
    assert (alert.cause, alert.status) == (AlertCause.urgent_signal, AlertStatus.open)
    fall_id = attempt.signals[0].id

    _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok, notes="RAS"))

    session.refresh(alert)
    assert alert.status == AlertStatus.resolved
    assert alert.resolution == Resolution.no_action
    assert alert.resolution_note.startswith("Corrigé : ")
    assert "« Joint(e), tout va bien »" in alert.resolution_note
    assert "chute" in alert.resolution_note
    assert alert.acknowledged_at is None  # a mistake was never taken in charge
    actions = [e.action for e in session.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert actions == ["opened", "corrected", "resolved"]
    assert session.scalar(select(Signal).where(Signal.id == fall_id)) is None
    assert session.scalar(select(AlertSource).where(AlertSource.kind == "signal")) is None
    assert (attempt.disposition, attempt.outcome, attempt.notes) == (
        "reached_ok",
        "reached_ok",
        "RAS",
    )
    session.refresh(task)
    assert (task.state, task.outcome) == (TaskState.done, "reached_ok")
    assert len(_alerts(session)) == 1  # nothing new opened


def test_the_audit_keeps_old_and_new_values_but_no_note(app, session, world):
    org, caller, _, _ = world
    outcome = Outcome(FALL.disposition, FALL.signals, notes="Tombée dans la cuisine")
    attempt, task = _recorded(session, app, org, caller, outcome)
    _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "outcome_corrected"))
    assert (event.entity, event.entity_id, event.user_id) == ("attempt", attempt.id, caller.id)
    details = event.details
    assert details["old"] == {
        "disposition": "reached_concern",
        "outcome": "reached_concern",
        "signals": [["fall", "urgent"]],
    }
    assert details["new"] == {"disposition": "reached_ok", "outcome": "reached_ok", "signals": []}
    assert details["notes_changed"] is True and details["task"] == task.id
    assert len(details["alerts_closed"]) == 1
    assert "cuisine" not in str(details)


def test_a_correction_to_a_fall_opens_the_urgent_alert(app, session, world):
    org, caller, _, senior = world
    attempt, task = _recorded(session, app, org, caller, Outcome(Disposition.reached_ok))
    assert _alerts(session) == []

    _correct(session, app, attempt, caller, FALL)

    [alert] = _alerts(session)
    assert (alert.cause, alert.severity, alert.status) == (
        AlertCause.urgent_signal,
        Severity.urgent,
        AlertStatus.open,
    )
    assert alert.senior_id == senior.id and alert.referent_id == senior.referent_id
    [signal] = attempt.signals
    assert [(s.kind, s.source_id) for s in alert.sources] == [("signal", signal.id)]
    session.refresh(task)
    assert (task.state, task.outcome) == (TaskState.done, "reached_concern")


def test_a_replaced_signal_opens_its_own_alert(app, session, world):
    # The fall is replaced by heat distress, both urgent: the fall's alert closes and the new
    # signal opens one, even where SQLite gives the new signal the deleted one's id.
    org, caller, _, _ = world
    attempt, _ = _recorded(session, app, org, caller, FALL)
    heat = Outcome(
        Disposition.reached_concern, signals=[(SignalKind.heat_distress, Severity.urgent, None)]
    )
    _correct(session, app, attempt, caller, heat)
    first, second = _alerts(session)
    assert first.status == AlertStatus.resolved and second.status == AlertStatus.open
    assert "souffre de la chaleur" in second.summary.lower()


def test_an_alert_resting_on_other_facts_stays_open(app, session, world):
    org, caller, _, senior = world
    earlier = Attempt(
        organisation_id=org.id,
        senior_id=senior.id,
        channel="staff",
        started_at=NOW - timedelta(hours=1),
        disposition=Disposition.reached_concern,
    )
    earlier.signals.append(
        Signal(
            organisation_id=org.id,
            senior_id=senior.id,
            kind=SignalKind.fall,
            severity=Severity.urgent,
            created_at=NOW - timedelta(hours=1),
        )
    )
    session.add(earlier)
    session.flush()
    attempt, _ = _recorded(session, app, org, caller, FALL)  # joins the open alert
    [alert] = _alerts(session)
    assert len(alert.sources) == 2

    _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok))

    session.refresh(alert)
    assert alert.status == AlertStatus.open
    assert [(s.kind, s.source_id) for s in alert.sources] == [("signal", earlier.signals[0].id)]
    assert [e.action for e in alert.events] == ["opened", "joined", "corrected"]


def test_kept_signals_keep_their_alert(app, session, world):
    org, caller, _, _ = world
    attempt, _ = _recorded(session, app, org, caller, FALL)
    fall_id = attempt.signals[0].id
    more = Outcome(
        Disposition.reached_concern,
        signals=[
            (SignalKind.fall, Severity.urgent, None),
            (SignalKind.isolation, Severity.concern, None),
        ],
    )
    _correct(session, app, attempt, caller, more)
    urgent, concern = _alerts(session)
    assert urgent.status == AlertStatus.open and [e.action for e in urgent.events] == ["opened"]
    assert concern.cause == AlertCause.concern_signal and concern.status == AlertStatus.open
    assert fall_id in [s.id for s in attempt.signals]


def test_a_death_recorded_by_mistake(app, session, world):
    org, caller, manager, senior = world
    attempt, _ = _recorded(session, app, org, caller, Outcome(Disposition.deceased))
    [alert] = _alerts(session)
    assert alert.cause == AlertCause.life_event
    # A manager corrects it two days later.
    _correct(
        session, app, attempt, manager, Outcome(Disposition.reached_ok), NOW + timedelta(days=2)
    )
    session.refresh(alert)
    assert alert.status == AlertStatus.resolved and alert.resolved_by_id == manager.id
    # The senior's record is not changed back by the correction (done on her page).
    assert senior.active is False


def test_a_refusal_found_out_afterwards_is_applied(app, session, world):
    org, caller, _, senior = world
    attempt, _ = _recorded(session, app, org, caller, Outcome(Disposition.reached_ok))
    _correct(session, app, attempt, caller, Outcome(Disposition.refused))
    assert senior.opted_out_phone_at == LATER


def test_a_callback_pending_follows_the_correction(app, session, world):
    org, caller, _, _ = world
    later = Outcome(Disposition.reached_later, callback_at=NOW + timedelta(hours=4))
    attempt, task = _recorded(session, app, org, caller, later)
    assert task.state == TaskState.pending and task.callback_at is not None
    _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok))
    assert (task.state, task.outcome) == (TaskState.done, "reached_ok")


def test_a_closed_call_corrected_to_call_back_later_is_reopened(app, session, world):
    org, caller, _, _ = world
    attempt, task = _recorded(session, app, org, caller, Outcome(Disposition.reached_ok))
    at = NOW + timedelta(hours=3)
    _correct(session, app, attempt, caller, Outcome(Disposition.reached_later, callback_at=at))
    assert (task.state, task.outcome, task.callback_at) == (TaskState.pending, "reached_later", at)


def test_an_unreached_canicule_alert_is_closed_when_she_was_reached(app, session, world):
    org, caller, _, senior = world
    senior.canicule_register = True
    attempt, task = _recorded(
        session,
        app,
        org,
        caller,
        Outcome(Disposition.no_answer),
        kind=CampaignKind.canicule,
        max_attempts=1,
        max_attempts_per_day=1,
    )
    assert task.state == TaskState.failed
    [alert] = _alerts(session)
    assert alert.cause == AlertCause.canicule_unreached

    _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok))

    session.refresh(alert)
    assert alert.status == AlertStatus.resolved and alert.resolution == Resolution.no_action
    assert (task.state, task.outcome) == (TaskState.failed, "reached_ok")
    # The task's fact stays taken: the rules do not raise the same alert again.
    sweep(session, app.config["OUTREACH"], LATER + timedelta(minutes=1))
    assert len(_alerts(session)) == 1


def test_an_older_attempt_does_not_speak_for_its_task(app, session, world):
    org, caller, _, _ = world
    first, task = _recorded(
        session, app, org, caller, Outcome(Disposition.no_answer), retry_delay_minutes=1
    )
    assert task.state == TaskState.pending
    again = claim_next(
        session, [org.id], caller.id, TODAY, NOW + timedelta(minutes=2), claim_minutes=20
    )
    assert again is not None and again.id == task.id
    record_outcome(session, task, caller.id, Outcome(Disposition.reached_ok), LATER, True)
    _correct(session, app, first, caller, Outcome(Disposition.busy), LATER + timedelta(minutes=1))
    assert (task.state, task.outcome, task.disposition) == (
        TaskState.done,
        "reached_ok",
        "reached_ok",
    )


def test_only_staff_calls_and_valid_entries(app, session, world):
    org, caller, _, _ = world
    attempt, _ = _recorded(session, app, org, caller, Outcome(Disposition.reached_ok))
    with pytest.raises(QueueError, match="au moins un signal"):
        _correct(session, app, attempt, caller, Outcome(Disposition.reached_concern))
    with pytest.raises(QueueError, match="bénévoles"):
        correct_outcome(
            session,
            app.config["OUTREACH"],
            attempt,
            caller.id,
            Outcome(Disposition.reached_ok, notes="x"),
            LATER,
            False,
        )
    attempt.channel = "ivr"
    with pytest.raises(QueueError, match="équipe"):
        _correct(session, app, attempt, caller, Outcome(Disposition.reached_ok))


def test_canicule_checks_of_one_kind_are_told_apart_by_their_note(app, session, world):
    org, caller, _, senior = world
    senior.canicule_register = True
    drink = (SignalKind.not_eating_drinking, Severity.concern, "Ne boit pas assez")
    eat = (SignalKind.not_eating_drinking, Severity.concern, "Ne mange pas assez")
    attempt, _ = _recorded(
        session,
        app,
        org,
        caller,
        Outcome(Disposition.reached_concern, signals=[drink, eat]),
        kind=CampaignKind.canicule,
    )
    eating_id = attempt.signals[1].id
    [alert] = _alerts(session)
    assert len(alert.sources) == 2

    _correct(session, app, attempt, caller, Outcome(Disposition.reached_concern, signals=[eat]))

    assert [(s.id, s.note) for s in attempt.signals] == [(eating_id, "Ne mange pas assez")]
    session.refresh(alert)
    assert alert.status == AlertStatus.open
    assert [s.source_id for s in alert.sources] == [eating_id]
