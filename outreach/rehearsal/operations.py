"""Rehearsals asked for from the web page (``RehearsalRun``): request one, play the next.

``request`` is an ordinary operation (flush, the request commits). ``run_next`` is the
exception to "operations never commit", on purpose: it is the whole of the ``rehearsals``
job, it takes a run with its own committed UPDATE (so that a second scheduler cannot take the
same one), and it commits each printed line so that the page shows the day advancing while
the rehearsal plays for minutes.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.campaigns.models import ChannelPolicy
from outreach.db import changed_rows
from outreach.rehearsal.models import BUSY, RehearsalRun, RunState
from outreach.rehearsal.run import Result, Settings, rehearse

log = logging.getLogger("outreach.rehearsal")
# A run still "running" after this long was cut short (the scheduler stopped mid-day): it is
# marked failed so that the organisation may ask for another.
STALE_AFTER = timedelta(hours=2)
FAILED_REASON = (
    "La répétition s'est arrêtée sur une erreur ({kind}) ; le détail est dans le journal "
    "du planificateur."
)
STALE_REASON = "La répétition a été interrompue (arrêt du planificateur) : relancez-la."


class RehearsalError(ValueError):
    """A request that cannot be accepted; the message is in French, for the page."""


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The settings a run stores (its seed and its day too: the same run can be replayed)."""
    return {
        "seniors": settings.seniors,
        "cps": settings.cps,
        "staff": settings.staff,
        "channel": settings.channel.value,
        "day": settings.day.isoformat(),
        "quick": settings.quick,
        "seed": settings.seed,
    }


def settings_from_json(values: dict[str, Any]) -> Settings:
    return Settings(
        seniors=values.get("seniors"),
        cps=float(values["cps"]),
        staff=int(values["staff"]),
        seed=int(values.get("seed", 1)),
        channel=ChannelPolicy(values["channel"]),
        day=date.fromisoformat(values["day"]),
        quick=bool(values.get("quick", False)),
    )


def request(
    session: Session, org_id: int, user_id: int | None, settings: Settings, now: datetime
) -> RehearsalRun:
    """Queue a rehearsal for the ``rehearsals`` job; one at a time per organisation."""
    busy = session.scalar(
        select(RehearsalRun.id)
        .where(RehearsalRun.organisation_id == org_id, RehearsalRun.state.in_(BUSY))
        .limit(1)
    )
    if busy is not None:
        raise RehearsalError(
            "Une répétition de cette organisation est déjà en attente ou en cours : "
            "attendez qu'elle se termine."
        )
    values = settings_to_json(settings)
    run = RehearsalRun(
        organisation_id=org_id,
        requested_by_id=user_id,
        requested_at=now,
        settings=values,
        state=RunState.pending,
        output="",
    )
    session.add(run)
    session.flush()
    record(
        session,
        action="rehearsal.request",
        entity="rehearsal",
        entity_id=run.id,
        organisation_id=org_id,
        user_id=user_id,
        details={k: values[k] for k in ("seniors", "cps", "staff", "channel", "quick")},
    )
    return run


def _fail_stale(session: Session, now: datetime) -> None:
    changed_rows(
        session,
        update(RehearsalRun)
        .where(
            RehearsalRun.state == RunState.running,
            RehearsalRun.started_at < now - STALE_AFTER,
        )
        .values(state=RunState.failed, finished_at=now, error=STALE_REASON),
    )


def _take(session: Session, now: datetime) -> RehearsalRun | None:
    """The oldest pending run, now running; None when there is none or another scheduler
    took it first (the conditional UPDATE changes one row for one of them only)."""
    run_id = session.scalar(
        select(RehearsalRun.id)
        .where(RehearsalRun.state == RunState.pending)
        .order_by(RehearsalRun.requested_at, RehearsalRun.id)
        .limit(1)
    )
    if run_id is None:
        return None
    took = changed_rows(
        session,
        update(RehearsalRun)
        .where(RehearsalRun.id == run_id, RehearsalRun.state == RunState.pending)
        .values(state=RunState.running, started_at=now),
    )
    session.commit()
    if not took:
        return None
    run = session.get(RehearsalRun, run_id, populate_existing=True)
    assert run is not None  # runs are never deleted
    return run


def _store_verdict(run: RehearsalRun, result: Result) -> None:
    final = result.final
    run.seniors = final.seniors
    run.reached = final.reached
    run.through_contact = final.through_contact
    run.escalated = final.escalated
    run.settled = final.settled
    run.unaccounted = final.unaccounted
    run.ratio = round(result.ratio, 2)
    run.verdict = result.line()[:300]


def run_next(
    session: Session, config: dict[str, dict[str, Any]], now: datetime
) -> RehearsalRun | None:
    """Play the oldest pending rehearsal, if any, to its end; return its row (done or
    failed), or None when there was nothing to play."""
    _fail_stale(session, now)
    taken = _take(session, now)
    if taken is None:
        session.commit()
        return None
    run = taken
    settings = settings_from_json(run.settings)
    source = (session, run.organisation_id) if settings.seniors is None else None
    lines: list[str] = []
    started = time.monotonic()

    def out(line: str) -> None:
        lines.append(line)
        run.output = "".join(f"{x}\n" for x in lines)
        session.commit()

    try:
        result = rehearse(settings, config, source=source, out=out)
    except Exception as exc:  # noqa: BLE001 - any failure ends the run as failed, said so
        log.exception("rehearsal %s failed", run.id)
        session.rollback()
        session.refresh(run)
        run.state = RunState.failed
        run.error = FAILED_REASON.format(kind=type(exc).__name__)[:200]
    else:
        run.state = RunState.done
        _store_verdict(run, result)
    run.finished_at = now + timedelta(seconds=time.monotonic() - started)
    session.commit()
    return run
