"""Each rule that opens an alert, one alert per senior and cause, due times by severity,
and notifications sent once across re-runs and concurrent runs."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt, Disposition, Severity, Signal, SignalKind
from outreach.calls.outcomes import of_disposition
from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.escalation.models import Alert, AlertCause, AlertEvent, AlertStatus, Resolution
from outreach.escalation.notify import morning_digest, notify_alerts
from outreach.escalation.operations import (
    AlertError,
    acknowledge,
    add_working_days,
    resolve,
)
from outreach.escalation.rules import sweep
from outreach.notifications.mail import ConsoleMailer
from outreach.notifications.models import Notification
from outreach.notifications.operations import send_pending
from tests.factories import make_org, make_senior, make_user

pytestmark = pytest.mark.date_sensitive

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10h in Paris


@pytest.fixture
def world(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    worker = make_user(session, org, "social_worker")
    senior = make_senior(session, org, referent_id=worker.id, external_ref="VTH-0042")
    session.commit()
    return org, worker, senior


def _config(app):
    return app.config["OUTREACH"]


def _attempt(session, senior, disposition=Disposition.reached_concern, at=NOW, task_id=None):
    attempt = Attempt(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        task_id=task_id,
        channel="staff",
        started_at=at,
        ended_at=at,
        disposition=disposition,
    )
    session.add(attempt)
    session.flush()
    return attempt


def _signal(session, senior, kind=SignalKind.fall, severity=Severity.urgent, at=NOW):
    attempt = _attempt(session, senior, at=at)
    signal = Signal(
        organisation_id=senior.organisation_id,
        attempt_id=attempt.id,
        senior_id=senior.id,
        kind=kind,
        severity=severity,
        created_at=at,
    )
    session.add(signal)
    session.flush()
    return signal


def _alerts(session):
    return session.scalars(select(Alert).order_by(Alert.id)).all()


def test_an_urgent_signal_opens_an_urgent_alert_for_the_referent(app, session, world):
    org, worker, senior = world
    _signal(session, senior)
    assert sweep(session, _config(app), NOW) == 1
    (alert,) = _alerts(session)
    assert (alert.cause, alert.severity, alert.status) == (
        AlertCause.urgent_signal,
        Severity.urgent,
        AlertStatus.open,
    )
    assert alert.referent_id == worker.id
    assert alert.due_at == NOW + timedelta(minutes=60)
    assert "chute" in alert.summary
    assert [e.action for e in alert.events] == ["opened"]


def test_new_signals_join_the_open_alert_and_a_rerun_changes_nothing(app, session, world):
    _, _, senior = world
    _signal(session, senior, SignalKind.fall)
    sweep(session, _config(app), NOW)
    _signal(session, senior, SignalKind.heat_distress, at=NOW + timedelta(minutes=5))
    assert sweep(session, _config(app), NOW + timedelta(minutes=6)) == 0
    assert sweep(session, _config(app), NOW + timedelta(minutes=7)) == 0
    (alert,) = _alerts(session)
    assert len(alert.sources) == 2
    assert [e.action for e in alert.events] == ["opened", "joined"]
    # Once resolved, the next signal opens a new alert.
    resolve(session, alert, Resolution.phoned_back, "rappelée", None, NOW + timedelta(hours=1))
    _signal(session, senior, SignalKind.fall, at=NOW + timedelta(hours=2))
    assert sweep(session, _config(app), NOW + timedelta(hours=2)) == 1
    assert len(_alerts(session)) == 2


def test_a_concern_signal_is_due_in_two_working_days(app, session, world):
    _, _, senior = world
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    _signal(session, senior, SignalKind.isolation, Severity.concern, at=friday)
    sweep(session, _config(app), friday)
    (alert,) = _alerts(session)
    assert alert.cause == AlertCause.concern_signal
    # Friday 16h in Paris + 2 working days = Tuesday 16h.
    assert alert.due_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_working_days_skip_public_holidays():
    # Thursday 24 December 2026 + 1 working day: Friday 25 is Christmas, so Monday 28.
    start = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert add_working_days(start, 1).date() == date(2026, 12, 28)
    # In Alsace-Moselle 26 December is a holiday too (a Saturday here: no change).
    assert add_working_days(start, 1, "67").date() == date(2026, 12, 28)


def test_info_signals_open_nothing_and_severities_are_configurable(app, session, world):
    _, _, senior = world
    _signal(session, senior, SignalKind.other, Severity.info)
    _signal(session, senior, SignalKind.isolation, Severity.concern)
    config = {
        **_config(app),
        "escalation": {**_config(app)["escalation"], "signal_severities": ["urgent"]},
    }
    assert sweep(session, config, NOW) == 0
    assert sweep(session, _config(app), NOW) == 1


def test_a_life_event_disposition_informs_the_referent(app, session, world):
    _, _, senior = world
    _attempt(session, senior, Disposition.deceased)
    _attempt(session, senior, Disposition.reached_ok)
    sweep(session, _config(app), NOW)
    (alert,) = _alerts(session)
    assert (alert.cause, alert.severity) == (AlertCause.life_event, Severity.info)
    assert alert.due_at == NOW + timedelta(days=7)


def _campaign(session, org, kind):
    campaign = Campaign(organisation_id=org.id, name=kind, kind=kind, state="active", script=kind)
    session.add(campaign)
    session.flush()
    return campaign


def _task(session, campaign, senior, day, state, disposition=None):
    task = Task(
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.id,
        senior_id=senior.id,
        due_date=day,
        state=state,
        channel="staff",
        disposition=disposition,
        outcome=of_disposition(disposition) if disposition else None,
        completed_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=17),
    )
    session.add(task)
    session.flush()
    return task


def test_a_canicule_senior_unreached_after_the_last_attempt_is_urgent(app, session, world):
    org, _, senior = world
    senior.emergency_contacts  # noqa: B018 - loaded for the page, not needed here
    canicule = _campaign(session, org, CampaignKind.canicule)
    task = _task(session, canicule, senior, NOW.date(), TaskState.failed, "no_answer")
    reached = make_senior(session, org)
    _task(session, canicule, reached, NOW.date(), TaskState.done, "reached_ok")
    sweep(session, _config(app), NOW + timedelta(hours=9))
    (alert,) = _alerts(session)
    assert (alert.cause, alert.severity) == (AlertCause.canicule_unreached, Severity.urgent)
    assert "levée de doute" in alert.summary
    assert alert.sources[0].kind == "task" and alert.sources[0].source_id == task.id


def test_three_unreached_courtesy_cycles_in_a_row_open_a_concern(app, session, world):
    org, _, senior = world
    courtesy = _campaign(session, org, CampaignKind.courtesy)
    day = NOW.date()
    _task(session, courtesy, senior, day - timedelta(days=21), TaskState.done, "reached_ok")
    _task(session, courtesy, senior, day - timedelta(days=14), TaskState.failed, "no_answer")
    _task(session, courtesy, senior, day - timedelta(days=7), TaskState.failed, "busy")
    # Two unreached cycles: nothing yet.
    assert sweep(session, _config(app), NOW - timedelta(days=7) + timedelta(hours=10)) == 0
    _task(session, courtesy, senior, day, TaskState.failed, "no_answer")
    assert sweep(session, _config(app), NOW + timedelta(hours=10)) == 1
    (alert,) = _alerts(session)
    assert (alert.cause, alert.severity) == (AlertCause.courtesy_unreached, Severity.concern)


def test_acknowledge_and_resolve_follow_the_states(app, session, world):
    _, worker, senior = world
    _signal(session, senior)
    sweep(session, _config(app), NOW)
    (alert,) = _alerts(session)
    assert acknowledge(session, alert, worker.id, NOW) is True
    assert acknowledge(session, alert, worker.id, NOW) is False
    with pytest.raises(AlertError):
        resolve(session, alert, Resolution.partner_referral, None, worker.id, NOW)
    resolve(session, alert, Resolution.home_visit, "visite faite", worker.id, NOW)
    assert alert.status == AlertStatus.resolved and alert.resolved_by_id == worker.id
    with pytest.raises(AlertError):
        resolve(session, alert, Resolution.no_action, None, worker.id, NOW)
    assert [e.action for e in alert.events] == ["opened", "acknowledged", "resolved"]


def test_notifications_are_sent_once_across_reruns(app, session, world):
    org, worker, senior = world
    manager = make_user(session, org, "manager")
    org.on_duty_phone = "+33612000000"
    _signal(session, senior)
    sweep(session, _config(app), NOW)
    session.commit()
    config = _config(app)
    for minute in range(3):  # the job runs every minute
        notify_alerts(session, config, NOW + timedelta(minutes=minute))
    mailer, texts = ConsoleMailer("test@localhost", stream=io.StringIO()), []
    assert send_pending(session, mailer, lambda to, body: texts.append((to, body)), NOW) == 2
    assert [m[0] for m in mailer.sent] == [worker.email]
    assert "VTH-0042" in mailer.sent[0][1] and senior.last_name not in mailer.sent[0][2]
    assert [t[0] for t in texts] == ["+33612000000"]
    # Past due: a reminder to the referent; an hour later, the managers; each once.
    for minutes in (61, 62, 125, 126):
        notify_alerts(session, config, NOW + timedelta(minutes=minutes))
    send_pending(session, mailer, lambda to, body: texts.append((to, body)), NOW)
    assert [m[0] for m in mailer.sent] == [worker.email, worker.email, manager.email]
    assert (
        session.scalar(select(func.count(AlertEvent.id)).where(AlertEvent.action == "escalated"))
        == 1
    )
    assert send_pending(session, mailer, lambda *a: None, NOW) == 0


def test_the_morning_digest_goes_once_a_day(app, session, world):
    _, worker, senior = world
    _signal(session, senior)
    sweep(session, _config(app), NOW)
    assert morning_digest(session, _config(app), NOW) == 1
    assert morning_digest(session, _config(app), NOW + timedelta(minutes=30)) == 0
    assert morning_digest(session, _config(app), NOW + timedelta(days=1)) == 1
    bodies = session.scalars(
        select(Notification.body).where(Notification.dedupe_key.like("digest:%"))
    )
    assert all("VTH-0042" in b for b in bodies)


def test_concurrent_signals_open_one_alert(app, session, world, database_url):
    """Two workers handle two signals of the same senior at the same moment (PostgreSQL)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite has one writer)")
    _, _, senior = world
    for kind in (SignalKind.fall, SignalKind.heat_distress, SignalKind.memory_confusion):
        _signal(session, senior, kind)
    session.commit()
    maker = app.extensions["outreach.sessionmaker"]
    barrier = threading.Barrier(3)
    errors = []

    def work(senior_id):
        try:
            with app.app_context(), maker() as s:
                barrier.wait()
                sweep(s, _config(app), NOW, senior_id=senior_id)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(senior.id,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    session.expire_all()
    (alert,) = _alerts(session)
    assert len(alert.sources) == 3
