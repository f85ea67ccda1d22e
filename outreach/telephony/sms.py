"""SMS: delivery reports and the seniors' replies.

Replies, read on their first word, whatever the case and accents:
- STOP, ARRET, ARRÊT: the senior opts out of SMS at once, with the date; open SMS tasks are
  cancelled and no SMS is sent again (Twilio's error 21610 means the same);
- OK, OUI: reached, all is well;
- AIDE, RAPPEL: a staff callback today;
- anything else: kept as a note for the referent on the senior's history.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.calls.models import Attempt, AttemptChannel, Disposition
from outreach.campaigns.models import ChannelPolicy, Task, TaskState
from outreach.roster.models import Senior
from outreach.telephony import outcomes
from outreach.telephony.gateway import ERROR_UNSUBSCRIBED
from outreach.telephony.ivr import find_attempt
from outreach.telephony.status import SMS_FINAL, SMS_RANK, advance

STOP_WORDS = frozenset({"STOP", "ARRET", "ARRETER", "STOPSMS", "DESABONNER", "UNSUBSCRIBE"})
OK_WORDS = frozenset({"OK", "OUI", "OKAY", "OKE"})
HELP_WORDS = frozenset({"AIDE", "RAPPEL", "RAPPELER", "RAPPELEZ", "RAPPELEZMOI"})
# How far back a reply is matched to the SMS it answers.
REPLY_WINDOW = timedelta(days=7)
STOP, OK, HELP, OTHER = "stop", "ok", "help", "other"


def classify(body: str) -> str:
    """STOP / OK / HELP / OTHER from a reply's first word (accents and case ignored)."""
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    words = re.findall(r"[A-Z]+", plain)
    if not words:
        return OTHER
    first = words[0]
    if first in STOP_WORDS or "".join(words[:2]) in STOP_WORDS:
        return STOP
    if first in OK_WORDS:
        return OK
    if first in HELP_WORDS or "".join(words[:2]) in HELP_WORDS:
        return HELP
    return OTHER


def opt_out(session: Session, senior: Senior, now: datetime, source: str) -> None:
    """Record an SMS opt-out (once, with its date) and cancel the open SMS tasks."""
    if senior.opted_out_sms_at is None:
        senior.opted_out_sms_at = now
        record(
            session,
            action="sms_opt_out",
            entity="senior",
            entity_id=senior.id,
            organisation_id=senior.organisation_id,
            details={"source": source},
        )
    session.execute(
        update(Task)
        .where(
            Task.senior_id == senior.id,
            Task.channel == ChannelPolicy.sms,
            Task.state.in_([TaskState.pending, TaskState.queued]),
        )
        .values(state=TaskState.cancelled, disposition="opted_out", completed_at=now)
        .execution_options(synchronize_session=False)
    )


def status(session: Session, params: dict[str, str], attempt_id: str | None, now: datetime) -> None:
    """A message status callback: forward only; a final status settles the task."""
    attempt = find_attempt(session, attempt_id, params.get("MessageSid") or params.get("SmsSid"))
    if attempt is None:
        return
    new = params.get("MessageStatus") or params.get("SmsStatus") or ""
    code = params.get("ErrorCode", "")
    fields = {"error_code": int(code)} if code.isdigit() else {}
    moved = advance(session, attempt.id, new, SMS_RANK, final=SMS_FINAL, now=now, **fields)
    if not (moved and new in SMS_FINAL):
        return
    session.refresh(attempt)
    settle(session, attempt, new, attempt.error_code, now)


def settle(
    session: Session, attempt: Attempt, final: str, error_code: int | None, now: datetime
) -> None:
    """What a final SMS status means for the task (also used when sending fails)."""
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    if error_code == ERROR_UNSUBSCRIBED:
        senior = session.get(Senior, attempt.senior_id)
        assert senior is not None
        opt_out(session, senior, now, "gateway 21610")
        return
    if task is None or task.state != TaskState.queued:
        return
    if final in ("delivered", "read"):
        task.state = TaskState.done
        task.disposition = "sms_delivered"
        task.completed_at = now
    else:
        outcomes.apply_result(session, attempt, outcomes.NO_CONTACT, now)
        task.disposition = "sms_undelivered"


def inbound(session: Session, params: dict[str, str], now: datetime) -> None:
    """A reply from a senior. Recorded once per MessageSid (Twilio may repeat a request)."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = params.get("From", "")
    body = (params.get("Body") or "").strip()
    if not sid or session.scalar(select(Attempt.id).where(Attempt.gateway_sid == sid)):
        return
    seniors = list(
        session.scalars(select(Senior).where(Senior.phone_mobile == sender).order_by(Senior.id))
    )
    if not seniors:
        return
    last = session.scalar(
        select(Attempt)
        .where(
            Attempt.senior_id.in_([s.id for s in seniors]),
            Attempt.channel == AttemptChannel.sms,
            Attempt.direction == "outbound",
            Attempt.started_at >= now - REPLY_WINDOW,
        )
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(1)
    )
    senior = next((s for s in seniors if last and s.id == last.senior_id), seniors[0])
    kind = classify(body)
    reply = Attempt(
        organisation_id=senior.organisation_id,
        task_id=last.task_id if last else None,
        senior_id=senior.id,
        channel=AttemptChannel.sms,
        direction="inbound",
        started_at=now,
        ended_at=now,
        gateway_sid=sid[:64],
        gateway_status="received",
        reply=body[:500],
    )
    session.add(reply)
    session.flush()
    if kind == STOP:
        # A refusal is respected at once, for every file that holds this number.
        for each in seniors:
            opt_out(session, each, now, "reply")
        return
    if kind == OK:
        reply.disposition = Disposition.reached_ok
        if last is not None:
            _reached(session, last, now)
        return
    if kind == HELP and last is not None and last.task_id is not None:
        reply.disposition = Disposition.reached_ok
        task = session.get(Task, last.task_id, populate_existing=True)
        assert task is not None
        if not (task.channel == ChannelPolicy.staff and task.state == TaskState.pending):
            outcomes.to_staff(task, now, outcomes.CALLBACK_PRIORITY, callback=True)
        return
    reply.notes = "Réponse SMS à lire par le référent"


def _reached(session: Session, attempt: Attempt, now: datetime) -> None:
    attempt.disposition = Disposition.reached_ok
    session.execute(
        update(Task)
        .where(
            Task.id == attempt.task_id,
            or_(Task.state == TaskState.queued, Task.disposition == "sms_delivered"),
        )
        .values(state=TaskState.done, disposition="reached_ok", completed_at=now)
        .execution_options(synchronize_session=False)
    )
