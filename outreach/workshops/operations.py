"""Writes on workshops: plan, edit, cancel, answers, the waiting list, transport, attendance.

Operations flush, never commit. The places of a workshop are counted from its invitations
(``registered``), so a reply, a withdrawal or a change of capacity moves the waiting list
in one place (``promote``), which also tells the person promoted (``notices.notify``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.campaigns.models import Campaign, CampaignState
from outreach.campaigns.operations import set_state
from outreach.partners.models import Partner
from outreach.workshops.models import Invitation, InvitationStatus, Workshop, WorkshopState

FIELDS = (
    "theme",
    "starts_at",
    "ends_at",
    "place",
    "address",
    "postcode",
    "city",
    "accessibility",
    "capacity",
    "territory",
    "organiser",
    "partner_id",
)
MAX_CAPACITY = 500
OPEN = (InvitationStatus.invited, InvitationStatus.registered, InvitationStatus.waiting)


class WorkshopError(ValueError):
    """A French message for the manager, with the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _text(values: dict[str, Any], key: str, size: int, label: str, required: bool) -> None:
    value = (values.get(key) or "").strip() or None
    if required and value is None:
        raise WorkshopError(f"{label} est obligatoire", key)
    if value is not None and len(value) > size:
        raise WorkshopError(f"{label} : {size} caractères au plus", key)
    values[key] = value


def _check(session: Session, organisation_id: int, values: dict[str, Any]) -> dict[str, Any]:
    values = {k: values.get(k) for k in FIELDS}
    _text(values, "theme", 200, "Le thème", True)
    _text(values, "place", 200, "Le lieu", True)
    _text(values, "territory", 120, "Le territoire", True)
    _text(values, "address", 300, "L'adresse", False)
    _text(values, "city", 120, "La commune", False)
    _text(values, "accessibility", 500, "L'accessibilité", False)
    _text(values, "organiser", 200, "L'organisateur", False)
    _text(values, "postcode", 5, "Le code postal", False)
    if values["postcode"] and not re.fullmatch(r"\d{5}", values["postcode"]):
        raise WorkshopError("Le code postal : 5 chiffres, par exemple 37000", "postcode")
    starts, ends = values["starts_at"], values["ends_at"]
    if not isinstance(starts, datetime) or starts.tzinfo is None:
        raise WorkshopError("Indiquez la date et l'heure de début", "starts_at")
    if ends is not None and ends <= starts:
        raise WorkshopError("La fin doit être après le début", "ends_at")
    capacity = values["capacity"]
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise WorkshopError(f"Le nombre de places : de 1 à {MAX_CAPACITY}", "capacity")
    partner_id = values["partner_id"]
    if partner_id is not None:
        partner = session.get(Partner, partner_id)
        if partner is None or partner.organisation_id != organisation_id:
            raise WorkshopError("Ce partenaire n'est pas dans votre annuaire", "partner_id")
    return values


def create_workshop(
    session: Session, organisation_id: int, now: datetime, user_id: int | None, **fields: Any
) -> Workshop:
    """A planned workshop; it must start in the future."""
    values = _check(session, organisation_id, fields)
    if values["starts_at"] <= now:
        raise WorkshopError("La date de l'atelier est déjà passée", "starts_at")
    workshop = Workshop(organisation_id=organisation_id, created_by_id=user_id, **values)
    session.add(workshop)
    session.flush()
    _audit(session, workshop, "workshop.created", user_id)
    return workshop


def update_workshop(
    session: Session, workshop: Workshop, now: datetime, user_id: int | None, **fields: Any
) -> Workshop:
    """Change a planned workshop. A smaller capacity may not push out people registered; a
    larger one gives places to the waiting list at once."""
    if workshop.state != WorkshopState.planned:
        raise WorkshopError("Cet atelier est annulé ou a eu lieu : il ne se modifie plus")
    values = _check(session, workshop.organisation_id, fields)
    taken = counts(session, workshop.id).get(InvitationStatus.registered, 0)
    if values["capacity"] < taken:
        raise WorkshopError(
            f"{taken} personnes sont déjà inscrites : le nombre de places ne peut pas "
            "être plus petit",
            "capacity",
        )
    for key, value in values.items():
        setattr(workshop, key, value)
    session.flush()
    promote(session, workshop, now)
    _audit(session, workshop, "workshop.updated", user_id)
    return workshop


def cancel_workshop(
    session: Session, workshop: Workshop, now: datetime, user_id: int | None
) -> int:
    """Cancel a planned workshop: open invitations are cancelled and the calls and SMS not
    yet made with them (the campaign is closed). Returns how many people were registered,
    whom the team should tell."""
    if workshop.state != WorkshopState.planned:
        raise WorkshopError("Cet atelier est déjà annulé ou a eu lieu")
    registered = counts(session, workshop.id).get(InvitationStatus.registered, 0)
    for invitation in _invitations(session, workshop.id, OPEN):
        invitation.status = InvitationStatus.cancelled
        invitation.waiting_rank = None
    workshop.state = WorkshopState.cancelled
    _close_campaign(session, workshop, now, user_id)
    _audit(session, workshop, "workshop.cancelled", user_id)
    return registered


def _close_campaign(
    session: Session, workshop: Workshop, now: datetime, user_id: int | None
) -> None:
    campaign = session.get(Campaign, workshop.campaign_id) if workshop.campaign_id else None
    if campaign is not None and campaign.state != CampaignState.closed:
        set_state(session, campaign, CampaignState.closed, now, user_id=user_id)


# -- answers and the waiting list ---------------------------------------------------------


def answer(
    session: Session, invitation: Invitation, comes: bool, now: datetime
) -> list[Invitation]:
    """She said she comes (registered while places remain, else on the waiting list) or
    not (declined; a place she held goes to the first one waiting). Returns the people
    promoted. A repeated answer changes nothing; a closed workshop takes none."""
    workshop = session.get(Workshop, invitation.workshop_id)
    assert workshop is not None
    if workshop.state != WorkshopState.planned or invitation.status == InvitationStatus.cancelled:
        return []
    invitation.replied_at = now
    if comes:
        if invitation.status in (InvitationStatus.registered, InvitationStatus.waiting):
            return []
        taken = counts(session, workshop.id).get(InvitationStatus.registered, 0)
        if taken < workshop.capacity:
            invitation.status = InvitationStatus.registered
        else:
            invitation.status = InvitationStatus.waiting
            invitation.waiting_rank = _last_rank(session, workshop.id) + 1
        session.flush()
        return []
    return _leave(session, workshop, invitation, InvitationStatus.declined, now)


def withdraw(
    session: Session, invitation: Invitation, now: datetime, user_id: int | None
) -> list[Invitation]:
    """The team takes her off the workshop (she told her agency, she moved...)."""
    workshop = session.get(Workshop, invitation.workshop_id)
    assert workshop is not None
    if workshop.state != WorkshopState.planned:
        raise WorkshopError("Cet atelier est annulé ou a eu lieu")
    promoted = _leave(session, workshop, invitation, InvitationStatus.cancelled, now)
    _audit(session, workshop, "workshop.invitation_withdrawn", user_id, invitation.id)
    return promoted


def _leave(
    session: Session,
    workshop: Workshop,
    invitation: Invitation,
    status: InvitationStatus,
    now: datetime,
) -> list[Invitation]:
    held_place = invitation.status == InvitationStatus.registered
    invitation.status = status
    invitation.waiting_rank = None
    session.flush()
    _renumber(session, workshop.id)
    return promote(session, workshop, now) if held_place else []


def promote(session: Session, workshop: Workshop, now: datetime) -> list[Invitation]:
    """Give the free places to the first ones waiting, and tell each by SMS (or a call)."""
    from outreach.workshops.notices import notify

    if workshop.state != WorkshopState.planned:
        return []
    free = workshop.capacity - counts(session, workshop.id).get(InvitationStatus.registered, 0)
    promoted: list[Invitation] = []
    if free <= 0:
        return promoted
    waiting = session.scalars(
        select(Invitation)
        .where(
            Invitation.workshop_id == workshop.id,
            Invitation.status == InvitationStatus.waiting,
        )
        .order_by(Invitation.waiting_rank, Invitation.id)
        .limit(free)
    ).all()
    for invitation in waiting:
        invitation.status = InvitationStatus.registered
        invitation.waiting_rank = None
        promoted.append(invitation)
    session.flush()
    _renumber(session, workshop.id)
    for invitation in promoted:
        notify(session, workshop, invitation, now)
    return promoted


def _last_rank(session: Session, workshop_id: int) -> int:
    return int(
        session.scalar(
            select(func.max(Invitation.waiting_rank)).where(
                Invitation.workshop_id == workshop_id,
                Invitation.status == InvitationStatus.waiting,
            )
        )
        or 0
    )


def _renumber(session: Session, workshop_id: int) -> None:
    """Ranks 1, 2, 3... without gaps, in the order people said yes."""
    waiting = _invitations(session, workshop_id, [InvitationStatus.waiting])
    for rank, invitation in enumerate(waiting, start=1):
        invitation.waiting_rank = rank
    session.flush()


def _invitations(
    session: Session, workshop_id: int, statuses: Iterable[InvitationStatus]
) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.workshop_id == workshop_id, Invitation.status.in_(list(statuses)))
            .order_by(Invitation.waiting_rank, Invitation.id)
        )
    )


def counts(session: Session, workshop_id: int) -> dict[InvitationStatus, int]:
    rows = session.execute(
        select(Invitation.status, func.count())
        .where(Invitation.workshop_id == workshop_id)
        .group_by(Invitation.status)
    ).all()
    return {InvitationStatus(status): int(n) for status, n in rows}


# -- transport and attendance -------------------------------------------------------------


def set_transport(invitation: Invitation, needed: bool, note: str | None) -> None:
    """She needs to be accompanied or driven: noted for the organiser."""
    note = (note or "").strip() or None
    if note is not None and len(note) > 300:
        raise WorkshopError("La précision sur le transport : 300 caractères au plus", "note")
    invitation.transport_needed = needed
    invitation.transport_note = note if needed else None


def record_attendance(
    session: Session, workshop: Workshop, present: set[int], now: datetime, user_id: int | None
) -> int:
    """Present or absent for every registered person (ids of the invitations present); the
    workshop is then held and its campaign closed. May be corrected afterwards. Returns how
    many came."""
    if workshop.state == WorkshopState.cancelled:
        raise WorkshopError("Cet atelier a été annulé")
    if workshop.starts_at > now:
        raise WorkshopError("L'atelier n'a pas encore commencé : la présence se note après")
    came = 0
    for invitation in _invitations(session, workshop.id, [InvitationStatus.registered]):
        invitation.attended = invitation.id in present
        came += invitation.attended
    workshop.state = WorkshopState.held
    session.flush()
    _close_campaign(session, workshop, now, user_id)
    _audit(session, workshop, "workshop.attendance", user_id, details={"present": came})
    return came


def _audit(
    session: Session,
    workshop: Workshop,
    action: str,
    user_id: int | None,
    invitation_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    extra = {**(details or {}), **({"invitation": invitation_id} if invitation_id else {})}
    record(
        session,
        action=action,
        entity="workshop",
        entity_id=workshop.id,
        organisation_id=workshop.organisation_id,
        user_id=user_id,
        details=extra or None,
    )
