"""Only one scheduler fires jobs: a second process waits as standby and takes over when the
leader dies. Real processes, real database (advisory lock on PostgreSQL, file lock on SQLite)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outreach.scheduling.runner import run_job

OUTREACH = str(Path(sys.executable).with_name("outreach"))


class Proc:
    def __init__(self, database_url: str, config: Path) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "OUTREACH_CONFIG": str(config)}
        env.pop("CI", None)
        self.p = subprocess.Popen(
            [OUTREACH, "scheduler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []

    def wait_for(self, needle: str, limit: float = 60) -> bool:
        """Read output until a line contains ``needle`` (bounded wait, not a timing check)."""
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines):
                return True
            if sel.select(timeout=0.5):
                line = self.p.stdout.readline()
                if not line and self.p.poll() is not None:
                    return False
                self.lines.append(line)
        return any(needle in line for line in self.lines)

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=10)
        self.p.stdout.close()  # else a ResourceWarning, raised in whichever test comes next


def test_second_scheduler_waits_then_takes_over(app, database_url, tmp_path):
    config = tmp_path / "outreach.toml"
    # The leader also starts the telephony simulator: on port 0, a free one, so that the test
    # passes while `make run` (port 5055) or another test run is listening.
    config.write_text(
        '[scheduler]\nstandby_poll_seconds = 0.5\n[app]\nenv = "testing"\n[simulator]\nport = 0\n'
    )
    first = Proc(database_url, config)
    second = None
    try:
        assert first.wait_for("scheduler: leader"), first.lines
        assert first.wait_for("telephony simulator on http://127.0.0.1:"), first.lines
        second = Proc(database_url, config)
        assert second.wait_for("scheduler: standby"), second.lines
        assert not any("leader" in line for line in second.lines)
        first.kill()
        assert second.wait_for("scheduler: leader"), second.lines
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_run_job_runs_once_and_summarises(app):
    assert run_job(app, "generate-tasks") == "generate-tasks: created 0, skipped 0"
    with pytest.raises(KeyError):
        run_job(app, "no-such-job")
