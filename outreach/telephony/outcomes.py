"""What an automated call or SMS establishes for its task (DESIGN.md, calls.outcomes).

- pressed 1 / replied OK, OUI: ``reached_ok``, the task is done;
- pressed 2 / replied RAPPEL: ``callback_requested``, a staff callback today, high in the
  queue;
- pressed 3 / replied AIDE: ``help_requested``, a callback at the top of the queue and an
  alert for the referent (urgent in a canicule, concern otherwise: escalation.rules);
- no contact (no answer, busy, machine, nothing pressed, undelivered): ``unreached``,
  retried by the campaign's policy, on her other number at once first (telephony.numbers);
  once the limits are reached, a canicule task goes to its fallback (an SMS, her emergency
  contact, then the urgent alert: telephony.contacts) whatever its automated policy, an
  ``ivr_then_staff`` task of another kind to the staff queue, any other ends ``escalated``
  (IVR, for the alert rules) or ``failed`` (SMS).

Functions here change a task only while it is still waiting on the automated channel
(``queued`` or, for a late result, ``pending`` on its automated channel), so a result that
arrives twice or after a person took over changes nothing on the task; the attempt always
keeps what the senior said.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Outcome
from outreach.campaigns import lifecycle
from outreach.campaigns.lifecycle import CALLBACK_PRIORITY, HELP_PRIORITY, to_staff
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task, TaskState
from outreach.campaigns.retries import schedule_retry
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import Senior
from outreach.telephony import contacts, numbers

__all__ = ["CALLBACK_PRIORITY", "HELP_PRIORITY", "apply_result", "to_staff"]


def _automated(task: Task | None) -> bool:
    return (
        task is not None
        and task.channel in (ChannelPolicy.ivr, ChannelPolicy.sms)
        and task.state in (TaskState.queued, TaskState.pending)
    )


def apply_result(session: Session, attempt: Attempt, result: Outcome, now: datetime) -> None:
    """Record what an automated contact established, on the attempt and on its task."""
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    attempt.outcome = result
    if result != Outcome.unreached:
        # A key that arrives after the call's final status: she did answer.
        attempt.disposition = None
    if not _automated(task):
        # A person took over meanwhile, or the task is closed: the attempt keeps what the
        # senior said; a request still reaches a person (escalation reads the attempt).
        if task is not None and result in (Outcome.callback_requested, Outcome.help_requested):
            request_callback(session, task, result, now)
        session.flush()
        return
    assert task is not None
    if result == Outcome.reached_ok:
        lifecycle.close(session, task, TaskState.done, now, outcome=result)
    elif result in (Outcome.callback_requested, Outcome.help_requested):
        request_callback(session, task, result, now)
    else:
        _no_contact(session, task, attempt, now)
    session.flush()


def request_callback(session: Session, task: Task, result: Outcome, now: datetime) -> None:
    """A senior asked to be called back (or for help): a staff callback due now, at the top
    of the queue for help, even if her task had closed (an SMS reply after delivery)."""
    priority = HELP_PRIORITY if result == Outcome.help_requested else CALLBACK_PRIORITY
    if task.state in lifecycle.CLOSED:
        lifecycle.reopen_for_request(session, task, now, priority)
    elif task.channel == ChannelPolicy.staff and task.state == TaskState.claimed:
        task.priority = min(task.priority, priority)  # the caller on it sees it now
    elif not (task.channel == ChannelPolicy.staff and task.callback_at is not None):
        to_staff(task, now, priority, callback=True)
    else:
        task.priority = min(task.priority, priority)
    task.outcome = result
    task.disposition = result.value


def _no_contact(session: Session, task: Task, attempt: Attempt, now: datetime) -> None:
    if task.state != TaskState.queued:
        return  # already rescheduled by an earlier report of the same attempt
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    task.disposition = attempt.disposition.value if attempt.disposition else None
    task.outcome = Outcome.unreached
    another, rounds = False, None
    if attempt.channel == AttemptChannel.ivr and attempt.phone is not None:
        # Every number before the retry delay; a round of her numbers is one try.
        senior = session.get(Senior, task.senior_id)
        assert senior is not None
        another, rounds = numbers.after_unreached(session, senior, task.id, paris_today(now))
    if schedule_retry(
        session,
        task,
        campaign,
        now,
        AttemptChannel(attempt.channel),
        another_number=another,
        tries_today=rounds,
    ):
        return
    if campaign.kind == CampaignKind.canicule:
        # In a heatwave the chain is the same with ivr_then_staff: her SMS and her contact
        # come within the hour, where the staff queue may be hours long on such a day; the
        # staff's part is the levée-de-doute alert it ends with (referent, door-knock).
        contacts.after_last_attempt(session, task, now)  # an SMS, her contact, the alert
    elif campaign.channel_policy == ChannelPolicy.ivr_then_staff:
        to_staff(task, now)
    elif task.channel == ChannelPolicy.ivr:
        lifecycle.close(session, task, TaskState.escalated, now, outcome=Outcome.unreached)
    else:
        lifecycle.close(session, task, TaskState.failed, now, outcome=Outcome.unreached)


def is_machine(answered_by: str | None) -> bool:
    """Twilio's AnsweredBy for an answering machine (machine_start, machine_end_*) or fax."""
    return answered_by is not None and (answered_by.startswith("machine") or answered_by == "fax")


def call_disposition(status: str, answered_by: str | None) -> Disposition:
    """The disposition of a call that ended without a key pressed."""
    if status == "busy":
        return Disposition.busy
    if is_machine(answered_by):
        return Disposition.voicemail
    return Disposition.no_answer
