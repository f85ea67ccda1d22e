"""The staff queue: ordering, atomic claims under concurrency, outcomes and retries."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from outreach.calls.models import Attempt, Disposition, Severity, Signal, SignalKind
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, TaskState
from outreach.campaigns.operations import activate_canicule, create_campaign, set_state
from outreach.db import session_scope
from outreach.queue.operations import QueueError, claim_next, expire_claims
from outreach.queue.recording import Outcome, record_outcome
from tests.factories import make_org, make_senior, make_user

pytestmark = pytest.mark.date_sensitive

TODAY = date(2026, 6, 8)
NOW = datetime(2026, 6, 8, 8, 0, tzinfo=UTC)  # 10:00 in Paris


def _courtesy(session, org, **kw):
    c = create_campaign(session, org.id, "Courtoisie", CampaignKind.courtesy, **kw)
    set_state(session, c, CampaignState.active, NOW)
    return c


def _claim(session, org, user, now=NOW):
    return claim_next(session, [org.id], user.id, TODAY, now, claim_minutes=20)


def test_canicule_first_then_risk(session):
    org = make_org(session)
    caller = make_user(session, org)
    young = make_senior(session, org, birth_date=date(1958, 1, 1))
    old_alone = make_senior(session, org, birth_date=date(1930, 1, 1), lives_alone=True)
    hot = make_senior(session, org, birth_date=date(1958, 1, 1), canicule_register=True)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    activate_canicule(session, org.id, ["37"], "orange", TODAY, NOW)

    order = []
    while (task := _claim(session, org, caller)) is not None:
        order.append((task.senior_id, task.priority))
    # Canicule tasks (hot, and old_alone who is 75+) before every courtesy task; within
    # each priority the most fragile first. old_alone is in both campaigns: she is handed
    # out once, by the canicule campaign, her courtesy task waiting behind it.
    priorities = [p for _, p in order]
    assert priorities == sorted(priorities)
    assert [s for s, p in order if p == 0] == [old_alone.id, hot.id]
    assert [s for s, p in order if p == 100] == [young.id]


def test_no_one_else_gets_a_claimed_task_until_it_expires(session):
    org = make_org(session)
    a, b = make_user(session, org), make_user(session, org)
    make_senior(session, org)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    task = _claim(session, org, a)
    assert task is not None and task.claimed_by_id == a.id
    assert _claim(session, org, b) is None
    later = NOW + timedelta(minutes=21)
    assert expire_claims(session, later) == 1
    again = _claim(session, org, b, now=later)
    assert again is not None and again.id == task.id and again.claimed_by_id == b.id


def test_reached_ok_is_done_and_no_answer_is_retried_then_failed(session):
    org = make_org(session)
    caller = make_user(session, org)
    make_senior(session, org)
    make_senior(session, org)
    _courtesy(session, org, max_attempts=2, retry_delay_minutes=30)
    generate_day(session, TODAY, NOW)

    t1 = _claim(session, org, caller)
    record_outcome(session, t1, caller.id, Outcome(Disposition.reached_ok), NOW, True)
    assert t1.state == TaskState.done

    t2 = _claim(session, org, caller)
    record_outcome(session, t2, caller.id, Outcome(Disposition.no_answer), NOW, True)
    assert t2.state == TaskState.pending
    assert _claim(session, org, caller) is None  # not before the retry delay
    later = NOW + timedelta(minutes=31)
    t2b = _claim(session, org, caller, now=later)
    assert t2b.id == t2.id
    record_outcome(session, t2b, caller.id, Outcome(Disposition.busy), later, True)
    assert t2.state == TaskState.failed
    attempts = session.scalars(select(Attempt).where(Attempt.task_id == t2.id)).all()
    assert [a.disposition for a in attempts] == [Disposition.no_answer, Disposition.busy]


def test_daily_attempt_limit_moves_courtesy_to_tomorrow(session):
    org = make_org(session)
    caller = make_user(session, org)
    make_senior(session, org)
    _courtesy(session, org, max_attempts=5, max_attempts_per_day=1)
    generate_day(session, TODAY, NOW)
    t = _claim(session, org, caller)
    record_outcome(session, t, caller.id, Outcome(Disposition.no_answer), NOW, True)
    assert t.state == TaskState.pending
    assert t.not_before.astimezone(UTC) == datetime(2026, 6, 8, 22, 0, tzinfo=UTC)  # 0h Paris


def test_signals_notes_callback_and_absence(session):
    org = make_org(session)
    caller = make_user(session, org)
    senior = make_senior(session, org)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    t = _claim(session, org, caller)
    callback = NOW + timedelta(hours=3)
    outcome = Outcome(
        Disposition.reached_concern,
        signals=[(SignalKind.fall, Severity.urgent, "chute hier")],
        notes="Fille prévenue.",
        callback_at=callback,
        callback_for_me=True,
    )
    attempt = record_outcome(session, t, caller.id, outcome, NOW, True)
    sig = session.scalar(select(Signal).where(Signal.attempt_id == attempt.id))
    assert (sig.kind, sig.severity, sig.senior_id) == (SignalKind.fall, Severity.urgent, senior.id)
    assert attempt.notes == "Fille prévenue."
    assert t.state == TaskState.pending and t.callback_at == callback and t.priority == 10
    other = make_user(session, org)
    assert _claim(session, org, other, now=callback + timedelta(minutes=1)) is None
    assert _claim(session, org, caller, now=callback + timedelta(minutes=1)).id == t.id

    t2 = t
    record_outcome(
        session,
        t2,
        caller.id,
        Outcome(Disposition.absent, absent_until=date(2026, 6, 30)),
        callback + timedelta(minutes=2),
        True,
    )
    assert senior.paused_until == date(2026, 6, 30)
    assert t2.state == TaskState.done


def test_outcome_refused_when_not_claimed_or_volunteer_note(session):
    org = make_org(session)
    a, b = make_user(session, org), make_user(session, org, "volunteer")
    make_senior(session, org)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    t = _claim(session, org, a)
    with pytest.raises(QueueError):
        record_outcome(session, t, b.id, Outcome(Disposition.reached_ok), NOW, True)
    with pytest.raises(QueueError):
        record_outcome(session, t, a.id, Outcome(Disposition.reached_ok, notes="x"), NOW, False)
    with pytest.raises(QueueError):
        record_outcome(
            session,
            t,
            a.id,
            Outcome(Disposition.no_answer, callback_at=NOW - timedelta(1)),
            NOW,
            True,
        )


def test_deceased_marks_the_senior_as_left(session):
    org = make_org(session)
    caller = make_user(session, org)
    senior = make_senior(session, org)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    t = _claim(session, org, caller)
    record_outcome(session, t, caller.id, Outcome(Disposition.deceased), NOW, True)
    assert senior.active is False and senior.left_reason == "deceased"


def test_twenty_callers_never_get_the_same_senior(app, session, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent claims are a PostgreSQL matter (SQLite has one writer)")
    org = make_org(session)
    callers = [make_user(session, org) for _ in range(20)]
    for _ in range(30):
        make_senior(session, org)
    _courtesy(session, org)
    generate_day(session, TODAY, NOW)
    session.commit()
    org_id, ids = org.id, [c.id for c in callers]

    barrier = threading.Barrier(20)
    claimed: list[int | None] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(user_id: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                with session_scope() as s:
                    task = claim_next(s, [org_id], user_id, TODAY, NOW, 20)
                    with lock:
                        claimed.append(task.senior_id if task else None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    got = [c for c in claimed if c is not None]
    assert len(got) == 20
    assert len(set(got)) == 20
