"""Kill the dispatcher between writing the attempt and hearing back from the gateway: the
senior is never dialled twice, and a person is asked to check on her."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from outreach.calls.models import Attempt
from outreach.campaigns.models import ChannelPolicy, Task
from outreach.telephony.dispatch import Dispatcher
from outreach.telephony.gateway import TwilioGateway
from tests.telephony.conftest import FakeTime, make_automated

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "4" * 32


class HangingTwilio:
    """A Twilio API that records each request and answers none until released."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        self.requests.append(f"{request.method} {request.path}")
        self.received.set()
        self.release.wait(30)
        return Response('{"code": 20500, "message": "gone", "status": 500}', 500)(
            environ, start_response
        )

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


def test_a_crash_between_outbox_and_gateway_never_dials_twice(app, session, org, tmp_path):
    _, _, tasks = make_automated(session, org)
    session.commit()
    twilio = HangingTwilio()
    db_url = app.config["OUTREACH"]["database"]["url"]
    config = tmp_path / "outreach.toml"
    config.write_text(
        f"""
[app]
env = "testing"
secret_key = "test-secret-key"
[database]
url = "{db_url}"
[scheduler]
run_in_serve = false
[telephony]
backend = "twilio"
account_sid = "{SID}"
auth_token = "token"
api_base_url = "{twilio.url}"
caller_id = "+33970000000"
request_timeout_seconds = 60
""",
        encoding="utf-8",
    )
    env = {**os.environ, "OUTREACH_CONFIG": str(config)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "outreach"), "run-job", "dispatch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert twilio.received.wait(60), proc.stdout.read().decode() if proc.poll() else "no call"
        # The request is at the gateway: the attempt was committed before it left.
        session.expire_all()
        attempt = session.scalar(select(Attempt))
        assert attempt.gateway_status == "dispatching" and attempt.gateway_sid is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        twilio.stop()
    assert twilio.requests == [f"POST /2010-04-01/Accounts/{SID}/Calls.json"]

    # The next dispatcher start reconciles instead of calling again.
    cfg = app.config["OUTREACH"]
    gateway = TwilioGateway(SID, "token", twilio.url, "+33970000000", "VTH", timeout=5)
    clock = FakeTime()
    clock.start += timedelta(minutes=2)  # past the grace given to a send in progress
    result = Dispatcher(session, cfg, gateway, clock.now, clock.monotonic, clock.sleep).run()
    assert result.reconciled == 1 and result.calls == 0
    assert len(twilio.requests) == 1
    session.expire_all()
    attempt = session.get(Attempt, attempt.id)
    assert attempt.gateway_status == "unknown" and attempt.ended_at is not None
    task = session.get(Task, tasks[0].id)
    assert task.channel == ChannelPolicy.staff and task.disposition == "uncertain"
