"""Where the agreements stand per landlord, and freezing the panel (consolidation).

Freezing is the association's decision that the panel is complete: the draw becomes
``frozen`` (no more substitutions, no more agreement calls), and each agreed member's
senior gets her consent given, sourced "accord de principe" and dated by her agreement, so
that the courtesy campaigns follow her from then on (roster.eligibility). A senior whose
consent was refused or withdrawn meanwhile is never re-enrolled by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.audit.operations import record
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.panel.models import Draw, DrawState, MemberRole, MemberStatus, PanelMember
from outreach.roster.consent import set_consent
from outreach.roster.models import ConsentSource, ConsentStatus, Senior

# ``Senior.consent_source`` and the consent event's detail for a frozen agreement.
AGREEMENT_DETAIL = "accord de principe"
NEVER_REENROLLED = (ConsentStatus.refused, ConsentStatus.withdrawn)


class FreezeError(ValueError):
    """The panel cannot be frozen; the message is in French for the page."""


@dataclass
class LandlordProgress:
    """One landlord's agreements in a draw: obtained against the number to reach."""

    organisation_id: int
    name: str
    to_reach: int = 0  # drawn members still in the panel (the replaced ones left it)
    agreed: int = 0
    refused: int = 0
    unreachable: int = 0
    to_contact: int = 0
    without_contact: int = 0  # drawn, no roster row imported yet


def progress(session: Session, draw: Draw, org_ids: list[int]) -> list[LandlordProgress]:
    """Per landlord of ``org_ids`` with members in ``draw``, by name."""
    rows = session.execute(
        select(PanelMember.organisation_id, PanelMember.status, PanelMember.senior_id).where(
            PanelMember.draw_id == draw.id,
            PanelMember.role == MemberRole.drawn,
            PanelMember.organisation_id.in_(org_ids),
        )
    ).all()
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({r.organisation_id for r in rows})
            )
        ).all()
    )
    result = {i: LandlordProgress(i, names[i]) for i in names}
    for org_id, status, senior_id in rows:
        p = result[org_id]
        if status == MemberStatus.replaced:
            continue
        p.to_reach += 1
        if status == MemberStatus.agreed:
            p.agreed += 1
        elif status == MemberStatus.refused:
            p.refused += 1
        elif status == MemberStatus.unreachable:
            p.unreachable += 1
        elif senior_id is None:
            p.without_contact += 1
        else:
            p.to_contact += 1
    return sorted(result.values(), key=lambda p: p.name)


def freeze(session: Session, draw: Draw, user_id: int | None, now: datetime) -> int:
    """Freeze ``draw``: consent given to each agreed member's senior; returns how many
    seniors were enrolled. Open agreement calls to the others are cancelled. Audited."""
    if draw.state != DrawState.drawn:
        raise FreezeError("ce panel n'est pas en cours de recueil d'accords")
    agreed = list(
        session.execute(
            select(PanelMember, Senior)
            .join(Senior, Senior.id == PanelMember.senior_id)
            .where(
                PanelMember.draw_id == draw.id,
                PanelMember.role == MemberRole.drawn,
                PanelMember.status == MemberStatus.agreed,
            )
            .order_by(PanelMember.id)
        ).all()
    )
    enrolled = 0
    for member, senior in agreed:
        if senior.consent_status in NEVER_REENROLLED or not senior.active:
            continue
        set_consent(
            session, senior, status=ConsentStatus.given, phone=True, sms=True,
            stated_on=member.agreement_date, source=ConsentSource.agreement, user_id=user_id,
            now=now, detail=AGREEMENT_DETAIL,
        )  # fmt: skip
        enrolled += 1
    draw.state = DrawState.frozen
    draw.frozen_at = now
    draw.frozen_by_id = user_id
    members = select(PanelMember.senior_id).where(
        PanelMember.draw_id == draw.id, PanelMember.senior_id.is_not(None)
    )
    agreement_campaigns = select(Campaign.id).where(Campaign.kind == CampaignKind.agreement)
    lifecycle.close_where(
        session,
        [Task.campaign_id.in_(agreement_campaigns), Task.senior_id.in_(members)],
        TaskState.cancelled,
        now,
        "panel_frozen",
    )
    record(
        session,
        action="panel_freeze",
        entity="panel_draw",
        entity_id=draw.id,
        organisation_id=draw.organisation_id,
        user_id=user_id,
        details={"agreed": len(agreed), "enrolled": enrolled},
    )
    session.flush()
    return enrolled
