"""Play a heatwave day on a throw-away copy, through the production code paths.

A fresh SQLite database in a temporary folder receives the cast (``roster``); a canicule is
activated at the start of the canicule call window; then, on a simulated clock
(``clock.VirtualClock``), the rehearsal runs what the scheduler runs in production: the
dispatcher (its pacing sleeps advance the simulated time), the jobs of the job registry at
their triggers (webhook inbox, escalation rules, expired claims, and whatever later parts
register), the simulator gateway's calls and SMS with their signed webhooks into the app,
and simulated callers on the staff queue (``staff``). Only the clock and the people are
simulated. Every simulated hour it prints a line; at the end, the one-line verdict.
"""

from __future__ import annotations

import random
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from outreach.campaigns.models import ChannelPolicy, Task
from outreach.campaigns.operations import activate_canicule
from outreach.campaigns.schedule import EVERY_DAY_WINDOW
from outreach.db import get_engine, session_scope
from outreach.rehearsal import roster
from outreach.rehearsal.clock import VirtualClock
from outreach.rehearsal.figures import Snapshot, snapshot
from outreach.rehearsal.staff import Callers
from outreach.rehearsal.webhooks import AppDeliverer
from outreach.scheduling.registry import load_jobs
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import make_gateway
from outreach.telephony.inbox import status_engine, write_rows
from outreach.telephony.simulator import SimulatorServer
from outreach.telephony.writebehind import StatusBuffer
from outreach.timezone import PARIS

# Jobs the day does not need: the dispatcher runs on the simulated clock instead; mail,
# digests, retention, the morning generation and outside services stay out of a rehearsal.
SKIPPED_JOBS = frozenset(
    {
        "dispatch",
        "send-notifications",
        "alert-digest",
        "weekly-digest",
        "retention",
        "generate-tasks",
        "vigilance",
        "report-rollups",
        "rehearsals",  # a rehearsal must not start a rehearsal
    }
)
# Sections of the real configuration the rehearsal keeps: its policies are what it tests.
KEPT_SECTIONS = ("queue", "escalation", "canicule", "simulator")
PUBLIC_URL = "http://repetition.invalid"
# Quick mode: the jobs and the dispatcher run every five simulated minutes.
QUICK_STEP_SECONDS = 300.0
# After the window closes, the day's end-of-day rules still run for this long.
AFTER_WINDOW = timedelta(hours=1)


@dataclass
class Settings:
    seniors: int | None = 2000  # None: the copy of an organisation's canicule list
    cps: float = 1.0
    staff: int = 5
    seed: int = 1
    channel: ChannelPolicy = ChannelPolicy.ivr_then_staff
    day: date = field(default_factory=lambda: date(2027, 7, 15))
    # Coarser steps for the jobs and the dispatcher (QUICK_STEP_SECONDS rather than the
    # jobs' own 2-60 s; callers still wake when their call ends): the same code paths,
    # fewer runs; the suite's mode.
    quick: bool = False


@dataclass
class Result:
    settings: Settings
    start: datetime
    automated: int
    rate: float
    final: Snapshot
    hours: list[tuple[str, Snapshot]]

    @property
    def floor(self) -> datetime:
        """The earliest the last first attempt can be: every automated task at the rate."""
        return self.start + timedelta(seconds=max(0, self.automated - 1) / self.rate)

    @property
    def ratio(self) -> float:
        last = self.final.last_first_attempt
        span = (self.floor - self.start).total_seconds()
        if last is None or span <= 0:
            return 1.0
        return (last - self.start).total_seconds() / span

    def line(self) -> str:
        f = self.final
        last = f.last_first_attempt
        return (
            f"rehearsal: {f.seniors} seniors, reached {f.reached}, through contact "
            f"{f.through_contact}, escalated {f.escalated}, unaccounted {f.unaccounted}, "
            f"last first attempt {_hhmm(last)} (floor {_hhmm(self.floor)}, "
            f"ratio {self.ratio:.2f})"
        )


def _hhmm(moment: datetime | None) -> str:
    return "--:--" if moment is None else moment.astimezone(PARIS).strftime("%H:%M")


def hour_line(label: str, s: Snapshot) -> str:
    return (
        f"{label}  first attempts {s.first_attempts:>6}  reached {s.reached:>6}  "
        f"unreached {s.unreached:>6}  alerts {s.open_alerts:>5}  staff backlog {s.staff_backlog:>5}"
    )


def _override(base: dict[str, dict[str, Any]], url: str, settings: Settings) -> dict[str, Any]:
    override: dict[str, Any] = {name: dict(base[name]) for name in KEPT_SECTIONS if name in base}
    override["simulator"] = {**override.get("simulator", {}), "port": 0, "seed": settings.seed}
    override.update(
        app={"env": "development", "secret_key": secrets.token_urlsafe(48)},
        database={"url": url, "echo": False},
        scheduler={"run_in_serve": False},
        mail={"backend": "console"},
        telephony={
            "backend": "simulator",
            "public_base_url": PUBLIC_URL,
            "calls_per_second": settings.cps,
        },
    )
    return override


def rehearse(
    settings: Settings,
    base_config: dict[str, dict[str, Any]],
    *,
    source: tuple[Session, int] | None = None,
    out: Callable[[str], None] = print,
) -> Result:
    """Play the day; ``source`` (a session and an organisation id) when the cast is the
    copy of that organisation's canicule list rather than generated seniors."""
    from outreach import create_app
    from outreach.cli import upgrade_database

    with tempfile.TemporaryDirectory(prefix="outreach-rehearsal-") as folder:
        url = f"sqlite:///{Path(folder) / 'rehearsal.sqlite3'}"
        upgrade_database(url)
        app = create_app(_override(base_config, url, settings))
        # A throw-away file: durability against a power cut buys nothing here, and every
        # commit's fsync was a good part of the run.
        event.listen(app.extensions["outreach.engine"], "connect", _no_sync)
        try:
            return _play(app, settings, source, out)
        finally:
            from outreach.telephony.writebehind import flush_all

            flush_all()
            app.extensions["outreach.engine"].dispose()


class _Immediate(StatusBuffer):
    def put(self, row: tuple[Any, ...]) -> None:
        write_rows(self.engine, [row])


def _no_sync(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _play(
    app: Flask,
    settings: Settings,
    source: tuple[Session, int] | None,
    out: Callable[[str], None],
) -> Result:
    config = app.config["OUTREACH"]
    window = EVERY_DAY_WINDOW["mon"][0]
    opens, closes = (time.fromisoformat(t) for t in window)
    start = datetime.combine(settings.day, opens, PARIS)
    end = datetime.combine(settings.day, closes, PARIS) + AFTER_WINDOW
    clock = VirtualClock(start)
    app.extensions["outreach.clock"] = clock.now
    sim_settings = config["simulator"]
    server = SimulatorServer(
        config,
        PUBLIC_URL,
        deliver=AppDeliverer(app, sim_settings["auth_token"]),
        clock=clock.now,
    ).start(drive=False)
    config["simulator"]["port"] = server.port
    with app.app_context():
        # Status callbacks written as they come, not by the write-behind thread: a second
        # writer beside the day's single thread is what SQLite refuses ("database is
        # locked" on a transaction that read before the other one wrote).
        app.extensions["outreach.status_buffer"] = _Immediate(status_engine(get_engine()))
    try:
        with app.app_context(), session_scope() as session:
            if source is None:
                cast = roster.generated(
                    session, settings.seniors or 0, settings.staff, settings.day, settings.seed
                )
            else:
                cast = roster.copied(
                    source[0], source[1], session, settings.staff, settings.day, settings.seed
                )
            campaign, _ = activate_canicule(
                session, cast.organisation_id, list(cast.departements), "orange",
                settings.day, clock.now(), channel_policy=settings.channel, via="rehearsal",
            )  # fmt: skip
            campaign_id = campaign.id
            automated = session.scalar(
                select(func.count(Task.id)).where(
                    Task.campaign_id == campaign_id,
                    Task.channel.in_([ChannelPolicy.ivr, ChannelPolicy.sms]),
                )
            )
        rate = float(
            config["telephony"]["sms_per_second"]
            if settings.channel == ChannelPolicy.sms
            else settings.cps
        )
        weights = config["simulator"]["answer_weights"]
        callers = Callers(
            app, cast.organisation_id, cast.staff_ids, random.Random(settings.seed),
            weights.get("human", 0) / (sum(weights.values()) or 1),
        )  # fmt: skip
        hours = _loop(app, config, clock, server, callers, campaign_id, start, end, settings, out)
        final = _snap(app, campaign_id, start)
    finally:
        server.stop()
    result = Result(settings, start, automated or 0, rate, final, hours)
    out(f"settled otherwise (refused, absent, deceased): {final.settled}")
    for (state, disposition), count in sorted(final.left_as.items()):
        out(f"unaccounted: {count} left {state} ({disposition})")
    out(result.line())
    return result


def _snap(app: Flask, campaign_id: int, since: datetime) -> Snapshot:
    with app.app_context(), session_scope() as session:
        return snapshot(session, campaign_id, since)


class _Jobs:
    """The registry's jobs on the simulated clock: interval jobs every ``seconds`` (at
    least ``floor`` apart in quick mode), cron jobs at their next fire time."""

    def __init__(self, app: Flask, start: datetime, floor: float) -> None:
        from outreach.scheduling.runner import run_job

        self.run_job = run_job
        self.app = app
        self.next: dict[str, datetime] = {}
        self.every: dict[str, timedelta] = {}
        self.cron: dict[str, CronTrigger] = {}
        for job in load_jobs().values():
            if job.name in SKIPPED_JOBS:
                continue
            if job.trigger == "interval":
                every = timedelta(**job.trigger_args).total_seconds()
                self.every[job.name] = timedelta(seconds=max(every, floor))
                self.next[job.name] = start
            else:
                self.cron[job.name] = CronTrigger(**job.trigger_args, timezone=PARIS)
                self._schedule_cron(job.name, start)

    def _schedule_cron(self, name: str, after: datetime) -> None:
        fire = self.cron[name].get_next_fire_time(None, after + timedelta(seconds=1))
        if fire is not None:
            self.next[name] = fire

    def run_due(self, now: datetime) -> None:
        for name, due in sorted(self.next.items(), key=lambda kv: kv[1]):
            if due > now:
                continue
            self.run_job(self.app, name, now)
            if name in self.every:
                self.next[name] = now + self.every[name]
            else:
                self._schedule_cron(name, now)

    def next_due(self) -> datetime | None:
        return min(self.next.values(), default=None)


def _loop(
    app: Flask,
    config: dict[str, Any],
    clock: VirtualClock,
    server: SimulatorServer,
    callers: Callers,
    campaign_id: int,
    start: datetime,
    end: datetime,
    settings: Settings,
    out: Callable[[str], None],
) -> list[tuple[str, Snapshot]]:
    step = QUICK_STEP_SECONDS if settings.quick else 0.0
    # The dispatcher runs as often as its job would, for as long (its pacer fills the time).
    dispatch = load_jobs()["dispatch"]
    dispatch_every = timedelta(**dispatch.trigger_args)
    if settings.quick:
        dispatch_every = max(dispatch_every, timedelta(seconds=step))
    jobs = _Jobs(app, start, step)
    staff_every = timedelta(seconds=step or 10)
    closes = end - AFTER_WINDOW
    next_dispatch, next_staff = start, start
    next_hour = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours: list[tuple[str, Snapshot]] = []
    simulator = server.simulator
    with app.app_context():
        gateway = make_gateway(config)
    while clock.now() < end:
        now = clock.now()
        if now >= next_dispatch:
            with app.app_context(), session_scope() as session:
                Dispatcher(
                    session, config, gateway,
                    clock=clock.now, monotonic=clock.monotonic, sleep=clock.sleep,
                ).run(max_seconds=dispatch_every.total_seconds())  # fmt: skip
            next_dispatch = max(clock.now(), now + dispatch_every)
        simulator.run_due(clock.now())
        jobs.run_due(clock.now())
        if clock.now() >= next_staff or (callers.next_at() or end) <= clock.now():
            callers.step(clock.now(), working=clock.now() < closes)
            next_staff = clock.now() + staff_every
        if clock.now() >= next_hour:
            label = next_hour.astimezone(PARIS).strftime("%H:%M")
            snap = _snap(app, campaign_id, start)
            hours.append((label, snap))
            out(hour_line(label, snap))
            next_hour += timedelta(hours=1)
        upcoming = [
            next_dispatch,
            next_staff,
            next_hour,
            jobs.next_due(),
            simulator.next_due(),
            callers.next_at(),
        ]
        clock.advance_to(min(t for t in upcoming if t is not None))
        if clock.now() == now:
            clock.sleep(1)
    # The day's last hour line, at its end.
    if next_hour <= clock.now():
        jobs.run_due(clock.now())
        label = next_hour.astimezone(PARIS).strftime("%H:%M")
        snap = _snap(app, campaign_id, start)
        hours.append((label, snap))
        out(hour_line(label, snap))
    return hours
