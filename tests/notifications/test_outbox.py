"""The notification outbox: queued once per key, sent once, retried after a failure."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import func, select

from outreach.notifications.mail import ConsoleMailer, SmtpMailer, make_mailer
from outreach.notifications.models import Notification
from outreach.notifications.operations import queue, send_pending
from outreach.scheduling.runner import run_job

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _queue(session, key="k1", channel="email", to="claire@example.org"):
    return queue(
        session, key=key, channel=channel, recipient=to, subject="Sujet", body="Corps", now=NOW
    )


def test_a_key_is_queued_once(session):
    assert _queue(session) is True
    assert _queue(session) is False
    assert session.scalar(select(func.count(Notification.id))) == 1


def test_the_job_sends_each_notification_once(app, session, capsys):
    _queue(session)
    session.commit()
    assert run_job(app, "send-notifications", NOW) == "send-notifications: sent 1"
    assert "to claire@example.org" in capsys.readouterr().out
    assert run_job(app, "send-notifications", NOW) == "send-notifications: sent 0"


def test_a_failed_send_is_kept_and_retried(session):
    _queue(session)

    class Down:
        def send(self, to, subject, body):
            raise ConnectionRefusedError

    assert send_pending(session, Down(), None, NOW) == 0
    note = session.scalar(select(Notification))
    assert note.sent_at is None and note.tries == 1 and note.last_error == "ConnectionRefusedError"
    mailer = ConsoleMailer("x@localhost", stream=io.StringIO())
    assert send_pending(session, mailer, None, NOW) == 1
    assert mailer.sent == [("claire@example.org", "Sujet", "Corps")]


def test_sms_notifications_go_through_the_sms_sender(session):
    _queue(session, key="s1", channel="sms", to="+33612000000")
    texts = []
    send_pending(session, ConsoleMailer("x", stream=io.StringIO()), lambda *a: texts.append(a), NOW)
    assert texts == [("+33612000000", "Corps")]


def test_the_mail_backend_is_chosen_by_configuration():
    from outreach.config import load_config

    assert isinstance(make_mailer(load_config(environ={})), ConsoleMailer)
    smtp = load_config({"mail": {"backend": "smtp", "host": "smtp.example.org"}}, environ={})
    assert isinstance(make_mailer(smtp), SmtpMailer)


def test_two_senders_at_once_send_each_notification_once(app, session, database_url):
    """Two schedulers' jobs racing (PostgreSQL): rows are locked, skipped by the other."""
    import threading

    import pytest

    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent senders are a PostgreSQL matter (one scheduler on SQLite)")
    for i in range(40):
        _queue(session, key=f"k{i}", to=f"user{i}@example.org")
    session.commit()
    maker = app.extensions["outreach.sessionmaker"]
    barrier = threading.Barrier(2)
    sent: list[str] = []
    lock = threading.Lock()

    class Recorder:
        def send(self, to, subject, body):
            with lock:
                sent.append(to)

    def work():
        with maker() as s:
            barrier.wait()
            send_pending(s, Recorder(), None, NOW)
            s.commit()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(sent) == sorted(f"user{i}@example.org" for i in range(40))
