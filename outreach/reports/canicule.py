"""Figures of a heatwave: the canicule board (one day) and the bilan canicule (many days).

Every number is a count of distinct seniors, per département, taken from the tasks of the
canicule campaigns and the outcomes of their attempts (calls.outcomes, the one enumeration),
so the board, the bilan and the indicators agree on what "reached" means:

- ``registered``: on the canicule register, active and consenting (today's roster);
- ``to_call``: a canicule task due that day;
- ``attempted``: at least one outbound call or SMS on that task;
- ``reached``: answered herself (any outcome of ``REACHED``); ``reached_ok``, ``concern``,
  ``help``, ``refused``: that outcome on an attempt or on the task;
- ``unreached``: the task closed unreached after its last attempt (failed or escalated,
  what opens the ``canicule_unreached`` alert, escalation.rules);
- ``through_contact`` (on the board only): not reached herself, but her emergency contact
  had news of her (``reached_through_contact``, telephony.contacts).

Callers pass organisation ids already scoped by ``access.org_ids``; nothing here widens them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from outreach.accounts.models import User
from outreach.calls.models import Attempt, AttemptChannel
from outreach.calls.outcomes import REACHED, Outcome
from outreach.campaigns.models import (
    OPEN_TASK_STATES,
    Campaign,
    CampaignKind,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.schedule import parse_window
from outreach.escalation.models import Alert, AlertSource
from outreach.roster.models import ConsentStatus, EmergencyContact, Senior
from outreach.telephony import contacts as fallback
from outreach.timezone import PARIS

UNREACHED_STATES = (TaskState.failed, TaskState.escalated)
UNKNOWN = "?"
# "Staff working": a claim or a staff call within this span.
STAFF_RECENT = timedelta(minutes=30)
DEFAULT_CALL_SECONDS = 300


@dataclass
class Counts:
    """One département's figures for one day (or the total)."""

    registered: int = 0
    to_call: int = 0
    attempted: int = 0
    reached: int = 0
    reached_ok: int = 0
    concern: int = 0
    help: int = 0
    unreached: int = 0
    refused: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(Counts))


def _canicule_tasks(org_ids: Sequence[int], campaign_id: int | None) -> Any:
    cond = [Task.organisation_id.in_(list(org_ids)), Campaign.kind == CampaignKind.canicule]
    if campaign_id is not None:
        cond.append(Task.campaign_id == campaign_id)
    return and_(*cond)


def _flag(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


def _per_task(org_ids: Sequence[int], start: date, end: date, campaign_id: int | None) -> Any:
    """One row per canicule task of the period with what its attempts established."""
    outbound = Attempt.direction == "outbound"
    reached = Attempt.outcome.in_([o.value for o in REACHED])
    return (
        select(
            Task.id.label("task_id"),
            Task.senior_id,
            Task.due_date,
            Task.state,
            Task.outcome,
            Task.created_at,
            Task.campaign_id,
            Senior.departement,
            _flag(outbound).label("attempted"),
            _flag(reached).label("reached"),
            _flag(Attempt.outcome == Outcome.reached_ok).label("ok"),
            _flag(Attempt.outcome == Outcome.reached_concern).label("concern"),
            _flag(Attempt.outcome == Outcome.help_requested).label("help"),
            _flag(Attempt.outcome == Outcome.refused).label("refused"),
            _flag(Attempt.outcome == Outcome.reached_through_contact).label("through_contact"),
            func.min(case((outbound, Attempt.started_at))).label("first_attempt"),
            func.min(case((reached, Attempt.started_at))).label("first_reach"),
        )
        .join(Campaign, Campaign.id == Task.campaign_id)
        .join(Senior, Senior.id == Task.senior_id)
        .outerjoin(Attempt, Attempt.task_id == Task.id)
        .where(_canicule_tasks(org_ids, campaign_id), Task.due_date.between(start, end))
        .group_by(Task.id, Senior.departement)
    )


def registered(session: Session, org_ids: Sequence[int]) -> dict[str, int]:
    """Seniors on the canicule register, active and consenting, per département."""
    rows = session.execute(
        select(Senior.departement, func.count())
        .where(
            Senior.organisation_id.in_(list(org_ids)),
            Senior.canicule_register.is_(True),
            Senior.active.is_(True),
            Senior.consent_status == ConsentStatus.given,
        )
        .group_by(Senior.departement)
    )
    return {dep or UNKNOWN: n for dep, n in rows}


def fill(counts: Counts, row: Any) -> None:
    """Add one task row of ``task_rows`` to ``counts``."""
    counts.to_call += 1
    counts.attempted += row.attempted
    counts.reached += row.reached or (row.outcome in REACHED)
    counts.reached_ok += row.ok or row.outcome == Outcome.reached_ok
    counts.concern += row.concern or row.outcome == Outcome.reached_concern
    counts.help += row.help or row.outcome == Outcome.help_requested
    counts.refused += row.refused or row.outcome == Outcome.refused
    counts.unreached += row.state in UNREACHED_STATES


def task_rows(
    session: Session,
    org_ids: Sequence[int],
    start: date,
    end: date,
    campaign_id: int | None,
) -> Sequence[Any]:
    """The canicule tasks of ``start``..``end`` with what their attempts established.

    A senior has one canicule task a day per campaign and an organisation one active
    canicule campaign, so counting tasks counts distinct seniors."""
    return session.execute(_per_task(org_ids, start, end, campaign_id)).all()


@dataclass
class Board:
    """The board of one day: per département, the total, and the levée de doute list."""

    day: date
    by_departement: dict[str, Counts]
    total: Counts
    unreached: list[dict[str, Any]] = field(default_factory=list)
    # Not reached herself, but her emergency contact had news of her ("nouvelles par un
    # proche", telephony.contacts): per département, and "" for the total. Apart from
    # Counts, whose columns are the bilan's.
    through_contact: dict[str, int] = field(default_factory=dict)


def board(session: Session, org_ids: Sequence[int], day: date) -> Board:
    """The canicule board of ``day`` for the organisations ``org_ids``."""
    per_dep: dict[str, Counts] = defaultdict(Counts)
    through: dict[str, int] = defaultdict(int)
    for dep, n in registered(session, org_ids).items():
        per_dep[dep].registered = n
    for row in task_rows(session, org_ids, day, day, None):
        fill(per_dep[row.departement or UNKNOWN], row)
        news = row.through_contact or row.outcome == Outcome.reached_through_contact
        through[row.departement or UNKNOWN] += bool(news)
    total = Counts()
    for c in per_dep.values():
        total.add(c)
    ordered = dict(sorted(per_dep.items()))
    by_contact = {dep: through.get(dep, 0) for dep in ordered} | {"": sum(through.values())}
    return Board(day, ordered, total, unreached_list(session, org_ids, day), by_contact)


def unreached_list(session: Session, org_ids: Sequence[int], day: date) -> list[dict[str, Any]]:
    """The "levée de doute" list: seniors whose canicule task of ``day`` ended unreached,
    with their emergency contacts, what was tried (numbers, SMS, contact) and the alert it
    opened (owner and status)."""
    rows = session.execute(
        select(Task.id, Senior, Alert.id, Alert.status, User.name)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .join(Senior, Senior.id == Task.senior_id)
        .outerjoin(AlertSource, and_(AlertSource.kind == "task", AlertSource.source_id == Task.id))
        .outerjoin(Alert, Alert.id == AlertSource.alert_id)
        .outerjoin(User, User.id == Alert.referent_id)
        .where(
            _canicule_tasks(org_ids, None),
            Task.due_date == day,
            Task.state.in_(UNREACHED_STATES),
        )
        .order_by(Senior.departement, Senior.last_name, Senior.first_name, Task.id)
    ).all()
    contacts: dict[int, list[EmergencyContact]] = defaultdict(list)
    senior_ids = [r[1].id for r in rows]
    if senior_ids:
        for contact in session.scalars(
            select(EmergencyContact)
            .where(EmergencyContact.senior_id.in_(senior_ids))
            .order_by(EmergencyContact.id)
        ):
            contacts[contact.senior_id].append(contact)
    tried = fallback.tried(session, [r[0] for r in rows])
    return [
        {
            "task_id": task_id,
            "senior": senior,
            "phone": senior.phone_mobile or senior.phone_landline,
            "contacts": contacts.get(senior.id, []),
            "tried": tried.get(task_id, ""),
            "alert_id": alert_id,
            "alert_status": status,
            "owner": owner,
        }
        for task_id, senior, alert_id, status, owner in rows
    ]


def campaign_days(session: Session, org_ids: Sequence[int], limit: int = 120) -> list[date]:
    """The days that had canicule tasks, newest first (the board's day picker)."""
    return list(
        session.scalars(
            select(Task.due_date)
            .join(Campaign, Campaign.id == Task.campaign_id)
            .where(_canicule_tasks(org_ids, None))
            .group_by(Task.due_date)
            .order_by(Task.due_date.desc())
            .limit(limit)
        )
    )


def active(session: Session, org_ids: Sequence[int]) -> bool:
    """Whether one of the organisations has an active canicule campaign (one indexed query)."""
    if not org_ids:
        return False
    return (
        session.scalar(
            select(Campaign.id)
            .where(
                Campaign.organisation_id.in_(list(org_ids)),
                Campaign.kind == CampaignKind.canicule,
                Campaign.state == "active",
            )
            .limit(1)
        )
        is not None
    )


# ------------------------------------------------------------------------------ the ETA


@dataclass
class Eta:
    """When the last senior of the day will have had a first attempt."""

    remaining_automated: dict[str, int]
    remaining_staff: int
    staff_working: int
    call_seconds: float
    at: datetime | None  # None: nothing left, or not before the window closes
    done: bool
    beyond_window: bool = False


def _finish(
    start: datetime, seconds: float, spans: list[tuple[datetime, datetime]]
) -> datetime | None:
    """The instant ``seconds`` of work started at ``start`` ends, worked only inside
    ``spans`` (today's call window); None when the window closes first."""
    left = seconds
    for open_, close in spans:
        begin = max(open_, start)
        if begin >= close:
            continue
        if begin + timedelta(seconds=left) <= close:
            return begin + timedelta(seconds=left)
        left -= (close - begin).total_seconds()
    return None


def estimate(
    remaining: dict[str, int],
    *,
    now: datetime,
    calls_per_second: float,
    sms_per_second: float,
    staff_working: int,
    call_seconds: float,
    spans: list[tuple[datetime, datetime]],
) -> Eta:
    """The ETA from what is left (task channel → count), the gateway's rates and the staff.

    Automated calls and SMS go out in parallel at their own rate; staff calls are shared by
    the staff working. Without staff working, staff calls have no end (``at`` None)."""
    automated = {k: remaining.get(k, 0) for k in ("ivr", "sms")}
    staff = remaining.get("staff", 0)
    eta = Eta(automated, staff, staff_working, call_seconds, None, False)
    if not staff and not any(automated.values()):
        eta.done = True
        return eta
    needs = [automated["ivr"] / calls_per_second, automated["sms"] / sms_per_second]
    if staff:
        if not staff_working:
            return eta
        needs.append(staff * call_seconds / staff_working)
    eta.at = _finish(now, max(needs), spans)
    eta.beyond_window = eta.at is None
    return eta


def window_spans(windows: list[dict[str, Any]], day: date) -> list[tuple[datetime, datetime]]:
    """The call windows of ``day`` (Paris), as aware (open, close) pairs, in order."""
    spans: set[tuple[datetime, datetime]] = set()
    for window in windows:
        for start, end in parse_window(window or {}).get(day.weekday(), []):
            spans.add((datetime.combine(day, start, PARIS), datetime.combine(day, end, PARIS)))
    return sorted(spans)


def day_eta(
    session: Session,
    org_ids: Sequence[int],
    now: datetime,
    telephony: dict[str, Any],
    *,
    extra: dict[str, int] | None = None,
    extra_windows: Sequence[dict[str, Any]] = (),
    staff_working: int | None = None,
) -> Eta:
    """The ETA of today (Paris) from the database: remaining first attempts by channel,
    staff with a claim or a call in the last 30 minutes, today's average staff call.

    ``extra`` (channel -> count), ``extra_windows`` and ``staff_working`` describe an
    activation not made yet (the confirmation page): its seniors join what is left, its
    call window the day's, and the staff the manager expects replaces those seen working."""
    day = now.astimezone(PARIS).date()
    scope = and_(_canicule_tasks(org_ids, None), Task.due_date == day)
    tried = select(Attempt.id).where(Attempt.task_id == Task.id, Attempt.direction == "outbound")
    remaining: dict[str, int] = defaultdict(int)
    for channel, n in session.execute(
        select(Task.channel, func.count())
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(scope, Task.state.in_(OPEN_TASK_STATES), ~tried.exists())
        .group_by(Task.channel)
    ):
        # ivr_then_staff starts with an automated call.
        key = "ivr" if channel == ChannelPolicy.ivr_then_staff else str(channel)
        remaining[key] += n
    for name, n in (extra or {}).items():
        remaining["ivr" if name == ChannelPolicy.ivr_then_staff else name] += n
    since = now - STAFF_RECENT
    claimers = select(Task.claimed_by_id.label("u")).where(
        Task.organisation_id.in_(list(org_ids)), Task.claimed_at >= since
    )
    callers = select(Attempt.user_id.label("u")).where(
        Attempt.organisation_id.in_(list(org_ids)),
        Attempt.channel == AttemptChannel.staff,
        Attempt.started_at >= since,
    )
    people = {u for (u,) in session.execute(claimers.union(callers)) if u is not None}
    start_of_day = datetime.combine(day, time(0), PARIS)
    average = session.scalar(
        select(func.avg(Attempt.duration_seconds)).where(
            Attempt.organisation_id.in_(list(org_ids)),
            Attempt.channel == AttemptChannel.staff,
            Attempt.started_at >= start_of_day,
            Attempt.duration_seconds > 0,
        )
    )
    windows = list(
        session.scalars(
            select(Campaign.call_window).where(
                Campaign.organisation_id.in_(list(org_ids)),
                Campaign.kind == CampaignKind.canicule,
                or_(
                    Campaign.state == "active",
                    Campaign.id.in_(select(Task.campaign_id).where(Task.due_date == day)),
                ),
            )
        )
    )
    windows.extend(extra_windows)
    return estimate(
        dict(remaining),
        now=now,
        calls_per_second=float(telephony["calls_per_second"]),
        sms_per_second=float(telephony["sms_per_second"]),
        staff_working=len(people) if staff_working is None else staff_working,
        call_seconds=float(average) if average else DEFAULT_CALL_SECONDS,
        spans=window_spans(windows, day),
    )
