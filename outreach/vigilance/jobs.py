"""The ``vigilance`` job: read Météo-France's map after its updates, store it, propose.

The trigger fires every five minutes; the job polls only when a poll time has passed since
the last fetch (``vigilance.poll_times``, and every hour in between with ``hourly``), so the
times are configuration, not code, and a scheduler started at 9h polls at once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.scheduling.registry import job
from outreach.timezone import PARIS
from outreach.vigilance import operations
from outreach.vigilance.client import FetchError, MalformedMap, fetch
from outreach.vigilance.models import VigilanceMap

log = logging.getLogger("outreach.vigilance")
OFF_LOGGED = "outreach.vigilance_off_logged"


def poll_slots(settings: dict[str, Any], day: date) -> list[datetime]:
    """The instants (Paris) of ``day`` at which a fresh map is expected."""
    times = sorted(time.fromisoformat(t) for t in settings["poll_times"])
    slots = set(times)
    if settings["hourly"] and len(times) > 1:
        hour = times[0]
        while hour < times[-1]:
            slots.add(hour)
            hour = (datetime.combine(day, hour) + timedelta(hours=1)).time()
            if hour.hour == 0:
                break
    return sorted(datetime.combine(day, t, PARIS) for t in slots)


def is_due(settings: dict[str, Any], now: datetime, last: datetime | None) -> bool:
    """Whether a poll time has come since the last fetch (or there was none)."""
    local = now.astimezone(PARIS)
    slots = [
        s
        for d in (local.date() - timedelta(days=1), local.date())
        for s in poll_slots(settings, d)
        if s <= local
    ]
    return last is None or (bool(slots) and last < max(slots))


def poll(session: Session, config: dict[str, dict[str, Any]], now: datetime) -> str:
    """Fetch the map once, store it and bring the proposals in line; the summary line."""
    settings = config["vigilance"]
    try:
        document = fetch(
            settings["api_base_url"], settings["api_key"], settings["request_timeout_seconds"]
        )
    except (FetchError, MalformedMap) as exc:
        operations.record_failure(session, str(exc), now)
        return f"vigilance: map not read ({exc})"
    vmap, parsed = operations.record_map(session, document, now)
    if parsed is None:
        return f"vigilance: map refused ({vmap.error})"
    s = operations.evaluate(session, vmap, parsed, config, now)
    operations.prune(session, now, settings["keep_days"])
    return (
        f"vigilance: map {vmap.id}, proposals {s.proposed} new, {s.kept} kept, "
        f"{s.superseded} superseded, {s.auto_activated} activated automatically"
    )


@job(
    "vigilance",
    "interval",
    "Read Météo-France's vigilance map; propose canicule activations and lifts.",
    run_at_start=True,
    minutes=5,
)
def vigilance(session: Session, now: datetime) -> str:
    config = current_app.config["OUTREACH"]
    if not config["vigilance"]["api_key"]:
        if not current_app.extensions.get(OFF_LOGGED):
            log.warning("no METEOFRANCE_API_KEY: vigilance polling off")
            current_app.extensions[OFF_LOGGED] = True
        return "vigilance: off (no METEOFRANCE_API_KEY)"
    last = session.scalar(select(func.max(VigilanceMap.last_fetched_at)))
    if not is_due(config["vigilance"], now, last):
        return "vigilance: not due"
    return poll(session, config, now)
