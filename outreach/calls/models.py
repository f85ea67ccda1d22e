"""Attempts and the fragility signals observed on them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.calls.outcomes import RETRY_DISPOSITIONS, Disposition, Outcome
from outreach.db import Base, str_enum, utcnow


class AttemptChannel(enum.StrEnum):
    staff = "staff"
    ivr = "ivr"
    sms = "sms"


# The dispositions live beside the outcomes they map to (calls.outcomes); re-exported here.
__all__ = ["Disposition", "Outcome", "RETRY_DISPOSITIONS"]


class SignalKind(enum.StrEnum):
    isolation = "isolation"
    health_worsening = "health_worsening"
    fall = "fall"
    heat_distress = "heat_distress"
    not_eating_drinking = "not_eating_drinking"
    memory_confusion = "memory_confusion"
    mobility = "mobility"
    housing_adaptation = "housing_adaptation"
    financial = "financial"
    bereavement = "bereavement"
    other = "other"


class Severity(enum.StrEnum):
    info = "info"
    concern = "concern"
    urgent = "urgent"


class Attempt(Base):
    """One call or SMS of a task. Gateway fields are filled by the telephony part."""

    __tablename__ = "attempt"
    __table_args__ = (
        # With the outcome, "reached since <date>?" (the dashboard's four weeks without news)
        # is answered from the index alone.
        Index("ix_attempt_senior", "senior_id", "started_at", "outcome"),
        # The reports read a period's attempts of an organisation: a range on started_at,
        # every column they group or test in the key so the scan never visits the table.
        Index(
            "ix_attempt_period",
            "organisation_id",
            "started_at",
            "senior_id",
            "channel",
            "outcome",
            "direction",
        ),
        # A senior never has two automated calls in flight: the database refuses a second
        # open IVR attempt, whatever the dispatcher believes.
        Index(
            "uq_attempt_call_in_flight",
            "senior_id",
            unique=True,
            sqlite_where=text("channel = 'ivr' AND ended_at IS NULL"),
            postgresql_where=text("channel = 'ivr' AND ended_at IS NULL"),
        ),
        # "SMS à lire" on every queue page: the few replies waiting for a person, read off
        # a small partial index rather than from millions of attempts.
        Index(
            "ix_attempt_to_read",
            "organisation_id",
            "started_at",
            sqlite_where=text("outcome = 'reply_to_read'"),
            postgresql_where=text("outcome = 'reply_to_read'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("task.id", ondelete="SET NULL"), index=True
    )
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"))
    channel: Mapped[AttemptChannel] = mapped_column(str_enum(AttemptChannel))
    # "outbound" (a call or SMS we made) or "inbound" (an SMS reply).
    direction: Mapped[str] = mapped_column(String(8), default="outbound", server_default="outbound")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition))
    # What the contact established (calls.outcomes): the one field counters and rules read.
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, 30))
    # Social note: never shown to volunteers.
    notes: Mapped[str | None] = mapped_column(Text)
    gateway_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    gateway_status: Mapped[str | None] = mapped_column(String(20))
    answered_by: Mapped[str | None] = mapped_column(String(20))
    digits: Mapped[str | None] = mapped_column(String(10))
    reply: Mapped[str | None] = mapped_column(String(500))
    duration_seconds: Mapped[int | None]
    # The gateway's error code (e.g. Twilio 21610, 30006), when it reported one.
    error_code: Mapped[int | None]
    # The E.164 number dialled or texted (written with the outbox row; an inbound SMS: the
    # sender), so that the next call knows which of her numbers answered or was wrong.
    phone: Mapped[str | None] = mapped_column(String(20))
    # Set on a call or SMS to her emergency contact (telephony.contacts).
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("emergency_contact.id", ondelete="SET NULL"), index=True
    )

    signals: Mapped[list[Signal]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="Signal.id"
    )


class Signal(Base):
    __tablename__ = "signal"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), index=True
    )
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SignalKind] = mapped_column(str_enum(SignalKind))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="signals")
