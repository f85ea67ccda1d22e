"""Campaigns, the tasks they generate each day, and the recorded reasons for no task."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.calls.outcomes import Outcome
from outreach.db import Base, str_enum, utcnow


class CampaignKind(enum.StrEnum):
    courtesy = "courtesy"
    canicule = "canicule"
    reminder = "reminder"
    custom = "custom"
    # Issue 13: asking a drawn panel member for her accord de principe (outreach.panel),
    # and inviting a group to a collective workshop (outreach.workshops).
    agreement = "agreement"
    workshop = "workshop"


class CampaignState(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    closed = "closed"


class ChannelPolicy(enum.StrEnum):
    staff = "staff"
    ivr = "ivr"
    sms = "sms"
    ivr_then_staff = "ivr_then_staff"


class TaskState(enum.StrEnum):
    pending = "pending"
    queued = "queued"  # handed to the gateway (IVR, SMS)
    claimed = "claimed"  # a staff member holds it
    done = "done"
    failed = "failed"
    cancelled = "cancelled"
    escalated = "escalated"


OPEN_TASK_STATES = (TaskState.pending, TaskState.queued, TaskState.claimed)


class SkipReason(enum.StrEnum):
    no_consent = "no_consent"
    opted_out = "opted_out"
    no_phone = "no_phone"
    paused = "paused"
    left = "left"
    # Not stored by generation (computed on the senior's page), but part of the answer to
    # "why was she not called?".
    not_calling_day = "not_calling_day"
    not_due = "not_due"
    # Stored: another campaign's contact today settles this one (see campaigns.lifecycle).
    already_contacted = "already_contacted"


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind))
    state: Mapped[CampaignState] = mapped_column(
        str_enum(CampaignState), default=CampaignState.draft
    )
    # Targeting rules over roster fields, see campaigns.targeting.
    targeting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Courtesy cadence rules, see campaigns.schedule: [{"when": {...}, "every_days": 7}, ...].
    cadence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    channel_policy: Mapped[ChannelPolicy] = mapped_column(
        str_enum(ChannelPolicy), default=ChannelPolicy.staff
    )
    # Call window: weekday ("mon".."sun") -> [["10:00", "13:00"], ...], Paris time.
    call_window: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    skip_holidays: Mapped[bool] = mapped_column(default=True)
    retry_delay_minutes: Mapped[int] = mapped_column(default=60)
    max_attempts_per_day: Mapped[int] = mapped_column(default=3)
    max_attempts: Mapped[int] = mapped_column(default=3)
    script: Mapped[str] = mapped_column(String(64), default="courtesy")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # Canicule: the vigilance level it was activated with; reminders: the dated event.
    vigilance_level: Mapped[str | None] = mapped_column(String(10))
    event_at: Mapped[datetime | None]
    remind_hours_before: Mapped[int | None]
    # One contact a day (DESIGN.md): a campaign that needs its own message (a workshop
    # reminder) is never settled by another campaign's contact; one that requires a human
    # voice is not settled by another campaign's automated OK.
    own_message: Mapped[bool] = mapped_column(default=False, server_default=false())
    requires_human: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Task(Base):
    """One planned contact of one senior for one campaign on one day."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("campaign_id", "senior_id", "due_date"),
        # The queue reads pending tasks in its order (queue.operations.QUEUE_ORDER), so the
        # next 30 are read straight off this index even behind a year of done tasks.
        Index(
            "ix_task_queue",
            "organisation_id",
            "state",
            "priority",
            "due_date",
            "fragility_rank",
            "id",
        ),
        Index("ix_task_completed", "organisation_id", "completed_at"),
        Index("ix_task_senior", "senior_id", "due_date"),
        # The reports: the seniors with a task in a period (read from the index alone) ...
        Index("ix_task_period", "organisation_id", "due_date", "senior_id"),
        # ... and a campaign's tasks of one day by state (campaign page, dashboard).
        Index("ix_task_campaign_day", "campaign_id", "due_date", "state"),
        # Both self-references are indexed: deleting a task looks them up (ON DELETE SET
        # NULL), and a year of tasks is deleted by retention.
        Index("ix_task_lead", "lead_id"),
        Index("ix_task_settled_by", "settled_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"))
    due_date: Mapped[date]
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState), default=TaskState.pending)
    channel: Mapped[ChannelPolicy] = mapped_column(str_enum(ChannelPolicy))
    # Lower is more urgent: canicule 0, callbacks 10, courtesy 100 (see queue ordering).
    priority: Mapped[int] = mapped_column(default=100)
    # Lower is more fragile (age, living alone, earlier signals), fixed at generation;
    # see campaigns.generation.MAX_RISK.
    fragility_rank: Mapped[int] = mapped_column(default=11)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    claimed_until: Mapped[datetime | None]
    # A callback asked for at a time, for one staff member or (None) for anyone.
    callback_at: Mapped[datetime | None]
    callback_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Why the task is where it is, in a word (a disposition, "opted_out", "settled"...).
    disposition: Mapped[str | None] = mapped_column(String(30))
    # What the contact established (calls.outcomes), once there was one.
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, 30))
    # One contact a day: while another task of the senior leads the day, this one waits
    # behind it (hidden from the queue and the dispatcher) ...
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"))
    # ... and the task whose contact settled it, once it has.
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    # When the current claim was taken: an outcome seconds after it is refused.
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship()


class Skip(Base):
    """Why a senior who matches a campaign got no task on a day: 'why was she not called?'."""

    __tablename__ = "skip"
    __table_args__ = (UniqueConstraint("campaign_id", "senior_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("senior.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]
    reason: Mapped[SkipReason] = mapped_column(str_enum(SkipReason))
    # E.g. the campaign whose contact settled the day.
    detail: Mapped[str | None] = mapped_column(String(200))
