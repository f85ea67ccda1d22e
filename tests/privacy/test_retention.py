"""Retention: rows just past each limit go (or lose their text), rows just inside stay; a dry
run counts the same and changes nothing; the job and the command report counts only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, AttemptChannel, Severity, Signal, SignalKind
from outreach.cli import cli
from outreach.escalation.models import Alert, AlertCause, AlertEvent, AlertStatus
from outreach.notifications.models import Notification
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.privacy import retention
from outreach.privacy.jobs import apply_retention
from outreach.roster.models import LeftReason, Senior
from outreach.telephony.inbox import WebhookInbox
from outreach.timezone import PARIS
from tests.factories import make_org, make_senior

NOW = datetime(2026, 6, 15, 1, 30, tzinfo=UTC)  # 03:30 in Paris, when the job runs
SETTINGS = {
    "notes_months": 24,
    "details_months": 36,
    "departed_months": 12,
    "payload_days": 30,
    "audit_years": 5,
}
# The limits as a person reads them: 24 months before 15 June 2026, 03:30 Paris...
NOTES = datetime(2024, 6, 15, 3, 30, tzinfo=PARIS)
CALLS = datetime(2023, 6, 15, 3, 30, tzinfo=PARIS)
PAYLOADS = NOW - timedelta(days=30)
AUDIT = datetime(2021, 6, 15, 3, 30, tzinfo=PARIS)
LEFT_BEFORE = date(2025, 6, 15)
JUST = timedelta(minutes=1)


def test_the_limits_are_the_configured_periods_before_now():
    limits = retention.cutoffs(NOW, SETTINGS)
    assert limits["notes"] == NOTES
    assert limits["calls"] == CALLS
    assert limits["payloads"] == PAYLOADS
    assert limits["audit"] == AUDIT
    assert limits["departed"].date() == LEFT_BEFORE


@pytest.fixture
def rows(app, session) -> dict[str, int]:
    """For each category a row just past its limit ("old") and one just inside ("new")."""
    org = make_org(session, "bailleur-retention")
    senior = make_senior(session, org, last_name="Gardee")
    ids: dict[str, int] = {}

    def attempt(name: str, at: datetime, **fields) -> Attempt:
        row = Attempt(organisation_id=org.id, senior_id=senior.id,
                      channel=AttemptChannel.staff, started_at=at, **fields)  # fmt: skip
        row.signals.append(
            Signal(organisation_id=org.id, senior_id=senior.id, kind=SignalKind.isolation,
                   severity=Severity.concern, note="seule depuis l'hiver", created_at=at)
        )  # fmt: skip
        session.add(row)
        session.flush()
        ids[name] = row.id
        return row

    for when, at in (("old", NOTES - JUST), ("new", NOTES + JUST)):
        attempt(f"notes_{when}", at, notes="se sent seule", reply="merci, ça va")
        alert = Alert(organisation_id=org.id, senior_id=senior.id,
                      cause=AlertCause.concern_signal, severity=Severity.concern,
                      summary="Signal : isolement", opened_at=at, due_at=at,
                      status=AlertStatus.resolved, resolved_at=at,
                      resolution_note="visite faite chez elle")  # fmt: skip
        session.add(alert)
        session.flush()
        ids[f"alert_{when}"] = alert.id
        session.add(AlertEvent(alert_id=alert.id, at=at, action="resolved", detail="vue le 3"))
        partner = Partner(organisation_id=org.id, name=f"CCAS {when}", kind=PartnerKind.ccas)
        session.add(partner)
        session.flush()
        referral = Referral(organisation_id=org.id, senior_id=senior.id, partner_id=partner.id,
                            note="portage de repas", created_at=at)  # fmt: skip
        session.add(referral)
        session.flush()
        ids[f"referral_{when}"] = referral.id
    for when, at in (("old", CALLS - JUST), ("new", CALLS + JUST)):
        attempt(f"call_{when}", at, notes="ancienne note")
    for when, left_on in (("old", LEFT_BEFORE - timedelta(days=1)), ("new", LEFT_BEFORE)):
        gone = make_senior(session, org, last_name=f"Partie{when}", active=False,
                           left_reason=LeftReason.moved, left_on=left_on)  # fmt: skip
        ids[f"departed_{when}"] = gone.id
    for when, at in (("old", PAYLOADS - JUST), ("new", PAYLOADS + JUST)):
        note = Notification(dedupe_key=f"n-{when}", channel="email", recipient="a@example.org",
                            subject="Alerte", body="Mme Gardee : alerte", created_at=at,
                            sent_at=at)  # fmt: skip
        session.add(note)
        session.flush()
        ids[f"notification_{when}"] = note.id
    # Unapplied webhook rows stay whatever their age: one may be a STOP.
    stuck = WebhookInbox(kind="sms_inbound", received_at=PAYLOADS - timedelta(days=5),
                         params={"Body": "STOP"}, failed_at=NOW - JUST, tries=40)  # fmt: skip
    session.add(stuck)
    for when, at in (("old", AUDIT - JUST), ("new", AUDIT + JUST)):
        event = AuditEvent(action="view", entity="senior", entity_id=senior.id,
                           organisation_id=org.id, at=at)  # fmt: skip
        session.add(event)
        session.flush()
        ids[f"audit_{when}"] = event.id
    session.commit()
    ids["stuck"] = stuck.id
    return ids


def snapshot(session) -> dict[str, list]:
    """Everything retention may touch, as plain values."""
    session.expire_all()
    return {
        "attempt": session.execute(
            select(Attempt.id, Attempt.notes, Attempt.reply).order_by(Attempt.id)
        ).all(),
        "signal": session.execute(select(Signal.id, Signal.note).order_by(Signal.id)).all(),
        "alert": session.execute(select(Alert.id, Alert.resolution_note).order_by(Alert.id)).all(),
        "alert_event": session.execute(
            select(AlertEvent.id, AlertEvent.detail).order_by(AlertEvent.id)
        ).all(),
        "referral": session.execute(select(Referral.id, Referral.note).order_by(Referral.id)).all(),
        "senior": session.execute(
            select(Senior.id, Senior.last_name, Senior.erased_at).order_by(Senior.id)
        ).all(),
        "notification": session.execute(
            select(Notification.id, Notification.body).order_by(Notification.id)
        ).all(),
        "inbox": session.execute(select(WebhookInbox.id).order_by(WebhookInbox.id)).all(),
        "audit": session.execute(
            select(AuditEvent.id).where(AuditEvent.action == "view").order_by(AuditEvent.id)
        ).all(),
    }


EXPECTED = {"notes": 7, "calls": 1, "departed": 1, "payloads": 1, "audit": 1}


def test_dry_run_counts_and_changes_nothing(app, session, rows):
    before = snapshot(session)
    with app.app_context():
        counts = retention.apply(session, now=NOW, settings=SETTINGS, dry_run=True)
        session.commit()  # even committed, a dry run has changed nothing
    assert counts == EXPECTED
    assert snapshot(session) == before


def test_each_category_goes_past_its_limit_and_not_before(app, session, rows):
    with app.app_context():
        counts = retention.apply(session, now=NOW, settings=SETTINGS)
        session.commit()
    assert counts == EXPECTED
    session.expire_all()

    def attempt(name):
        return session.get(Attempt, rows[name])

    # Notes: stripped past 24 months, the rows stay.
    old, new = attempt("notes_old"), attempt("notes_new")
    assert (old.notes, old.reply) == (None, None)
    assert (new.notes, new.reply) == ("se sent seule", "merci, ça va")
    assert [s.note for s in old.signals] == [None]
    assert [s.note for s in new.signals] == ["seule depuis l'hiver"]
    assert session.get(Alert, rows["alert_old"]).resolution_note is None
    assert session.get(Alert, rows["alert_new"]).resolution_note == "visite faite chez elle"
    details = dict(session.execute(select(AlertEvent.alert_id, AlertEvent.detail)).all())
    assert details == {rows["alert_old"]: None, rows["alert_new"]: "vue le 3"}
    assert session.get(Referral, rows["referral_old"]).note is None
    assert session.get(Referral, rows["referral_new"]).note == "portage de repas"
    # Calls and SMS: deleted past 36 months, with their signals.
    assert attempt("call_old") is None
    assert session.scalars(select(Signal).where(Signal.attempt_id == rows["call_old"])).all() == []
    assert attempt("call_new") is not None and attempt("call_new").notes is None  # > 24 months
    # Departed: erased past 12 months after the day she left.
    assert session.get(Senior, rows["departed_old"]).erased_at is not None
    gone = session.get(Senior, rows["departed_new"])
    assert gone.erased_at is None and gone.last_name == "Partienew"
    # Payloads: the body of what was sent goes, the row (and its dedupe key) stays.
    assert session.get(Notification, rows["notification_old"]).body == ""
    assert session.get(Notification, rows["notification_new"]).body == "Mme Gardee : alerte"
    assert session.get(WebhookInbox, rows["stuck"]) is not None
    # Audit: deleted past 5 years.
    assert session.get(AuditEvent, rows["audit_old"]) is None
    assert session.get(AuditEvent, rows["audit_new"]) is not None
    # A second run finds nothing more.
    with app.app_context():
        again = retention.apply(session, now=NOW, settings=SETTINGS)
    assert again == dict.fromkeys(EXPECTED, 0)


def test_the_job_is_registered_and_reports_counts_only(app, session, rows):
    from outreach.scheduling.registry import load_jobs

    job = load_jobs()["retention"]
    assert (job.trigger, job.trigger_args) == ("cron", {"hour": 3, "minute": 30})
    with app.app_context():
        line = apply_retention(session, NOW)
    assert line == "retention: notes 7, calls 1, departed 1, payloads 1, audit 1"


def test_the_command_dry_run_tells_and_changes_nothing(app, session, rows):
    before = snapshot(session)
    session.rollback()
    result = CliRunner().invoke(
        cli, ["retention", "--dry-run"], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    assert "would go:" in result.output and "nothing was changed" in result.output
    assert "Gardee" not in result.output
    assert snapshot(session) == before


def test_a_door_knocks_note_goes_with_the_other_notes(app, session):
    from outreach.doorknock.models import DoorKnock

    org = make_org(session)
    senior = make_senior(session, org)
    old, new = (
        DoorKnock(organisation_id=org.id, senior_id=senior.id, due_at=at, created_at=at,
                  note="trouvée assise, confuse")
        for at in (NOW - timedelta(days=25 * 31), NOW - timedelta(days=30))
    )  # fmt: skip
    session.add_all([old, new])
    session.commit()
    with app.app_context():
        counts = retention.apply(session, now=NOW, settings=SETTINGS)
        session.commit()
    assert counts["notes"] == 1
    session.expire_all()
    assert session.get(DoorKnock, old.id).note is None
    assert session.get(DoorKnock, new.id).note == "trouvée assise, confuse"
