"""Automated calls: the TwiML a senior hears, and what the voice webhooks record.

The call goes: greeting and menu inside a ``<Gather>`` (one key); nothing pressed → the
menu once more; still nothing → a goodbye, and the call counts as no contact. Keys: 1 all
is well, 2 please call me back, 3 I need help now. An answering machine or
a fax hears a short message, or nothing, by ``telephony.machine_action``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from outreach.accounts.models import Organisation
from outreach.calls.models import Attempt, Outcome
from outreach.calls.scripts import render_text, script_context
from outreach.campaigns.models import Campaign, Task
from outreach.campaigns.schedule import paris_today
from outreach.db import changed_rows
from outreach.roster.models import Senior
from outreach.telephony import contacts, outcomes
from outreach.telephony.status import CALL_FINAL, CALL_RANK, advance, find_attempt
from outreach.telephony.urls import webhook_url
from outreach.workshops import replies as workshop_replies

SECTION_RE = re.compile(r"^\[(\w+)\]\s*$", re.MULTILINE)
# The keys of every automated call (README, "Automated calls"), and the section of ivr.txt
# spoken after each.
DIGIT_RESULTS = {
    "1": Outcome.reached_ok,
    "2": Outcome.callback_requested,
    "3": Outcome.help_requested,
}
SPOKEN_AFTER = {
    Outcome.reached_ok: "ok",
    Outcome.callback_requested: "callback",
    Outcome.help_requested: "help",
}
# The keys of a call to her emergency contact: 1 news of her today, 2 worried; and the
# section spoken after each.
CONTACT_DIGITS = {"1": "news", "2": "worried"}


def parse_sections(text: str) -> dict[str, str]:
    """``[name]`` lines split an ivr.txt into its spoken parts."""
    parts = SECTION_RE.split(text)
    return {parts[i]: " ".join(parts[i + 1].split()) for i in range(1, len(parts) - 1, 2)}


def _texts(session: Session, attempt: Attempt, now: datetime) -> tuple[dict[str, str], Campaign]:
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    campaign = session.get(Campaign, task.campaign_id) if task else None
    senior = session.get(Senior, attempt.senior_id)
    org = session.get(Organisation, attempt.organisation_id)
    assert campaign is not None and senior is not None and org is not None
    context = script_context(senior, org, campaign, "", paris_today(now))
    # A call to her emergency contact says why we call them (telephony.contacts).
    script = contacts.SCRIPT if attempt.contact_id is not None else campaign.script
    return parse_sections(render_text(script, "ivr.txt", context)), campaign


class Voice:
    """Builds TwiML with the configured French voice."""

    def __init__(self, config: dict[str, dict[str, Any]]) -> None:
        self.config = config
        self.voice = config["telephony"]["voice"]

    def say(self, target: Any, text: str) -> None:
        target.say(text, language="fr-FR", voice=self.voice)

    def menu(self, attempt_id: int, texts: dict[str, str], round_: int, greet: bool) -> str:
        response = VoiceResponse()
        url = webhook_url(self.config, "voice_gather", a=attempt_id, round=round_)
        gather = Gather(input="dtmf", num_digits=1, timeout=6, action=url, method="POST")
        if greet:
            self.say(gather, texts["greeting"])
        self.say(gather, texts["menu"])
        response.append(gather)
        # Reached only when nothing was pressed: Twilio goes on to the next verb.
        response.redirect(url, method="POST")
        return str(response)

    def goodbye(self, text: str | None) -> str:
        response = VoiceResponse()
        if text:
            self.say(response, text)
        response.hangup()
        return str(response)


def answer(
    session: Session,
    config: dict[str, dict[str, Any]],
    params: dict[str, str],
    attempt_id: str | None,
    now: datetime,
) -> str:
    """TwiML for an answered call (the ``Url`` of the call)."""
    voice = Voice(config)
    attempt = find_attempt(session, attempt_id, params.get("CallSid"), "ivr")
    if attempt is None:
        return voice.goodbye(None)
    answered_by = params.get("AnsweredBy") or None
    advance(
        session,
        attempt.id,
        "in-progress",
        CALL_RANK,
        final=CALL_FINAL,
        now=now,
        answered_by=answered_by,
    )
    texts, _ = _texts(session, attempt, now)
    if outcomes.is_machine(answered_by):
        if config["telephony"]["machine_action"] == "hangup":
            return voice.goodbye(None)
        return voice.goodbye(texts["machine"])
    return voice.menu(attempt.id, texts, 1, greet=True)


def gather(
    session: Session,
    config: dict[str, dict[str, Any]],
    params: dict[str, str],
    attempt_id: str | None,
    round_: str | None,
    now: datetime,
) -> str:
    """TwiML after the menu: a key pressed, or nothing (then the menu once more)."""
    voice = Voice(config)
    attempt = find_attempt(session, attempt_id, params.get("CallSid"), "ivr")
    if attempt is None:
        return voice.goodbye(None)
    texts, _ = _texts(session, attempt, now)
    digit = (params.get("Digits") or "")[:1]
    if attempt.contact_id is not None and digit in CONTACT_DIGITS:
        if _first_digit(session, attempt, digit):
            contacts.answered(session, attempt, digit == "1", now)
            if digit == "2":
                from outreach.escalation.rules import sweep

                # A worried contact reaches the referent at once.
                sweep(session, config, now, senior_id=attempt.senior_id)
        return voice.goodbye(texts[CONTACT_DIGITS[digit]])
    if attempt.contact_id is None and digit in DIGIT_RESULTS:
        result = DIGIT_RESULTS[digit]
        if _first_digit(session, attempt, digit):
            # A workshop's call: 1 "je viens", 2 "je ne viens pas" (both: she answered).
            result = workshop_replies.on_digit(session, attempt, digit, now) or result
            outcomes.apply_result(session, attempt, result, now)
            if result == Outcome.help_requested:
                from outreach.escalation.rules import sweep

                # "I need help now" reaches the referent at once, not at the next rules run.
                sweep(session, config, now, senior_id=attempt.senior_id)
        section = workshop_replies.spoken_after(session, attempt) or SPOKEN_AFTER[result]
        return voice.goodbye(texts[section])
    if round_ == "1":
        return voice.menu(attempt.id, texts, 2, greet=False)
    return voice.goodbye(texts["no_input"])


def _first_digit(session: Session, attempt: Attempt, digit: str) -> bool:
    """Record the key pressed, once: a repeated request finds the digit already there."""
    first = (
        changed_rows(
            session,
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.digits.is_(None))
            .values(digits=digit),
        )
        == 1
    )
    if first:
        session.refresh(attempt)
    return first


def status(session: Session, params: dict[str, str], attempt_id: str | None, now: datetime) -> None:
    """A call status callback: move forward only; a final status without a key pressed is
    a no-contact attempt, retried or handed over by the campaign's policy."""
    attempt = find_attempt(session, attempt_id, params.get("CallSid"), "ivr")
    if attempt is None:
        return
    call_status = params.get("CallStatus", "")
    fields: dict[str, Any] = {}
    duration = params.get("CallDuration") or params.get("Duration")
    if duration and duration.isdigit():
        fields["duration_seconds"] = int(duration)
    if params.get("AnsweredBy"):
        fields["answered_by"] = params["AnsweredBy"][:20]
    moved = advance(
        session, attempt.id, call_status, CALL_RANK, final=CALL_FINAL, now=now, **fields
    )
    if not (moved and call_status in CALL_FINAL):
        return
    session.refresh(attempt)
    if attempt.digits is None:
        attempt.disposition = outcomes.call_disposition(call_status, attempt.answered_by)
        if attempt.contact_id is not None:
            contacts.call_ended(session, attempt, now)
        else:
            outcomes.apply_result(session, attempt, Outcome.unreached, now)
