"""Test fixtures: a fresh database per backend, the app, logged-in clients, a live server.

Every test that uses ``app`` runs twice: on SQLite and on PostgreSQL. The PostgreSQL
database is created with a unique name from ``TEST_DATABASE_URL`` and dropped at the end;
without that variable the PostgreSQL half is skipped with a reason, except under CI=true
where it fails, so that CI cannot go green without PostgreSQL.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

import outreach.accounts.operations as _accounts
from outreach import create_app
from outreach.cli import upgrade_database
from outreach.db import Base, get_engine

# tests.frozen: OUTREACH_FROZEN_AT (the clock of the date_sensitive tests) and --backend;
# pytester: tests/test_frozen.py runs a small suite through it.
pytest_plugins = ["tests.frozen", "pytester"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_PASSWORD = "correct horse battery"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true requires it)")
    pytest.skip(reason)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "outreach-test.sqlite3"
        url = f"sqlite:///{path}"
        upgrade_database(url)
        yield url
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        _missing("PostgreSQL tests need TEST_DATABASE_URL")
    import psycopg

    base_url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"outreach_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = base_url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _missing(f"PostgreSQL unreachable at {base_url.host}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # A throw-away database: commits need not wait for the WAL to reach the disk (a
        # server crash would lose the suite's last transactions, nothing else).
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = base_url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@event.listens_for(Engine, "connect")
def _no_fsync_on_test_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """The suite's SQLite files are throw-away too: no fsync at each commit."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


# Passwords: werkzeug's scrypt (N=32768) costs a sixth of a second per hash and per check,
# on purpose. The suite creates and logs in thousands of users: it hashes with the same
# function and format at a cost of 1024 (a few milliseconds). Production keeps the default
# (tests/accounts/test_login.py checks the format of a stored hash).
_accounts.generate_password_hash = functools.partial(  # type: ignore[assignment]
    generate_password_hash, method="scrypt:1024:8:1"
)
_accounts._DUMMY_HASH = _accounts.generate_password_hash("not-a-real-password")

# Every test makes its own app, and werkzeug compiles two URL builders per route with ast and
# compile(): a third of a second per app. A builder is a function of the rule's text and
# defaults only (it reaches the converters through the rule it is bound to), so the suite
# compiles each once; the apps, maps and rules stay separate.
_BUILDERS: dict[tuple[Any, ...], Any] = {}
_compile_builder = Rule._compile_builder


def _cached_builder(self: Rule, append_unknown: bool = True) -> Any:
    key = (
        self.rule,
        self.host,
        self.subdomain,
        repr(sorted((self.defaults or {}).items())),
        tuple(self._trace),
        append_unknown,
    )
    if key not in _BUILDERS:
        _BUILDERS[key] = _compile_builder(self, append_unknown)
    return _BUILDERS[key]


Rule._compile_builder = _cached_builder  # type: ignore[method-assign]


def make_app(database_url: str, **overrides: Any) -> Flask:
    """The app on ``database_url`` with test settings; ``overrides`` by config section."""
    config: dict[str, dict[str, Any]] = {
        "app": {
            "env": "testing",
            "secret_key": "test-secret-key",
            "login_rate_limit": "1000 per minute",
        },
        "database": {"url": database_url},
        # The other test worker's transactions (another database of the same cluster) hold
        # PostgreSQL's horizon too: an erasure's compaction waits for them longer in tests.
        "privacy": {"compact_wait_seconds": 90},
    }
    for section, values in overrides.items():
        config.setdefault(section, {}).update(values)
    app = create_app(config)
    app.test_client_class = BufferedClient
    return app


@contextmanager
def own_app(database_url: str, **overrides: Any) -> Iterator[Flask]:
    """``make_app`` for a test that needs its own settings; its database connections are
    closed at the end (left to the garbage collector, they raise a ResourceWarning)."""
    app = make_app(database_url, **overrides)
    try:
        yield app
    finally:
        with app.app_context():
            get_engine().dispose()


def _empty_all_tables(app: Flask) -> None:
    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # DELETE, children first, in one round trip, and the id sequences back to 1: on
            # tables of a few rows this takes milliseconds where TRUNCATE (new files for
            # every table and index) took a second on a loaded machine, twice per test.
            tables = list(reversed(Base.metadata.sorted_tables))
            deletes = ";".join(f'DELETE FROM "{t.name}"' for t in tables)
            serial = [t.name for t in tables if "id" in t.c and t.c.id.autoincrement is not False]
            resets = ", ".join(
                f"setval(pg_get_serial_sequence('\"{name}\"', 'id'), 1, false)" for name in serial
            )
            conn.execute(text(f"{deletes}; SELECT {resets}"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    with app.app_context():
        _empty_all_tables(app)
    yield app
    with app.app_context():
        # The webhooks' write-behind first: nothing must land after the tables are emptied.
        buffer = app.extensions.get("outreach.status_buffer")
        if buffer is not None:
            buffer.close()
            if buffer.engine is not get_engine():
                buffer.engine.dispose()
        _empty_all_tables(app)
        get_engine().dispose()


@pytest.fixture
def session(app: Flask):
    """A session for arranging and checking data; commit to make it visible to requests.

    It is deliberately not bound to an app context: requests made by the test client then
    push their own context, with their own session and login state, as in production.
    """
    s = app.extensions["outreach.sessionmaker"]()
    yield s
    s.rollback()
    s.close()


class BufferedClient(FlaskClient):
    """A test client that reads and closes every response, as a real server does, so a
    streamed response (the CSV export) ends its request and its transaction."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        kwargs.setdefault("buffered", True)
        response = super().open(*args, **kwargs)
        # werkzeug spools a large multipart body to a temporary file that nothing closes
        # when the app refuses it unread (a 413): close it, as a server closes its socket.
        body = response.request.environ.get("wsgi.input")
        if body is not None:
            body.close()
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = BufferedClient
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = TEST_PASSWORD) -> None:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert resp.status_code == 302, resp.text


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served on a free local port in a thread, for the browser tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; `make test` installs it when it can."""
    if not os.path.exists(CHROMIUM):
        _missing(f"browser tests need {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("browser tests need the playwright package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
