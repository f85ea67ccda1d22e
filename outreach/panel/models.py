"""The regional panel's rows: the landlords' anonymised listings, the association's quotas,
its draws and the drawn members with their agreement.

A listing row is anonymous (a pseudonymous reference and sampling attributes only): the
identity of a drawn tenant stays with her landlord until it imports her roster row, which
links the member to a ``Senior`` (``PanelMember.senior_id``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum, utcnow
from outreach.roster.models import Area, HousingType, Sex


class ListingRow(Base):
    """One senior tenant of a landlord's anonymised listing (one row of its file)."""

    __tablename__ = "panel_listing_row"
    __table_args__ = (
        UniqueConstraint("organisation_id", "reference"),
        Index("ix_panel_listing_dept", "departement", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The landlord whose tenant this is.
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    # The landlord's pseudonymous tenant reference: never a name.
    reference: Mapped[str] = mapped_column(String(64))
    birth_year: Mapped[int | None]
    # "lt65", "65-74", "75-84", "85+" (outreach.roster.queries.AGE_BANDS), from the birth
    # year at import or from the file when it gives only a band; also "75+" when the file
    # says only "75 ans et plus" (panel.listing_rows.BAND_75_PLUS).
    age_band: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex))
    postcode: Mapped[str | None] = mapped_column(String(5))
    departement: Mapped[str] = mapped_column(String(3))
    housing_type: Mapped[HousingType | None] = mapped_column(str_enum(HousingType))
    area: Mapped[Area | None] = mapped_column(str_enum(Area))
    qpv: Mapped[bool | None]
    lives_alone: Mapped[bool | None]
    # Adapted housing or an accessible building.
    adapted: Mapped[bool | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quota(Base):
    """The association's quotas for one département (targets and tolerances as JSON, see
    ``outreach.panel.quotas``); absent keys take the defaults."""

    __tablename__ = "panel_quota"
    __table_args__ = (UniqueConstraint("association_id", "departement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    departement: Mapped[str] = mapped_column(String(3))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class DrawState(enum.StrEnum):
    drawn = "drawn"  # agreements being collected
    frozen = "frozen"  # consolidated: the agreed members are the panel
    discarded = "discarded"  # replaced by a later draw before any agreement


class Draw(Base):
    """One draw of an association's panel: its seed, and what it achieved against the
    quotas per département (``report``)."""

    __tablename__ = "panel_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The association (the draw is its work; the landlords see their members).
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    seed: Mapped[int]
    state: Mapped[DrawState] = mapped_column(str_enum(DrawState), default=DrawState.drawn)
    # True when every quota of every département is met within its tolerance.
    feasible: Mapped[bool] = mapped_column(default=True)
    # {département: {"size": ..., "quotas": [{"name", "target", "achieved", "tolerance",
    #  "deviation"}...]}}: what the XLSX and the page show beside the targets.
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    frozen_at: Mapped[datetime | None]
    frozen_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class MemberRole(enum.StrEnum):
    drawn = "drawn"  # in the panel to reach
    reserve = "reserve"  # a ranked substitute, not contacted unless promoted


class MemberStatus(enum.StrEnum):
    waiting = "waiting"  # a reserve not yet promoted
    to_contact = "to_contact"  # drawn (or promoted), agreement not yet asked or given
    agreed = "agreed"  # accord de principe given
    refused = "refused"  # declined: a substitute is proposed
    unreachable = "unreachable"  # three unreachable cycles: a substitute is proposed
    replaced = "replaced"  # a substitute took her place (after refused/unreachable)


class PanelMember(Base):
    """A listing row drawn into a panel (or its reserve), and where her agreement stands.

    ``organisation_id`` is the landlord (so a landlord's queries are scoped as usual);
    ``substitute_for_id`` links a promoted reserve to the member she replaces.
    """

    __tablename__ = "panel_member"
    __table_args__ = (
        UniqueConstraint("draw_id", "listing_row_id"),
        Index("ix_panel_member_work", "draw_id", "organisation_id", "role", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("panel_draw.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    listing_row_id: Mapped[int] = mapped_column(
        ForeignKey("panel_listing_row.id", ondelete="CASCADE")
    )
    departement: Mapped[str] = mapped_column(String(3))
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole))
    # Reserve: 1 = the first substitute of the département; drawn members: their order.
    rank: Mapped[int] = mapped_column(default=0)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus))
    unreachable_cycles: Mapped[int] = mapped_column(default=0)
    substitute_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("panel_member.id", ondelete="SET NULL")
    )
    # Her roster row once the landlord imported it (by the same reference).
    senior_id: Mapped[int | None] = mapped_column(
        ForeignKey("senior.id", ondelete="SET NULL"), index=True
    )
    agreement_date: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
