"""Correcting what a staff call established: the author for a while, a manager at any time.

A correction replaces the attempt's disposition, outcome, notes and signals, and the rest of
the system follows it as if the call had been recorded so in the first place, as far as
that can be done after the fact:

- the task: a closed task keeps its state and takes the corrected outcome
  (``lifecycle.correct``); an open one (a callback or a retry pending) moves as
  ``record_outcome`` would have moved it; only the task's last attempt speaks for it;
- the senior: a refusal, a death or an absence the call did not hold before is applied; one
  it held is not undone (an opt-out or a death is undone on the senior's page, on purpose);
- escalation: alerts that rested only on withdrawn facts are closed, "no action needed",
  with the reason; then the rules run, so that new signals open or join their alerts.

The audit keeps the old and new values (codes only, never the note's text).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.calls import labels, outcomes
from outreach.calls.models import (
    RETRY_DISPOSITIONS,
    Attempt,
    AttemptChannel,
    Disposition,
    Severity,
    Signal,
    SignalKind,
)
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Task, TaskState
from outreach.campaigns.schedule import PARIS
from outreach.escalation.operations import close_after_correction
from outreach.escalation.rules import UNREACHED, sweep
from outreach.queue.operations import QueueError
from outreach.queue.recording import Outcome, apply_life_events, check_entry
from outreach.roster.models import Senior

# Outcomes that tell how she is: an alert for being unreached no longer stands. (A wrong
# number does not: nobody knows yet.)
KNOWN = outcomes.REACHED | {
    outcomes.Outcome.refused,
    outcomes.Outcome.absent,
    outcomes.Outcome.deceased,
}


def may_correct(attempt: Attempt, user: Any, is_manager: bool, now: datetime, minutes: int) -> bool:
    """Whether ``user`` may correct this attempt: a staff call, by its author within
    ``minutes`` of the call, or by a manager (or admin) of its organisation at any time.

    ``is_manager`` is the caller's answer for the attempt's organisation; ``user`` is a
    user (or a user id)."""
    if attempt.channel != AttemptChannel.staff or attempt.disposition is None:
        return False
    if is_manager:
        return True
    user_id = getattr(user, "id", user)
    if user_id is None or attempt.user_id != user_id:
        return False
    # From the call itself: a correction does not extend the window.
    return now - attempt.started_at <= timedelta(minutes=minutes)


def _snapshot(attempt: Attempt) -> dict[str, Any]:
    return {
        "disposition": attempt.disposition.value if attempt.disposition else None,
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "signals": [[s.kind.value, s.severity.value] for s in attempt.signals],
    }


def _replace_signals(
    attempt: Attempt, wanted: list[tuple[SignalKind, Severity, str | None]], now: datetime
) -> tuple[list[Signal], list[Signal]]:
    """Keep the signals entered again (same kind and severity: their alert stays as it is,
    only the note follows), return (removed, added). Removed rows are left in
    ``attempt.signals`` for the caller to take out once escalation has let them go."""
    left = [(SignalKind(k), Severity(s), n) for k, s, n in wanted]
    unmatched = list(attempt.signals)
    # The same entry first (a canicule check is told apart by its note), then the same
    # kind and severity with another note.
    for same_note in (True, False):
        for signal in list(unmatched):
            for entry in left:
                if (entry[0], entry[1]) == (signal.kind, signal.severity) and (
                    entry[2] == signal.note or not same_note
                ):
                    signal.note = entry[2]
                    left.remove(entry)
                    unmatched.remove(signal)
                    break
    added = [
        # Dated now: the rules look at recent signals, and these are new to them.
        Signal(
            organisation_id=attempt.organisation_id,
            senior_id=attempt.senior_id,
            kind=kind,
            severity=severity,
            note=note,
            created_at=now,
        )
        for kind, severity, note in left
    ]
    return unmatched, added


def _is_last_attempt(session: Session, attempt: Attempt, task: Task) -> bool:
    last = session.scalar(select(func.max(Attempt.id)).where(Attempt.task_id == task.id))
    return last == attempt.id


def _follow_task(session: Session, task: Task, new: Outcome, user_id: int, now: datetime) -> None:
    """The task takes the corrected outcome (the caller checked it is the task's last
    attempt)."""
    result = outcomes.of_disposition(new.disposition)
    final = new.disposition in (Disposition.deceased, Disposition.refused)
    callback = new.callback_at if not final else None
    if task.state in lifecycle.CLOSED:
        if callback is not None:
            # "Rappeler plus tard" was the senior's own request: it must reach a person.
            lifecycle.reopen_for_request(session, task, now, lifecycle.CALLBACK_PRIORITY)
            _schedule(task, new, callback, user_id)
            task.outcome, task.disposition = result, new.disposition.value
        else:
            # The state stays: a task closed "done" whose corrected outcome is unreached
            # stays done (no retry is planned after the fact; the next cycle calls her
            # again), and one closed "failed" whose corrected outcome is reached stays
            # failed, its "unreached" alert closed by the caller.
            lifecycle.correct(session, task, result, new.disposition.value, now)
        return
    task.outcome, task.disposition = result, new.disposition.value
    if task.state != TaskState.pending:
        return  # someone holds it right now: their own outcome will move it
    if callback is not None:
        _schedule(task, new, callback, user_id)
    elif new.disposition not in RETRY_DISPOSITIONS:
        # Reached after all (or refused, absent...): nothing left to call back for.
        lifecycle.close(session, task, TaskState.done, now, outcome=result)
    # A retry disposition: the retry or callback already planned stays.


def _schedule(task: Task, new: Outcome, at: datetime, user_id: int) -> None:
    lifecycle.schedule_callback(
        task,
        at,
        at.astimezone(PARIS).date(),
        for_user=user_id if new.callback_for_me else None,
        priority=lifecycle.CALLBACK_PRIORITY,
    )


def _reason(attempt: Attempt, old: dict[str, Any], removed: list[Signal]) -> str:
    """Why alerts close: what the call was recorded as, and what it was corrected to."""
    when = attempt.started_at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
    text = (
        f"appel du {when} enregistré « {outcomes.label(old['outcome'])} », "
        f"corrigé en « {outcomes.label(attempt.outcome)} »"
    )
    if removed:
        names = sorted({labels.ALL["signal"].get(s.kind, s.kind).lower() for s in removed})
        text += " ; signal retiré : " + ", ".join(names)
    return text


def correct_outcome(
    session: Session,
    config: dict[str, dict[str, Any]],
    attempt: Attempt,
    user_id: int,
    new: Outcome,
    now: datetime,
    may_write_notes: bool,
) -> Attempt:
    """Replace what a staff call established by ``new`` and let the task, the senior and
    the alerts follow (see the module's docstring). Whether ``user_id`` may correct it is
    the caller's check (``may_correct``). Flushes, never commits."""
    if attempt.channel != AttemptChannel.staff:
        raise QueueError("seuls les appels passés par l'équipe se corrigent ici")
    check_entry(new, now, may_write_notes)
    senior = session.get(Senior, attempt.senior_id)
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    assert senior is not None
    old = _snapshot(attempt)
    old_disposition = attempt.disposition
    old_notes = attempt.notes
    leads_task = task is not None and _is_last_attempt(session, attempt, task)

    removed, added = _replace_signals(attempt, new.signals, now)
    attempt.disposition = new.disposition
    attempt.outcome = outcomes.of_disposition(new.disposition)
    if may_write_notes:  # a volunteer's form has no note: what she cannot see is kept
        attempt.notes = (new.notes or "").strip() or None

    # Escalation first withdraws the facts that no longer hold, before new signals are
    # added (a new signal may get a removed one's id on SQLite).
    withdrawn = {("signal", s.id) for s in removed}
    if new.disposition != old_disposition:
        withdrawn.add(("attempt", attempt.id))  # a death or an absence that was not one
    drop = set(withdrawn)
    if leads_task and task is not None and task.state in UNREACHED and attempt.outcome in KNOWN:
        # She was reached after all: the "unreached" alert was a mistake. The task stays
        # failed, so its source row stays too, or the rules would raise the alert again.
        withdrawn.add(("task", task.id))
    closed = close_after_correction(
        session, withdrawn, drop, _reason(attempt, old, removed), user_id, now
    )
    for signal in removed:
        attempt.signals.remove(signal)
    session.flush()
    attempt.signals.extend(added)
    session.flush()

    if leads_task and task is not None:
        _follow_task(session, task, new, user_id, now)
    if new.disposition != old_disposition or (
        new.absent_until is not None and new.absent_until != senior.paused_until
    ):
        apply_life_events(session, senior, attempt, new.absent_until, user_id, now)
    opened = sweep(session, config, now, senior_id=senior.id)
    record(
        session,
        action="outcome_corrected",
        entity="attempt",
        entity_id=attempt.id,
        organisation_id=attempt.organisation_id,
        user_id=user_id,
        details={
            "old": old,
            "new": _snapshot(attempt),
            "notes_changed": attempt.notes != old_notes,
            "task": task.id if task is not None else None,
            "alerts_closed": [a.id for a in closed],
            "alerts_opened": opened,
        },
    )
    session.flush()
    return attempt
