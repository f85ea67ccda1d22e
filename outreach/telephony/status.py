"""Gateway statuses only move forward.

Twilio sends each status change as a separate request, with no ordering guarantee, and may
send one twice. Each status has a rank; an attempt takes a new status only if it ranks
higher than the one it has, in one conditional UPDATE, so that under duplicates, reordering
and concurrent requests exactly one request moves the attempt into each new state, and only
that request applies the consequences of a final status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt

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
    result = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, current < ranks[status])
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
