"""Small builders for test data (flush only; the test commits when a request must see it)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, Role, User
from outreach.accounts.operations import create_organisation, create_user
from outreach.roster.models import ConsentStatus, Senior

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_org(session: Session, slug: str | None = None, name: str | None = None) -> Organisation:
    n = next(_seq)
    return create_organisation(session, slug or f"org-{n}", name or f"Bailleur {n}")


def make_user(
    session: Session, org: Organisation, role: Role | str = Role.caller, email: str | None = None
) -> User:
    n = next(_seq)
    return create_user(
        session, email or f"user{n}@example.org", f"Utilisateur {n}", PASSWORD, [(org, Role(role))]
    )


def make_senior(session: Session, org: Organisation, **fields: Any) -> Senior:
    n = next(_seq)
    values: dict[str, Any] = {
        "external_ref": f"REF{n:05d}",
        "civility": "Mme",
        "last_name": f"Martin{n}",
        "first_name": "Jeanne",
        "birth_date": date(1940, 3, 12),
        "phone_mobile": "+33612345678",
        "postcode": "37000",
        "city": "Tours",
        "departement": "37",
        "consent_status": ConsentStatus.given,
        "consent_phone": True,
        "consent_sms": True,
    }
    values.update(fields)
    senior = Senior(organisation_id=org.id, **values)
    session.add(senior)
    session.flush()
    return senior


def as_if_on_the_phone(app: Any, seconds: int = 90) -> None:
    """Move every current claim ``seconds`` into the past, as if the caller had been on the
    phone since: an outcome recorded seconds after a claim is refused (queue.min_call_seconds)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from outreach.campaigns.models import Task
    from outreach.db import get_engine

    with app.app_context(), get_engine().begin() as conn:
        rows = conn.execute(select(Task.id, Task.claimed_at).where(Task.claimed_at.is_not(None)))
        for task_id, at in rows.all():
            conn.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(claimed_at=at - timedelta(seconds=seconds))
            )
