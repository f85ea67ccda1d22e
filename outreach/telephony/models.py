"""What the telephony part keeps besides attempts: the health of the gateway, and the
calls received that a person must return."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base


class GatewayHealth(Base):
    """Whether the gateway has been failing, since when, and what was done about it.

    One row per backend name. ``failing_since`` is set by the first failed request of a
    series and cleared by the next success; ``failover_on`` records the day the IVR tasks
    were moved to the staff queue, so that it happens (and the managers hear of it) once.
    """

    __tablename__ = "gateway_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_ok_at: Mapped[datetime | None]
    failover_on: Mapped[date | None]


class InboundCall(Base):
    """A call received on one of our numbers that a person must return (telephony.inbound):
    an unknown caller, or a senior whose call could not become a callback task. Listed on
    the queue page ("Appels reçus à rappeler") until someone marks it called back.

    ``from_number`` is personal data: deleted with the senior (privacy.erasure) and, for
    every row, after ``retention.inbound_calls_months`` (privacy.retention). No voicemail is
    ever recorded: the number and the time are all we keep.
    """

    __tablename__ = "inbound_call"
    __table_args__ = (
        # The queue page reads the few calls still to return, not the whole history.
        Index(
            "ix_inbound_call_open",
            "organisation_id",
            "received_at",
            sqlite_where=text("handled_at IS NULL"),
            postgresql_where=text("handled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    senior_id: Mapped[int | None] = mapped_column(
        ForeignKey("senior.id", ondelete="CASCADE"), index=True
    )
    from_number: Mapped[str] = mapped_column(String(32))
    # Twilio's CallSid: a repeated webhook finds its call here and changes nothing.
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(String(500))
