"""Door-knocks asked by the levée de doute alert, and what each outcome does to the alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.calls.models import Severity
from outreach.doorknock import operations as ops
from outreach.doorknock.models import DoorKnock, KnockOutcome, KnockState
from outreach.escalation.models import Alert, AlertCause, AlertEvent, AlertStatus, Resolution
from outreach.escalation.operations import raise_alert, resolve
from outreach.notifications.models import Notification
from tests.doorknock.helpers import NOW, TILLEULS, canicule_alert, world
from tests.factories import make_user


@pytest.fixture
def config(app):
    return app.config["OUTREACH"]


def _knocks(session):
    return session.scalars(select(DoorKnock).order_by(DoorKnock.id)).all()


def test_a_canicule_alert_asks_one_knock_once(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    (knock,) = _knocks(session)
    assert (knock.alert_id, knock.residence, knock.state) == (alert.id, TILLEULS, KnockState.open)
    assert knock.due_at == alert.due_at
    # The rule again on another fact of the day joins the alert; asking again changes nothing.
    canicule_alert(session, config, w.senior, source_id=2)
    assert ops.request_for_alert(session, alert, NOW, config) is knock
    assert len(_knocks(session)) == 1
    # The gardien of the residence is told, by e-mail and SMS, without the senior's name.
    notes = session.scalars(select(Notification).where(Notification.user_id == w.gardien.id))
    sent = {(n.channel, n.recipient): n.body for n in notes}
    assert set(sent) == {("email", w.gardien.email), ("sms", w.gardien.phone)}
    assert all(w.senior.last_name not in body and TILLEULS in body for body in sent.values())


def test_other_alerts_ask_no_knock(session, config):
    w = world(session)
    raise_alert(session, config, senior=w.senior, cause=AlertCause.urgent_signal,
                severity=Severity.urgent, source=("signal", 1), summary="Chute",
                now=NOW)  # fmt: skip
    assert _knocks(session) == []


def test_seen_well_closes_the_alert_as_a_home_visit(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    (knock,) = _knocks(session)
    ops.record(session, knock, KnockOutcome.seen_well, w.gardien, " volets  fermés ", NOW, config)
    assert (knock.state, knock.outcome, knock.done_by_id) == (
        KnockState.done, KnockOutcome.seen_well, w.gardien.id)  # fmt: skip
    assert knock.note == "volets fermés"
    assert alert.status == AlertStatus.resolved
    assert alert.resolution == Resolution.home_visit
    assert "vu(e), va bien" in alert.resolution_note.lower()
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "doorknock"))
    assert audit.entity_id == w.senior.id and audit.details["outcome"] == "seen_well"
    with pytest.raises(ops.DoorKnockError):
        ops.record(session, knock, KnockOutcome.no_answer, w.gardien, None, NOW, config)


def test_seen_unwell_makes_the_alert_urgent_now_and_tells_the_referent(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    alert.due_at = NOW + timedelta(hours=5)
    (knock,) = _knocks(session)
    later = NOW + timedelta(minutes=20)
    ops.record(session, knock, KnockOutcome.seen_unwell, w.gardien, "très fatiguée", later, config)
    assert knock.state == KnockState.done
    assert alert.status == AlertStatus.open and alert.severity == Severity.urgent
    minutes = config["escalation"]["urgent_due_minutes"]
    assert alert.due_at == later + timedelta(minutes=minutes)
    actions = session.scalars(select(AlertEvent.action).where(AlertEvent.alert_id == alert.id))
    assert "knock_seen_unwell" in list(actions)
    told = session.scalars(select(Notification.recipient).where(
        Notification.dedupe_key.like(f"knock-seen_unwell:{knock.id}:%")))  # fmt: skip
    assert set(told) == {w.referent.email, w.org.on_duty_phone}


def test_seen_unwell_after_the_alert_was_closed_opens_an_urgent_one(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    (knock,) = _knocks(session)
    alert.status = AlertStatus.resolved  # closed without the knock (and without cancelling it)
    ops.record(session, knock, KnockOutcome.seen_unwell, w.gardien, None, NOW, config)
    new = session.scalar(select(Alert).where(Alert.status == AlertStatus.open))
    assert (new.cause, new.severity, new.referent_id) == (
        AlertCause.urgent_signal, Severity.urgent, w.referent.id)  # fmt: skip


def test_no_answer_keeps_both_open_and_tells_whom_to_inform(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    (knock,) = _knocks(session)
    ops.record(session, knock, KnockOutcome.no_answer, w.gardien, None, NOW, config)
    assert (knock.state, knock.outcome) == (KnockState.open, KnockOutcome.no_answer)
    assert alert.status == AlertStatus.open
    told = session.scalars(select(Notification.recipient).where(
        Notification.dedupe_key.like(f"knock-no_answer:{knock.id}:%")))  # fmt: skip
    assert set(told) == {w.referent.email, w.org.on_duty_phone}
    # A second visit finds her well: closed.
    ops.record(session, knock, KnockOutcome.seen_well, w.gardien, None, NOW, config)
    assert alert.status == AlertStatus.resolved
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "doorknock")
        )
        == 2
    )


def test_an_alert_settled_otherwise_cancels_its_open_knock(session, config):
    w = world(session)
    alert = canicule_alert(session, config, w.senior)
    (knock,) = _knocks(session)
    resolve(session, alert, Resolution.phoned_back, "Elle a rappelé", w.referent.id, NOW)
    assert knock.state == KnockState.cancelled
    with pytest.raises(ops.DoorKnockError):
        ops.record(session, knock, KnockOutcome.seen_well, w.gardien, None, NOW, config)


def test_without_proximity_staff_the_managers_are_asked(session, config):
    w = world(session)
    w.senior.residence = "Résidence sans gardien"
    manager = make_user(session, w.org, "manager")
    canicule_alert(session, config, w.senior)
    recipients = set(session.scalars(select(Notification.recipient)))
    assert manager.email in recipients and w.gardien.email not in recipients
