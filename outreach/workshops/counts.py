"""How many were invited, registered, waiting and present, by workshop and by territory.

The workshops of a period are those that start within it (Paris days, both ends included);
a cancelled workshop is left out. Used by the workshops page and the period report (JSON key
``workshops``, and its sheets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from outreach.campaigns.schedule import PARIS
from outreach.workshops.models import Invitation, InvitationStatus, Workshop, WorkshopState

FIGURES = ("capacity", "invited", "registered", "waiting", "declined", "attended")


def _count(status: InvitationStatus) -> Any:
    return func.coalesce(func.sum(case((Invitation.status == status, 1), else_=0)), 0)


def by_workshop(
    session: Session, organisation_ids: Sequence[int], start: date, end: date
) -> list[dict[str, Any]]:
    """One row per workshop starting in [start, end], in date order."""
    lo = datetime.combine(start, time(0), PARIS)
    hi = datetime.combine(end + timedelta(days=1), time(0), PARIS)
    rows = session.execute(
        select(
            Workshop.id,
            Workshop.theme,
            Workshop.starts_at,
            Workshop.territory,
            Workshop.state,
            Workshop.capacity,
            func.count(Invitation.id).label("invited"),
            _count(InvitationStatus.registered).label("registered"),
            _count(InvitationStatus.waiting).label("waiting"),
            _count(InvitationStatus.declined).label("declined"),
            func.coalesce(func.sum(case((Invitation.attended.is_(True), 1), else_=0)), 0).label(
                "attended"
            ),
        )
        .outerjoin(Invitation, Invitation.workshop_id == Workshop.id)
        .where(
            Workshop.organisation_id.in_(list(organisation_ids)),
            Workshop.state != WorkshopState.cancelled,
            Workshop.starts_at >= lo,
            Workshop.starts_at < hi,
        )
        .group_by(Workshop.id)
        .order_by(Workshop.starts_at, Workshop.id)
    ).all()
    return [
        {
            "id": r.id,
            "theme": r.theme,
            "starts_at": r.starts_at.isoformat(),
            "territory": r.territory,
            "held": r.state == WorkshopState.held,
            **{name: int(getattr(r, name)) for name in FIGURES},
        }
        for r in rows
    ]


def by_territory(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The rows of ``by_workshop`` added up per territory, with how many workshops."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        sums = out.setdefault(row["territory"], {"workshops": 0, **dict.fromkeys(FIGURES, 0)})
        sums["workshops"] += 1
        for name in FIGURES:
            sums[name] += row[name]
    return dict(sorted(out.items()))


def section(
    session: Session, organisation_ids: Sequence[int], start: date, end: date
) -> dict[str, Any]:
    """The ``workshops`` part of the period report."""
    rows = by_workshop(session, organisation_ids, start, end)
    total = {"workshops": len(rows), **{n: sum(r[n] for r in rows) for n in FIGURES}}
    return {"total": total, "by_territory": by_territory(rows), "by_workshop": rows}
