"""Settle what a crash or a lost callback left open, when the dispatcher starts.

- An attempt still ``dispatching`` without a gateway SID: the process died between writing
  the attempt and recording the gateway's answer, so the call may or may not have been
  placed. It is never placed again automatically: the attempt becomes ``unknown`` and the
  task goes to the staff queue, where a person checks on the senior. If the call did
  happen, its callbacks still reach the attempt (its id is in their URLs).
- A call or SMS with a SID but no final status after ``stale_call_minutes`` (a callback
  lost on the way): its status is asked of the gateway by SID and applied as a callback.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.campaigns.models import Task, TaskState
from outreach.telephony import ivr, sms
from outreach.telephony.gateway import Gateway, GatewayError
from outreach.telephony.outcomes import to_staff
from outreach.telephony.status import DISPATCHING, UNKNOWN

log = logging.getLogger("outreach.telephony")
# A dispatching attempt younger than this may belong to a send in progress elsewhere
# (`outreach run-job dispatch` beside the scheduler): leave it alone.
GRACE = timedelta(seconds=60)
STALE_BATCH = 200


def reconcile(
    session: Session, config: dict[str, dict[str, Any]], gateway: Gateway, now: datetime
) -> int:
    """Settle interrupted dispatches and stale calls; returns how many were settled."""
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
    return settled


def _uncertain(session: Session, attempt: Attempt, now: datetime, note: str) -> None:
    attempt.gateway_status = UNKNOWN
    attempt.ended_at = now
    attempt.notes = note
    task = session.get(Task, attempt.task_id, populate_existing=True) if attempt.task_id else None
    if task is not None and task.state == TaskState.queued:
        task.disposition = "uncertain"
        to_staff(task, now)
