"""The figures of ``indicators.compute`` that count contacts, alerts, referrals and work
rather than seniors. Each is one grouped query over the period's UTC bounds."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Membership, Role
from outreach.calls.models import Attempt, AttemptChannel, Severity
from outreach.calls.outcomes import Outcome
from outreach.escalation.models import Alert, AlertCause, AlertStatus
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.reports.models import ReportContactDay, ReportStaffDay
from outreach.reports.rollups import Split
from outreach.reports.sources import in_days, in_instants

# An attempt without an outcome yet (a call in flight, an SMS awaiting its reply).
PENDING = "pending"
CONTACT_KEYS: tuple[str, ...] = (*(o.value for o in Outcome), PENDING)


def _segments(period: Any, split: Split | None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(live segments, segments read from the day rollups) of ``period``."""
    if split is None:
        return (period,), ()
    return split.day_live, split.day_rolled


def contacts(
    session: Session, org_ids: list[int], period: Any, split: Split | None = None
) -> dict[str, dict[str, int]]:
    """Attempts started in the period (outbound and inbound SMS replies alike), by channel
    and outcome after corrections; no outcome yet counts as "pending". The days of usable
    rolled months (``split``) come from ``report_contact_day``."""
    live, rolled = _segments(period, split)
    result = {c.value: dict.fromkeys(CONTACT_KEYS, 0) for c in AttemptChannel}
    if live:
        rows = session.execute(
            select(Attempt.channel, Attempt.outcome, func.count())
            .where(Attempt.organisation_id.in_(org_ids), in_instants(Attempt.started_at, live))
            .group_by(Attempt.channel, Attempt.outcome)
        )
        for channel, outcome, n in rows:
            result[str(channel)][str(outcome) if outcome is not None else PENDING] += n
    if rolled:
        day = ReportContactDay
        for rolled_channel, key, n in session.execute(
            select(day.channel, day.outcome, func.sum(day.contacts))
            .where(day.organisation_id.in_(org_ids), in_days(day.day, rolled))
            .group_by(day.channel, day.outcome)
        ):
            result[rolled_channel][key] += int(n)
    return result


def percentile(values: list[float], p: float) -> float | None:
    """The ``p`` quantile (0..1) by linear interpolation between closest ranks, the method
    of PostgreSQL's percentile_cont and of numpy's default; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    value = ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
    return round(value, 1)


def _summary(minutes: list[float]) -> dict[str, float | None]:
    return {"median": percentile(minutes, 0.5), "p90": percentile(minutes, 0.9)}


def alerts(session: Session, org_ids: list[int], period: Any, now: datetime) -> dict[str, Any]:
    """Alerts opened in the period by cause and severity, their times to acknowledge and to
    resolve in minutes, and the alerts overdue now (whenever they were opened)."""
    lo, hi = period.utc_bounds()
    in_period = (
        Alert.organisation_id.in_(org_ids),
        Alert.opened_at >= lo,
        Alert.opened_at < hi,
    )
    by_cause = {c.value: 0 for c in AlertCause}
    by_severity = {s.value: 0 for s in Severity}
    rows = session.execute(
        select(Alert.cause, Alert.severity, func.count())
        .where(*in_period)
        .group_by(Alert.cause, Alert.severity)
    )
    for cause, severity, n in rows:
        by_cause[str(cause)] += n
        by_severity[str(severity)] += n
    overdue = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.organisation_id.in_(org_ids),
            Alert.status.in_([AlertStatus.open, AlertStatus.acknowledged]),
            Alert.due_at < now,
        )
    )
    return {
        "by_cause": by_cause,
        "by_severity": by_severity,
        "time_to_acknowledge_minutes": _delays(session, in_period, Alert.acknowledged_at),
        "time_to_resolve_minutes": _delays(session, in_period, Alert.resolved_at),
        "overdue_now": int(overdue or 0),
    }


def _delays(session: Session, in_period: tuple[Any, ...], until: Any) -> dict[str, float | None]:
    """Median and 90th percentile of the minutes from opening to ``until`` (when set).

    PostgreSQL computes them (percentile_cont: a quarter's tens of thousands of alerts are
    not fetched); SQLite has no percentile function, so its durations are fetched and the
    same linear interpolation is applied here (``percentile``): the test suite checks one
    history on both backends."""
    where = (*in_period, until.is_not(None))
    if session.get_bind().dialect.name == "postgresql":
        minutes = _seconds_between(session, Alert.opened_at, until) / 60.0
        median, p90 = session.execute(
            select(
                func.percentile_cont(0.5).within_group(minutes),
                func.percentile_cont(0.9).within_group(minutes),
            ).where(*where)
        ).one()
        return {
            "median": None if median is None else round(float(median), 1),
            "p90": None if p90 is None else round(float(p90), 1),
        }
    values = [
        (end - start).total_seconds() / 60
        for start, end in session.execute(select(Alert.opened_at, until).where(*where))
    ]
    return _summary(values)


def referrals(session: Session, org_ids: list[int], period: Any) -> dict[str, int]:
    """Referrals created in the period, by the partner's kind (referrals, not seniors)."""
    lo, hi = period.utc_bounds()
    result = {k.value: 0 for k in PartnerKind}
    rows = session.execute(
        select(Partner.kind, func.count())
        .select_from(Referral)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(
            Referral.organisation_id.in_(org_ids),
            Referral.created_at >= lo,
            Referral.created_at < hi,
        )
        .group_by(Partner.kind)
    )
    for kind, n in rows:
        result[str(kind)] += n
    return result


def _seconds_between(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # SQLite keeps UTC datetimes as text; julianday reads them.
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def call_seconds(session: Session) -> Any:
    """SQL: an attempt's seconds: the gateway's duration when known, else ended_at −
    started_at, nothing for a call never ended."""
    return func.coalesce(
        Attempt.duration_seconds,
        case(
            (
                Attempt.ended_at.is_not(None),
                _seconds_between(session, Attempt.started_at, Attempt.ended_at),
            ),
            else_=0,
        ),
    )


def staff_activity(
    session: Session, org_ids: list[int], period: Any, split: Split | None = None
) -> dict[str, dict[str, int | float]]:
    """Staff calls (channel staff) started in the period, split by the caller's role in the
    call's organisation: volunteers, everyone else ("staff"). Minutes: ``call_seconds``.
    The days of usable rolled months (``split``) come from ``report_staff_day``."""
    live, rolled = _segments(period, split)
    # Grouped by the role itself: PostgreSQL would not match a CASE with bound parameters
    # in SELECT to the same CASE in GROUP BY.
    queries = []
    if live:
        queries.append(
            select(Membership.role, func.count(), func.sum(call_seconds(session)))
            .select_from(Attempt)
            .outerjoin(
                Membership,
                and_(
                    Membership.user_id == Attempt.user_id,
                    Membership.organisation_id == Attempt.organisation_id,
                ),
            )
            .where(
                Attempt.organisation_id.in_(org_ids),
                Attempt.channel == AttemptChannel.staff,
                in_instants(Attempt.started_at, live),
            )
            .group_by(Membership.role)
        )
    if rolled:
        day = ReportStaffDay
        queries.append(
            select(Membership.role, func.sum(day.calls), func.sum(day.seconds))
            .select_from(day)
            .outerjoin(
                Membership,
                and_(
                    Membership.user_id == day.user_id,
                    Membership.organisation_id == day.organisation_id,
                ),
            )
            .where(day.organisation_id.in_(org_ids), in_days(day.day, rolled))
            .group_by(Membership.role)
        )
    rows = [row for query in queries for row in session.execute(query)]
    result: dict[str, dict[str, int | float]] = {
        "staff": {"calls": 0, "minutes": 0.0},
        "volunteers": {"calls": 0, "minutes": 0.0},
    }
    seconds_by = {"staff": 0.0, "volunteers": 0.0}
    for role, calls, total in rows:
        who = "volunteers" if role == Role.volunteer else "staff"
        result[who]["calls"] += int(calls)
        seconds_by[who] += float(total or 0)
    for who, total_seconds in seconds_by.items():
        result[who]["minutes"] = round(total_seconds / 60, 1)
    return result
