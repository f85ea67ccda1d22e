"""The configured rate holds as the gateway sees it: requests are spaced from the moment they
actually left, within a dispatcher run and across runs, whatever delays the first one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from outreach.campaigns.models import ChannelPolicy
from outreach.telephony.dispatch import Dispatcher, Pacer
from outreach.telephony.gateway import TwilioGateway
from tests.telephony.conftest import FakeTime, make_automated

ACCOUNT = "AC" + "8" * 32
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


# -- the pacer on a fake clock -------------------------------------------------------------


def test_the_next_request_waits_for_the_moment_the_previous_one_left():
    clock, left = FakeTime(), [None]
    pacer = Pacer(2, clock.monotonic, clock.sleep, departed=lambda: left[0])
    pacer.wait()
    assert clock.t == 0
    clock.t, left[0] = 0.3, 0.3  # the first request left late (a connection set up)
    pacer.wait()
    # Not 0.5 (the moment it was due) but (1 s + GUARD) / 2 after it left.
    assert clock.t == pytest.approx(0.3 + 0.51)
    left[0] = clock.t
    # The next run's pacer knows nothing of this one but the gateway's departures.
    again = Pacer(2, clock.monotonic, clock.sleep, departed=lambda: left[0])
    assert again.ready_at() == pytest.approx(0.81 + 0.51)
    again.wait()
    assert clock.t == pytest.approx(0.81 + 0.51)


def test_without_departures_the_pacer_spaces_its_own_moments():
    clock = FakeTime()
    pacer = Pacer(4, clock.monotonic, clock.sleep, departed=lambda: None)
    stamps = []
    for _ in range(5):
        pacer.wait()
        stamps.append(clock.t)
    assert stamps == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


def test_a_fake_clock_is_never_mixed_with_real_departures():
    clock = FakeTime()
    gateway = TwilioGateway(ACCOUNT, "t", "http://127.0.0.1:9", "+33970000000", "VTH")
    assert Pacer.for_gateway(1, gateway, "call", clock.monotonic, clock.sleep).departed is None
    real = Pacer.for_gateway(1, gateway, "call", time.monotonic, time.sleep)
    assert real.departed is not None


# -- against a gateway that records when requests arrive -----------------------------------


class RecordingTwilio:
    """A stand-in for Twilio's REST API on a free port: notes when each call request
    arrives (time.monotonic) and answers it as Twilio does."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self._sids = count(1)
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        arrived = time.monotonic()
        request = Request(environ)
        if request.method == "POST" and request.path.endswith("/Calls.json"):
            self.arrivals.append(arrived)
        sid = f"CA{next(self._sids):032x}"
        body = {"sid": sid, "account_sid": ACCOUNT, "status": "queued", "to": "", "from": ""}
        return Response(json.dumps(body), 201, content_type="application/json")(
            environ, start_response
        )


@pytest.fixture
def twilio() -> Iterator[RecordingTwilio]:
    stand_in = RecordingTwilio()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    thread.join(5)


def slow_first(base_url: str, delay: float) -> TwilioGateway:
    """A new gateway whose first request leaves ``delay`` late, as a fresh HTTP client's
    first request does (connection and TLS set-up) in every dispatcher run."""
    gateway = TwilioGateway(ACCOUNT, "token", base_url, "+33970000000", "VTH", timeout=5)
    http = gateway.client.http_client
    send, first = http.request, [True]

    def request(*args: Any, **kwargs: Any) -> Any:
        if first[0]:
            first[0] = False
            time.sleep(delay)
        return send(*args, **kwargs)

    http.request = request  # type: ignore[method-assign]
    return gateway


def busiest_second(arrivals: list[float]) -> int:
    """The most requests any one-second window [t, t + 1) holds."""
    return max(sum(1 for b in arrivals if a <= b < a + 1.0) for a in arrivals)


def test_back_to_back_runs_never_exceed_the_rate_at_the_gateway(app, session, org, twilio):
    make_automated(session, org, seniors=9, channel=ChannelPolicy.ivr, now=NOW)
    session.commit()
    config = app.config["OUTREACH"]
    config = {**config, "telephony": {**config["telephony"], "calls_per_second": 2}}
    sent = []
    for _ in range(3):  # the dispatch job, every few seconds, each time a new gateway
        gateway = slow_first(twilio.url, delay=0.3)
        result = Dispatcher(session, config, gateway, clock=lambda: NOW).run(max_seconds=1.5)
        sent.append(result.calls)
    # The property: never more than the rate in any second at the gateway, across runs.
    assert busiest_second(twilio.arrivals) <= 2, twilio.arrivals
    # Each run sent something, so that the runs' junctions were tested (how many depends on
    # the machine's speed: no more is asserted; the pace itself is `bench dispatch`'s).
    assert len(twilio.arrivals) == sum(sent) >= 3 and min(sent) >= 1
