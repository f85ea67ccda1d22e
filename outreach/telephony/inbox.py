"""The webhook inbox: status callbacks and inbound SMS are stored, then applied by a job.

A status callback needs no answer but "received", so its webhook only checks the signature
and inserts one row (a Core INSERT on its own connection, no ORM session); the
``process-webhooks`` job applies the rows in arrival order within a couple of seconds. The
webhook stays fast and cannot fail half-way on our side (Twilio would retry, or give up),
and applying stays the forward-only logic of ``ivr.status`` / ``sms.status`` /
``sms.inbound``, which orders and deduplicates whatever the arrival. The voice ``answer``
and ``gather`` webhooks must reply with TwiML, so they stay synchronous.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Engine, String, create_engine, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from outreach.db import CONNECT_TIMEOUT, Base

log = logging.getLogger("outreach.telephony")
KINDS = ("voice_status", "sms_status", "sms_inbound")


class WebhookInbox(Base):
    __tablename__ = "webhook_inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The attempt id from the webhook URL (``?a=``), checked against the SID when applied.
    attempt_ref: Mapped[str | None] = mapped_column(String(20))
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    # A row that could not be applied stays, with why, and is tried again later (a STOP
    # must never be lost to a passing failure), less and less often.
    failed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    tries: Mapped[int] = mapped_column(default=0, server_default="0")


# Status callbacks may be acknowledged before PostgreSQL has flushed them to disk (a crash of
# the database server could lose the last fraction of a second of them): a lost status is
# recovered by the reconciler, which asks the gateway about calls left without a final
# status. An inbound SMS is never at that risk: it may be a STOP, and ``accept`` commits it
# durably through the main engine.
# The one statement of a webhook, in the driver's own SQL: the hot path of the gateway's
# traffic skips SQLAlchemy's statement machinery (which costs more than the insert itself).
_COLUMNS = "INSERT INTO webhook_inbox (kind, attempt_ref, params, received_at) VALUES "
_INSERT_SQL = {"postgresql": _COLUMNS + "(%s, %s, %s, %s)", "sqlite": _COLUMNS + "(?, ?, ?, ?)"}


def status_engine(engine: Engine) -> Engine:
    """An engine for storing status callbacks: autocommit, and on PostgreSQL with
    ``synchronous_commit`` off, so that storing one is a single round trip without waiting
    for the disk (see the comment above for why that is safe)."""
    if engine.dialect.name != "postgresql":
        return engine
    return create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "options": "-c synchronous_commit=off",
            "connect_timeout": CONNECT_TIMEOUT,
        },
        pool_size=engine.pool.size(),  # type: ignore[attr-defined]
        # As the main engine: no SMS text or phone number in an error or a log line.
        hide_parameters=True,
    )


def row_values(
    engine: Engine, kind: str, attempt_ref: str | None, params: dict[str, str], now: datetime
) -> tuple[object, ...]:
    """The values of one inbox row, as the driver of ``engine`` takes them."""
    assert kind in KINDS
    # SQLite keeps UTC datetimes as text, in SQLAlchemy's format (see db.UTCDateTime).
    at: object = now
    if engine.dialect.name == "sqlite":
        at = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (kind, (attempt_ref or "")[:20] or None, json.dumps(params), at)


def write_rows(engine: Engine, rows: list[tuple[object, ...]]) -> None:
    """Insert inbox rows in one statement (executemany) and one transaction."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(_INSERT_SQL[engine.dialect.name], rows)
            return
        except DBAPIError as exc:
            # The status engine skips the pre-ping round trip: a connection that died meanwhile
            # (a database restart) is dropped by the pool, and the insert tried once more.
            if not exc.connection_invalidated or attempt:
                raise


def accept(
    engine: Engine, kind: str, attempt_ref: str | None, params: dict[str, str], now: datetime
) -> None:
    """Store one verified webhook now, durably (inbound SMS)."""
    write_rows(engine, [row_values(engine, kind, attempt_ref, params, now)])


BATCH = 100


RETRY_MAX = timedelta(hours=1)


def _due_again(session: Session, now: datetime) -> list[int]:
    """Failed rows whose next try has come: 1, 2, 4... minutes after the last failure, at
    most an hour apart, for ever (a person sees them meanwhile)."""
    rows = session.execute(
        select(WebhookInbox.id, WebhookInbox.failed_at, WebhookInbox.tries)
        .where(WebhookInbox.failed_at.is_not(None))
        .order_by(WebhookInbox.id)
        .limit(BATCH)
    ).all()
    due = []
    for row_id, failed_at, tries in rows:
        wait = min(timedelta(minutes=2 ** max(0, (tries or 1) - 1)), RETRY_MAX)
        if failed_at is not None and failed_at + wait <= now:
            due.append(row_id)
    return due


def process(session: Session, now: datetime, limit: int = 2000) -> int:
    """Apply stored webhooks in arrival order, a batch per transaction; returns how many.

    Each row is applied inside a savepoint: a row that fails is rolled back alone and kept
    with its error, the others go on. On SQLite the batch's transaction begins with a write
    (a no-op UPDATE), so that it holds the write lock before it reads: a transaction that
    reads first and writes later fails when a webhook was stored in between.
    """
    from outreach.telephony import ivr, sms
    from outreach.telephony.writebehind import flush_all

    flush_all()  # what this process's webhooks still hold (`outreach serve`, the tests)
    postgres = session.get_bind().dialect.name == "postgresql"
    ids = list(
        session.scalars(
            select(WebhookInbox.id)
            .where(WebhookInbox.failed_at.is_(None))
            .order_by(WebhookInbox.id)
            .limit(limit)
        )
    )
    ids += _due_again(session, now)
    session.commit()
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        session.execute(
            update(WebhookInbox)
            .where(WebhookInbox.id == chunk[0])
            .values(tries=WebhookInbox.tries)
            .execution_options(synchronize_session=False)
        )
        stmt = select(WebhookInbox).where(WebhookInbox.id.in_(chunk)).order_by(WebhookInbox.id)
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        for row in session.scalars(stmt).all():
            kind, ref, params = row.kind, row.attempt_ref, dict(row.params)
            try:
                with session.begin_nested():
                    if kind == "voice_status":
                        ivr.status(session, params, ref, now)
                    elif kind == "sms_status":
                        sms.status(session, params, ref, now)
                    else:
                        sms.inbound(session, params, now)
                    session.delete(row)
                    session.flush()
                done += 1
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
                log.exception("webhook inbox row %s not applied", row.id)
                row.failed_at = now
                row.tries += 1
                row.error = type(exc).__name__[:200]
                session.flush()
        session.commit()
    return done
