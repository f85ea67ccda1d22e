"""Calls received on our numbers (``POST /twilio/voice/inbound``): a senior calling back.

Who is calling: the number she dialled (``To``) names the organisation (its own caller ID,
or the configuration's shared one for the organisations without); her number (``From``) is
looked up among the seniors of those organisations. What she hears: a short French message
(``call_scripts/inbound/ivr.txt``); nothing is recorded, there is no voicemail.

What follows (DESIGN.md, "What a contact established": she called, so she is reached):
- a recognised senior gets an inbound attempt ``callback_requested`` and her task of the day
  (or the contact she is answering, as an SMS reply is matched to its SMS) becomes a callback
  at the top of the queue through ``outcomes.request_callback``, the path of an SMS RAPPEL;
- an unknown caller, or a senior with no task to call her back on (or whom the eligibility
  rule would not let the queue call), goes on the list "Appels reçus à rappeler"
  (``InboundCall``), returned by a person, as an "SMS à lire" is read by one;
- with ``inbound.forward_to_on_duty``, in ``inbound.office_hours`` and when the organisation
  has an on-duty phone, the call is put through to it (``<Dial>``) instead; if nobody
  answers there, the ``<Dial>`` action brings the call back here and the callback is made.

A repeated webhook (same CallSid) finds its attempt or its list row and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, VoiceResponse

from outreach.accounts.models import Organisation
from outreach.calls.models import Attempt, AttemptChannel, Outcome
from outreach.calls.scripts import render_text
from outreach.campaigns.models import OPEN_TASK_STATES, ChannelPolicy, Task
from outreach.campaigns.schedule import in_window, paris_today
from outreach.db import changed_rows
from outreach.roster.eligibility import ineligible
from outreach.roster.models import ConsentStatus, Senior
from outreach.roster.phones import InvalidPhone, normalise_phone
from outreach.telephony import outcomes
from outreach.telephony.ivr import Voice, parse_sections
from outreach.telephony.models import InboundCall
from outreach.telephony.sms import REPLY_WINDOW
from outreach.telephony.urls import webhook_url

Config = dict[str, dict[str, Any]]
# What Twilio reports on the <Dial> action when the on-duty phone was answered.
DIAL_ANSWERED = frozenset({"completed", "answered"})


def answer(session: Session, config: Config, params: dict[str, str], now: datetime) -> str:
    """TwiML for a call received on one of our numbers."""
    voice = Voice(config)
    sid = params.get("CallSid", "")
    caller = _identify(session, params)
    if not sid or caller is None:
        return voice.goodbye(None)
    org, senior, number = caller
    texts = _texts(org)
    if not _seen(session, sid):
        phone = _forward_to(config, org, now)
        if phone:
            return _dial(voice, config, org, phone, texts["forward"], params.get("To", ""))
        call_back(session, org, senior, sid, number, now)
    return voice.goodbye(texts["known" if senior else "unknown"])


def dial_result(session: Session, config: Config, params: dict[str, str], now: datetime) -> str:
    """The ``<Dial>`` action: the on-duty phone answered (nothing more to do: the person on
    duty records the call on her page), or it did not and the callback is made."""
    voice = Voice(config)
    if params.get("DialCallStatus", "") in DIAL_ANSWERED:
        return voice.goodbye(None)
    sid = params.get("CallSid", "")
    caller = _identify(session, params)
    if not sid or caller is None:
        return voice.goodbye(None)
    org, senior, number = caller
    call_back(session, org, senior, sid, number, now)
    return voice.goodbye(_texts(org)["dial_failed"])


def call_back(
    session: Session,
    org: Organisation,
    senior: Senior | None,
    sid: str,
    number: str,
    now: datetime,
) -> None:
    """Record the call once per CallSid and make sure a person calls back: on her task, or
    on the list of calls to return."""
    if _seen(session, sid):
        return
    try:
        with session.begin_nested():
            if senior is None:
                _to_list(session, org.id, None, number, sid, now)
                return
            task = _task_to_call_back(session, senior, now)
            attempt = Attempt(
                organisation_id=senior.organisation_id,
                task_id=task.id if task else None,
                senior_id=senior.id,
                channel=AttemptChannel.ivr,
                direction="inbound",
                started_at=now,
                # Ended at once: an inbound call has no status callbacks of ours to wait for,
                # and an open IVR attempt would block her next automated call.
                ended_at=now,
                gateway_sid=sid[:64],
                gateway_status="received",
                outcome=Outcome.callback_requested,
            )
            session.add(attempt)
            session.flush()
            if task is not None:
                outcomes.request_callback(session, task, Outcome.callback_requested, now)
            else:
                _to_list(session, senior.organisation_id, senior.id, number, sid, now)
            session.flush()
    except IntegrityError:
        return  # the same call, recorded meanwhile by a repeated request


def waiting_calls() -> Select[InboundCall, Senior]:
    """Calls still to return, oldest first, with the senior when she was recognised; the
    caller scopes it (``access.scoped(..., InboundCall, "queue.work")``)."""
    return (
        select(InboundCall, Senior)
        .outerjoin(Senior, Senior.id == InboundCall.senior_id)
        .where(InboundCall.handled_at.is_(None))
        .order_by(InboundCall.received_at, InboundCall.id)
    )


def mark_called_back(
    session: Session, call: InboundCall, user_id: int, note: str | None, now: datetime
) -> bool:
    """Someone returned the call ("Rappelé(e)"); False when it had been already."""
    done = changed_rows(
        session,
        update(InboundCall)
        .where(InboundCall.id == call.id, InboundCall.handled_at.is_(None))
        .values(handled_at=now, handled_by_id=user_id, note=(note or "").strip()[:500] or None),
    )
    # Who returned it and when are on the row itself (no audit event: nothing was opened).
    session.refresh(call)
    return done == 1


# -- who is calling -------------------------------------------------------------------------


def _identify(
    session: Session, params: dict[str, str]
) -> tuple[Organisation, Senior | None, str] | None:
    orgs = _organisations(session, params.get("To", ""))
    if not orgs:
        return None
    raw = params.get("From", "")
    try:
        number = normalise_phone(raw)
    except InvalidPhone:
        number = None  # a withheld or foreign-looking number: an unknown caller
    senior = _senior(session, [o.id for o in orgs], number) if number else None
    if senior is not None:
        org = next(o for o in orgs if o.id == senior.organisation_id)
    else:
        # A number shared by several organisations: the one without a parent (the regional
        # association that runs it) takes its unknown callers.
        org = min(orgs, key=lambda o: (o.parent_id is not None, o.id))
    return org, senior, (number or raw or "")[:32]


def _organisations(session: Session, to: str) -> list[Organisation]:
    """The organisations that present the number dialled: those with it as their own caller
    ID, else those presenting the configuration's shared number (no caller ID of their own),
    else all of them (a number of ours that nobody configured)."""
    try:
        number = normalise_phone(to) if to else None
    except InvalidPhone:
        number = None
    by_id = select(Organisation).order_by(Organisation.id)
    if number:
        own = list(session.scalars(by_id.where(Organisation.caller_id == number)))
        if own:
            return own
    shared = list(session.scalars(by_id.where(Organisation.caller_id.is_(None))))
    return shared or list(session.scalars(by_id))


def _senior(session: Session, org_ids: list[int], number: str) -> Senior | None:
    """The senior with this number; several (a couple, a number kept after a move): the one
    still followed and consenting first."""
    found = session.scalars(
        select(Senior).where(
            Senior.organisation_id.in_(org_ids),
            Senior.erased_at.is_(None),
            or_(Senior.phone_mobile == number, Senior.phone_landline == number),
        )
    ).all()
    return min(
        found,
        key=lambda s: (not s.active, s.consent_status != ConsentStatus.given, s.id),
        default=None,
    )


def _task_to_call_back(session: Session, senior: Senior, now: datetime) -> Task | None:
    """Her open task of the day (the one that leads), else the latest task of the last days
    (the contact she is answering: ``request_callback`` reopens it for today), else None.
    None too when the queue may not call her (left, no consent, paused...): a person reads
    the list and decides."""
    today = paris_today(now)
    if ineligible(senior, ChannelPolicy.staff, today) is not None:
        return None
    mine = select(Task).where(Task.senior_id == senior.id, Task.due_date <= today)
    task = session.scalars(
        mine.where(Task.state.in_(OPEN_TASK_STATES))
        .order_by(Task.lead_id.is_not(None), Task.priority, Task.due_date, Task.id)
        .limit(1)
    ).first()
    if task is not None:
        return task
    since = today - timedelta(days=REPLY_WINDOW.days)
    return session.scalars(
        mine.where(Task.due_date >= since).order_by(Task.due_date.desc(), Task.id.desc()).limit(1)
    ).first()


def _to_list(
    session: Session, org_id: int, senior_id: int | None, number: str, sid: str, now: datetime
) -> None:
    session.add(
        InboundCall(
            organisation_id=org_id,
            senior_id=senior_id,
            from_number=number,
            call_sid=sid[:64],
            received_at=now,
        )
    )
    session.flush()


def _seen(session: Session, sid: str) -> bool:
    sid = sid[:64]
    return (
        session.scalar(select(Attempt.id).where(Attempt.gateway_sid == sid)) is not None
        or session.scalar(select(InboundCall.id).where(InboundCall.call_sid == sid)) is not None
    )


# -- what the caller hears ------------------------------------------------------------------


def _texts(org: Organisation) -> dict[str, str]:
    return parse_sections(render_text("inbound", "ivr.txt", {"organisation": {"name": org.name}}))


def _forward_to(config: Config, org: Organisation, now: datetime) -> str | None:
    """The on-duty phone to put the call through to now, or None."""
    settings = config["inbound"]
    if not (settings["forward_to_on_duty"] and org.on_duty_phone):
        return None
    if not in_window(now, settings["office_hours"], skip_holidays=True):
        return None
    return org.on_duty_phone


def _dial(voice: Voice, config: Config, org: Organisation, phone: str, text: str, to: str) -> str:
    response = VoiceResponse()
    voice.say(response, text)
    # The on-duty phone sees the organisation's number (the one she dialled, when none is
    # configured): a number it knows as "a senior calling", never hers.
    caller_id = org.caller_id or config["telephony"]["caller_id"] or to
    dial = Dial(
        caller_id=caller_id or None,
        action=webhook_url(config, "voice_inbound_dial"),
        method="POST",
        timeout=config["inbound"]["dial_timeout_seconds"],
    )
    dial.number(phone)
    response.append(dial)
    return str(response)
