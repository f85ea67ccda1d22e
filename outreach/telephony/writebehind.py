"""Write-behind for status callbacks: acknowledged at once, stored in batches.

Twilio sends about six webhooks per call, most of them status callbacks that need no answer
but "received". Each web worker keeps them in memory and a thread writes them every few
milliseconds, many rows per INSERT, so that a webhook costs the signature check and little
more. What a crash of the worker (or of PostgreSQL, see ``inbox.status_engine``) could lose
is at most the last fraction of a second of *status* callbacks, and those are recovered:
the reconciler asks the gateway about every call left without a final status. Inbound SMS
(a STOP) never go through here: they are committed before the webhook answers.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import Engine

from outreach.db import OutageLog, is_outage
from outreach.telephony.inbox import write_rows

log = logging.getLogger("outreach.telephony")
FLUSH_SECONDS = 0.02
MAX_BATCH = 500
# With the database unreachable for long, the oldest callbacks are let go rather than the
# worker's memory (the reconciler asks the gateway about those calls later).
MAX_HELD = 50_000
# While writing fails, try again this often rather than every FLUSH_SECONDS (and say so in
# the outage log once a minute, not in a traceback at each try: 50 a second).
RETRY_SECONDS = 1.0
_buffers: weakref.WeakSet[StatusBuffer] = weakref.WeakSet()


class StatusBuffer:
    def __init__(
        self, engine: Engine, interval: float = FLUSH_SECONDS, outage: OutageLog | None = None
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.outage = outage or OutageLog(log)
        self._last_bug: float | None = None  # when a failure other than an outage was logged
        self.rows: deque[tuple[Any, ...]] = deque()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        _buffers.add(self)

    def put(self, row: tuple[Any, ...]) -> None:
        if len(self.rows) >= MAX_HELD:
            self.rows.popleft()
            log.warning("status buffer full: the oldest status callback was let go")
        self.rows.append(row)
        # Started in the process that serves (gunicorn forks workers after import).
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._flush_lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="outreach-status-writer", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            try:
                written = self.flush()
            except Exception as exc:  # noqa: BLE001 - keep writing; the rows were put back
                wait = RETRY_SECONDS
                if is_outage(exc):
                    self.outage.failed(exc, "status writer")
                else:
                    now = self.outage.clock()
                    if self._last_bug is None or now - self._last_bug >= 60:
                        self._last_bug = now
                        log.exception("status callbacks not stored yet; retrying")
            else:
                wait = self.interval
                if written:
                    self.outage.succeeded()

    def flush(self) -> int:
        """Write what is held; on failure the rows go back, in order, for the next try."""
        written = 0
        with self._flush_lock:
            while self.rows:
                batch: list[tuple[Any, ...]] = []
                while self.rows and len(batch) < MAX_BATCH:
                    batch.append(self.rows.popleft())
                try:
                    write_rows(self.engine, batch)
                except Exception:
                    self.rows.extendleft(reversed(batch))
                    raise
                written += len(batch)
        return written

    def close(self) -> None:
        """Write what is held and stop the writer thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def flush_all() -> int:
    """Write every buffer of this process now (before applying, and at exit)."""
    return sum(buffer.flush() for buffer in list(_buffers))


atexit.register(flush_all)
