"""Senior tenants followed by an organisation, and their emergency contacts."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.db import Base, str_enum, utcnow


class Sex(enum.StrEnum):
    female = "F"
    male = "H"


class HousingType(enum.StrEnum):
    collectif = "collectif"
    individuel = "individuel"


class Area(enum.StrEnum):
    urbain = "urbain"
    rural = "rural"


class Channel(enum.StrEnum):
    phone = "phone"
    sms = "sms"


class ConsentStatus(enum.StrEnum):
    unknown = "unknown"
    given = "given"
    refused = "refused"
    withdrawn = "withdrawn"


class LeftReason(enum.StrEnum):
    moved = "moved"
    ehpad = "ehpad"
    deceased = "deceased"
    other = "other"


class Senior(Base):
    __tablename__ = "senior"
    __table_args__ = (
        UniqueConstraint("organisation_id", "external_ref"),
        Index("ix_senior_org_name", "organisation_id", "last_name", "first_name"),
        Index("ix_senior_org_departement", "organisation_id", "departement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    external_ref: Mapped[str] = mapped_column(String(64))

    civility: Mapped[str | None] = mapped_column(String(10))
    last_name: Mapped[str] = mapped_column(String(120))
    first_name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None]
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, 1))

    # E.164, normalised by roster.phones.
    phone_mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    phone_landline: Mapped[str | None] = mapped_column(String(20), index=True)

    address: Mapped[str | None] = mapped_column(String(250))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(120))
    departement: Mapped[str | None] = mapped_column(String(3))
    residence: Mapped[str | None] = mapped_column(String(120))
    # What a door-knock needs (issue 12): the floor, the door code, and what to check or
    # how to get in ("clé chez la voisine du 2e", "sonner deux fois").
    floor: Mapped[str | None] = mapped_column(String(20))
    door_code: Mapped[str | None] = mapped_column(String(40))
    access_notes: Mapped[str | None] = mapped_column(String(300))
    housing_type: Mapped[HousingType | None] = mapped_column(str_enum(HousingType))
    area: Mapped[Area | None] = mapped_column(str_enum(Area))
    qpv: Mapped[bool] = mapped_column(default=False)
    lives_alone: Mapped[bool] = mapped_column(default=False)
    adapted_housing: Mapped[bool] = mapped_column(default=False)
    gir: Mapped[int | None]

    preferred_channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.phone)
    language: Mapped[str] = mapped_column(String(8), default="fr")
    referent_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    canicule_register: Mapped[bool] = mapped_column(default=False)

    consent_status: Mapped[ConsentStatus] = mapped_column(
        str_enum(ConsentStatus), default=ConsentStatus.unknown
    )
    consent_date: Mapped[date | None]
    consent_source: Mapped[str | None] = mapped_column(String(120))
    consent_phone: Mapped[bool] = mapped_column(default=False)
    consent_sms: Mapped[bool] = mapped_column(default=False)
    # An opt-out is respected at once and kept with its date (GDPR; SMS STOP).
    opted_out_phone_at: Mapped[datetime | None]
    opted_out_sms_at: Mapped[datetime | None]

    # Reinforced follow-up, decided from an alert: courtesy calls at the reinforced cadence
    # (escalation.reinforced_every_days) until it is lifted.
    reinforced_since: Mapped[date | None]

    paused_until: Mapped[date | None]
    pause_reason: Mapped[str | None] = mapped_column(String(200))

    active: Mapped[bool] = mapped_column(default=True)
    left_reason: Mapped[LeftReason | None] = mapped_column(str_enum(LeftReason))
    left_on: Mapped[date | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when her identity was erased (right to erasure or retention): the row stays as an
    # anonymous remainder so that counts stay true (privacy.erasure).
    erased_at: Mapped[datetime | None]

    emergency_contacts: Mapped[list[EmergencyContact]] = relationship(
        back_populates="senior",
        cascade="all, delete-orphan",
        order_by="EmergencyContact.id",
    )

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.civility, self.first_name, self.last_name) if p)

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class ConsentChange(enum.StrEnum):
    """What one consent event changed (the consent history of a senior)."""

    given = "given"
    refused = "refused"
    withdrawn = "withdrawn"
    regiven = "regiven"
    channels = "channels"  # the channels accepted changed, the status did not
    opted_out_phone = "opted_out_phone"
    opted_out_sms = "opted_out_sms"


class ConsentSource(enum.StrEnum):
    """Where a consent event came from."""

    import_ = "import"
    call = "call"
    sms = "sms"
    page = "page"
    system = "system"
    # The regional panel's accord de principe, given when the panel was frozen.
    agreement = "agreement"


class ConsentEvent(Base):
    """One change of a senior's consent, with when, where from and who. The consent fields
    of ``Senior`` are the state; these rows are its history and always end in that state."""

    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_event_senior", "senior_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    change: Mapped[ConsentChange] = mapped_column(str_enum(ConsentChange))
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource))
    # The state after the change.
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus))
    phone: Mapped[bool] = mapped_column(default=False)
    sms: Mapped[bool] = mapped_column(default=False)
    # The date the consent was given or refused, as stated (a file may give an older date).
    stated_on: Mapped[date | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # A short label of the source ("courrier", the campaign), never a personal value.
    detail: Mapped[str | None] = mapped_column(String(120))


class EmergencyContact(Base):
    __tablename__ = "emergency_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)

    senior: Mapped[Senior] = relationship(back_populates="emergency_contacts")
