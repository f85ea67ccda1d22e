"""The per-senior flags of the senior indicators, one SELECT per source (tasks, attempts,
referrals, reinforced follow-up), over a set of Paris day ranges.

Shared by the live report (``breakdowns.senior_groups``) and the rollup job
(``rollups.build_month``) so that a rolled month holds exactly what the live query counts.
Every SELECT has the same columns (``sid`` and every flag of ``SENIOR_FLAGS``, 0 where the
source says nothing), so that they combine with UNION ALL and a max per senior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
)

from outreach.calls.models import Attempt
from outreach.calls.outcomes import REACHED
from outreach.campaigns.models import Task
from outreach.escalation.models import Alert, AlertEvent
from outreach.partners.models import Referral
from outreach.reports.indicators import OUTCOME_INDICATORS, Period
from outreach.reports.models import SENIOR_FLAGS

# Literal SQL, not bound parameters: PostgreSQL must type the UNION's columns alike.
ZERO: ColumnClause[Any] = literal_column("0")
ONE: ColumnClause[Any] = literal_column("1")


def flag(condition: Any) -> Any:
    """SQL: 1 when ``condition`` holds, else 0."""
    return case((condition, ONE), else_=ZERO)


def in_days(column: Any, segments: Sequence[Period]) -> Any:
    """SQL: a date ``column`` falls in one of the ``segments``."""
    if not segments:
        return false()
    return or_(*(and_(column >= s.start, column <= s.end) for s in segments))


def in_instants(column: Any, segments: Sequence[Period]) -> Any:
    """SQL: a UTC ``column`` falls in one of the ``segments`` (Paris days)."""
    if not segments:
        return false()
    return or_(*(and_(column >= lo, column < hi) for lo, hi in (s.utc_bounds() for s in segments)))


def own_attempts() -> Any:
    """SQL: the attempts that are a contact with the senior herself."""
    # A call to her emergency contact (``contact_id`` set) is not a contact with her: a call
    # to her daughter neither attempts nor reaches her. Every senior indicator and the
    # rollups read this one condition; contacts and staff activity still count those calls.
    return Attempt.contact_id.is_(None)


def _columns(sid: Any, org: Any, by_org: bool, values: dict[str, Any]) -> list[Any]:
    cols = [org.label("org_id")] if by_org else []
    cols.append(sid.label("sid"))
    cols += [values.get(name, ZERO).label(name) for name in SENIOR_FLAGS]
    return cols


def senior_sources(
    org_ids: Sequence[int] | None, segments: Sequence[Period], by_org: bool
) -> list[Select[Any]]:
    """The four per-senior SELECTs over ``segments`` (none without segments).

    ``org_ids`` None: every organisation, with ``org_id`` (the rows' organisation) in the
    key when ``by_org``, as the rollup job builds them."""
    if not segments:
        return []

    def scope(column: Any) -> Any:
        return column.in_(org_ids) if org_ids is not None else column.is_not(None)

    def keyed(query: Select[Any], sid: Any, org: Any) -> Select[Any]:
        return query.group_by(org, sid) if by_org else query.group_by(sid)

    tasks = keyed(
        select(*_columns(Task.senior_id, Task.organisation_id, by_org, {"targeted": ONE})).where(
            scope(Task.organisation_id), in_days(Task.due_date, segments)
        ),
        Task.senior_id,
        Task.organisation_id,
    )
    attempt_flags: dict[str, Any] = {
        "attempted": func.max(flag(Attempt.direction == "outbound")),
        "reached": func.max(flag(Attempt.outcome.in_(sorted(REACHED)))),
    }
    for name, outcome in OUTCOME_INDICATORS.items():
        attempt_flags[name] = func.max(flag(Attempt.outcome == outcome))
    attempts = keyed(
        select(*_columns(Attempt.senior_id, Attempt.organisation_id, by_org, attempt_flags)).where(
            scope(Attempt.organisation_id),
            in_instants(Attempt.started_at, segments),
            own_attempts(),
        ),
        Attempt.senior_id,
        Attempt.organisation_id,
    )
    referrals = keyed(
        select(
            *_columns(Referral.senior_id, Referral.organisation_id, by_org, {"referred": ONE})
        ).where(scope(Referral.organisation_id), in_instants(Referral.created_at, segments)),
        Referral.senior_id,
        Referral.organisation_id,
    )
    reinforced = keyed(
        select(*_columns(Alert.senior_id, Alert.organisation_id, by_org, {"reinforced": ONE}))
        .join(AlertEvent, AlertEvent.alert_id == Alert.id)
        .where(
            scope(Alert.organisation_id),
            AlertEvent.action == "reinforced_on",
            in_instants(AlertEvent.at, segments),
        ),
        Alert.senior_id,
        Alert.organisation_id,
    )
    return [tasks, attempts, referrals, reinforced]
