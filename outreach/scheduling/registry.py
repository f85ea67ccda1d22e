"""Every scheduled job in one place, with its trigger.

A job is a function ``(session, now) -> str`` that receives ids and plain values, never ORM
objects from another transaction, and returns the one-line summary printed by
``outreach run-job``. The runner gives each run an app context and one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

JobFunc = Callable[[Session, datetime], str]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    trigger: str  # "cron" or "interval"
    trigger_args: dict[str, Any]
    description: str
    run_at_start: bool = False


JOBS: dict[str, Job] = {}


def job(
    name: str, trigger: str, description: str, run_at_start: bool = False, **trigger_args: Any
) -> Callable[[JobFunc], JobFunc]:
    """Register a job function under ``name`` (names are what `run-job` accepts)."""

    def register(func: JobFunc) -> JobFunc:
        if name in JOBS:
            raise ValueError(f"job {name} registered twice")
        JOBS[name] = Job(name, func, trigger, trigger_args, description, run_at_start)
        return func

    return register


def load_jobs() -> dict[str, Job]:
    """Import the modules that declare jobs, then return the registry."""
    import outreach.campaigns.jobs  # noqa: F401
    import outreach.escalation.jobs  # noqa: F401
    import outreach.notifications.jobs  # noqa: F401
    import outreach.privacy.jobs  # noqa: F401
    import outreach.queue.jobs  # noqa: F401
    import outreach.rehearsal.jobs  # noqa: F401
    import outreach.reports.jobs  # noqa: F401
    import outreach.telephony.jobs  # noqa: F401
    import outreach.vigilance.jobs  # noqa: F401
    import outreach.workshops.jobs  # noqa: F401

    return JOBS
