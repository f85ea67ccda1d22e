"""A small drawn panel for the agreements' tests: an association, two landlords, one draw,
drawn members and ranked reserves made directly as rows (the draw itself is tested apart)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outreach.accounts.models import Organisation
from outreach.accounts.operations import create_organisation
from outreach.campaigns.models import CampaignKind, CampaignState, ChannelPolicy
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import WEEKDAYS
from outreach.panel.models import (
    Draw,
    ListingRow,
    MemberRole,
    MemberStatus,
    PanelMember,
)
from outreach.roster.models import Area, ConsentStatus, HousingType, Sex
from tests.factories import make_senior

_refs = itertools.count(1)
ALWAYS_OPEN = {d: [["00:00", "23:59:59.999999"]] for d in WEEKDAYS}
# One profile; a test changes the attributes it is about.
PROFILE: dict[str, Any] = {
    "age_band": "75-84",
    "sex": Sex.female,
    "housing_type": HousingType.collectif,
    "area": Area.urbain,
    "qpv": False,
    "lives_alone": True,
    "adapted": False,
}


@dataclass
class Panel:
    association: Organisation
    a: Organisation
    b: Organisation
    draw: Draw
    members: list[PanelMember] = field(default_factory=list)


def make_panel(session) -> Panel:
    association = create_organisation(session, "asso", "Association régionale")
    a = create_organisation(session, "bailleur-a", "Bailleur A", "asso")
    b = create_organisation(session, "bailleur-b", "Bailleur B", "asso")
    draw = Draw(organisation_id=association.id, seed=7)
    session.add(draw)
    session.flush()
    return Panel(association, a, b, draw)


def add_member(
    session,
    panel: Panel,
    org: Organisation,
    *,
    role: MemberRole = MemberRole.drawn,
    rank: int = 0,
    departement: str = "37",
    reference: str | None = None,
    **profile: Any,
) -> PanelMember:
    row = ListingRow(
        organisation_id=org.id,
        reference=reference or f"T{next(_refs):04d}",
        departement=departement,
        **(PROFILE | profile),
    )
    session.add(row)
    session.flush()
    member = PanelMember(
        draw_id=panel.draw.id,
        organisation_id=org.id,
        listing_row_id=row.id,
        departement=departement,
        role=role,
        rank=rank,
        status=MemberStatus.to_contact if role == MemberRole.drawn else MemberStatus.waiting,
    )
    session.add(member)
    session.flush()
    panel.members.append(member)
    return member


def reference_of(session, member: PanelMember) -> str:
    row = session.get(ListingRow, member.listing_row_id)
    assert row is not None
    return row.reference


def linked_senior(session, member: PanelMember, **fields: Any):
    """Her roster row as the landlord imports it (consent not asked yet), linked."""
    from outreach.panel.agreements import link_members

    org = session.get(Organisation, member.organisation_id)
    values = {"consent_status": ConsentStatus.unknown, "consent_phone": False} | fields
    senior = make_senior(session, org, external_ref=reference_of(session, member), **values)
    link_members(session, org.id)
    session.refresh(member)
    return senior


def agreement_campaign(session, org: Organisation, now: datetime | None = None, **fields: Any):
    """An active recueil d'accord of ``org``, open at all hours."""
    values = {
        "channel_policy": ChannelPolicy.staff,
        "call_window": ALWAYS_OPEN,
        "skip_holidays": False,
        **fields,
    }
    campaign = create_campaign(
        session, org.id, "Recueil d'accord", CampaignKind.agreement, **values
    )
    set_state(session, campaign, CampaignState.active, now or datetime.now(UTC))
    return campaign
