"""Run jobs: once from the CLI, or on their triggers in a scheduler that only one process
at a time may lead.

Leadership: on PostgreSQL the leader holds a session-level advisory lock on a dedicated
connection for as long as it lives; a second scheduler polls for the same lock and waits as
a standby. When the leader dies its connection closes, PostgreSQL releases the lock, and the
standby takes over at its next poll. On SQLite (one machine) an exclusive file lock next to
the database plays the same part.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import text

from outreach.db import get_engine, session_scope
from outreach.scheduling.registry import Job, load_jobs
from outreach.timezone import PARIS

log = logging.getLogger("outreach.scheduler")
ADVISORY_LOCK_KEY = 0x0C7EAC4  # any constant shared by every outreach scheduler


class UnknownJob(KeyError):
    pass


def run_job(app: Flask, name: str, now: datetime | None = None) -> str:
    """Run one job once in an app context and one transaction; return its summary line."""
    jobs = load_jobs()
    if name not in jobs:
        raise UnknownJob(name)
    with app.app_context(), session_scope() as session:
        return jobs[name].func(session, now or datetime.now(UTC))


class Leadership:
    """The right to fire jobs: an advisory lock (PostgreSQL) or a file lock (SQLite)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._conn: Any = None
        self._file: Any = None

    def try_acquire(self) -> bool:
        with self.app.app_context():
            engine = get_engine()
            if engine.dialect.name == "postgresql":
                conn = engine.connect()
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
                ).scalar()
                conn.commit()
                if got:
                    self._conn = conn
                    return True
                conn.close()
                return False
            path = Path(engine.url.database or "outreach").with_suffix(".scheduler.lock")
            fh = path.open("a")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                return False
            self._file = fh
            return True

    def still_held(self) -> bool:
        """False when the lock's connection died (then another process may lead)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure means the lock is gone
            return False

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


def wait_for_leadership(
    app: Flask, poll_seconds: float, stop: threading.Event | None = None
) -> Leadership | None:
    lead = Leadership(app)
    announced = False
    while not (stop and stop.is_set()):
        if lead.try_acquire():
            log.info("scheduler: leader (pid %s)", os.getpid())
            print(f"scheduler: leader (pid {os.getpid()})", flush=True)
            return lead
        if not announced:
            print("scheduler: standby, another scheduler is running", flush=True)
            announced = True
        time.sleep(poll_seconds)
    return None


def _wrap(app: Flask, job: Job) -> Callable[[], None]:
    def run() -> None:
        from outreach.db import is_outage

        outage = app.extensions["outreach.outage"]
        try:
            summary = run_job(app, job.name)
            log.info("%s", summary)
            outage.succeeded()
        except Exception as exc:
            if is_outage(exc):  # one line a minute for all the jobs, not a traceback each
                outage.failed(exc, f"job {job.name}")
            else:
                log.exception("job %s failed", job.name)

    return run


def build_scheduler(app: Flask, blocking: bool, lead: Leadership) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    # A run still going when its next trigger comes is skipped on purpose (max_instances=1:
    # the dispatcher works through its backlog in one run); APScheduler would log a warning
    # for each of them. Failures of our jobs are logged by _wrap.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=PARIS,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
    )
    now = datetime.now(UTC)
    for job in load_jobs().values():
        # Jobs marked run_at_start also fire once now (generation is idempotent), so a
        # scheduler started at 9h does not leave the day without tasks until tomorrow 6h.
        extra = {"next_run_time": now} if job.run_at_start else {}
        scheduler.add_job(
            _wrap(app, job), job.trigger, id=job.name, name=job.name, **extra, **job.trigger_args
        )

    def check_lock() -> None:
        if not lead.still_held():
            # Another process may already lead: stop at once rather than fire jobs twice.
            log.error("scheduler: lost the leadership lock, exiting")
            os._exit(3)

    scheduler.add_job(check_lock, "interval", seconds=10, id="leadership-check")
    return scheduler


def run_scheduler(
    app: Flask, poll_seconds: float, on_lead: Callable[[Flask], None] | None = None
) -> None:
    """`outreach scheduler`: wait to lead, then fire jobs until killed."""
    lead = wait_for_leadership(app, poll_seconds)
    assert lead is not None
    if on_lead:
        on_lead(app)
    try:
        build_scheduler(app, blocking=True, lead=lead).start()
    finally:
        lead.release()


def start_background_scheduler(
    app: Flask, poll_seconds: float, on_lead: Callable[[Flask], None] | None = None
) -> threading.Thread:
    """For `outreach serve`: the same scheduler in a daemon thread of the web process."""

    def target() -> None:
        lead = wait_for_leadership(app, poll_seconds)
        if lead is not None:
            if on_lead:
                on_lead(app)
            build_scheduler(app, blocking=False, lead=lead).start()

    thread = threading.Thread(target=target, name="outreach-scheduler", daemon=True)
    thread.start()
    return thread
