"""Simulated callers working the staff queue through the production queue operations.

Each caller takes the most urgent task (``claim_next``), spends a few simulated minutes on
the call and records what happened (``record_outcome``), as a conseillère does on "Ma file
du jour": the canicule tasks the automated channel handed to staff, callbacks, help
requests. Whether the senior answers is drawn from the simulator's answer weights, so staff
and automated calls meet the same population.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from outreach.calls.models import Severity, SignalKind
from outreach.calls.outcomes import Disposition
from outreach.campaigns.models import Task
from outreach.campaigns.schedule import paris_today
from outreach.db import session_scope
from outreach.queue.operations import QueueError, claim_next
from outreach.queue.recording import Outcome, record_outcome

# Minutes on a call: a conversation when she answers, the ringing otherwise.
TALK_MINUTES = (3.0, 8.0)
RING_MINUTES = 1.0
CONCERN_SHARE = 0.1  # of answered staff calls, a worry noted as a heat-distress signal


@dataclass
class Caller:
    user_id: int
    task_id: int | None = None
    answered: bool = False
    free_at: datetime | None = None


class Callers:
    def __init__(
        self,
        app: Flask,
        organisation_id: int,
        user_ids: list[int],
        rng: random.Random,
        answer_share: float,
    ) -> None:
        self.app = app
        self.organisation_id = organisation_id
        self.callers = [Caller(uid) for uid in user_ids]
        self.rng = rng
        self.answer_share = answer_share
        self.calls = 0
        queue: dict[str, Any] = app.config["OUTREACH"]["queue"]
        self.claim_minutes = int(queue["claim_minutes"])
        self.min_call_seconds = int(queue["min_call_seconds"])

    def next_at(self) -> datetime | None:
        """When the next caller ends a call (None: nobody is on a call)."""
        times = [c.free_at for c in self.callers if c.task_id is not None and c.free_at]
        return min(times) if times else None

    def step(self, now: datetime, working: bool) -> None:
        """Record the calls that ended; free callers take the next task while ``working``."""
        with self.app.app_context(), session_scope() as session:
            for caller in self.callers:
                if caller.task_id is not None and caller.free_at and caller.free_at <= now:
                    self._record(session, caller, now)
                if caller.task_id is None and working:
                    task = claim_next(
                        session,
                        [self.organisation_id],
                        caller.user_id,
                        paris_today(now),
                        now,
                        self.claim_minutes,
                    )
                    if task is None:
                        continue
                    caller.task_id = task.id
                    caller.answered = self.rng.random() < self.answer_share
                    minutes = self.rng.uniform(*TALK_MINUTES) if caller.answered else RING_MINUTES
                    caller.free_at = now + timedelta(minutes=minutes)
                session.flush()

    def _record(self, session: Any, caller: Caller, now: datetime) -> None:
        task = session.get(Task, caller.task_id)
        caller.task_id, caller.free_at = None, None
        if task is None:
            return
        if not caller.answered:
            outcome = Outcome(Disposition.no_answer)
        elif self.rng.random() < CONCERN_SHARE:
            outcome = Outcome(
                Disposition.reached_concern,
                signals=[(SignalKind.heat_distress, Severity.concern, None)],
            )
        else:
            outcome = Outcome(Disposition.reached_ok)
        try:
            record_outcome(session, task, caller.user_id, outcome, now, True, self.min_call_seconds)
        except QueueError:
            return  # the claim expired or the task was settled meanwhile: nothing to record
        self.calls += 1
