"""Tombstones of erased seniors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, utcnow


class Erasure(Base):
    """One erased senior. Holds no personal value: only a keyed digest of her reference in
    the landlord's file, so that a later import of the same reference can say that she
    comes back as a new senior (and never revives the anonymous remainder)."""

    __tablename__ = "erasure"
    __table_args__ = (Index("ix_erasure_ref", "organisation_id", "ref_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # The anonymous remainder kept for the statistics.
    senior_id: Mapped[int | None] = mapped_column(ForeignKey("senior.id", ondelete="SET NULL"))
    ref_digest: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # "request" (the senior asked, article 17) or "retention" (she left long ago).
    reason: Mapped[str] = mapped_column(String(20))
