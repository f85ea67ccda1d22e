"""A residence with a senior unreached in a canicule, and the people around her."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, User
from outreach.calls.models import Severity
from outreach.doorknock.operations import set_residences
from outreach.escalation.models import Alert, AlertCause
from outreach.escalation.operations import raise_alert
from outreach.roster.models import Senior
from tests.factories import make_org, make_senior, make_user

# A fixed instant: 14 July 2026, 15:00 in Paris (a canicule afternoon).
NOW = datetime(2026, 7, 14, 13, 0, tzinfo=UTC)
TILLEULS = "Résidence Les Tilleuls"


@dataclass
class World:
    org: Organisation
    gardien: User
    referent: User
    senior: Senior


def world(session: Session, org: Organisation | None = None) -> World:
    org = org or make_org(session)
    org.on_duty_phone = "+33611111111"
    gardien = make_user(session, org, "proximity")
    gardien.phone = "+33622222222"
    set_residences(session, gardien, org.id, [TILLEULS])
    referent = make_user(session, org, "social_worker")
    senior = make_senior(
        session,
        org,
        residence=TILLEULS,
        address="12 rue des Tilleuls",
        floor="3",
        door_code="4821B",
        access_notes="Clé chez la voisine du 2e",
        referent_id=referent.id,
        canicule_register=True,
    )
    return World(org, gardien, referent, senior)


def canicule_alert(
    session: Session, config: dict[str, Any], senior: Senior, source_id: int = 1
) -> Alert:
    """The levée de doute alert, opened as the escalation rule opens it."""
    raised = raise_alert(
        session,
        config,
        senior=senior,
        cause=AlertCause.canicule_unreached,
        severity=Severity.urgent,
        source=("task", source_id),
        summary="Canicule : injoignable après le dernier essai — levée de doute",
        now=NOW,
    )
    assert raised is not None
    return raised.alert
