"""The indicators of issue 11: the one place that computes the service's figures.

Pages, exports and the CLI read ``compute``; nothing else counts seniors, so that a figure
means the same thing everywhere. The README ("Indicators") defines each figure in one
sentence; this module implements those sentences.

The senior indicators and their breakdowns come from ``breakdowns``; the figures that
count contacts, alerts, referrals and work from ``activity``; both read the closed months
from the rollups of ``rollups`` when the job built them, and the rest live.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.calls.outcomes import Outcome
from outreach.timezone import PARIS

INDICATORS: tuple[str, ...] = (
    "seniors_followed",
    "seniors_targeted",
    "with_valid_phone",
    "seniors_attempted",
    "seniors_reached",
    "seniors_never_reached",
    "reached_ok",
    "concerns",
    "callback_requests",
    "help_requests",
    "refusals",
    "referred_to_partner",
    "moved_to_reinforced_followup",
)
DIMENSIONS: tuple[str, ...] = (
    "departement",
    "age_band",
    "sex",
    "lives_alone",
    "qpv",
    "housing_type",
    "area",
    "gir",
    "landlord",
)
UNKNOWN = "unknown"
# Age bands at the period's last day; "<60" for a younger tenant (rare, but the roster may
# hold one: a disabled adult on a canicule register), "unknown" without a birth date.
AGE_BANDS: tuple[str, ...] = ("<60", "60-64", "65-74", "75-84", "85+")

# The indicator each "contact of that outcome" counts.
OUTCOME_INDICATORS: dict[str, Outcome] = {
    "reached_ok": Outcome.reached_ok,
    "concerns": Outcome.reached_concern,
    "callback_requests": Outcome.callback_requested,
    "help_requests": Outcome.help_requested,
    "refusals": Outcome.refused,
}


@dataclass(frozen=True)
class Period:
    """Paris calendar days, both ends included."""

    start: date
    end: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC: Paris midnight of ``start`` to Paris midnight after ``end``."""
        lo = datetime.combine(self.start, time(0), PARIS).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), PARIS).astimezone(UTC)
        return lo, hi


def organisation_ids_for(session: Session, org: Organisation | int) -> list[int]:
    """The organisation and, for an association, its members (``parent_id`` = its id)."""
    org_id = org if isinstance(org, int) else org.id
    members = session.scalars(
        select(Organisation.id).where(Organisation.parent_id == org_id).order_by(Organisation.id)
    )
    return [org_id, *members]


def compute(
    session: Session,
    organisation_ids: Sequence[int],
    period: Period,
    *,
    now: datetime,
    breakdowns: bool = True,
) -> dict[str, Any]:
    """Every figure of the organisations over the period, as a JSON-ready dict.

    ``organisation_ids`` are trusted (the web layer scopes them); ``now`` is the moment of
    the state-now figures (seniors followed, alerts overdue) and of ``generated_at``. The
    ``by`` breakdowns have "landlord" only when there are several organisations.
    """
    from outreach.reports import activity
    from outreach.reports import breakdowns as grouped
    from outreach.reports.rollups import split_period
    from outreach.workshops import counts as workshop_counts

    org_ids = sorted(set(organisation_ids))
    orgs = list(
        session.execute(
            select(Organisation.id, Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(org_ids))
            .order_by(Organisation.id)
        )
    )
    slugs = {o.id: o.slug for o in orgs}
    parts = split_period(session, period)
    with _planner_settings(session):
        groups = (
            grouped.senior_groups(session, org_ids, period, breakdowns, parts) if org_ids else []
        )
        totals, by = grouped.split(groups, slugs, landlord=len(org_ids) > 1)
        return {
            "organisations": [{"id": o.id, "slug": o.slug, "name": o.name} for o in orgs],
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "generated_at": now.isoformat(),
            "indicators": totals,
            "contacts": activity.contacts(session, org_ids, period, parts),
            "alerts": activity.alerts(session, org_ids, period, now),
            "referrals": activity.referrals(session, org_ids, period),
            "activity": activity.staff_activity(session, org_ids, period, parts),
            "by": by if breakdowns else {},
            # Collective workshops of the period (issue 13).
            "workshops": workshop_counts.section(session, org_ids, period.start, period.end),
        }


def totals(session: Session, organisation_ids: Sequence[int], period: Period) -> dict[str, int]:
    """The senior indicators alone, as ``compute`` counts them (the home dashboard's week):
    without the contacts, alerts, referrals and activity that would read the period's
    attempts three times more."""
    from outreach.reports import breakdowns as grouped
    from outreach.reports.rollups import split_period

    org_ids = sorted(set(organisation_ids))
    parts = split_period(session, period)
    with _planner_settings(session):
        groups = grouped.senior_groups(session, org_ids, period, False, parts) if org_ids else []
    return grouped.split(groups, {}, landlord=False)[0]


# PostgreSQL settings for the report's queries, restored afterwards (SET LOCAL lasts to the
# end of the transaction, which belongs to the caller): these aggregates cost enough to
# cross jit_above_cost, and compiling them took about 350 ms of a quarter's report for
# nothing; the final GROUP BY over every senior sorted on disk with the default work_mem.
_PG_SETTINGS = {"jit": "off", "work_mem": "32MB"}


@contextmanager
def _planner_settings(session: Session) -> Iterator[None]:
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = {name: session.scalar(select(func.current_setting(name))) for name in _PG_SETTINGS}
    for name, value in _PG_SETTINGS.items():
        session.execute(select(func.set_config(name, value, True)))
    yield
    # Not in a ``finally``: after a failed query PostgreSQL refuses every statement until the
    # rollback, which undoes SET LOCAL anyway.
    for name, old in before.items():
        session.execute(select(func.set_config(name, old, True)))
