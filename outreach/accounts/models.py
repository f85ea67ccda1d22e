"""Organisations, users and their memberships (user x organisation x role)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.db import Base, str_enum, utcnow


class Role(enum.StrEnum):
    """What a member may do in one organisation (see DESIGN.md, Users)."""

    caller = "caller"
    volunteer = "volunteer"
    social_worker = "social_worker"
    manager = "manager"
    admin = "admin"
    # Gardien, agent de proximité: knocks on the doors of their residences, sees nothing else.
    proximity = "proximity"


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # A regional association can group member landlords; informational for now.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # Vigilance (issue 12): an orange/red Météo-France map activates the canicule at once
    # instead of proposing it to the managers. Off unless an admin turns it on.
    auto_activate: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The social worker on duty: referent of the seniors who have none, and the number that
    # receives urgent alerts by SMS.
    on_duty_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    on_duty_phone: Mapped[str | None] = mapped_column(String(20))
    # Gateway settings (issue 12): seniors recognise their landlord by the number that calls
    # and the name that texts. NULL: the configuration's (telephony.caller_id, sms_sender,
    # the default Twilio account). The account is a name of [telephony.accounts.<name>].
    caller_id: Mapped[str | None] = mapped_column(String(20))
    sms_sender: Mapped[str | None] = mapped_column(String(20))
    gateway_account: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Stored in the session cookie at login; logout (or a password change) increments it, so
    # a copied cookie of an ended session is refused server-side.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the id and the session version,
        so that the user loader can refuse a cookie of an ended session."""
        return f"{self.id}.{self.session_version or 0}"


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role))

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships", lazy="joined")
