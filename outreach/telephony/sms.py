"""SMS: delivery reports and the seniors' replies (README, "SMS replies").

A reply is read as a whole message, whatever the case and accents (DESIGN.md outcomes):
- an opt-out word anywhere (STOP, ARRET, ARRÊTEZ, STOPPER, DESINSCRIRE, S.T.O.P, "merci
  mais stop"...): ``refused``; the senior opts out of SMS at once, with the date, and the
  open SMS tasks are cancelled (Twilio's error 21610 means the same);
- AIDE (or SOS, SECOURS) anywhere: ``help_requested``: a callback at the top of the queue
  and an alert;
- RAPPEL, RAPPELEZ-MOI...: ``callback_requested``: a staff callback today;
- OK / OUI / "ça va bien", with nothing else but thanks: ``reached_ok``;
- anything else ("Merci, bonne journée", "je suis à l'hôpital", "je ne veux plus..."):
  ``reply_to_read``: a person reads it ("SMS à lire") and classifies it in one click.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.campaigns import lifecycle
from outreach.campaigns.lifecycle import DELIVERED
from outreach.campaigns.models import Task, TaskState
from outreach.panel import agreements
from outreach.roster import consent
from outreach.roster.eligibility import cancel_forbidden
from outreach.roster.models import Channel, ConsentSource, Senior
from outreach.telephony import contacts, outcomes
from outreach.telephony.gateway import ERROR_UNSUBSCRIBED
from outreach.telephony.status import SMS_FINAL, SMS_RANK, advance, find_attempt
from outreach.workshops import replies as workshop_replies

STOP_WORDS = frozenset(
    {
        "STOP",
        "STOPPER",
        "STOPPEZ",
        "STOPSMS",
        "ARRET",
        "ARRETE",
        "ARRETER",
        "ARRETEZ",
        "DESINSCRIRE",
        "DESINSCRIPTION",
        "DESINSCRIVEZ",
        "DESABONNER",
        "DESABONNEMENT",
        "UNSUBSCRIBE",
    }
)
OK_WORDS = frozenset({"OK", "OUI", "OKAY", "OKE", "OKI"})
# Words that may stand beside an OK without changing it ("oui merci", "tout va bien").
POLITE_WORDS = frozenset({"MERCI", "BEAUCOUP", "TRES", "BIEN", "TOUT", "VA", "CA", "JE", "VAIS"})
HELP_WORDS = frozenset({"AIDE", "AIDEZ", "AIDEZMOI", "SOS", "SECOURS"})
CALLBACK_WORDS = frozenset({"RAPPEL", "RAPPELER", "RAPPELEZ", "RAPPELEZMOI", "RAPPELLEZ"})
# How far back a reply is matched to the SMS it answers.
REPLY_WINDOW = timedelta(days=7)


def _words(body: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    # "S.T.O.P" and "S T O P": letters spelt one by one are read as one word.
    plain = re.sub(r"\b([A-Z])[.\s](?=[A-Z]\b)", r"\1", plain)
    plain = re.sub(r"(?<=[A-Z])[-'](?=MOI\b)", "", plain)  # "rappelez-moi"
    return re.findall(r"[A-Z]+", plain)


def classify(body: str) -> Outcome:
    """What a reply establishes. A refusal wins over everything, a request for help over a
    callback, and only a message that says OK (or "ça va bien") and nothing else but thanks
    means all is well."""
    words = _words(body)
    pairs = {a + b for a, b in zip(words, words[1:], strict=False)}
    if not words:
        return Outcome.reply_to_read
    if STOP_WORDS & (set(words) | pairs):
        return Outcome.refused
    if HELP_WORDS & (set(words) | pairs):
        return Outcome.help_requested
    if CALLBACK_WORDS & (set(words) | pairs):
        return Outcome.callback_requested
    said_ok = bool(OK_WORDS & set(words)) or "VABIEN" in pairs or "VAISBIEN" in pairs
    if said_ok and set(words) <= OK_WORDS | POLITE_WORDS:
        return Outcome.reached_ok
    return Outcome.reply_to_read


def opt_out(
    session: Session, senior: Senior, now: datetime, source: str, user_id: int | None = None
) -> None:
    """Record an SMS opt-out (once, with its date, in the consent history) and cancel the
    tasks it forbids."""
    new = consent.opt_out(
        session, senior, Channel.sms, source=ConsentSource.sms, user_id=user_id, now=now,
        detail=source,
    )  # fmt: skip
    if new:
        record(
            session,
            action="sms_opt_out",
            entity="senior",
            entity_id=senior.id,
            organisation_id=senior.organisation_id,
            user_id=user_id,
            details={"source": source},
        )
    cancel_forbidden(session, senior, now)


def status(session: Session, params: dict[str, str], attempt_id: str | None, now: datetime) -> None:
    """A message status callback: forward only; a final status settles the task."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    attempt = find_attempt(session, attempt_id, sid, "sms")
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
    delivered = final in ("delivered", "read")
    if attempt.contact_id is not None:
        # To her emergency contact: their STOP is not hers.
        contacts.contact_sms_settled(session, attempt, delivered, now)
        return
    if error_code == ERROR_UNSUBSCRIBED:
        senior = session.get(Senior, attempt.senior_id)
        assert senior is not None
        opt_out(session, senior, now, "gateway 21610")
        return
    if contacts.senior_sms_settled(session, task, delivered, now):
        return  # the SMS after her last call: her contact is next (telephony.contacts)
    if task is None or task.state != TaskState.queued:
        return
    if delivered:
        # Delivered is not reached: only her reply says she read it and is well.
        lifecycle.close(session, task, TaskState.done, now, reason=DELIVERED)
    else:
        outcomes.apply_result(session, attempt, Outcome.unreached, now)
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
    if contacts.reply(session, sender, body, sid, [s.id for s in seniors], now):
        return  # an emergency contact answering our SMS about her
    if not seniors:
        return
    last = session.scalar(
        select(Attempt)
        .where(
            Attempt.senior_id.in_([s.id for s in seniors]),
            Attempt.contact_id.is_(None),
            Attempt.channel == AttemptChannel.sms,
            Attempt.direction == "outbound",
            Attempt.started_at >= now - REPLY_WINDOW,
        )
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        .limit(1)
    )
    senior = next((s for s in seniors if last and s.id == last.senior_id), seniors[0])
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
        phone=sender[:20],
    )
    session.add(reply)
    session.flush()
    result = classify(body)
    if result == Outcome.reply_to_read and agreements.sms_declined(session, reply, body, now):
        return  # "NON" to a recueil d'accord: a plain no to the panel
    if result == Outcome.refused:
        reply.outcome = result
        # A refusal is respected at once, for every file that holds this number.
        for each in seniors:
            opt_out(session, each, now, "reply")
        return
    if workshop_replies.on_sms(session, reply, body, now):
        result = Outcome.reached_ok  # "1" or "2" to a workshop invitation: she answered
    apply_reply(session, reply, result, now)


def apply_reply(session: Session, reply: Attempt, result: Outcome, now: datetime) -> None:
    """What a reply (read by the machine or classified by a person) means for its task."""
    reply.outcome = result
    task = session.get(Task, reply.task_id, populate_existing=True) if reply.task_id else None
    if result in (Outcome.callback_requested, Outcome.help_requested):
        if task is not None:
            outcomes.request_callback(session, task, result, now)
        elif result == Outcome.callback_requested:
            reply.outcome = Outcome.reply_to_read  # no task to call back on: a person reads it
        session.flush()
        return
    if result == Outcome.reached_ok and task is not None:
        # Queued, or waiting on an automated channel (a retry, her contact not yet called).
        if task.state == TaskState.queued or (
            task.state == TaskState.pending and task.channel in lifecycle.AUTOMATED
        ):
            lifecycle.close(session, task, TaskState.done, now, outcome=result)
        elif task.state == TaskState.done and task.outcome is None:
            task.outcome = result  # she answered the SMS delivered earlier
            agreements.after_contact(session, task, now)  # her accord, if it was asked
    session.flush()


def classify_by_person(
    session: Session, reply: Attempt, result: Outcome, user_id: int, now: datetime
) -> None:
    """A person read an "SMS à lire" and said what it means (one click)."""
    if reply.direction != "inbound" or reply.outcome != Outcome.reply_to_read:
        raise ValueError("ce SMS a déjà été lu")
    reply.user_id = user_id
    record(
        session,
        action="sms_reply_classified",
        entity="attempt",
        entity_id=reply.id,
        organisation_id=reply.organisation_id,
        user_id=user_id,
        details={"outcome": result.value},
    )
    if result == Outcome.refused:
        reply.outcome = result
        senior = session.get(Senior, reply.senior_id)
        assert senior is not None
        opt_out(session, senior, now, "reply read", user_id)
        task = session.get(Task, reply.task_id) if reply.task_id else None
        if task is not None and agreements.asked(task) and task.outcome is None:
            task.outcome = result  # "no" to the accord asked by the SMS delivered earlier
            agreements.after_contact(session, task, now)
        session.flush()
        return
    apply_reply(session, reply, result, now)
    if reply.outcome == Outcome.reply_to_read:
        reply.outcome = result  # read by a person: what she said stands even without a task
    session.flush()
