"""A database outage: 503 everywhere, /health says so, one log line a minute, no values.

Two ways to lose the database: an app whose URL points at nothing (a PostgreSQL port just
closed, an SQLite file in a folder that does not exist), and a working app whose engine
starts refusing every new connection (``database_down``), then comes back.
"""

from __future__ import annotations

import logging
import socket
import time
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from outreach.accounts.models import User
from outreach.db import OutageLog, get_engine, is_outage, make_engine
from outreach.telephony import writebehind
from outreach.telephony.gateway import credentials
from outreach.telephony.inbox import row_values, status_engine
from outreach.telephony.urls import PATHS, public_url
from tests.conftest import csrf_from, login, own_app
from tests.factories import make_org, make_user

SECRET_NAME = "Zoé Secretname"
SECRET_PHONE = "+33611223344"


def closed_port() -> int:
    """A local port on which nothing listens: bound once, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def down_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'outreach.sqlite3'}"
    return f"postgresql+psycopg://outreach@127.0.0.1:{closed_port()}/outreach"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> FakeClock:
    fake = FakeClock()
    app.extensions["outreach.outage"].clock = fake
    return fake


@contextmanager
def database_down(app):
    """Every new connection of the app's engine is refused, as by a stopped server."""
    engine = app.extensions["outreach.engine"]

    def refuse(dialect, _record, _cargs, _cparams):
        raise dialect.loaded_dbapi.OperationalError("connection refused (database_down)")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()  # the pooled connections go: the next checkout connects anew
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


def signed(client, app, name: str, params: dict[str, str], **query: str):
    config = app.config["OUTREACH"]
    qs = urlencode(query)
    url = public_url(config, PATHS[name], qs)
    signature = RequestValidator(credentials(config)[1]).compute_signature(url, params)
    path = PATHS[name] + (f"?{qs}" if qs else "")
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


SMS = {"MessageSid": "SM" + "1" * 32, "From": SECRET_PHONE, "Body": "AIDE " + SECRET_NAME}


def _db_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "outreach.db"]


# --- /health -----------------------------------------------------------------------------


def test_health_reports_the_database(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok"}


def test_health_says_when_the_database_is_down(down_url):
    with own_app(down_url) as app:
        resp = app.test_client().get("/health")
    assert resp.status_code == 503
    assert resp.json == {"status": "down", "database": "down"}


def test_health_follows_the_database_down_and_back(app, client, clock):
    with database_down(app):
        assert client.get("/health").status_code == 503
    assert client.get("/health").status_code == 200


# --- pages and webhooks ------------------------------------------------------------------


def test_pages_answer_the_french_503_page(down_url):
    with own_app(down_url) as app:
        client = app.test_client()
        page = client.get("/login")  # no database needed to show the form
        assert page.status_code == 200
        resp = client.post(
            "/login",
            data={
                "email": "a@example.org",
                "password": "une phrase assez longue",
                "csrf_token": csrf_from(page.text),
            },
        )
    assert resp.status_code == 503
    assert "Service momentanément indisponible" in resp.text
    assert "appelez le\u00a015" in resp.text
    assert resp.headers["Retry-After"] == "60"


def test_a_logged_in_page_answers_503_then_works_again(app, client, session, clock):
    user = make_user(session, make_org(session), "manager")
    session.commit()
    login(client, user.email)
    with database_down(app):
        for path in ("/", "/seniors/", "/alertes/"):
            resp = client.get(path)
            assert resp.status_code == 503, path
            assert "Service momentanément indisponible" in resp.text
            assert user.name not in resp.text  # rendered as for an anonymous visitor
    assert client.get("/").status_code == 200


def test_webhooks_answer_503_after_the_signature(down_url):
    with own_app(down_url) as app:
        client = app.test_client()
        # The signature first: an unsigned request learns nothing, not even the outage.
        assert client.post(PATHS["sms_inbound"], data=SMS).status_code == 403
        resp = signed(client, app, "sms_inbound", SMS)
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "60"
        # Now known down: a status callback is not kept in memory, Twilio is asked to retry.
        status = {"CallSid": "CA" + "2" * 32, "CallStatus": "completed"}
        assert signed(client, app, "voice_status", status, a="1").status_code == 503
        # A senior on the line hears an apology in French, not Twilio's error in English.
        answer = signed(client, app, "voice_answer", {"CallSid": "CA" + "3" * 32}, a="1")
        assert answer.status_code == 200
        assert "incident technique" in answer.text
        buffer = app.extensions.get("outreach.status_buffer")
        assert buffer is None or not buffer.rows


def test_a_status_callback_is_stored_directly_while_the_database_is_known_down(
    app, client, session, clock
):
    with database_down(app):
        assert signed(client, app, "sms_inbound", SMS).status_code == 503
    # Known down until something succeeds: the next callback is written at once (on
    # PostgreSQL through the status engine, which this outage did not touch).
    assert app.extensions["outreach.outage"].down
    status = {"CallSid": "CA" + "4" * 32, "CallStatus": "ringing"}
    assert signed(client, app, "voice_status", status, a="7").status_code == 204
    assert not app.extensions["outreach.outage"].down
    count = session.execute(text("SELECT count(*) FROM webhook_inbox")).scalar()
    assert count == 1


# --- the log -----------------------------------------------------------------------------


def test_an_outage_is_logged_once_and_its_end_once(app, client, session, clock, caplog):
    user = make_user(session, make_org(session), "manager")
    session.commit()
    login(client, user.email)
    caplog.set_level(logging.DEBUG)
    with database_down(app):
        codes = []
        for i in range(50):
            if i % 3 == 0:
                codes.append(client.get("/").status_code)
            elif i % 3 == 1:
                codes.append(client.get("/health").status_code)
            else:
                codes.append(signed(client, app, "sms_inbound", SMS).status_code)
            clock.now += 0.5  # 25 s in all: within the minute
    assert set(codes) == {503}
    down = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(down) == 1, [r.getMessage() for r in down]
    assert down[0].name == "outreach.db" and "database unreachable" in down[0].getMessage()
    assert down[0].exc_info is None
    assert len(caplog.text) < 2000  # 3.4 MB once
    for secret in (SECRET_NAME, SECRET_PHONE, user.email):
        assert secret not in caplog.text
    caplog.clear()
    clock.now += 5
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    back = [r.getMessage() for r in _db_lines(caplog)]
    assert len(back) == 1 and back[0].startswith("database back after 30 s"), back


def test_a_long_outage_is_logged_once_a_minute(app, client, clock, caplog):
    with database_down(app):
        for _ in range(30):  # ten minutes, one request every 20 s
            client.get("/health")
            clock.now += 20
    lines = [r.getMessage() for r in _db_lines(caplog)]
    assert len(lines) == 10
    assert "3 failure(s) since the last line" in lines[1]


def test_the_outage_log_counts_and_limits():
    clock = FakeClock()
    logger = logging.getLogger("tests.outage")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        outage = OutageLog(logger, every_seconds=60, clock=clock)
        outage.succeeded()
        assert records == [] and not outage.down
        error = ConnectionRefusedError()
        for step in (0, 10, 49, 61, 62):
            clock.now = 1000.0 + step
            outage.failed(error, "test")
        assert len(records) == 2 and outage.down
        assert "3 failure(s)" in records[1]  # at 10, 49 and 61
        clock.now = 1100.0
        outage.succeeded()
        outage.succeeded()
        assert records[2] == "database back after 100 s (1 failure(s) since the last line)"
        assert len(records) == 3 and not outage.down
    finally:
        logger.removeHandler(handler)


def test_the_status_writer_logs_an_outage_once(down_url, caplog, monkeypatch):
    monkeypatch.setattr(writebehind, "RETRY_SECONDS", 0.001)
    engine = make_engine(down_url)
    clock = FakeClock()
    outage = OutageLog(logging.getLogger("outreach.db"), clock=clock)
    buffer = writebehind.StatusBuffer(engine, interval=0.001, outage=outage)
    try:
        buffer.put(row_values(engine, "voice_status", "1", {"From": SECRET_PHONE}, _now()))
        time.sleep(0.5)  # a few hundred tries of the writer
    finally:
        buffer._stop.set()
        if buffer._thread is not None:
            buffer._thread.join(timeout=5)
        engine.dispose()
    assert len(buffer.rows) == 1  # kept for when the database is back
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    assert "status writer" in caplog.records[0].getMessage()
    assert SECRET_PHONE not in caplog.text


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 6, 1, 10, tzinfo=UTC)


# --- no values in errors or logs ---------------------------------------------------------


def test_database_errors_carry_no_values(app, session):
    user = make_user(session, make_org(session))
    session.commit()
    values = {
        "email": user.email,  # taken: a unique violation
        "name": SECRET_NAME,
        "phone": SECRET_PHONE,
        "password_hash": "x",
        "active": True,
        "session_version": 0,
        "created_at": _now(),
    }
    with pytest.raises(IntegrityError) as err:
        session.execute(insert(User).values(**values))
    session.rollback()
    assert SECRET_NAME not in str(err.value) and SECRET_PHONE not in str(err.value)
    assert "hidden" in str(err.value)
    assert not is_outage(err.value)  # a bug or a conflict, not an outage


def test_the_sql_log_carries_no_values(database_url, caplog):
    engine = make_engine(database_url, echo=True)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    try:
        with engine.connect() as conn:
            conn.execute(select(User.id).where(User.name == SECRET_NAME)).all()
    finally:
        engine.dispose()
    assert "user_account" in caplog.text  # the statement is logged...
    assert SECRET_NAME not in caplog.text  # ...without its values


def test_the_status_engine_hides_values_too(app):
    with app.app_context():
        main = get_engine()
        engine = status_engine(main)
        try:
            assert main.hide_parameters and engine.hide_parameters
        finally:
            if engine is not main:
                engine.dispose()


def test_an_outage_is_recognised(down_url):
    engine = make_engine(down_url)
    try:
        with pytest.raises(Exception) as err:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert is_outage(err.value)


def test_the_scheduler_logs_an_outage_once_for_all_its_jobs(app, clock, caplog):
    from outreach.scheduling.registry import load_jobs
    from outreach.scheduling.runner import _wrap

    jobs = load_jobs()
    runs = [_wrap(app, jobs[name]) for name in ("expire-claims", "process-webhooks")]
    with database_down(app):
        for _ in range(20):
            for run in runs:
                run()
            clock.now += 2
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "job expire-claims" in lines[0].getMessage()
    assert lines[0].exc_info is None
    runs[0]()
    assert "database back" in caplog.records[-1].getMessage()
