"""Turn active campaigns into the day's tasks, and record why a matching senior got none.

Generation is idempotent: tasks are inserted with ON CONFLICT DO NOTHING on their unique key
(campaign, senior, due date), skips likewise on (campaign, senior, day), so running the job
twice, or from two processes at once, creates nothing twice. It reads only the columns it
needs as tuples (not ORM objects) and writes in bulk, because a region has 100,000 seniors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt
from outreach.calls.outcomes import REACHED, SETTLES_DAY
from outreach.campaigns import lifecycle, targeting
from outreach.campaigns.lifecycle import PRIORITY
from outreach.campaigns.models import (
    OPEN_TASK_STATES,
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Skip,
    SkipReason,
    Task,
    TaskState,
)
from outreach.campaigns.schedule import (
    PARIS,
    Cadence,
    add_months,
    is_calling_day,
    next_due_date,
)
from outreach.roster import eligibility
from outreach.roster.models import Senior

DEFAULT_CADENCE_DAYS = 14
DEFAULT_REINFORCED_DAYS = 7
# _risk_expr() is at most 3 + 2 + 6; the stored rank is MAX_RISK - risk, so that the queue
# sorts every key ascending and one plain index serves it.
MAX_RISK = 11
INSERT_CHUNK = 5000


@dataclass
class GenerationResult:
    created: int = 0
    skipped: int = 0
    campaigns: int = 0
    by_campaign: dict[int, tuple[int, int]] = field(default_factory=dict)

    def summary(self) -> str:
        return f"generate-tasks: created {self.created}, skipped {self.skipped}"


def _insert(session: Session, model: Any) -> Any:
    # On the Table, not the mapped class: a Core executemany, without the ORM's per-row
    # bookkeeping of a bulk insert (several times slower for 100,000 rows).
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def _insert_ignore(session: Session, model: Any, rows: Sequence[dict[str, Any]], scope: Any) -> int:
    """Bulk insert, ignoring rows that exist already; returns how many were new.

    The rows of this campaign and day (``scope``) are counted before and after rather than
    with RETURNING, which makes PostgreSQL's bulk insert several times slower. Under two
    concurrent runs the summary may count the other run's rows too; the rows themselves are
    still created once, by the unique constraint.
    """
    if not rows:
        return 0
    stmt = _insert(session, model).on_conflict_do_nothing()
    chunks = [rows[i : i + INSERT_CHUNK] for i in range(0, len(rows), INSERT_CHUNK)]
    count = select(func.count()).select_from(model).where(scope)
    before = session.scalar(count) or 0
    for chunk in chunks:
        session.execute(stmt, chunk)
    return (session.scalar(count) or 0) - before


def _reinforced_days() -> int:
    """``escalation.reinforced_every_days`` of the running app (the default outside one)."""
    from flask import current_app, has_app_context

    if has_app_context():
        return int(current_app.config["OUTREACH"]["escalation"]["reinforced_every_days"])
    return DEFAULT_REINFORCED_DAYS


def _cadence_expr(campaign: Campaign, today: date) -> Any:
    """A CASE giving each senior's cadence in days: the first matching rule wins; a senior
    in reinforced follow-up is called at least every ``reinforced_every_days`` (courtesy)."""
    whens = []
    default = DEFAULT_CADENCE_DAYS
    for rule in campaign.cadence or []:
        days = int(rule.get("every_days", DEFAULT_CADENCE_DAYS))
        if rule.get("when"):
            whens.append((targeting.clause(rule["when"], today), days))
        else:
            default = days
            break
    usual = case(*whens, else_=default) if whens else literal(default)
    if campaign.kind != CampaignKind.courtesy:
        return usual
    r = _reinforced_days()
    closer = [(cond, min(days, r)) for cond, days in whens]
    reinforced = case(*closer, else_=min(default, r)) if closer else literal(min(default, r))
    return case((Senior.reinforced_since.is_not(None), reinforced), else_=usual)


def _risk_expr(today: date, signals: Any) -> Any:
    """A small score ordering the staff queue: older, alone, already signalled (in SQL, so
    that 100,000 birth dates need not be parsed in Python)."""
    age = case(
        (Senior.birth_date <= add_months(today, -12 * 85), 3),
        (Senior.birth_date <= add_months(today, -12 * 75), 2),
        (Senior.birth_date <= add_months(today, -12 * 65), 1),
        else_=0,
    )
    alone = case((Senior.lives_alone.is_(True), 2), else_=0)
    signalled = case((signals >= 3, 6), else_=2 * signals)
    return age + alone + signalled


def _candidates(session: Session, campaign: Campaign, today: date) -> Iterable[Row[Any]]:
    # Through the connection: plain rows, without the ORM's result machinery (100,000 rows).
    return session.connection().execute(_candidates_stmt(campaign, today))


def _candidates_stmt(campaign: Campaign, today: date, senior_id: int | None = None) -> Any:
    """The targeted seniors with what generation needs of each (of one, if given)."""
    from outreach.calls.models import Signal

    reached = (
        select(func.max(Attempt.started_at))
        .where(Attempt.senior_id == Senior.id, Attempt.outcome.in_(REACHED))
        .scalar_subquery()
    )
    signals = (
        select(func.count(Signal.id))
        .where(Signal.senior_id == Senior.id, Signal.severity != "info")
        .scalar_subquery()
    )
    open_task = exists().where(
        Task.campaign_id == campaign.id,
        Task.senior_id == Senior.id,
        Task.state.in_(OPEN_TASK_STATES),
    )
    ever_task = exists().where(Task.campaign_id == campaign.id, Task.senior_id == Senior.id)
    stmt = select(
        Senior.id,
        *eligibility.COLUMNS,
        Senior.departement,
        _cadence_expr(campaign, today).label("cadence_days"),
        reached.label("last_reached"),
        _risk_expr(today, signals).label("risk"),
        open_task.label("has_open_task"),
        ever_task.label("has_any_task"),
    ).where(
        Senior.organisation_id == campaign.organisation_id,
        targeting.clause(_rules(campaign), today),
    )
    if senior_id is not None:
        stmt = stmt.where(Senior.id == senior_id)
    return stmt


def _rules(campaign: Campaign) -> dict[str, Any]:
    """The campaign's targeting; a recueil d'accord is always limited to the drawn panel
    members still to contact, whatever else it targets."""
    rules = campaign.targeting or {}
    if campaign.kind == CampaignKind.agreement:
        rules = {**rules, "panel_to_contact": True}
    return rules


@dataclass
class _Plan:
    """What one campaign's generation needs, read once from the ORM object (attribute
    access on a mapped instance costs more than the rest of the per-row work)."""

    kind: CampaignKind
    window: dict[str, Any]
    skip_holidays: bool
    reminder_day: date | None
    open_today: dict[str | None, bool] = field(default_factory=dict)
    cadences: dict[int, Cadence] = field(default_factory=dict)


def _is_due(plan: _Plan, row: Row[Any], today: date) -> bool:
    """Whether a senior who can be contacted should get a task of this campaign today."""
    if plan.kind == CampaignKind.canicule:
        return True  # every day while active, weekends and holidays included
    if row.has_open_task:
        return False  # yesterday's task is still in the queue, shown as overdue
    if plan.kind == CampaignKind.custom:
        return not row.has_any_task  # a one-off list
    if plan.kind == CampaignKind.reminder:
        return plan.reminder_day == today
    # Whether the window opens today, per département (holidays differ in Alsace-Moselle).
    dep = row.departement
    if dep not in plan.open_today:
        plan.open_today[dep] = is_calling_day(today, plan.window, plan.skip_holidays, dep)
    if not plan.open_today[dep]:
        return False
    last = row.last_reached.astimezone(PARIS).date() if row.last_reached else None
    days = int(row.cadence_days)
    cadence = plan.cadences.get(days) or plan.cadences.setdefault(days, Cadence(days=days))
    # Today is a calling day, so the senior is due today exactly when the next due date
    # (never before today) is today; later calling days need not be looked at.
    return next_due_date(cadence, last, None, today, calling_day=_always) == today


def _always(_day: date) -> bool:
    return True


def _reminder_day(campaign: Campaign) -> date:
    assert campaign.event_at is not None
    moment = campaign.event_at - timedelta(hours=campaign.remind_hours_before or 24)
    return moment.astimezone(PARIS).date()


def generate_for_campaign(
    session: Session, campaign: Campaign, today: date, now: datetime
) -> tuple[int, int]:
    """Create today's tasks of one campaign; return (tasks created, skips recorded)."""
    if campaign.state != CampaignState.active or campaign.kind == CampaignKind.workshop:
        # A workshop's tasks are made by outreach.workshops, for the group invited and
        # then for the registered only, never by the daily generation.
        return 0, 0
    if campaign.starts_on and today < campaign.starts_on:
        return 0, 0
    if campaign.ends_on and today > campaign.ends_on:
        return 0, 0
    if campaign.kind == CampaignKind.canicule:
        # Yesterday's unfinished canicule calls are not carried over: today's replace them.
        lifecycle.close_where(
            session,
            [Task.campaign_id == campaign.id, Task.due_date < today],
            TaskState.failed,
            now,
            "day_over",
        )
    channel = campaign.channel_policy
    first_channel = ChannelPolicy.ivr if channel == ChannelPolicy.ivr_then_staff else channel
    not_before = None
    if campaign.kind == CampaignKind.reminder and campaign.event_at is not None:
        not_before = campaign.event_at - timedelta(hours=campaign.remind_hours_before or 24)
    plan = _Plan(
        kind=campaign.kind,
        window=campaign.call_window or {},
        skip_holidays=campaign.skip_holidays,
        reminder_day=_reminder_day(campaign) if campaign.event_at is not None else None,
    )
    # The values shared by every row, read once from the ORM object.
    common = {"organisation_id": campaign.organisation_id, "campaign_id": campaign.id}
    task_common = {
        **common,
        "due_date": today,
        "state": TaskState.pending,
        "channel": first_channel,
        "priority": PRIORITY[campaign.kind],
        "attempts": 0,
        "not_before": not_before,
        "created_at": now,
    }
    tasks: list[dict[str, Any]] = []
    skips: list[dict[str, Any]] = []
    contacted = contacted_today(session, campaign, today)
    for row in _candidates(session, campaign, today):
        reason = eligibility.ineligible(row, first_channel, today, campaign.kind)
        if reason is not None:
            skips.append(
                {**common, "senior_id": row.id, "day": today, "reason": reason, "detail": None}
            )
        elif not _is_due(plan, row, today):
            continue
        elif row.id in contacted:
            skips.append(
                {
                    **common,
                    "senior_id": row.id,
                    "day": today,
                    "reason": SkipReason.already_contacted,
                    "detail": contacted[row.id],
                }
            )
        else:
            tasks.append(
                {
                    **task_common,
                    "senior_id": row.id,
                    "fragility_rank": MAX_RISK - row.risk,
                }
            )
    created = _insert_ignore(
        session, Task, tasks, and_(Task.campaign_id == campaign.id, Task.due_date == today)
    )
    skipped = _insert_ignore(
        session, Skip, skips, and_(Skip.campaign_id == campaign.id, Skip.day == today)
    )
    if created and _others_open(session, campaign, today):
        lifecycle.regroup(session, today, organisation_id=campaign.organisation_id)
    return created, skipped


def _others_open(session: Session, campaign: Campaign, today: date) -> bool:
    """Whether another campaign of the organisation has open tasks due by today: only then
    can a senior have two (one campaign makes one a day), and the day needs its leads."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Task.organisation_id == campaign.organisation_id,
                    Task.state.in_(OPEN_TASK_STATES),
                    Task.campaign_id != campaign.id,
                    Task.due_date <= today,
                )
            )
        )
    )


def contacted_today(session: Session, campaign: Campaign, today: date) -> dict[int, str]:
    """Seniors whose contact today (by another campaign) settles this campaign's task for
    the day, with the name of the campaign that made it."""
    if campaign.own_message:
        return {}
    start = datetime.combine(today, datetime.min.time(), PARIS)
    rows = session.execute(
        select(Task.senior_id, Task.channel, Campaign.name)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Task.organisation_id == campaign.organisation_id,
            Task.campaign_id != campaign.id,
            Task.state == TaskState.done,
            Task.settled_by_id.is_(None),
            Task.outcome.in_(SETTLES_DAY),
            Task.completed_at >= start,
        )
    ).all()
    return {r.senior_id: r.name for r in rows if lifecycle.settles(r.channel, campaign)}


def generate_day(
    session: Session,
    today: date,
    now: datetime,
    campaign_ids: Sequence[int] | None = None,
) -> GenerationResult:
    """Create the day's tasks of every active campaign (or of the given ones)."""
    stmt = select(Campaign).where(Campaign.state == CampaignState.active).order_by(Campaign.id)
    if campaign_ids is not None:
        stmt = stmt.where(Campaign.id.in_(campaign_ids))
    result = GenerationResult()
    for campaign in session.scalars(stmt).all():
        created, skipped = generate_for_campaign(session, campaign, today, now)
        result.created += created
        result.skipped += skipped
        result.campaigns += 1
        result.by_campaign[campaign.id] = (created, skipped)
    session.flush()
    return result
