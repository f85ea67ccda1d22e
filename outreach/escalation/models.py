"""Alerts, what they come from, and their history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.calls.models import Severity
from outreach.db import Base, str_enum, utcnow


class AlertCause(enum.StrEnum):
    urgent_signal = "urgent_signal"  # a fall, heat distress, confusion, "3" on the IVR
    concern_signal = "concern_signal"
    canicule_unreached = "canicule_unreached"  # "levée de doute"
    courtesy_unreached = "courtesy_unreached"  # three cycles in a row
    life_event = "life_event"  # deceased, hospitalised, left
    help_requested = "help_requested"  # "3" on an automated call, AIDE by SMS


class AlertStatus(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Resolution(enum.StrEnum):
    phoned_back = "phoned_back"
    home_visit = "home_visit"
    partner_referral = "partner_referral"
    emergency_services = "emergency_services"
    adaptation_request = "adaptation_request"
    no_action = "no_action"


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        # One open (or acknowledged) alert per senior and cause: new facts join it. The
        # database holds the rule, so two workers racing on two signals open one alert.
        Index(
            "uq_alert_open_cause",
            "senior_id",
            "cause",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alert_inbox", "organisation_id", "status", "due_at"),
        Index("ix_alert_referent", "referent_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"))
    cause: Mapped[AlertCause] = mapped_column(str_enum(AlertCause))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus), default=AlertStatus.open)
    referent_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resolution: Mapped[Resolution | None] = mapped_column(str_enum(Resolution))
    resolution_note: Mapped[str | None] = mapped_column(String(2000))

    sources: Mapped[list[AlertSource]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertSource.id"
    )
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertEvent.id"
    )


class AlertSource(Base):
    """A fact behind an alert (a signal, a task left unreached, an attempt's disposition).

    Unique on (kind, source_id): a fact opens or joins at most one alert, ever, so a rule
    that runs again, or twice at once, changes nothing.
    """

    __tablename__ = "alert_source"
    __table_args__ = (UniqueConstraint("kind", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "signal", "task", "attempt"
    source_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="sources")


class AlertEvent(Base):
    """Who did what to an alert, and when."""

    __tablename__ = "alert_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(String(500))

    alert: Mapped[Alert] = relationship(back_populates="events")
