"""What the stored listings hold, per département and landlord: the counts the association
compares with its quotas before a draw (age band, sex, housing type, QPV...).

One grouped query over every sampling attribute (a few thousand groups for a region of
60,000 tenants), summed here: never a row, never a reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.panel.models import ListingRow
from outreach.roster.models import Area, HousingType, Sex

# The columns of the summary, in order: (key, attribute, value counted).
COLUMNS: tuple[tuple[str, str, object], ...] = (
    ("65-74", "age_band", "65-74"),
    ("75+", "age_band", ("75-84", "85+", "75+")),
    ("lt65", "age_band", "lt65"),
    ("female", "sex", Sex.female),
    ("male", "sex", Sex.male),
    ("collectif", "housing_type", HousingType.collectif),
    ("individuel", "housing_type", HousingType.individuel),
    ("qpv", "qpv", True),
    ("urbain", "area", Area.urbain),
    ("rural", "area", Area.rural),
    ("alone", "lives_alone", True),
    ("couple", "lives_alone", False),
    ("adapted", "adapted", True),
)
ATTRIBUTES = ("age_band", "sex", "housing_type", "area", "qpv", "lives_alone", "adapted")


@dataclass
class SummaryLine:
    """The counts of one landlord in one département (or of the département's total)."""

    label: str
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, other: SummaryLine) -> None:
        self.total += other.total
        self.counts.update(other.counts)

    def share(self, key: str) -> int:
        """The percentage of the total, rounded."""
        return round(100 * self.counts[key] / self.total) if self.total else 0


@dataclass
class DepartementSummary:
    departement: str
    landlords: list[SummaryLine]
    total: SummaryLine


def _matches(value: object, wanted: object) -> bool:
    return value in wanted if isinstance(wanted, tuple) else value == wanted


def listing_summary(session: Session, org_ids: Iterable[int]) -> list[DepartementSummary]:
    """The listings of ``org_ids`` (already scoped by the caller), by département."""
    ids = list(org_ids)
    if not ids:
        return []
    columns = [getattr(ListingRow, name) for name in ATTRIBUTES]
    stmt = (
        select(
            ListingRow.departement,
            ListingRow.organisation_id,
            Organisation.name,
            *columns,
            func.count(),
        )  # fmt: skip
        .join(Organisation, Organisation.id == ListingRow.organisation_id)
        .where(ListingRow.organisation_id.in_(ids))
        .group_by(ListingRow.departement, ListingRow.organisation_id, Organisation.name, *columns)
    )
    lines: dict[str, dict[int, SummaryLine]] = {}
    for departement, org_id, landlord, *values, count in session.execute(stmt):
        line = lines.setdefault(departement, {}).setdefault(org_id, SummaryLine(landlord))
        line.total += count
        row = dict(zip(ATTRIBUTES, values, strict=True))
        for key, attribute, wanted in COLUMNS:
            if _matches(row[attribute], wanted):
                line.counts[key] += count
    result = []
    for departement in sorted(lines):
        landlords = sorted(lines[departement].values(), key=lambda line: line.label)
        total = SummaryLine(departement)
        for line in landlords:
            total.add(line)
        result.append(DepartementSummary(departement, landlords, total))
    return result
