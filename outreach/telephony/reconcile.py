"""Settle what a crash or a lost callback left open, when the dispatcher starts.

- An attempt still ``dispatching`` without a gateway SID: the process died between writing
  the attempt and recording the gateway's answer, so the call may or may not have been
  placed. It is never placed again automatically: the attempt becomes ``unknown`` and the
  task goes to the staff queue, where a person checks on the senior. If the call did
  happen, its callbacks still reach the attempt (its id is in their URLs).
- A call or SMS with a SID but no final status after ``stale_call_minutes`` (a callback
  lost on the way): its status is asked of the gateway by SID and applied as a callback.
- An SMS reply whose webhook failed (the service was down): Twilio does not post it again,
  so the gateway's list of received messages is read (``recover_inbound``) and each reply
  never stored is applied as its webhook would have been, once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.campaigns.models import Task, TaskState
from outreach.telephony import ivr, sms
from outreach.telephony.gateway import Gateway, GatewayError, Inbound
from outreach.telephony.models import GatewayHealth
from outreach.telephony.outcomes import to_staff
from outreach.telephony.status import DISPATCHING, UNKNOWN

log = logging.getLogger("outreach.telephony")
# A dispatching attempt younger than this may belong to a send in progress elsewhere
# (`outreach run-job dispatch` beside the scheduler): leave it alone.
GRACE = timedelta(seconds=60)
STALE_BATCH = 200
# The gateway's list of received SMS is read at most this often (the dispatcher starts
# every few seconds); each read goes back to the previous read's time less a margin for
# clocks and for messages listed a little after they were sent. The time of the last read
# is kept in its own gateway_health row, so that it survives a restart: the very case
# (the service down) whose replies are being recovered.
INBOUND_EVERY = timedelta(minutes=1)
INBOUND_MARGIN = timedelta(minutes=5)
INBOUND_ROW = "inbound-sms"
SID_CHUNK = 500


def reconcile(
    session: Session, config: dict[str, dict[str, Any]], gateway: Gateway, now: datetime
) -> int:
    """Settle interrupted dispatches and stale calls, and apply the SMS replies no webhook
    brought; returns how many were settled or applied."""
    settled = 0
    interrupted = session.scalars(
        select(Attempt).where(
            Attempt.gateway_status == DISPATCHING,
            Attempt.gateway_sid.is_(None),
            Attempt.started_at < now - GRACE,
        )
    ).all()
    for attempt in interrupted:
        _uncertain(session, attempt, now, "Envoi interrompu : vérifier auprès de la personne")
        settled += 1
    session.flush()
    stale = session.scalars(
        select(Attempt)
        .where(
            Attempt.ended_at.is_(None),
            Attempt.gateway_sid.is_not(None),
            Attempt.direction == "outbound",
            Attempt.started_at < now - timedelta(minutes=config["telephony"]["stale_call_minutes"]),
        )
        .order_by(Attempt.id)
        .limit(STALE_BATCH)
    ).all()
    for attempt in stale:
        assert attempt.gateway_sid is not None
        try:
            if attempt.channel == AttemptChannel.ivr:
                remote = gateway.fetch_call(attempt.gateway_sid)
                params = {"CallSid": remote.sid, "CallStatus": remote.status}
                if remote.duration is not None:
                    params["CallDuration"] = str(remote.duration)
                if remote.answered_by:
                    params["AnsweredBy"] = remote.answered_by
                ivr.status(session, params, str(attempt.id), now)
            else:
                remote = gateway.fetch_message(attempt.gateway_sid)
                params = {"MessageSid": remote.sid, "MessageStatus": remote.status}
                if remote.error_code:
                    params["ErrorCode"] = str(remote.error_code)
                sms.status(session, params, str(attempt.id), now)
        except GatewayError as exc:
            if exc.status == 404:
                # The gateway does not know it (a restarted simulator, a purged log): the
                # call's fate is unknown, so a person checks instead of a blind redial.
                _uncertain(session, attempt, now, "Appel inconnu de l'opérateur : vérifier")
                settled += 1
                continue
            log.warning("reconcile: attempt %s not looked up: %s", attempt.id, exc)
            break
        settled += 1
    session.flush()
    return settled + recover_inbound(session, gateway, now)


def recover_inbound(session: Session, gateway: Gateway, now: datetime) -> int:
    """Apply the SMS replies the gateway received and this service never stored (their
    webhook failed); returns how many were applied.

    Read only where SMS are in use (one sent within the reply window): a reply is only
    matched to an SMS of the last ``sms.REPLY_WINDOW``. Each message goes through
    ``sms.inbound``, the function the inbound webhook's inbox row is applied with, which
    records it once per MessageSid; a copy the webhook stores meanwhile is not applied twice
    (the SID is unique, so the later of the two is refused and skipped here).
    """
    list_inbound = getattr(gateway, "list_inbound", None)
    if list_inbound is None:  # a gateway without a message list
        return 0
    oldest = now - sms.REPLY_WINDOW
    row = session.scalar(select(GatewayHealth).where(GatewayHealth.name == INBOUND_ROW))
    read_at = row.last_ok_at if row is not None else None
    if read_at is not None and now - read_at < INBOUND_EVERY:
        return 0
    texting = session.scalar(
        select(Attempt.id)
        .where(
            Attempt.channel == AttemptChannel.sms,
            Attempt.direction == "outbound",
            Attempt.started_at >= oldest,
        )
        .limit(1)
    )
    if texting is None:
        return 0
    if read_at is None:
        # Never read yet: from the last reply stored.
        read_at = session.scalar(
            select(func.max(Attempt.started_at)).where(
                Attempt.channel == AttemptChannel.sms, Attempt.direction == "inbound"
            )
        )
    since = max((read_at or oldest) - INBOUND_MARGIN, oldest)
    try:
        received: list[Inbound] = list_inbound(since)
    except GatewayError as exc:
        log.warning("reconcile: received SMS not listed: %s", exc)
        return 0
    seen = _stored_sids(session, [m.sid for m in received])
    applied = 0
    for message in received:
        if message.sid in seen:
            continue
        try:
            with session.begin_nested():
                sms.inbound(session, _webhook_params(message), now)
        except IntegrityError:
            continue  # its webhook's copy was applied meanwhile
        seen.add(message.sid)
        applied += 1
    if row is None:
        row = GatewayHealth(name=INBOUND_ROW)
        session.add(row)
    row.last_ok_at = now
    session.flush()
    if applied:
        log.info("reconcile: %d received SMS applied that no webhook brought", applied)
    return applied


def _stored_sids(session: Session, sids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(sids), SID_CHUNK):
        chunk = sids[start : start + SID_CHUNK]
        found.update(
            sid
            for sid in session.scalars(
                select(Attempt.gateway_sid).where(Attempt.gateway_sid.in_(chunk))
            )
            if sid is not None
        )
    return found


def _webhook_params(message: Inbound) -> dict[str, str]:
    """The inbound SMS webhook's parameters, as Twilio would have posted them."""
    return {
        "MessageSid": message.sid,
        "SmsMessageSid": message.sid,
        "SmsSid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_,
        "To": message.to,
        "Body": message.body,
        "NumMedia": "0",
        "NumSegments": message.num_segments,
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def _uncertain(session: Session, attempt: Attempt, now: datetime, note: str) -> None:
    attempt.gateway_status = UNKNOWN
    attempt.ended_at = now
    attempt.notes = note
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    if task is not None and task.state == TaskState.queued:
        task.disposition = "uncertain"
        to_staff(task, now)
