"""Météo-France vigilance maps as fetched, their canicule colours, and the proposals they
made to each organisation (activate or lift a canicule).

A map is stored once per distinct content (``digest``): the hourly polls of an unchanged
map only move its ``last_fetched_at``. A fetch that failed or returned a malformed map is a
row with ``error`` and no data, so that "when did we last hear from Météo-France?" has an
answer. Colours are one row per département and day (the worst canicule colour of the
periods covering that day), the form the proposals and the pages query.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum, utcnow

# Météo-France's colour ids.
COLOUR_NAMES = {1: "vert", 2: "jaune", 3: "orange", 4: "rouge"}


class VigilanceMap(Base):
    __tablename__ = "vigilance_map"

    id: Mapped[int] = mapped_column(primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The latest poll that returned this same map (equal to fetched_at at first).
    last_fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The product's own update time (Météo-France's 6h/16h or exceptional update).
    update_time: Mapped[datetime | None]
    # sha256 of the raw JSON: an unchanged map is recognised without comparing documents.
    digest: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What went wrong, in a few words (never the document): "http 503", "no periods"...
    error: Mapped[str | None] = mapped_column(String(200))


class VigilanceColour(Base):
    __tablename__ = "vigilance_colour"
    __table_args__ = (Index("ix_vigilance_colour_map", "map_id", "departement", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    map_id: Mapped[int] = mapped_column(ForeignKey("vigilance_map.id", ondelete="CASCADE"))
    departement: Mapped[str] = mapped_column(String(3))
    day: Mapped[date]
    colour: Mapped[int]  # 1 vert .. 4 rouge, canicule (phenomenon "6") only


class ProposalKind(enum.StrEnum):
    activate = "activate"
    lift = "lift"


class ProposalState(enum.StrEnum):
    open = "open"
    accepted = "accepted"
    refused = "refused"
    superseded = "superseded"  # a later map changed or ended it before anyone decided
    auto_activated = "auto_activated"  # organisation.auto_activate: done without asking


class VigilanceProposal(Base):
    __tablename__ = "vigilance_proposal"
    __table_args__ = (Index("ix_vigilance_proposal_org", "organisation_id", "state", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[ProposalKind] = mapped_column(str_enum(ProposalKind))
    departements: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "orange" or "rouge" (campaigns.operations.VIGILANCE_LEVELS) and the colour id behind it;
    # for a lift, the worst colour left among the départements (below the threshold).
    level: Mapped[str] = mapped_column(String(10))
    colour: Mapped[int]
    # The first day (Paris) the colour concerns: today or tomorrow.
    for_day: Mapped[date]
    state: Mapped[ProposalState] = mapped_column(str_enum(ProposalState))
    map_id: Mapped[int | None] = mapped_column(ForeignKey("vigilance_map.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who accepted or refused (for an automatic activation: who acknowledged it).
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    # A manager's reason for refusing (about the organisation's choice, not about a senior).
    reason: Mapped[str | None] = mapped_column(String(500))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
