"""The senior indicators of ``indicators.compute`` and their breakdowns by dimension.

Speed: the senior indicators and all their breakdowns come from ONE grouped query: every
senior of the organisations, with her dimension columns, left-joined to her flags of the
period (``sources``: one small per-senior aggregate of each source, tasks, attempts,
referrals, reinforced follow-up, combined with the rolled months of ``rollups``), grouped by
the dimension columns. The totals and each dimension's breakdown are then
sums over those groups in Python (a senior is in exactly one group, so the sums are exact).
No query per senior; the period is turned into UTC bounds so that the timestamp indexes serve.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from outreach.reports.indicators import (
    AGE_BANDS,
    DIMENSIONS,
    INDICATORS,
    OUTCOME_INDICATORS,
    UNKNOWN,
    Period,
)
from outreach.reports.models import SENIOR_FLAGS, ReportSeniorMonth
from outreach.reports.rollups import Split
from outreach.reports.sources import senior_sources
from outreach.roster.models import ConsentStatus, Senior


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age_band(day: date) -> Any:
    """SQL: the age band of ``Senior.birth_date`` on ``day`` (same rule as Senior.age_on)."""
    b = Senior.birth_date
    return case(
        (b.is_(None), literal(UNKNOWN)),
        (b <= _years_before(day, 85), literal("85+")),
        (b <= _years_before(day, 75), literal("75-84")),
        (b <= _years_before(day, 65), literal("65-74")),
        (b <= _years_before(day, 60), literal("60-64")),
        else_=literal("<60"),
    )


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def senior_groups(
    session: Session, org_ids: list[int], period: Period, breakdowns: bool, split: Split
) -> list[dict[str, Any]]:
    """One row per combination of dimension values: the dimension values and, for each
    indicator, the number of distinct seniors of that group it counts.

    The seniors' flags of the period: UNION ALL of the live per-senior rows of
    ``split.live`` and the rollup rows of ``split.months``, then max per senior."""
    in_orgs = Senior.organisation_id.in_(org_ids)

    # The seniors, their dimension columns and their state now. Computed in a subquery so
    # the outer GROUP BY names plain columns (PostgreSQL will not match a CASE with bound
    # parameters in SELECT to the same CASE in GROUP BY).
    phone = or_(
        and_(Senior.phone_mobile.is_not(None), Senior.phone_mobile != ""),
        and_(Senior.phone_landline.is_not(None), Senior.phone_landline != ""),
    )
    seniors = (
        select(
            Senior.id.label("sid"),
            Senior.organisation_id.label("org_id"),
            Senior.departement.label("departement"),
            _age_band(period.end).label("age_band"),
            Senior.sex.label("sex"),
            Senior.lives_alone.label("lives_alone"),
            Senior.qpv.label("qpv"),
            Senior.housing_type.label("housing_type"),
            Senior.area.label("area"),
            Senior.gir.label("gir"),
            _flag(
                and_(
                    Senior.active.is_(True),
                    Senior.consent_status == ConsentStatus.given,
                    Senior.erased_at.is_(None),
                )
            ).label("followed"),
            _flag(phone).label("has_phone"),
        )
        .where(in_orgs)
        .subquery("s")
    )
    parts = senior_sources(org_ids, split.live, by_org=False)
    if split.months:
        rolled = ReportSeniorMonth
        parts.append(
            select(
                rolled.senior_id.label("sid"), *(rolled.__table__.c[n] for n in SENIOR_FLAGS)
            ).where(rolled.organisation_id.in_(org_ids), rolled.month.in_(split.months))
        )
    union = union_all(*parts).subquery("u")
    f = (
        select(union.c.sid, *(func.max(union.c[n]).label(n) for n in SENIOR_FLAGS))
        .group_by(union.c.sid)
        .subquery("f")
    )

    def has(name: str) -> Any:
        return func.coalesce(f.c[name], 0) == 1

    targeted = has("targeted")
    reached = has("reached")
    sums: dict[str, Any] = {
        "seniors_followed": func.sum(seniors.c.followed),
        "seniors_targeted": func.sum(_flag(targeted)),
        "with_valid_phone": func.sum(_flag(and_(targeted, seniors.c.has_phone == 1))),
        "seniors_attempted": func.sum(_flag(has("attempted"))),
        "seniors_reached": func.sum(_flag(reached)),
        "seniors_never_reached": func.sum(_flag(and_(targeted, ~reached))),
    }
    for name in OUTCOME_INDICATORS:
        sums[name] = func.sum(_flag(has(name)))
    sums["referred_to_partner"] = func.sum(_flag(has("referred")))
    sums["moved_to_reinforced_followup"] = func.sum(_flag(has("reinforced")))
    assert tuple(sums) == INDICATORS

    dims = [
        seniors.c.org_id,
        seniors.c.departement,
        seniors.c.age_band,
        seniors.c.sex,
        seniors.c.lives_alone,
        seniors.c.qpv,
        seniors.c.housing_type,
        seniors.c.area,
        seniors.c.gir,
    ]
    query = (
        select(*(dims if breakdowns else []), *(s.label(n) for n, s in sums.items()))
        .select_from(seniors)
        .outerjoin(f, f.c.sid == seniors.c.sid)
    )
    if breakdowns:
        query = query.group_by(*dims)
    return [dict(row._mapping) for row in session.execute(query)]


def _key(dimension: str, value: Any, slugs: dict[int, str]) -> str:
    """The breakdown key of a dimension value (codes as strings, "unknown" when missing)."""
    if dimension == "landlord":
        return slugs.get(value, UNKNOWN)
    if value is None or value == "":
        return UNKNOWN
    if dimension in ("lives_alone", "qpv"):
        return "yes" if value else "no"
    return str(value)


def split(
    groups: list[dict[str, Any]], slugs: dict[int, str], landlord: bool
) -> tuple[dict[str, int], dict[str, dict[str, dict[str, int]]]]:
    totals = {name: 0 for name in INDICATORS}
    dimensions = [d for d in DIMENSIONS if landlord or d != "landlord"]
    by: dict[str, dict[str, dict[str, int]]] = {d: {} for d in dimensions}
    for group in groups:
        counts = {name: int(group[name] or 0) for name in INDICATORS}
        for name, n in counts.items():
            totals[name] += n
        if "org_id" not in group:
            continue
        for dimension in dimensions:
            column = "org_id" if dimension == "landlord" else dimension
            key = _key(dimension, group[column], slugs)
            cell = by.setdefault(dimension, {}).setdefault(key, dict.fromkeys(INDICATORS, 0))
            for name, n in counts.items():
                cell[name] += n
    # Stable, readable order: keys sorted, "unknown" last.
    ordered = {
        d: dict(sorted(cells.items(), key=lambda kv: (kv[0] == UNKNOWN, _sort_key(d, kv[0]))))
        for d, cells in by.items()
    }
    return totals, ordered


def _sort_key(dimension: str, key: str) -> tuple[int, str]:
    if dimension == "age_band" and key in AGE_BANDS:
        return (AGE_BANDS.index(key), key)
    return (0, key)
