"""What the workshop scripts (call_scripts/workshop/) know of the workshop and of her place.

The same script serves the invitation and, once she is registered, the confirmation of a
freed place and the reminders: ``workshop.registered`` tells them apart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from outreach.campaigns.schedule import PARIS
from outreach.workshops.models import Invitation, InvitationStatus, Workshop

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


# For a script shown outside a workshop (another campaign, a preview before any workshop).
PLACEHOLDER: dict[str, Any] = {
    "theme": "…",
    "date": "…",
    "time": "…",
    "short_date": "…",
    "day": None,
    "place": "…",
    "address": "",
    "accessibility": "",
    "registered": False,
}


def spoken_time(hour: int, minute: int) -> str:
    """14 h 30, 9 h: as it is read aloud and printed in French."""
    return f"{hour} h {minute:02d}" if minute else f"{hour} h"


def context(campaign: Any, senior: Any) -> dict[str, Any] | None:
    """The ``workshop`` variable of a script for a campaign of a workshop (None otherwise)."""
    session = object_session(campaign)
    if session is None or getattr(campaign, "id", None) is None:
        return None
    workshop = session.scalar(select(Workshop).where(Workshop.campaign_id == campaign.id))
    if workshop is None:
        return None
    status = None
    if getattr(senior, "id", None) is not None:
        status = session.scalar(
            select(Invitation.status).where(
                Invitation.workshop_id == workshop.id, Invitation.senior_id == senior.id
            )
        )
    local = workshop.starts_at.astimezone(PARIS)
    return {
        "theme": workshop.theme,
        "date": f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}",
        "time": spoken_time(local.hour, local.minute),
        # In SMS: no accented month ("août" leaves the GSM-7 alphabet).
        "short_date": f"{DAYS[local.weekday()]} {local:%d/%m}",
        "day": local.date(),
        "place": workshop.place,
        "address": " ".join(p for p in (workshop.address, workshop.city) if p),
        "accessibility": workshop.accessibility or "",
        "registered": status == InvitationStatus.registered,
    }
