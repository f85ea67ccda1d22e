"""Gateway statuses only move forward.

Twilio sends each status change as a separate request, with no ordering guarantee, and may
send one twice. Each status has a rank; an attempt takes a new status only if it ranks
higher than the one it has, in one conditional UPDATE, so that under duplicates, reordering
and concurrent requests exactly one request moves the attempt into each new state, and only
that request applies the consequences of a final status.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.db import changed_rows

log = logging.getLogger("outreach.telephony")

DISPATCHING = "dispatching"  # written before the gateway is called (the outbox)
UNKNOWN = "unknown"  # a crash left it unclear whether the gateway got the request
NOT_SENT = "not_sent"  # the gateway refused or could not be reached: nothing was placed

CALL_RANK = {
    DISPATCHING: 0,
    "queued": 1,
    "initiated": 2,
    "ringing": 3,
    "in-progress": 4,
    "completed": 5,
    "busy": 5,
    "no-answer": 5,
    "failed": 5,
    "canceled": 5,
    NOT_SENT: 5,
}
SMS_RANK = {
    DISPATCHING: 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
    NOT_SENT: 5,
}
CALL_FINAL = frozenset(s for s, r in CALL_RANK.items() if r == 5)
SMS_FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read", NOT_SENT})
# Statuses of a call still in progress at the gateway.
CALL_IN_FLIGHT = frozenset(s for s, r in CALL_RANK.items() if 1 <= r < 5)


def rank(ranks: dict[str, int], status: str | None) -> int:
    return -1 if status is None else ranks.get(status, -1)


def advance(
    session: Session,
    attempt_id: int,
    status: str,
    ranks: dict[str, int],
    *,
    final: frozenset[str],
    now: datetime,
    **fields: Any,
) -> bool:
    """Move the attempt to ``status`` if that is forward; True if this call moved it.

    ``fields`` (duration, answered_by, error code...) are written with the move. A final
    status also ends the attempt (``ended_at``), which frees the senior for another call.
    An unknown status string is ignored rather than trusted.
    """
    if status not in ranks:
        return False
    current = case(ranks, value=Attempt.gateway_status, else_=-1)
    values: dict[str, Any] = {"gateway_status": status, **fields}
    if status in final:
        values["ended_at"] = now
    result = changed_rows(
        session,
        update(Attempt).where(Attempt.id == attempt_id, current < ranks[status]).values(**values),
    )
    return result == 1


# An attempt that may adopt the SID of the first callback naming it: written to the outbox
# (or left uncertain by a crash or a timeout) and never given a SID by the gateway's answer.
ADOPTABLE = frozenset({DISPATCHING, UNKNOWN})


def find_attempt(
    session: Session, attempt_id: str | None, sid: str | None, channel: AttemptChannel | str
) -> Attempt | None:
    """The outbound attempt a webhook is about, or None: then the webhook changes nothing.

    A webhook is never applied on the attempt id of its URL alone: its CallSid/MessageSid
    must be the attempt's. One exception keeps a crash harmless: a dispatcher that died (or
    timed out) after placing the call and before recording its SID left the attempt
    ``dispatching``/``unknown`` without SID; the first callback naming it with a SID that no
    other attempt holds gives it that SID, once (a conditional UPDATE), and every later
    callback must match it. Only Twilio can sign a webhook (the signature is checked first)
    and Twilio only calls back the URL handed over with that very call, so an adopted SID is
    the right one; a forged request never gets this far. A refusal is logged with the
    attempt id and the reason only: nothing personal.
    """
    channel = AttemptChannel(channel)
    ok = attempt_id and attempt_id.isascii() and attempt_id.isdigit() and len(attempt_id) <= 18
    ref = attempt_id if ok else None
    if not sid:
        return _refused(attempt_id, "no SID in the request")
    if ref is None:
        if attempt_id:
            return _refused(attempt_id, "malformed attempt id")
        attempt = session.scalar(
            select(Attempt)
            .where(Attempt.gateway_sid == sid)
            .execution_options(populate_existing=True)
        )
        if attempt is None:
            return _refused(None, "SID of no attempt")
    else:
        attempt = session.get(Attempt, int(ref), populate_existing=True)
        if attempt is None:
            return _refused(ref, "no such attempt")
    if attempt.channel != channel or attempt.direction != "outbound":
        return _refused(str(attempt.id), f"not an outbound {channel.value} attempt")
    if attempt.gateway_sid == sid:
        return attempt
    if attempt.gateway_sid is not None:
        return _refused(str(attempt.id), "SID does not match the attempt's")
    if attempt.gateway_status not in ADOPTABLE:
        return _refused(str(attempt.id), f"no SID recorded while {attempt.gateway_status}")
    if session.scalar(select(Attempt.id).where(Attempt.gateway_sid == sid)) is not None:
        return _refused(str(attempt.id), "SID belongs to another attempt")
    adopted = changed_rows(
        session,
        update(Attempt)
        .where(
            Attempt.id == attempt.id,
            Attempt.gateway_sid.is_(None),
            Attempt.gateway_status.in_(ADOPTABLE),
        )
        .values(gateway_sid=sid[:64]),
    )
    session.refresh(attempt)
    if attempt.gateway_sid != sid:
        return _refused(str(attempt.id), "SID does not match the attempt's")
    if adopted:
        log.info("webhook: attempt %s takes the SID of its first callback", attempt.id)
    return attempt


def _refused(attempt_ref: str | None, reason: str) -> Attempt | None:
    shown = attempt_ref if attempt_ref and attempt_ref.isascii() and attempt_ref.isdigit() else "?"
    log.warning("webhook ignored: attempt %s: %s", shown[:20], reason)
    return None
