"""Partners of an organisation and the referrals made to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, str_enum, utcnow


class PartnerKind(enum.StrEnum):
    ccas = "ccas"  # centre communal d'action sociale
    clic = "clic"  # centre local d'information et de coordination gérontologique
    ssiad = "ssiad"  # service de soins infirmiers à domicile
    saad = "saad"  # service d'aide à domicile
    croix_rouge = "croix_rouge"  # Croix-Rouge chez vous
    mairie = "mairie"
    medical = "medical"  # médecin traitant, centre de santé
    other = "other"


class Partner(Base):
    __tablename__ = "partner"
    __table_args__ = (Index("ix_partner_org_name", "organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind))
    # The départements (codes) and communes it serves, to suggest it for a senior.
    departements: Mapped[list[str]] = mapped_column(JSON, default=list)
    communes: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """A senior referred to a partner, usually as an alert's resolution."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
