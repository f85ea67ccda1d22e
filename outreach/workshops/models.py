"""Collective workshops (ateliers collectifs) and the invitations of seniors to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum, utcnow


class WorkshopState(enum.StrEnum):
    planned = "planned"
    cancelled = "cancelled"
    held = "held"  # attendance recorded


class Workshop(Base):
    """One workshop: theme, when, where, how many, on which territory, by whom."""

    __tablename__ = "workshop"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(120))
    accessibility: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int]
    # The territory it serves: a département code or a commune, as the association says.
    territory: Mapped[str] = mapped_column(String(120))
    organiser: Mapped[str | None] = mapped_column(String(200))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    state: Mapped[WorkshopState] = mapped_column(
        str_enum(WorkshopState), default=WorkshopState.planned
    )
    # The invitation campaign (its targeting picks the group; its tasks carry the calls).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class InvitationStatus(enum.StrEnum):
    invited = "invited"  # asked, no answer yet
    registered = "registered"  # "1 je viens" / OUI within capacity
    waiting = "waiting"  # said yes past capacity: on the waiting list
    declined = "declined"
    cancelled = "cancelled"  # the workshop was cancelled, or she withdrew


class Invitation(Base):
    """One senior invited to one workshop, her answer, her place and her attendance."""

    __tablename__ = "workshop_invitation"
    __table_args__ = (
        UniqueConstraint("workshop_id", "senior_id"),
        Index("ix_workshop_invitation_status", "workshop_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms, ivr, staff
    status: Mapped[InvitationStatus] = mapped_column(
        str_enum(InvitationStatus), default=InvitationStatus.invited
    )
    # Order on the waiting list (1 = next to get a freed place).
    waiting_rank: Mapped[int | None]
    transport_needed: Mapped[bool] = mapped_column(default=False)
    transport_note: Mapped[str | None] = mapped_column(String(300))
    # None until the attendance is recorded.
    attended: Mapped[bool | None]
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    replied_at: Mapped[datetime | None]
    # When each reminder went out (so none is sent twice).
    reminded_day_before_at: Mapped[datetime | None]
    reminded_morning_at: Mapped[datetime | None]
