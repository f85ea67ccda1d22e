"""Audit events: one row per view, change, import or export of personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity", "entity_id"),
        # The journal's user filter ("what did this volunteer open?"), newest first: without
        # it, a rare user means reading the whole trail along ``at``.
        Index("ix_audit_event_user", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Null for actions of the system (import from the CLI, scheduler jobs).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # view, create, update, import, export
    entity: Mapped[str] = mapped_column(String(40))  # "senior", "roster", ...
    entity_id: Mapped[int | None]
    # Field names changed, counts, filters: never the personal values themselves.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
