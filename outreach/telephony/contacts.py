"""A canicule day's fallback: every number, then an SMS to her, then her emergency contact.

When the day's last automated attempt of a canicule task (``ivr`` or ``sms`` policy) leaves
her unreached, the task is not closed at once. Its next steps go through the dispatcher like
any automated contact (rate, call window, outbox), the step written in ``task.disposition``:

1. ``fallback_sms``: an SMS to her mobile if eligibility allows SMS (not when the task was
   an SMS already); her reply (OK, AIDE...) is read by the usual SMS code;
2. ``contact_call`` / ``contact_sms``: ``[canicule] contact_after_minutes`` after that SMS was
   delivered (at once if it was not), her first emergency contact with a phone (a mobile
   for an SMS) is called or texted by ``[canicule] contact_policy`` ("call_and_sms": the SMS
   when the call brings no answer) with the ``canicule_contact`` script;
3. the contact's 1 or OUI closes the task done, ``reached_through_contact`` (no alert); a 2
   or NON, no answer, no reply by the deadline (``contact_reply_minutes`` or the end of
   the call window), no contact or the policy "none" close it ``escalated``, which opens
   the urgent "levée de doute" alert (escalation.rules), its summary saying what was tried.

An ``ivr_then_staff`` canicule task follows the same steps (telephony.outcomes): in a
heatwave the staff queue may be hours long, her contact should not wait for it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Campaign, ChannelPolicy, Task, TaskState
from outreach.campaigns.retries import schedule_retry
from outreach.campaigns.schedule import paris_today, parse_window
from outreach.roster.eligibility import ineligible
from outreach.roster.models import EmergencyContact, Senior
from outreach.roster.phones import is_mobile, is_special
from outreach.telephony import numbers
from outreach.telephony.numbers import Target
from outreach.timezone import PARIS

SCRIPT = "canicule_contact"
# The steps, in task.disposition while the task is open ...
SENIOR_SMS, CONTACT_CALL, CONTACT_SMS = "fallback_sms", "contact_call", "contact_sms"
STEPS = frozenset({SENIOR_SMS, CONTACT_CALL, CONTACT_SMS})
# ... and how the fallback ended, once it is closed.
NEWS, WORRIED, NO_ANSWER, NO_REPLY, NO_CONTACT = (
    "contact_news",
    "contact_worried",
    "contact_no_answer",
    "contact_no_reply",
    "no_contact",
)
# A contact's SMS reply: one of these words settles the day, or opens the alert.
YES_WORDS = frozenset({"OUI", "1", "OK", "OUAIS"})
NO_WORDS = frozenset({"NON", "2", "INQUIET", "INQUIETE", "INQUIETS", "INQUIETUDE"})
REPLY_WINDOW = timedelta(days=1)
REPLY_WORDS: dict[str | None, str] = {
    Outcome.reached_through_contact: "OUI",
    Outcome.unreached: "NON, inquiet",
}
DEFAULTS = {"contact_policy": "call", "contact_after_minutes": 30, "contact_reply_minutes": 60}


def settings(config: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``[canicule]`` section: from ``config``, else the app's, else the defaults
    (the webhook inbox applies callbacks without a config at hand)."""
    if config is None:
        from flask import current_app, has_app_context

        if has_app_context():
            config = current_app.config.get("OUTREACH")
    return {**DEFAULTS, **((config or {}).get("canicule") or {})}


def first_contact(
    session: Session, senior_id: int, mobile: bool = False
) -> EmergencyContact | None:
    """Her first emergency contact with a number we may dial (a mobile for an SMS)."""
    for contact in session.scalars(
        select(EmergencyContact)
        .where(EmergencyContact.senior_id == senior_id, EmergencyContact.phone.is_not(None))
        .order_by(EmergencyContact.id)
    ):
        if contact.phone and not is_special(contact.phone):
            if not mobile or is_mobile(contact.phone):
                return contact
    return None


def in_step(task: Task | None, *steps: str) -> bool:
    """Whether the task is open on one of these steps (any step by default)."""
    return (
        task is not None
        and task.state in (TaskState.pending, TaskState.queued)
        and task.disposition in (steps or STEPS)
    )


def checked_channel(task: Task, campaign: Campaign) -> ChannelPolicy:
    """The channel eligibility is checked on before a step is sent: a step to her contact
    needs her to be contactable by the campaign still (not paused, not refused, not left)."""
    if task.disposition in (CONTACT_CALL, CONTACT_SMS):
        return ChannelPolicy(campaign.channel_policy)
    return ChannelPolicy(task.channel)


def target(session: Session, task: Task, senior: Senior, now: datetime) -> Target | None:
    """Whom the task's next call or SMS goes to; None when nobody can be (no valid number of
    hers left, her contact gone)."""
    if task.disposition in (CONTACT_CALL, CONTACT_SMS):
        contact = first_contact(session, senior.id, mobile=task.disposition == CONTACT_SMS)
        if contact is None or contact.phone is None:
            return None
        return Target(contact.phone, contact.id, SCRIPT)
    if task.channel == ChannelPolicy.sms:
        return Target(senior.phone_mobile) if senior.phone_mobile else None
    number = numbers.next_number(session, senior, task.id, paris_today(now))
    return Target(number) if number else None


def no_target(session: Session, task: Task, now: datetime) -> None:
    """Nobody to send the task's next step to."""
    if task.disposition in (CONTACT_CALL, CONTACT_SMS):
        _alert(session, task, now, NO_CONTACT)
    else:
        # Every number of hers is wrong: a person looks at her file.
        lifecycle.to_staff(task, now)
        task.disposition = "wrong_numbers"


def _alert(session: Session, task: Task, now: datetime, reason: str) -> None:
    lifecycle.close(
        session, task, TaskState.escalated, now, outcome=Outcome.unreached, reason=reason
    )


def after_last_attempt(
    session: Session, task: Task, now: datetime, config: dict[str, dict[str, Any]] | None = None
) -> None:
    """The day's last automated attempt of a canicule task left her unreached."""
    senior = session.get(Senior, task.senior_id)
    assert senior is not None
    if (
        task.channel == ChannelPolicy.ivr
        and task.disposition not in STEPS
        and ineligible(senior, ChannelPolicy.sms, paris_today(now)) is None
    ):
        lifecycle.to_channel(task, ChannelPolicy.sms, SENIOR_SMS)
        return
    contact_step(session, task, now, config)


def contact_step(
    session: Session,
    task: Task,
    now: datetime,
    config: dict[str, dict[str, Any]] | None = None,
    not_before: datetime | None = None,
) -> None:
    """Her emergency contact is called or texted next (by the policy), or the alert opens."""
    policy = settings(config)["contact_policy"]
    by_sms = policy == "sms"
    contact = first_contact(session, task.senior_id, mobile=by_sms)
    if policy == "none" or contact is None:
        _alert(session, task, now, NO_CONTACT)
    elif by_sms:
        lifecycle.to_channel(task, ChannelPolicy.sms, CONTACT_SMS, not_before)
    else:
        lifecycle.to_channel(task, ChannelPolicy.ivr, CONTACT_CALL, not_before)


def senior_sms_settled(session: Session, task: Task | None, delivered: bool, now: datetime) -> bool:
    """Her fallback SMS reached a final status; True if it was one (handled here)."""
    if task is None or task.disposition != SENIOR_SMS:
        return False
    if task.state == TaskState.queued:
        wait = timedelta(minutes=settings()["contact_after_minutes"]) if delivered else None
        contact_step(session, task, now, not_before=now + wait if wait else None)
    return True


def call_ended(session: Session, attempt: Attempt, now: datetime) -> None:
    """A call to her contact ended without a key pressed: no answer."""
    attempt.outcome = Outcome.unreached
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    if task is None or task.state != TaskState.queued or task.disposition != CONTACT_CALL:
        return
    if settings()["contact_policy"] == "call_and_sms" and first_contact(
        session, task.senior_id, mobile=True
    ):
        lifecycle.to_channel(task, ChannelPolicy.sms, CONTACT_SMS)
    else:
        _alert(session, task, now, NO_ANSWER)


def answered(session: Session, attempt: Attempt, news: bool, now: datetime) -> None:
    """Her contact said there was news of her today (1, OUI) or that they are worried."""
    attempt.outcome = Outcome.reached_through_contact if news else Outcome.unreached
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    if not in_step(task, CONTACT_CALL, CONTACT_SMS):
        session.flush()
        return  # settled meanwhile (her own reply): the attempt keeps what was said
    assert task is not None
    if news:
        lifecycle.close(
            session, task, TaskState.done, now, outcome=Outcome.reached_through_contact, reason=NEWS
        )
    else:
        _alert(session, task, now, WORRIED)


def contact_sms_settled(session: Session, attempt: Attempt, delivered: bool, now: datetime) -> None:
    """A final status of an SMS to her contact: delivered waits for the reply."""
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    if not delivered:
        attempt.outcome = Outcome.unreached
        if task is not None and task.state == TaskState.queued and task.disposition == CONTACT_SMS:
            _alert(session, task, now, NO_ANSWER)


def refused_number(
    session: Session, task: Task, attempt: Attempt, code: int | None, now: datetime
) -> bool:
    """The gateway refused a call or SMS of the task (not an opt-out); True if handled here:
    a step to her contact fails over to the alert, her fallback SMS to her contact, and an
    invalid number of hers to her other number at once (``campaigns.retries``)."""
    if attempt.contact_id is not None:
        attempt.outcome = Outcome.unreached
        if in_step(task, CONTACT_CALL, CONTACT_SMS):
            _alert(session, task, now, NO_ANSWER)
        return True
    if in_step(task, SENIOR_SMS):
        contact_step(session, task, now)
        return True
    if code not in numbers.INVALID_NUMBER_CODES or task.channel != ChannelPolicy.ivr:
        return False
    senior = session.get(Senior, task.senior_id)
    assert senior is not None
    if numbers.next_number(session, senior, task.id, paris_today(now)) is None:
        return False
    task.disposition = "wrong_number"
    return schedule_retry(session, task, task.campaign, now, another_number=True)


def _words(body: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    return set(re.findall(r"[A-Z0-9]+", plain))


def _last_contact_sms(session: Session, sender: str, now: datetime) -> Attempt | None:
    return session.scalar(
        select(Attempt)
        .where(
            Attempt.phone == sender,
            Attempt.contact_id.is_not(None),
            Attempt.channel == AttemptChannel.sms,
            Attempt.direction == "outbound",
            Attempt.started_at >= now - REPLY_WINDOW,
        )
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(1)
    )


def reply(
    session: Session, sender: str, body: str, sid: str, senior_ids: list[int], now: datetime
) -> bool:
    """An inbound SMS from a number we texted as an emergency contact; True if it was one.

    A number may be a senior's and a contact's: the senior wins, unless she got no SMS
    of ours lately and the contact did (then only the contact can be answering)."""
    last = _last_contact_sms(session, sender, now)
    if last is None:
        return False
    if senior_ids and session.scalar(
        select(Attempt.id)
        .where(
            Attempt.senior_id.in_(senior_ids),
            Attempt.contact_id.is_(None),
            Attempt.channel == AttemptChannel.sms,
            Attempt.direction == "outbound",
            Attempt.started_at >= now - REPLY_WINDOW,
        )
        .limit(1)
    ):
        return False
    inbound = Attempt(
        organisation_id=last.organisation_id,
        task_id=last.task_id,
        senior_id=last.senior_id,
        contact_id=last.contact_id,
        channel=AttemptChannel.sms,
        direction="inbound",
        started_at=now,
        ended_at=now,
        gateway_sid=sid[:64],
        gateway_status="received",
        reply=body[:500],
        phone=sender[:20],
    )
    session.add(inbound)
    session.flush()
    words = _words(body)
    if words & NO_WORDS:
        answered(session, inbound, False, now)
    elif words and words <= YES_WORDS | {"MERCI", "BIEN", "TOUT", "VA"} and words & YES_WORDS:
        answered(session, inbound, True, now)
    # Anything else stays in her history; the deadline opens the alert if nothing follows.
    session.flush()
    return True


def window_end(campaign: Campaign, day: Any) -> datetime | None:
    """When the campaign's call window closes on ``day`` (Paris), or None if it does not
    open that day."""
    spans = parse_window(campaign.call_window or {}).get(day.weekday(), [])
    if not spans:
        return None
    return datetime.combine(day, max(end for _, end in spans), PARIS)


def expire(session: Session, now: datetime, config: dict[str, dict[str, Any]] | None = None) -> int:
    """Close, for the alert, the tasks whose contact SMS got no reply in time; returns how
    many."""
    minutes = settings(config)["contact_reply_minutes"]
    closed = 0
    for task in session.scalars(
        select(Task)
        .where(Task.state == TaskState.queued, Task.disposition == CONTACT_SMS)
        .order_by(Task.id)
    ).all():
        sent = session.scalar(
            select(Attempt.started_at)
            .where(Attempt.task_id == task.id, Attempt.contact_id.is_not(None))
            .order_by(Attempt.started_at.desc())
            .limit(1)
        )
        if sent is None:
            continue
        deadline = sent + timedelta(minutes=minutes)
        end = window_end(task.campaign, paris_today(sent))
        if end is not None:
            deadline = min(deadline, max(end, sent))
        if now >= deadline:
            _alert(session, task, now, NO_REPLY)
            closed += 1
    return closed


def tried(session: Session, task_ids: list[int]) -> dict[int, str]:
    """What was tried for each task, in French, for the alert and the levée de doute list:
    her calls by number, her SMS, her contact's call or SMS and answer. No number or name
    is written (an alert summary is kept longer than the numbers)."""
    if not task_ids:
        return {}
    reasons = dict(
        session.execute(select(Task.id, Task.disposition).where(Task.id.in_(task_ids))).all()
    )
    rows = session.execute(
        select(Attempt, Senior.phone_mobile, Senior.phone_landline, EmergencyContact.relation)
        .join(Senior, Senior.id == Attempt.senior_id)
        .outerjoin(EmergencyContact, EmergencyContact.id == Attempt.contact_id)
        .where(Attempt.task_id.in_(task_ids))
        .order_by(Attempt.started_at, Attempt.id)
    ).all()
    facts: dict[int, dict[str, Any]] = {}
    for attempt, mobile, landline, relation in rows:
        assert attempt.task_id is not None
        f = facts.setdefault(attempt.task_id, {"calls": 0, "kinds": [], "sms": None, "contact": []})
        who = f"proche ({relation})" if relation else "proche"
        if attempt.contact_id is None and attempt.direction == "outbound":
            if attempt.channel == AttemptChannel.ivr:
                f["calls"] += 1
                kind = {landline: "fixe", mobile: "portable"}.get(attempt.phone, "autre numéro")
                if kind not in f["kinds"]:
                    f["kinds"].append(kind)
            elif attempt.channel == AttemptChannel.sms:
                delivered = attempt.gateway_status in ("delivered", "read")
                f["sms"] = "SMS reçu, sans réponse" if delivered else "SMS non distribué"
        elif attempt.contact_id is not None and attempt.direction == "outbound":
            if attempt.channel == AttemptChannel.ivr:
                said = {"1": "a eu de ses nouvelles", "2": "inquiet"}.get(
                    attempt.digits or "", "pas de réponse"
                )
                f["contact"].append(f"{who} appelé : {said}")
            else:
                f["contact"].append(f"SMS au {who}")
        elif attempt.contact_id is not None:
            word = REPLY_WORDS.get(attempt.outcome, "à lire")
            f["contact"].append(f"réponse du proche : {word}")
    result = {}
    for task_id in task_ids:
        f = facts.get(task_id, {"calls": 0, "kinds": [], "sms": None, "contact": []})
        if reasons.get(task_id) == NO_CONTACT:
            f["contact"].append("aucun proche à prévenir")
        parts = []
        if f["calls"]:
            plural = "s" if f["calls"] > 1 else ""
            parts.append(f"{f['calls']} appel{plural} ({', '.join(f['kinds'])})")
        if f["sms"]:
            parts.append(f["sms"])
        parts.extend(f["contact"])
        result[task_id] = " ; ".join(parts) or "aucun appel passé"
    return result
