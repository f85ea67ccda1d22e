"""Database plumbing: the declarative Base, a UTC datetime type, engine and session scope.

One transaction per request or per job: web requests get a session from ``get_session()``
that is committed by the app after a successful response and rolled back otherwise; jobs
and CLI commands use ``session_scope()``. Domain operations only flush.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC.

    SQLite has no time zone type and hands back naive values; this type refuses naive input
    (a naive datetime is a bug waiting for daylight saving) and always returns aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets foreign keys and a busy timeout so it behaves like a
    real database under the scheduler and the web server at once."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


def init_app(app: Flask, url: str, echo: bool = False) -> None:
    engine = make_engine(url, echo)
    app.extensions["outreach.engine"] = engine
    app.extensions["outreach.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    register_teardown(app)


def register_teardown(app: Flask) -> None:
    """Close (and on error roll back) the request's session when its context ends."""

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def get_engine() -> Engine:
    return current_app.extensions["outreach.engine"]


def get_session() -> Session:
    """The session of the current request or app context (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["outreach.sessionmaker"]()
    return g.db_session


def commit_request_session() -> None:
    """Commit the request's session if one was opened (called after a successful response)."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.commit()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction for a job or a CLI command: commit on success, roll back on error."""
    session = current_app.extensions["outreach.sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def str_enum(cls: type, length: int = 20) -> Enum:
    """An Enum column that stores the members' *values* as plain strings with a CHECK.

    Portable between SQLite and PostgreSQL (no native type to migrate) and readable in SQL.
    """
    return Enum(
        cls,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )


def changed_rows(session: Session, statement: Any) -> int:
    """Execute an UPDATE/DELETE and return how many rows it changed (the conditional
    updates behind claims and forward-only statuses read this)."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        statement, execution_options={"synchronize_session": False}
    )
    return result.rowcount or 0
