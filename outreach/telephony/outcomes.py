"""What an automated call or SMS means for its task: done, a retry, or a person's turn.

- pressed 1 / replied OK: reached, the task is done;
- pressed 2 / replied AIDE: reached, the task becomes a staff callback for today;
- pressed 3 (canicule): an urgent signal, and the task becomes the first staff callback;
- no contact (no answer, busy, machine, nothing pressed, undelivered): retried by the
  campaign's policy; once the limits are reached, an ``ivr_then_staff`` task goes to the
  staff queue, any other ends ``escalated`` (for the alert rules) or ``failed`` (SMS).

Functions here change a task only while it is still waiting on the automated channel
(``queued`` or, for a late result, ``pending`` on its automated channel), so a result that
arrives twice or after a person took over changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Severity, Signal, SignalKind
from outreach.campaigns.generation import PRIORITY
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task, TaskState
from outreach.campaigns.retries import schedule_retry
from outreach.queue.operations import CALLBACK_PRIORITY

# A callback ranks as in the staff queue's own callbacks; "help now" as a canicule call.
HELP_PRIORITY = PRIORITY[CampaignKind.canicule]

OK, CALLBACK, HELP, NO_CONTACT = "ok", "callback", "help", "no_contact"


def _automated(task: Task | None) -> bool:
    return (
        task is not None
        and task.channel in (ChannelPolicy.ivr, ChannelPolicy.sms)
        and task.state in (TaskState.queued, TaskState.pending)
    )


def to_staff(
    task: Task, now: datetime, priority: int | None = None, callback: bool = False
) -> None:
    """Hand a task over to the staff queue for today, with a fresh retry budget."""
    task.channel = ChannelPolicy.staff
    task.state = TaskState.pending
    task.attempts = 0
    task.not_before = None
    task.claimed_by_id = None
    task.claimed_until = None
    if priority is not None:
        task.priority = min(task.priority, priority)
    if callback:
        task.callback_at = now
        task.callback_for_id = None


def apply_result(session: Session, attempt: Attempt, result: str, now: datetime) -> None:
    """Record what an automated contact gave, on the attempt and on its task."""
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    if result == OK:
        attempt.disposition = Disposition.reached_ok
    elif result == CALLBACK:
        attempt.disposition = Disposition.reached_ok
    elif result == HELP:
        attempt.disposition = Disposition.reached_concern
        session.add(
            Signal(
                organisation_id=attempt.organisation_id,
                attempt_id=attempt.id,
                senior_id=attempt.senior_id,
                kind=SignalKind.heat_distress,
                severity=Severity.urgent,
                note="Touche 3 sur l'appel automatique : demande d'aide immédiate",
                created_at=now,
            )
        )
    if not _automated(task):
        session.flush()
        return
    assert task is not None
    if result == OK:
        task.state = TaskState.done
        task.disposition = Disposition.reached_ok.value
        task.completed_at = now
        task.not_before = None
    elif result == CALLBACK:
        task.disposition = Disposition.reached_ok.value
        to_staff(task, now, CALLBACK_PRIORITY, callback=True)
    elif result == HELP:
        task.disposition = Disposition.reached_concern.value
        to_staff(task, now, HELP_PRIORITY, callback=True)
    else:
        _no_contact(session, task, attempt, now)
    session.flush()


def _no_contact(session: Session, task: Task, attempt: Attempt, now: datetime) -> None:
    if task.state != TaskState.queued:
        return  # already rescheduled by an earlier report of the same attempt
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    task.disposition = attempt.disposition.value if attempt.disposition else None
    if schedule_retry(session, task, campaign, now, AttemptChannel(attempt.channel)):
        return
    if campaign.channel_policy == ChannelPolicy.ivr_then_staff:
        to_staff(task, now)
    elif task.channel == ChannelPolicy.ivr:
        task.state = TaskState.escalated
        task.completed_at = now
    else:
        task.state = TaskState.failed
        task.completed_at = now


def is_machine(answered_by: str | None) -> bool:
    """Twilio's AnsweredBy for an answering machine (machine_start, machine_end_*) or fax."""
    return bool(answered_by) and (answered_by.startswith("machine") or answered_by == "fax")


def call_disposition(status: str, answered_by: str | None) -> Disposition:
    """The disposition of a call that ended without a key pressed."""
    if status == "busy":
        return Disposition.busy
    if is_machine(answered_by):
        return Disposition.voicemail
    return Disposition.no_answer
