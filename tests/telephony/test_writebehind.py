"""The write-behind of status callbacks: written within moments, kept on failure, in order."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select

from outreach.telephony.inbox import WebhookInbox, row_values
from outreach.telephony.writebehind import StatusBuffer

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_rows_are_written_by_the_thread_in_order(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    WebhookInbox.__table__.create(engine)
    buffer = StatusBuffer(engine, interval=0.01)
    try:
        for i in range(5):
            buffer.put(row_values(engine, "voice_status", str(i), {"CallStatus": "ringing"}, NOW))
        # Wait for the rows in the table, not for the buffer to empty: the thread takes a
        # batch out of the buffer before it writes it (bounded wait, not a timing check).
        deadline = time.monotonic() + 10
        refs: list[str] = []
        while len(refs) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
            with engine.connect() as conn:
                query = select(WebhookInbox.attempt_ref).order_by(WebhookInbox.id)
                refs = list(conn.scalars(query))
        assert refs == ["0", "1", "2", "3", "4"]
    finally:
        buffer.close()
        engine.dispose()


def test_a_failed_write_keeps_the_rows_for_the_next_try(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    buffer = StatusBuffer(engine, interval=3600)  # flushed by hand here
    buffer.rows.extend(
        row_values(engine, "sms_status", str(i), {"MessageStatus": "sent"}, NOW) for i in range(3)
    )
    with pytest.raises(Exception):  # noqa: B017 - no table yet: the database refuses
        buffer.flush()
    assert [r[1] for r in buffer.rows] == ["0", "1", "2"]
    WebhookInbox.__table__.create(engine)
    assert buffer.flush() == 3
    with engine.connect() as conn:
        refs = conn.scalars(select(WebhookInbox.attempt_ref).order_by(WebhookInbox.id)).all()
    assert refs == ["0", "1", "2"]
    buffer.close()
    engine.dispose()
