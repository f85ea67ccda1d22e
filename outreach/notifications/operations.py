"""Queue notifications (insert once per dedupe key) and send the outbox."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.accounts.models import Membership, Role, User
from outreach.notifications.mail import Mailer
from outreach.notifications.models import Notification

log = logging.getLogger("outreach.notifications")
MAX_TRIES = 5


def queue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    organisation_id: int | None = None,
    user_id: int | None = None,
    now: datetime,
) -> bool:
    """Add a notification unless one with this key exists; True when it was added.

    INSERT ... ON CONFLICT DO NOTHING on the unique key: two jobs racing on the same event
    add one row between them.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        # The Table (a Core insert): the mapping types __table__ as any FROM clause.
        insert(cast(Table, Notification.__table__))
        .values(
            dedupe_key=key,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            organisation_id=organisation_id,
            user_id=user_id,
            created_at=now,
            tries=0,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        # A row comes back only when inserted (rowcount is not reliable for this statement
        # through every driver).
        .returning(Notification.__table__.c.id)
    )
    return session.execute(stmt).first() is not None


def managers_of(session: Session, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == organisation_id,
                Membership.role.in_([Role.manager, Role.admin]),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def email_users(
    session: Session,
    users: Iterable[User],
    *,
    key: str,
    subject: str,
    body: str,
    organisation_id: int | None,
    now: datetime,
) -> int:
    """Queue one e-mail per user under ``key``; returns how many were new."""
    added = 0
    for user in users:
        added += queue(
            session,
            key=f"{key}:user{user.id}",
            channel="email",
            recipient=user.email,
            subject=subject,
            body=body,
            organisation_id=organisation_id,
            user_id=user.id,
            now=now,
        )
    return added


def send_pending(
    session: Session, mailer: Mailer, sms: Any, now: datetime, limit: int = 200
) -> int:
    """Send what the outbox holds. Each row is locked (PostgreSQL) and marked sent in the
    job's transaction, so a second sender skips it; a failed send is retried later."""
    stmt = (
        select(Notification)
        .where(Notification.sent_at.is_(None), Notification.tries < MAX_TRIES)
        .order_by(Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    sent = 0
    for note in session.scalars(stmt).all():
        note.tries += 1
        try:
            if note.channel == "sms":
                sms(note.recipient, note.body)
            else:
                mailer.send(note.recipient, note.subject, note.body)
        except Exception as exc:  # noqa: BLE001 - any transport failure: retry later
            note.last_error = type(exc).__name__
            log.warning("notification %s not sent: %s", note.id, type(exc).__name__)
            continue
        note.sent_at = now
        sent += 1
    session.flush()
    return sent
