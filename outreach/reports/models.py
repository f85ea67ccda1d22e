"""Rollup tables of the reports, kept by the ``report-rollups`` job (``reports.rollups``).

They hold aggregates only (flags per senior and month, counts per organisation and day):
nothing personal. No foreign key to the senior or the user: a senior deleted by retention
keeps her month in the figures of the past (the report joins the seniors that still exist,
as the live query does), and deleting rows would be slower for nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Float, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base

# The flag columns of ``ReportSeniorMonth``, in the order of the indicators they serve.
SENIOR_FLAGS: tuple[str, ...] = (
    "targeted",
    "attempted",
    "reached",
    "reached_ok",
    "concerns",
    "callback_requests",
    "help_requests",
    "refusals",
    "referred",
    "reinforced",
)


class ReportRollupMonth(Base):
    """One Paris calendar month whose rollups were built, for every organisation at once.

    The report reads a month from the rollups only when it is ``settled`` (built after the
    month ended plus ``[reports] rollup_settle_days``: late webhooks are in) and not
    ``stale`` (a change to the month's data since the build)."""

    __tablename__ = "report_rollup_month"

    month: Mapped[date] = mapped_column(primary_key=True)  # its first day
    built_at: Mapped[datetime]
    settled: Mapped[bool] = mapped_column(default=False)
    stale: Mapped[bool] = mapped_column(default=False)


class ReportSeniorMonth(Base):
    """A senior's flags of one month (1 or 0), per organisation of the rows they come from:
    the per-senior subqueries of ``breakdowns.senior_groups`` over that month. Only seniors
    with at least one flag have a row."""

    __tablename__ = "report_senior_month"

    organisation_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    senior_id: Mapped[int] = mapped_column(primary_key=True)
    targeted: Mapped[int] = mapped_column(SmallInteger)
    attempted: Mapped[int] = mapped_column(SmallInteger)
    reached: Mapped[int] = mapped_column(SmallInteger)
    reached_ok: Mapped[int] = mapped_column(SmallInteger)
    concerns: Mapped[int] = mapped_column(SmallInteger)
    callback_requests: Mapped[int] = mapped_column(SmallInteger)
    help_requests: Mapped[int] = mapped_column(SmallInteger)
    refusals: Mapped[int] = mapped_column(SmallInteger)
    referred: Mapped[int] = mapped_column(SmallInteger)
    reinforced: Mapped[int] = mapped_column(SmallInteger)


class ReportContactDay(Base):
    """Attempts started on one Paris day, by channel and outcome ("pending": none yet)."""

    __tablename__ = "report_contact_day"

    organisation_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    contacts: Mapped[int] = mapped_column(Integer)


class ReportStaffDay(Base):
    """Staff calls started on one Paris day, per caller (0: none recorded): how many and
    their seconds. The caller's role is read at report time, as the live query does."""

    __tablename__ = "report_staff_day"

    organisation_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
