"""What the rehearsal reports, read from the throw-away database like any report would.

For the day's tasks of the rehearsal's canicule campaign, each senior is counted once, in
the first of: reached (she answered herself), through her contact (settled by her
emergency contact's "1"), escalated (under an open alert), settled otherwise (refused,
absent, deceased), unaccounted (none of these: the figure that must be 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.calls.outcomes import REACHED, Outcome
from outreach.campaigns.models import OPEN_TASK_STATES, Task
from outreach.escalation.models import Alert, AlertStatus

# Set by the emergency-contact calls when they exist (a contact's "1").
THROUGH_CONTACT = "reached_through_contact"
SETTLED = {Outcome.refused.value, Outcome.absent.value, Outcome.deceased.value}


@dataclass
class Snapshot:
    seniors: int
    first_attempts: int
    last_first_attempt: datetime | None
    reached: int
    through_contact: int
    escalated: int
    settled: int
    unaccounted: int
    open_alerts: int
    staff_backlog: int
    # Where the unaccounted seniors' tasks were left: (state, disposition) -> seniors.
    left_as: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def unreached(self) -> int:
        return self.seniors - self.reached - self.through_contact


def _own(stmt: Any) -> Any:
    """Attempts with the senior herself, not with her emergency contact (when the schema
    knows contacts)."""
    contact = getattr(Attempt, "contact_id", None)
    return stmt if contact is None else stmt.where(contact.is_(None))


def snapshot(session: Session, campaign_id: int, since: datetime) -> Snapshot:
    tasks = session.execute(
        select(
            Task.id, Task.senior_id, Task.outcome, Task.state, Task.channel, Task.disposition
        ).where(Task.campaign_id == campaign_id)
    ).all()
    seniors = {t.senior_id for t in tasks}
    firsts = dict(
        session.execute(
            _own(
                select(Attempt.task_id, func.min(Attempt.started_at))
                .where(
                    Attempt.task_id.in_(select(Task.id).where(Task.campaign_id == campaign_id)),
                    Attempt.direction == "outbound",
                )
                .group_by(Attempt.task_id)
            )
        ).all()
    )
    reached = set(
        session.scalars(
            _own(
                select(Attempt.senior_id).where(
                    Attempt.senior_id.in_(seniors),
                    Attempt.started_at >= since,
                    Attempt.outcome.in_(sorted(REACHED)),
                )
            )
        )
    )
    by_outcome: dict[int, set[str]] = {}
    for t in tasks:
        if t.outcome is not None:
            by_outcome.setdefault(t.senior_id, set()).add(str(t.outcome))
    through = {s for s, o in by_outcome.items() if THROUGH_CONTACT in o} - reached
    alerted = set(
        session.scalars(
            select(Alert.senior_id).where(
                Alert.senior_id.in_(seniors),
                Alert.status != AlertStatus.resolved,
            )
        )
    )
    escalated = (alerted & seniors) - reached - through
    settled = {s for s, o in by_outcome.items() if o & SETTLED} - reached - through - escalated
    backlog = sum(
        1 for t in tasks if t.state in OPEN_TASK_STATES and t.channel == AttemptChannel.staff
    )
    lost = seniors - reached - through - escalated - settled
    left_as = Counter(
        (str(t.state), str(t.disposition or "-")) for t in tasks if t.senior_id in lost
    )
    last = max((f for f in firsts.values() if f is not None), default=None)
    return Snapshot(
        seniors=len(seniors),
        first_attempts=len(firsts),
        last_first_attempt=last,
        reached=len(reached),
        through_contact=len(through),
        escalated=len(escalated),
        settled=len(settled),
        unaccounted=len(lost),
        open_alerts=len(alerted),
        staff_backlog=backlog,
        left_as=dict(left_as),
    )
