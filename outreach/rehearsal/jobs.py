"""The ``rehearsals`` job: play the rehearsals asked for from the web page, one a run."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from outreach.rehearsal.operations import run_next
from outreach.scheduling.registry import job


@job(
    "rehearsals",
    "interval",
    "Play the next canicule rehearsal asked for from the web page.",
    seconds=30,
)
def rehearsals(session: Session, now: datetime) -> str:
    run = run_next(session, current_app.config["OUTREACH"], now)
    if run is None:
        return "rehearsals: none pending"
    return f"rehearsals: run {run.id} {run.state.value}"
