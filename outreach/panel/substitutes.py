"""Replacing a member who refused or stayed unreachable with the best waiting reserve.

The best substitute keeps the quotas the draw met: a waiting reserve of the same draw and
département, of the same landlord and with the same profile first, then with the fewest
attributes that differ, then the reserve's rank (the draw's own order). The page proposes
it; a manager of the landlord (or of its association) confirms, and only then does the
reserve join the members to contact. A frozen draw accepts no substitution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.panel.agreements import link_members
from outreach.panel.models import Draw, DrawState, ListingRow, MemberRole, MemberStatus, PanelMember
from outreach.panel.quotas import age_group

# The sampling attributes the quotas are drawn on (panel.models.ListingRow), besides the
# age, compared by the quota's two age groups (65-74, 75+).
PROFILE = ("sex", "housing_type", "qpv", "area", "lives_alone", "adapted")
# Members whose place is to be taken.
TO_REPLACE = (MemberStatus.refused, MemberStatus.unreachable)


class SubstitutionError(ValueError):
    """A substitution that cannot be made; the message is in French for the page."""


def differences(a: Any, b: Any) -> int:
    """How many quota attributes differ between two listing rows (the age by its group)."""
    age = age_group(a.age_band) != age_group(b.age_band)
    return int(age) + sum(getattr(a, key) != getattr(b, key) for key in PROFILE)


def rank_key(member: Any, row: Any, reserve: Any, reserve_row: Any) -> tuple[int, ...]:
    """The order of substitutes for ``member``: same landlord first, then the fewest
    differing attributes, then the same age band (85+ for 85+), then the reserve's rank."""
    other_landlord = int(reserve.organisation_id != member.organisation_id)
    band = int(row.age_band != reserve_row.age_band)
    return other_landlord, differences(row, reserve_row), band, reserve.rank


def best(member: Any, row: Any, reserves: Iterable[tuple[Any, Any]]) -> Any | None:
    """The best of ``reserves`` ((reserve, its listing row) pairs) for ``member``, or None."""
    same_dept = [(r, rr) for r, rr in reserves if r.departement == member.departement]
    if not same_dept:
        return None
    return min(same_dept, key=lambda pair: rank_key(member, row, *pair))[0]


def _rows(session: Session, members: Sequence[PanelMember]) -> dict[int, ListingRow]:
    ids = [m.listing_row_id for m in members]
    rows = session.scalars(select(ListingRow).where(ListingRow.id.in_(ids)))
    return {r.id: r for r in rows}


def proposals(session: Session, draw: Draw) -> dict[int, PanelMember]:
    """The proposed substitute of each member to replace in ``draw`` (member id -> reserve).

    Computed for the whole draw, oldest answer first, each reserve proposed once: two
    landlords never see the same reserve, and the page says the same to everyone."""
    if draw.state != DrawState.drawn:
        return {}
    members = list(
        session.scalars(
            select(PanelMember)
            .where(
                PanelMember.draw_id == draw.id,
                PanelMember.role == MemberRole.drawn,
                PanelMember.status.in_(TO_REPLACE),
            )
            .order_by(PanelMember.updated_at, PanelMember.id)
        )
    )
    if not members:
        return {}
    reserves = list(
        session.scalars(
            select(PanelMember).where(
                PanelMember.draw_id == draw.id,
                PanelMember.role == MemberRole.reserve,
                PanelMember.status == MemberStatus.waiting,
            )
        )
    )
    rows = _rows(session, members + reserves)
    free = {r.id: (r, rows[r.listing_row_id]) for r in reserves}
    result: dict[int, PanelMember] = {}
    for member in members:
        chosen = best(member, rows[member.listing_row_id], free.values())
        if chosen is not None:
            result[member.id] = chosen
            del free[chosen.id]
    return result


def confirm(
    session: Session, member: PanelMember, reserve_id: int, user_id: int | None, now: datetime
) -> PanelMember:
    """Replace ``member`` by the reserve proposed for her (``reserve_id``, as the page showed
    it): the reserve becomes a member to contact, ``member`` is ``replaced``. Audited."""
    draw = session.get(Draw, member.draw_id)
    assert draw is not None
    if draw.state != DrawState.drawn:
        raise SubstitutionError("le panel est figé : plus aucun remplacement n'est possible")
    if member.status not in TO_REPLACE or member.role != MemberRole.drawn:
        raise SubstitutionError("cette personne n'est plus à remplacer")
    reserve = proposals(session, draw).get(member.id)
    if reserve is None or reserve.id != reserve_id:
        raise SubstitutionError("la proposition a changé : vérifiez la nouvelle proposition")
    reason = MemberStatus(member.status).value
    reserve.role = MemberRole.drawn
    reserve.status = MemberStatus.to_contact
    reserve.substitute_for_id = member.id
    member.status = MemberStatus.replaced
    record(
        session,
        action="panel_substitute",
        entity="panel_member",
        entity_id=member.id,
        organisation_id=member.organisation_id,
        user_id=user_id,
        details={"draw": draw.id, "substitute": reserve.id, "reason": reason},
    )
    session.flush()
    # Her roster row may be there already (the landlord imported a wider file).
    link_members(session, reserve.organisation_id)
    return reserve
