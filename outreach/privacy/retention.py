"""Retention: what is kept no longer than needed is deleted or stripped every night.

The periods come from ``[retention]`` (README, "Retention", says why each default):
- ``notes``: social notes and free-text SMS replies (attempt notes and replies, signal notes,
  alert resolution notes and event details, referral and door-knock notes) after
  ``notes_months``: the text is set to NULL, the rows stay (what happened, when, by whom).
- ``calls``: attempts (one call or SMS, its gateway id, digits, answer, duration) after
  ``details_months`` are deleted, with their signals. Nothing needs them by then: each
  task keeps the outcome of its contact (what the counts and reports read), alerts keep
  their own summary, and the period is there to answer a dispute with the gateway or a
  family asking whether a call was really made.
- ``departed``: seniors who left the follow-up ``departed_months`` ago are erased
  (``privacy.erasure.erase_departed``: an anonymous remainder keeps the counts).
- ``payloads``: e-mails and SMS sent to staff (which name the senior) lose their body after
  ``payload_days``; the row, its date and its deduplication key stay so that the same
  notification is never sent twice. The webhook inbox needs nothing: a webhook row is deleted
  as soon as it is applied; a row that keeps failing is kept (it may be a STOP, which must
  never be lost) and counted in the log so that someone looks at it.
- ``audit``: audit events after ``audit_years``.
- calls received that a person had to return (``InboundCall``: the caller's number) are
  deleted after ``inbound_calls_months``, counted with ``calls``.

``apply`` returns the counts per category; with ``dry_run`` it only counts. It flushes,
never commits. Only counts are logged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, Signal
from outreach.campaigns.schedule import add_months
from outreach.config import SCHEMA
from outreach.doorknock.models import DoorKnock
from outreach.escalation.models import Alert, AlertEvent
from outreach.notifications.models import Notification
from outreach.notifications.operations import MAX_TRIES
from outreach.partners.models import Referral
from outreach.telephony.inbox import WebhookInbox
from outreach.telephony.models import InboundCall
from outreach.timezone import PARIS

log = logging.getLogger("outreach.privacy")

CATEGORIES = ("notes", "calls", "departed", "payloads", "audit")


def months_before(now: datetime, months: int) -> datetime:
    """The same Paris wall-clock time ``months`` earlier (clamped to the month's end)."""
    local = now.astimezone(PARIS)
    day = add_months(local.date(), -months)
    return datetime.combine(day, local.time(), PARIS)


def cutoffs(now: datetime, settings: dict[str, Any]) -> dict[str, datetime]:
    """The instant before which each category goes."""
    return {
        "notes": months_before(now, settings["notes_months"]),
        "calls": months_before(now, settings["details_months"]),
        "departed": months_before(now, settings["departed_months"]),
        "payloads": now - timedelta(days=settings["payload_days"]),
        "audit": months_before(now, 12 * settings["audit_years"]),
    }


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(where)) or 0


def _strip(
    session: Session, model: Any, where: ColumnElement[bool], values: dict[str, Any], dry: bool
) -> int:
    """Set ``values`` on the rows matching ``where``; return how many (would) change."""
    count = _count(session, model, where)
    if count and not dry:
        session.execute(
            update(model).where(where).values(values).execution_options(synchronize_session=False)
        )
    return count


def _notes(session: Session, before: datetime, calls_before: datetime, dry: bool) -> int:
    # Attempts and signals older than the calls' period go whole (``_calls``): not counted
    # twice, so that a dry run says what the real run does.
    old_attempt = and_(
        Attempt.started_at < before,
        Attempt.started_at >= calls_before,
        or_(Attempt.notes.is_not(None), Attempt.reply.is_not(None)),
    )
    old_signal = and_(
        Signal.created_at < before,
        Signal.note.is_not(None),
        Signal.attempt_id.in_(select(Attempt.id).where(Attempt.started_at >= calls_before)),
    )
    return (
        _strip(session, Attempt, old_attempt, {"notes": None, "reply": None}, dry)
        + _strip(
            session,
            Signal,
            old_signal,
            {"note": None},
            dry,
        )
        + _strip(
            session,
            Alert,
            and_(Alert.resolved_at < before, Alert.resolution_note.is_not(None)),
            {"resolution_note": None},
            dry,
        )
        + _strip(
            session,
            AlertEvent,
            and_(AlertEvent.at < before, AlertEvent.detail.is_not(None)),
            {"detail": None},
            dry,
        )
        + _strip(
            session,
            Referral,
            and_(Referral.created_at < before, Referral.note.is_not(None)),
            {"note": None},
            dry,
        )
        # A door-knock's note says how she was found at home: a note like the others.
        + _strip(
            session,
            DoorKnock,
            and_(DoorKnock.created_at < before, DoorKnock.note.is_not(None)),
            {"note": None},
            dry,
        )
    )


def _calls(session: Session, before: datetime, dry: bool) -> int:
    old = Attempt.started_at < before
    count = _count(session, Attempt, old)
    if count and not dry:
        # Signals first: SQLite enforces ON DELETE CASCADE only with foreign keys on.
        old_ids = select(Attempt.id).where(old)
        session.execute(
            delete(Signal)
            .where(Signal.attempt_id.in_(old_ids))
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(Attempt).where(old).execution_options(synchronize_session=False))
    return count


def _inbound_calls(session: Session, before: datetime, dry: bool) -> int:
    old = InboundCall.received_at < before
    count = _count(session, InboundCall, old)
    if count and not dry:
        session.execute(delete(InboundCall).where(old).execution_options(synchronize_session=False))
    return count


def _inbound_months(settings: dict[str, Any]) -> int:
    # A settings mapping written before the key existed keeps the documented default.
    default: int = SCHEMA["retention"]["inbound_calls_months"].default
    return int(settings.get("inbound_calls_months", default))


def _payloads(session: Session, before: datetime, dry: bool) -> int:
    done = or_(
        Notification.sent_at < before,
        and_(
            Notification.sent_at.is_(None),
            Notification.tries >= MAX_TRIES,
            Notification.created_at < before,
        ),
    )
    failing = and_(WebhookInbox.received_at < before, WebhookInbox.failed_at.is_not(None))
    stuck = _count(session, WebhookInbox, failing)
    if stuck:
        log.warning("retention: %d webhook rows still unapplied after the payload period", stuck)
    return _strip(session, Notification, and_(done, Notification.body != ""), {"body": ""}, dry)


def _audit(session: Session, before: datetime, dry: bool) -> int:
    old = AuditEvent.at < before
    count = _count(session, AuditEvent, old)
    if count and not dry:
        session.execute(delete(AuditEvent).where(old).execution_options(synchronize_session=False))
    return count


def apply(
    session: Session, *, now: datetime, settings: dict[str, Any], dry_run: bool = False
) -> dict[str, int]:
    """Apply the retention periods of ``settings`` (the ``[retention]`` section) as of
    ``now``; return per category how many rows went or were stripped (with ``dry_run``,
    would go: nothing changes). Flushes, never commits."""
    from outreach.privacy.erasure import erase_departed

    limits = cutoffs(now, settings)
    counts = {
        "notes": _notes(session, limits["notes"], limits["calls"], dry_run),
        "calls": _calls(session, limits["calls"], dry_run)
        + _inbound_calls(session, months_before(now, _inbound_months(settings)), dry_run),
        "departed": erase_departed(
            session,
            left_before=limits["departed"].astimezone(PARIS).date(),
            now=now,
            dry_run=dry_run,
        ),
        "payloads": _payloads(session, limits["payloads"], dry_run),
        "audit": _audit(session, limits["audit"], dry_run),
    }
    session.flush()
    log.info(
        "retention%s: %s",
        " (dry run)" if dry_run else "",
        ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    return counts
