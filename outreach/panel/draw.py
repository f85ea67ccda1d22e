"""The draw of an association's panel by quotas, per département, with its reserve.

``run_draw`` reads the listings of the association and its member landlords, asks the
integer programme (``solver``) how many tenants of each profile to draw, then picks the
individuals inside each profile with ``random.Random`` seeded by the draw's seed and the
département, over rows sorted by reference: the same seed and listing give the same draw.

The reserve is ranked per département: round after round, each drawn member (in rank order)
gets the nearest spare tenant of her landlord, of her own profile first, then of the
profile differing least (age, housing and QPV weigh most: their tolerances are the
tightest). A substitute of another landlord would break the landlords' shares and is never
proposed. Writes flush, never commit.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.audit.operations import record
from outreach.panel import solver
from outreach.panel.models import (
    Draw,
    DrawState,
    ListingRow,
    MemberRole,
    MemberStatus,
    PanelMember,
    Quota,
)
from outreach.panel.quotas import (
    DRAWABLE_BANDS,
    Profile,
    QuotaError,
    Settings,
    achieved,
    age_group,
    settings_from,
)

# Substitutes per drawn member at most (rounds of the reserve).
RESERVE_ROUNDS = 2
# How much a differing attribute moves a substitute away (Profile order, landlord excluded).
DISTANCE_WEIGHTS = (4, 1, 2, 2, 1, 1, 1)


class DrawError(ValueError):
    """A draw that cannot be made; the message is French, for the manager."""


@dataclass
class DepartementDraw:
    """One département's result before it is stored."""

    departement: str
    drawn: list[tuple[int, Profile]] = field(default_factory=list)  # (row id, profile)
    reserve: list[tuple[int, Profile]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def member_organisations(session: Session, association: Organisation) -> dict[int, str]:
    """The association and its member landlords: id -> name."""
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(
            (Organisation.id == association.id) | (Organisation.parent_id == association.id)
        )
    )
    return {org_id: name for org_id, name in rows}


def quota_settings(session: Session, association_id: int) -> dict[str, dict[str, Any]]:
    """The stored settings per département (raw JSON, defaults not filled in)."""
    rows = session.execute(
        select(Quota.departement, Quota.settings).where(Quota.association_id == association_id)
    )
    return {dept: dict(raw or {}) for dept, raw in rows}


def _load(session: Session, org_ids: list[int]) -> tuple[int, dict[str, dict[Profile, list]]]:
    """(rows in the listing, drawable rows per département and profile as (reference, id))."""
    stmt = select(
        ListingRow.id, ListingRow.organisation_id, ListingRow.reference, ListingRow.departement,
        ListingRow.age_band, ListingRow.sex, ListingRow.housing_type, ListingRow.qpv,
        ListingRow.area, ListingRow.lives_alone, ListingRow.adapted,
    ).where(ListingRow.organisation_id.in_(org_ids))  # fmt: skip
    total = 0
    cells: dict[str, dict[Profile, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    for row_id, org, ref, dept, band, sex, housing, qpv, area, alone, adapted in session.execute(
        stmt
    ):
        total += 1
        age = age_group(band)
        if age is None:
            continue  # under 65 or age unknown: never drawn
        profile = Profile(org, age, _v(sex), _v(housing), qpv, _v(area), alone, adapted)
        cells[dept][profile].append((ref, row_id))
    return total, cells


def _v(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def draw_departement(
    dept: str,
    cells: Mapping[Profile, list[tuple[str, int]]],
    settings: Settings,
    seed: int,
    names: Mapping[int, str],
) -> DepartementDraw:
    """Draw one département: counts from the programme, individuals by the seeded RNG."""
    rng = random.Random(f"{seed}:{dept}")
    weights: dict[int, int] = defaultdict(int)
    for profile, rows in cells.items():
        weights[profile.organisation_id] += len(rows)
    counts = solver.solve({p: len(r) for p, r in cells.items()}, settings, weights, seed)
    result = DepartementDraw(dept)
    spare: dict[Profile, list[tuple[str, int]]] = {}
    for profile in sorted(cells, key=solver.profile_order):
        rows = sorted(cells[profile])
        rng.shuffle(rows)
        n = counts.get(profile, 0)
        result.drawn += [(row_id, profile) for _, row_id in sorted(rows[:n])]
        spare[profile] = rows[n:]
    result.drawn.sort(key=lambda item: (item[1].organisation_id, item[0]))
    result.reserve = _reserve(result.drawn, spare)
    result.report = achieved(
        settings, [p for _, p in result.drawn], weights, names, available=sum(weights.values())
    )
    result.report["reserve"] = len(result.reserve)
    return result


def _distance(a: Profile, b: Profile) -> int:
    return sum(w for w, x, y in zip(DISTANCE_WEIGHTS, a[1:], b[1:], strict=True) if x != y)


def _reserve(
    drawn: list[tuple[int, Profile]], spare: dict[Profile, list[tuple[str, int]]]
) -> list[tuple[int, Profile]]:
    """The ranked substitutes: per round, the nearest spare of each drawn member's landlord."""
    by_org: dict[int, list[Profile]] = defaultdict(list)
    for profile in sorted(spare, key=solver.profile_order):
        by_org[profile.organisation_id].append(profile)
    nearest: dict[Profile, list[Profile]] = {}
    reserve: list[tuple[int, Profile]] = []
    for _ in range(RESERVE_ROUNDS):
        for _, profile in drawn:
            if profile not in nearest:
                candidates = by_org[profile.organisation_id]
                nearest[profile] = sorted(candidates, key=lambda c: _distance(profile, c))
            for candidate in nearest[profile]:
                if spare[candidate]:
                    _, row_id = spare[candidate].pop(0)
                    reserve.append((row_id, candidate))
                    break
    return reserve


def _replace_current(session: Session, association_id: int) -> None:
    """Discard the association's current draw, unless agreements were already given."""
    current = session.scalars(
        select(Draw).where(Draw.organisation_id == association_id, Draw.state == DrawState.drawn)
    ).all()
    for old in current:
        agreed = session.scalar(
            select(
                exists().where(
                    PanelMember.draw_id == old.id, PanelMember.status == MemberStatus.agreed
                )
            )
        )
        if agreed:
            raise DrawError(
                f"Le tirage n° {old.id} a déjà des accords de principe : il ne peut plus être "
                "remplacé par un nouveau tirage."
            )
        old.state = DrawState.discarded


def run_draw(
    session: Session, association: Organisation, seed: int, user_id: int | None = None
) -> Draw:
    """Draw the association's panel in every département of its listings and store it."""
    names = member_organisations(session, association)
    total, by_dept = _load(session, sorted(names))
    if total == 0:
        raise DrawError(f"Aucune liste de locataires importée pour {association.name}.")
    if not by_dept:
        raise DrawError("Aucun locataire de 65 ans et plus (avec son âge) dans les listes.")
    stored = quota_settings(session, association.id)
    settings: dict[str, Settings] = {}
    for dept in sorted(by_dept):
        try:
            settings[dept] = settings_from(stored.get(dept))
        except QuotaError as exc:
            raise DrawError(f"Quotas du département {dept} : {exc}") from None
    _replace_current(session, association.id)
    results = [
        draw_departement(dept, by_dept[dept], settings[dept], seed, names) for dept in settings
    ]
    draw = Draw(
        organisation_id=association.id,
        seed=seed,
        feasible=all(r.report["met"] for r in results),
        report={r.departement: r.report for r in results},
        created_by_id=user_id,
    )
    session.add(draw)
    session.flush()
    members: list[dict[str, Any]] = []
    for r in results:
        for role, status, items in (
            (MemberRole.drawn, MemberStatus.to_contact, r.drawn),
            (MemberRole.reserve, MemberStatus.waiting, r.reserve),
        ):
            members += [
                {
                    "draw_id": draw.id,
                    "organisation_id": profile.organisation_id,
                    "listing_row_id": row_id,
                    "departement": r.departement,
                    "role": role,
                    "rank": rank,
                    "status": status,
                }
                for rank, (row_id, profile) in enumerate(items, start=1)
            ]
    if members:
        session.execute(insert(PanelMember), members)
    record(
        session,
        action="panel.draw",
        entity="panel_draw",
        entity_id=draw.id,
        organisation_id=association.id,
        user_id=user_id,
        details={"seed": seed, "feasible": draw.feasible, "members": len(members)},
    )
    session.flush()
    return draw


def save_quota(
    session: Session, association_id: int, departement: str, settings: Settings, user_id: int
) -> Quota:
    """Store one département's quotas (validated ``Settings``), replacing earlier ones."""
    quota = session.scalar(
        select(Quota).where(
            Quota.association_id == association_id, Quota.departement == departement
        )
    )
    if quota is None:
        quota = Quota(association_id=association_id, departement=departement)
        session.add(quota)
    quota.settings = settings.as_json()
    quota.updated_by_id = user_id
    session.flush()
    return quota


def drawable_counts(session: Session, org_ids: list[int]) -> dict[str, dict[int, int]]:
    """Drawable rows (65+, age known) per département and landlord: the landlords' weights."""
    stmt = (
        select(ListingRow.departement, ListingRow.organisation_id, func.count())
        .where(
            ListingRow.organisation_id.in_(org_ids),
            ListingRow.age_band.in_(DRAWABLE_BANDS),
        )
        .group_by(ListingRow.departement, ListingRow.organisation_id)
    )
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for dept, org, n in session.execute(stmt):
        counts[dept][org] = n
    return dict(counts)
