"""Right to erasure (article 17) and the end of retention: a senior's identity deleted for good.

``erase_senior`` deletes what identifies her (names, birth date but its year, reference,
phones, address, notes, free-text SMS, emergency contacts) in her own rows and in every
table that copied it (webhook inbox, notification outbox, audit details, the gateway's last
error), and keeps an anonymous remainder so that counts stay true: the senior row with
``erased_at`` set, her sex, département, housing, age band, and her tasks, attempts and
alerts with their channels, outcomes and dates. An ``Erasure`` tombstone holds a keyed digest
of her reference, so that a later import of it creates a new senior and says so.

Deleted rows and overwritten values still sit in the database files until they are rewritten:
``compact`` does that after the transaction (VACUUM on SQLite, VACUUM FULL on PostgreSQL).
The columns of her rows are listed in ``ERASED`` or ``KEPT`` (a test checks that every text
column of every table about a senior is in one of them, so a new column needs a decision).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Engine, Text, cast, delete, event, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from outreach.audit.models import AuditEvent
from outreach.audit.operations import record
from outreach.calls.models import Attempt, Signal
from outreach.campaigns.models import Skip
from outreach.db import Base
from outreach.doorknock.models import DoorKnock, KnockState
from outreach.escalation.models import Alert, AlertEvent, AlertStatus, Resolution
from outreach.notifications.models import Notification
from outreach.partners.models import Referral
from outreach.privacy.models import Erasure
from outreach.roster.eligibility import cancel_forbidden
from outreach.roster.models import ConsentEvent, EmergencyContact, LeftReason, Senior
from outreach.telephony.inbox import WebhookInbox
from outreach.telephony.models import GatewayHealth, InboundCall
from outreach.workshops.models import Invitation

log = logging.getLogger("outreach.privacy")

REASONS = ("request", "retention")
# What her record shows once erased: a neutral placeholder instead of her name, so that every
# page that lists seniors shows "Données effacées" rather than an empty line.
ERASED_NAME = "Données effacées"
NEUTRAL_SUMMARY = "Résumé effacé avec les données de la personne"
ERASED_DETAILS = {"erased": True}
SESSION_KEY = "outreach.erased_tables"
LOCK_TIMEOUT = "5s"
# The detail of VACUUM FULL VERBOSE's report of a table (PostgreSQL's own English text).
RECENTLY_DEAD = re.compile(r"(\d+) dead row versions cannot be removed yet")
SNAPSHOT_WAIT_SECONDS = 10.0

# Her rows, column by column: what erasure deletes (or replaces) ...
ERASED: dict[str, frozenset[str]] = {
    "senior": frozenset(
        {
            "external_ref",  # → "effacé-<id>"
            "civility",
            "last_name",  # → ERASED_NAME
            "first_name",
            "birth_date",  # → 1 January of her birth year (age bands)
            "phone_mobile",
            "phone_landline",
            "address",
            "postcode",
            "city",
            "residence",
            "floor",
            "door_code",
            "access_notes",
            "consent_source",
            "pause_reason",
        }
    ),
    "emergency_contact": frozenset({"name", "relation", "phone", "notes"}),  # rows deleted
    "attempt": frozenset({"notes", "reply", "phone"}),
    "signal": frozenset({"note"}),
    "alert": frozenset({"summary", "resolution_note"}),
    "alert_event": frozenset({"detail"}),
    "referral": frozenset({"note"}),
    "skip": frozenset({"detail"}),
    "consent_event": frozenset({"detail"}),
    "inbound_call": frozenset({"from_number", "note"}),  # rows deleted
    "door_knock": frozenset({"residence", "note"}),
    "workshop_invitation": frozenset({"transport_note"}),
}
# ... and what it keeps, because it identifies nobody and keeps the statistics true.
KEPT: dict[str, frozenset[str]] = {
    "senior": frozenset({"departement", "language"}),
    "attempt": frozenset({"direction", "gateway_sid", "gateway_status", "answered_by", "digits"}),
    "task": frozenset({"disposition"}),  # a reason in one word ("settled", "opted_out")
    "alert_event": frozenset({"action"}),
    "erasure": frozenset({"ref_digest", "reason"}),
    "inbound_call": frozenset({"call_sid"}),
    # Her place in the panel (an anonymous listing row) and how a workshop reached her.
    "panel_member": frozenset({"departement"}),
    "workshop_invitation": frozenset({"channel"}),
}
# Every table erase_senior may change: compact() rewrites those it did change.
TABLES = frozenset(
    {
        *ERASED,
        "task",
        "erasure",
        "audit_event",
        "notification",
        "webhook_inbox",
        "gateway_health",
    }
)


class ErasureError(ValueError):
    """An erasure that cannot be done (an unknown reason); the message is in French."""


def secret_key() -> str:
    """The application's secret key, which keys the reference digests."""
    return str(current_app.config["SECRET_KEY"])


def ref_digest(organisation_id: int, external_ref: str, key: str | None = None) -> str:
    """HMAC-SHA256 (hex) of "<organisation id>:<reference>", keyed by the secret key: the
    tombstone recognises a reference without holding it."""
    message = f"{organisation_id}:{external_ref}".encode()
    return hmac.new((key or secret_key()).encode(), message, hashlib.sha256).hexdigest()


def erased_digests(
    session: Session, organisation_id: int, refs: Iterable[str], key: str | None = None
) -> dict[str, Erasure]:
    """The references among ``refs`` that belonged to an erased senior of the organisation,
    each with its (latest) tombstone; one query for a whole import batch. ``key``: the
    secret key (default: the application's)."""
    key = key or secret_key()
    by_digest = {ref_digest(organisation_id, ref, key): ref for ref in set(refs)}
    if not by_digest:
        return {}
    found: dict[str, Erasure] = {}
    for erasure in session.scalars(
        select(Erasure)
        .where(Erasure.organisation_id == organisation_id)
        .where(Erasure.ref_digest.in_(list(by_digest)))
        .order_by(Erasure.erased_at, Erasure.id)
    ):
        found[by_digest[erasure.ref_digest]] = erasure
    return found


def national(e164: str) -> list[str]:
    """The ways a French number is written besides E.164: 0612345678, 06 12 34 56 78."""
    if not e164.startswith("+33") or len(e164) != 12:
        return [e164.lstrip("+")]
    digits = "0" + e164[3:]
    return [digits, " ".join(digits[i : i + 2] for i in range(0, 10, 2))]


def identifiers(senior: Senior) -> list[str]:
    """What identifies her in a copy (an outbox body, a payload, an audit detail)."""
    # Her name as a whole ("Jeanne Martin", "Mme Martin"): a last name alone would also
    # match other people's rows (a colleague, another tenant of the same name).
    terms = [senior.external_ref]
    first, last = senior.first_name.strip(), senior.last_name.strip()
    if last:
        terms += [f"{first} {last}", f"{last} {first}"] if first else [last]
        if senior.civility:
            terms.append(f"{senior.civility} {last}")
    for phone in (senior.phone_mobile, senior.phone_landline):
        if phone:
            terms += [phone, *national(phone)]
    return [t for t in dict.fromkeys(terms) if t and len(t.strip()) >= 3]


def _matcher(terms: list[str]) -> re.Pattern[str]:
    # A whole word or number only: "REF12" must not match "REF123", nor "Roy" "Royer".
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w+-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def _like_any(column: Any, terms: list[str]) -> Any:
    """A coarse SQL filter (any term anywhere, case-insensitive); ``_matcher`` decides.
    JSON columns hold accents escaped ("\\u00e9"): those spellings are looked for too."""
    as_text = cast(column, Text)
    spellings = dict.fromkeys([*terms, *(json.dumps(t)[1:-1] for t in terms)])
    return or_(*(as_text.ilike(f"%{_escape(t)}%", escape="\\") for t in spellings))


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _changed(session: Session, table: str, count: int) -> int:
    if count:
        session.info.setdefault(SESSION_KEY, set()).add(table)
    return count


def _run(session: Session, table: str, statement: Any) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return _changed(session, table, result.rowcount or 0)  # type: ignore[attr-defined]


def _copies(session: Session, senior: Senior, attempt_ids: list[int]) -> dict[str, int]:
    """Delete or scrub the rows of other tables that copied her name, numbers or reference."""
    terms = identifiers(senior)
    match = _matcher(terms)
    counts: dict[str, int] = {}

    refs = [str(i) for i in attempt_ids]
    inbox = session.execute(
        select(WebhookInbox.id, WebhookInbox.attempt_ref, WebhookInbox.params).where(
            or_(WebhookInbox.attempt_ref.in_(refs), _like_any(WebhookInbox.params, terms))
        )
    ).all()
    gone = [i for i, ref, params in inbox if ref in refs or match.search(str(params))]
    counts["webhook_inbox"] = _run(
        session, "webhook_inbox", delete(WebhookInbox).where(WebhookInbox.id.in_(gone))
    )

    fields = (Notification.recipient, Notification.subject, Notification.body)
    notes = session.execute(
        select(Notification.id, *fields, Notification.last_error).where(
            or_(*(_like_any(f, terms) for f in (*fields, Notification.last_error)))
        )
    ).all()
    gone = [row[0] for row in notes if any(match.search(v or "") for v in row[1:])]
    counts["notification"] = _run(
        session, "notification", delete(Notification).where(Notification.id.in_(gone))
    )

    events = session.execute(
        select(AuditEvent.id, AuditEvent.details).where(_like_any(AuditEvent.details, terms))
    ).all()
    scrub = [i for i, details in events if match.search(str(details))]
    counts["audit_event"] = _run(
        session,
        "audit_event",
        update(AuditEvent).where(AuditEvent.id.in_(scrub)).values(details=ERASED_DETAILS),
    )

    health = session.execute(
        select(GatewayHealth.id, GatewayHealth.last_error).where(
            _like_any(GatewayHealth.last_error, terms)
        )
    ).all()
    scrub = [i for i, error in health if match.search(error or "")]
    counts["gateway_health"] = _run(
        session,
        "gateway_health",
        update(GatewayHealth).where(GatewayHealth.id.in_(scrub)).values(last_error="(effacé)"),
    )
    return counts


def erase_senior(
    session: Session, senior: Senior, *, reason: str, user_id: int | None, now: datetime
) -> None:
    """Erase her identity for good, keep the anonymous remainder; flush, never commit.

    Her open tasks are cancelled and her open alerts closed (she is no longer followed),
    she leaves the follow-up if she had not, and a tombstone and an audit event (no personal
    value) are written. Call ``compact`` with ``erased_tables(session)`` after the commit.
    An already erased senior is left as she is.
    """
    if reason not in REASONS:
        raise ErasureError(f"motif d'effacement inconnu : {reason}")
    if senior.erased_at is not None:
        return
    if session.get_bind().dialect.name == "sqlite":
        # Deleted cells are overwritten with zeros rather than left in free pages.
        session.execute(text("PRAGMA secure_delete=ON"))
    sid = senior.id
    digest = ref_digest(senior.organisation_id, senior.external_ref)
    attempt_ids = list(session.scalars(select(Attempt.id).where(Attempt.senior_id == sid)))
    counts = _copies(session, senior, attempt_ids)
    # Calls she made to us, recognised or not (her number as an unknown caller's).
    phones = [p for p in (senior.phone_mobile, senior.phone_landline) if p]
    counts["inbound_call"] = _run(
        session,
        "inbound_call",
        delete(InboundCall).where(
            or_(InboundCall.senior_id == sid, InboundCall.from_number.in_(phones))
        ),
    )

    # She is no longer followed: nothing more is planned for her, her alerts are closed.
    if senior.active:
        senior.active = False
        senior.left_reason = LeftReason.other
        senior.left_on = now.date()
    senior.phone_mobile = senior.phone_landline = None
    cancel_forbidden(session, senior, now)
    for alert in session.scalars(
        select(Alert).where(Alert.senior_id == sid, Alert.status != AlertStatus.resolved)
    ):
        alert.status = AlertStatus.resolved
        alert.resolution = Resolution.no_action
        alert.resolved_at = now
        alert.resolved_by_id = user_id
        session.add(AlertEvent(alert_id=alert.id, at=now, user_id=user_id, action="erased"))
    # Nobody goes to the door of someone no longer followed.
    session.execute(
        update(DoorKnock)
        .where(DoorKnock.senior_id == sid, DoorKnock.state == KnockState.open)
        .values(state=KnockState.cancelled)
    )
    session.flush()

    birth = senior.birth_date
    senior.external_ref = f"effacé-{sid}"
    senior.civility = None
    senior.last_name = ERASED_NAME
    senior.first_name = ""
    senior.birth_date = date(birth.year, 1, 1) if birth else None
    for column in ("address", "postcode", "city", "residence", "consent_source", "pause_reason"):
        setattr(senior, column, None)
    senior.floor = senior.door_code = senior.access_notes = None
    senior.erased_at = now
    _changed(session, "senior", 1)
    counts["emergency_contact"] = _run(
        session,
        "emergency_contact",
        delete(EmergencyContact).where(EmergencyContact.senior_id == sid),
    )
    session.expire(senior, ["emergency_contacts"])
    counts["attempt"] = _run(
        session,
        "attempt",
        update(Attempt).where(Attempt.senior_id == sid).values(notes=None, reply=None, phone=None),
    )
    counts["signal"] = _run(
        session, "signal", update(Signal).where(Signal.senior_id == sid).values(note=None)
    )
    alerts = select(Alert.id).where(Alert.senior_id == sid).scalar_subquery()
    counts["alert"] = _run(
        session,
        "alert",
        update(Alert)
        .where(Alert.senior_id == sid)
        .values(summary=NEUTRAL_SUMMARY, resolution_note=None),
    )
    _run(
        session,
        "alert_event",
        update(AlertEvent).where(AlertEvent.alert_id.in_(alerts)).values(detail=None),
    )
    _run(session, "referral", update(Referral).where(Referral.senior_id == sid).values(note=None))
    _run(
        session,
        "door_knock",
        update(DoorKnock).where(DoorKnock.senior_id == sid).values(residence=None, note=None),
    )
    _run(
        session,
        "workshop_invitation",
        update(Invitation).where(Invitation.senior_id == sid).values(transport_note=None),
    )
    _run(session, "skip", update(Skip).where(Skip.senior_id == sid).values(detail=None))
    _run(
        session,
        "consent_event",
        update(ConsentEvent).where(ConsentEvent.senior_id == sid).values(detail=None),
    )
    session.add(
        Erasure(
            organisation_id=senior.organisation_id,
            senior_id=sid,
            ref_digest=digest,
            erased_at=now,
            user_id=user_id,
            reason=reason,
        )
    )
    _changed(session, "erasure", 1)
    _changed(session, "task", 1)  # cancelled tasks: rewritten only to be safe
    record(
        session,
        action="erase",
        entity="senior",
        entity_id=sid,
        organisation_id=senior.organisation_id,
        user_id=user_id,
        details={"reason": reason, **{k: v for k, v in counts.items() if v}},
    )
    session.flush()


def erase_departed(
    session: Session, *, left_before: date, now: datetime, dry_run: bool = False
) -> int:
    """Erase (reason "retention") every senior who left the follow-up before ``left_before``
    and is not erased yet; returns how many (with ``dry_run``, how many would be)."""
    stmt = (
        select(Senior)
        .where(Senior.active.is_(False), Senior.erased_at.is_(None))
        .where(Senior.left_on.is_not(None), Senior.left_on < left_before)
        .order_by(Senior.id)
    )
    seniors = session.scalars(stmt).all()
    if not dry_run:
        for senior in seniors:
            erase_senior(session, senior, reason="retention", user_id=None, now=now)
    return len(seniors)


def erased_tables(session: Session) -> set[str]:
    """The tables this session's erasures changed (for ``compact``), forgotten once read."""
    return set(session.info.pop(SESSION_KEY, set()))


def compact_after_commit(session: Session, also: Iterable[str] = ()) -> None:
    """Compact the tables this session's erasures changed (and ``also``) once it commits:
    the nightly retention, whose erasures must leave the files too, not only the rows."""
    tables = erased_tables(session) | set(also)
    if not tables:
        return
    engine = session.get_bind().engine
    event.listen(session, "after_commit", lambda _s: compact(engine, tables), once=True)


def compact(engine: Engine, tables: Iterable[str]) -> bool:
    """Rewrite the database files so that erased values are gone from them, not only from
    the rows: on SQLite VACUUM then a WAL checkpoint that truncates the log; on PostgreSQL
    VACUUM FULL (and ANALYZE, whose statistics sample values) of ``tables``, then a
    CHECKPOINT. Call it after the commit, outside any transaction. Returns False (and logs,
    without personal values) when the database refused; the erasure itself stands."""
    names = sorted(set(tables) & set(Base.metadata.tables))
    if not names:
        return True
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("VACUUM")
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                if busy:
                    log.warning("erasure: WAL checkpoint incomplete (readers busy)")
                    return False
                return True
            if not _older_snapshots_ended(conn):
                log.warning("erasure: compaction put off (a transaction older than it runs)")
                return False
            # VACUUM FULL waits for every open transaction on the table, and meanwhile
            # holds back every new one: give up soon rather than freeze the service.
            conn.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            if not _vacuum_full(conn, names):
                log.warning("erasure: compaction put off (old rows still visible to a transaction)")
                return False
            # The statistics of the tables above were rewritten; their old rows too.
            _optional(conn, "VACUUM FULL pg_catalog.pg_statistic")
            _optional(conn, "CHECKPOINT")
    except DBAPIError as exc:
        log.warning("erasure: compaction failed (%s)", type(exc.orig).__name__)
        return False
    return True


def _vacuum_full(conn: Any, names: list[str]) -> bool:
    """VACUUM FULL each table until none keeps a dead row: a transaction running anywhere in
    the cluster (another database's too, for the xid horizon) keeps her old rows "recently
    dead", and VACUUM FULL then copies them into the new file. PostgreSQL says so in its
    VERBOSE report; the table is rewritten again, a little later, until the deadline."""
    raw = conn.connection.driver_connection
    details: list[str] = []

    def keep(diagnostic: Any) -> None:
        details.append(diagnostic.message_detail or "")

    raw.add_notice_handler(keep)
    try:
        pending, deadline = names, time.monotonic() + _wait_seconds()
        while pending:
            kept = []
            for name in pending:
                details.clear()
                conn.exec_driver_sql(f'VACUUM (FULL, ANALYZE, VERBOSE) "{name}"')
                if any(int(m.group(1)) for d in details if (m := RECENTLY_DEAD.match(d))):
                    kept.append(name)
            if kept and time.monotonic() > deadline:
                return False
            if kept:
                time.sleep(0.2)
            pending = kept
    finally:
        raw.remove_notice_handler(keep)
    return True


def _wait_seconds() -> float:
    """How long compaction waits for older transactions (``privacy.compact_wait_seconds``)."""
    if has_app_context():
        return float(current_app.config["OUTREACH"]["privacy"]["compact_wait_seconds"])
    return SNAPSHOT_WAIT_SECONDS


def _older_snapshots_ended(conn: Any) -> bool:
    """Wait (a little) until no transaction of this database started before now: VACUUM
    FULL copies the rows that such a transaction may still see, her old values included."""
    started = conn.exec_driver_sql("SELECT clock_timestamp()").scalar()
    older = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
        "AND backend_xmin IS NOT NULL AND xact_start < :started"
    )
    deadline = time.monotonic() + _wait_seconds()
    while conn.execute(older, {"started": started}).scalar():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _optional(conn: Any, sql: str) -> None:
    """A statement that needs more rights than the application may hold (the database's
    owner, pg_checkpoint): logged and skipped without them."""
    try:
        conn.exec_driver_sql(sql)
    except DBAPIError as exc:
        log.warning("erasure: %s skipped (%s)", sql.split()[0], type(exc.orig).__name__)
