"""Door-knocks and the residences each proximity member covers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum, utcnow


class KnockState(enum.StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"  # the alert was settled otherwise (she called back)


class KnockOutcome(enum.StrEnum):
    seen_well = "seen_well"
    seen_unwell = "seen_unwell"
    no_answer = "no_answer"  # the knock stays open: the levée de doute goes on


class ProximityResidence(Base):
    """One residence a proximity member (gardien, agent de proximité) covers in one
    organisation. The residence is ``Senior.residence`` as the roster writes it."""

    __tablename__ = "proximity_residence"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "residence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    residence: Mapped[str] = mapped_column(String(120))


class DoorKnock(Base):
    """A visit to a senior's door, asked when her canicule alert (levée de doute) opens.

    One per alert (the unique ``alert_id``), so a rule that runs again asks nothing twice.
    ``residence`` is copied from the senior when the knock is asked: the proximity staff's
    scope must not move if her record is edited while someone is on the way.
    """

    __tablename__ = "door_knock"
    __table_args__ = (Index("ix_door_knock_work", "organisation_id", "state", "residence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert.id", ondelete="SET NULL"), unique=True
    )
    residence: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    state: Mapped[KnockState] = mapped_column(str_enum(KnockState), default=KnockState.open)
    # The last knock's outcome: "no_answer" leaves the knock open for another try.
    outcome: Mapped[KnockOutcome | None] = mapped_column(str_enum(KnockOutcome))
    # Who knocked last and when (for "no_answer" too); the knock is closed when state says so.
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    done_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
