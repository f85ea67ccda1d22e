"""Database plumbing: the declarative Base, a UTC datetime type, engine and session scope.

One transaction per request or per job: web requests get a session from ``get_session()``
that is committed by the app after a successful response and rolled back otherwise; jobs
and CLI commands use ``session_scope()``. Domain operations only flush.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Enum, MetaData, create_engine, event, exc, make_url
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


# Seconds to wait for PostgreSQL to accept a connection: a server that does not answer must
# fail the request (503) rather than hold a worker for the system's TCP timeout (minutes).
CONNECT_TIMEOUT = 5


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets foreign keys and a busy timeout so it behaves like a
    real database under the scheduler and the web server at once.

    ``hide_parameters``: an error message or a log line never carries the statement's
    values (names, phones, SMS texts), only the SQL with its placeholders."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        # PostgreSQL's JIT compiles a large aggregate (a quarter's report) for 150-350 ms,
        # more than it saves: this application's queries are short or index-bound.
        # (Added to the URL's own ``options``, which connect_args would otherwise replace.)
        own = make_url(url).query.get("options", "")
        own = " ".join(own) if isinstance(own, tuple) else own
        connect_args: dict[str, Any] = {"options": f"{own} -c jit=off".strip()}
        if "connect_timeout" not in url:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT
        kwargs["connect_args"] = connect_args
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
    app.extensions["outreach.outage"] = OutageLog(logging.getLogger("outreach.db"))
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


# What an unreachable or failing database server raises (a refused or lost connection, a
# pool that cannot hand out one); a constraint or a bug raises something else.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


def is_outage(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot be reached."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, exc.OperationalError) and _schema_problem(error):
            return False
        if isinstance(error, OUTAGE_ERRORS):
            return True
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _schema_problem(error: exc.OperationalError) -> bool:
    # SQLite reports a missing table or column, or bad SQL, as an OperationalError too:
    # a database not upgraded, or a bug, not a server out of reach.
    message = str(error.orig)
    return message.startswith(("no such ", "table ")) or "syntax error" in message


def outage_reason(error: BaseException) -> str:
    """A short description of ``error`` for a log line: the exception's type and the
    driver's first line (a refused connection, a timeout), never the SQL or its values."""
    orig = getattr(error, "orig", None)
    if orig is None:
        return type(error).__name__
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


class OutageLog:
    """Logs a database outage as one line a minute at most, and its end as one line.

    During an outage every request fails the same way; a traceback each (a webhook burst,
    the status writer retrying every few milliseconds) buried the logs in megabytes that
    said nothing more than the first line. Thread-safe; one per app (``outage_log()``), the
    web pages, the webhooks and the status writer of a process share it."""

    def __init__(
        self,
        logger: logging.Logger,
        every_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every_seconds = every_seconds
        self.clock = clock
        self.down_since: float | None = None
        self._last_line: float | None = None
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """Whether the last database access seen failed."""
        return self.down_since is not None

    def failed(self, error: BaseException, where: str) -> None:
        """Count a failure; log it when it opens an outage or a minute after the last line."""
        now = self.clock()
        with self._lock:
            self._failures += 1
            if self.down_since is None:
                self.down_since = now
            elif self._last_line is not None and now - self._last_line < self.every_seconds:
                return
            self._last_line = now
            failures, self._failures = self._failures, 0
        self.logger.error(
            "database unreachable (%s, in %s); %d failure(s) since the last line, "
            "the next line in %d s at the earliest",
            outage_reason(error),
            where,
            failures,
            self.every_seconds,
        )

    def succeeded(self) -> None:
        """The database answered: log the end of an outage, once."""
        if self.down_since is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted = self.clock() - self.down_since
            failures = self._failures
            self.down_since = self._last_line = None
            self._failures = 0
        self.logger.warning(
            "database back after %.0f s (%d failure(s) since the last line)", lasted, failures
        )


def outage_log() -> OutageLog:
    """The outage log of the current app."""
    return current_app.extensions["outreach.outage"]
