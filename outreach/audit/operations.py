"""Writing audit events. Operations flush, the caller's transaction commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from outreach.audit.models import AuditEvent


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: int | None = None,
    organisation_id: int | None = None,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the current transaction.

    ``details`` must hold no personal values (field names and counts only), because the
    audit trail outlives the retention of the data it describes.
    """
    event = AuditEvent(
        action=action,
        entity=entity,
        entity_id=entity_id,
        organisation_id=organisation_id,
        user_id=user_id,
        details=details,
    )
    session.add(event)
    return event
