"""A rehearsal asked for from the web page and played later by the ``rehearsals`` job.

A rehearsal takes seconds to minutes, longer than a web request may: the page writes a
pending row, the scheduler plays it (``operations.run_next``) and appends each printed line
as it comes, so the page shows the day advancing. The lines and figures are aggregates of a
throw-away copy (``run.rehearse`` prints nothing personal): the row holds no personal data.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum


class RunState(enum.StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


# A run in one of these states blocks a second request for the same organisation.
BUSY = (RunState.pending, RunState.running)


class RehearsalRun(Base):
    __tablename__ = "rehearsal_run"
    __table_args__ = (Index("ix_rehearsal_run_org", "organisation_id", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime]
    # run.Settings as plain values: seniors (null: the copy of the canicule list), cps,
    # staff, channel, day (ISO), quick.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[RunState] = mapped_column(str_enum(RunState), index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # What the rehearsal printed, one line each: the hourly lines, then the verdict.
    output: Mapped[str] = mapped_column(Text, default="")
    # Why it failed, in a few French words (never a traceback).
    error: Mapped[str | None] = mapped_column(String(200))
    # The verdict's figures, for the page (the raw line is the output's last line).
    seniors: Mapped[int | None]
    reached: Mapped[int | None]
    through_contact: Mapped[int | None]
    escalated: Mapped[int | None]
    settled: Mapped[int | None]
    unaccounted: Mapped[int | None]
    ratio: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(300))

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.output or "").splitlines() if line]
