"""The dispatcher's pace: calls and SMS per second against a gateway that answers at once.

``Dispatcher.run`` runs for ``BENCH_SECONDS`` (default 60) with the real clock over more due
IVR and SMS tasks than it can send in that time, with a stub gateway (the ``Gateway``
protocol, answering ``Sent(sid, "queued")`` at once) that records when each request
arrived. Figures per channel: the achieved rate, (requests - 1) / (last - first), as the
gaps between requests are what the pacer sets, and its deviation from the configured rate
(goal: within 5 %); the rate over the whole run, (requests - 1) / run time, which also
counts the time a channel stood idle; and the dispatcher's own time per request
(``busy_seconds``, sleeps excluded, divided by the requests made).

Two orders of the due tasks:
- interleaved: calls and SMS alternate in proportion to their rates (one call, two SMS);
- by campaign: as two campaigns generated the same morning leave them: within each
  fragility rank the call campaign's tasks (ids first) before the SMS campaign's, 60 calls
  and 120 SMS a rank, about what a landlord of 10,000 seniors has due a day.
Both run on SQLite; the interleaved one on PostgreSQL too when ``BENCH_DATABASE_URL`` or
``TEST_DATABASE_URL`` names a server (a fresh database is created and dropped).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.support import postgres_base_url, postgres_database
from outreach.telephony.gateway import RemoteStatus, Sent

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CALLS_PER_SECOND, SMS_PER_SECOND = 10, 20
MARGIN = 1.2  # tasks beyond what the run can send, so that it never runs dry
CALLS_PER_RANK = 60  # by campaign: due tasks of each fragility rank (0..11) and channel
MAX_RANK = 11


class StubGateway:
    """A gateway that takes every request at once and notes when it came (monotonic)."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.sms: list[float] = []

    def place_call(
        self, to: str, url: str, status_callback: str, machine_detection: bool = True
    ) -> Sent:
        self.calls.append(time.monotonic())
        return Sent(f"CA{len(self.calls):032x}", "queued")

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> Sent:
        self.sms.append(time.monotonic())
        return Sent(f"SM{len(self.sms):032x}", "queued")

    def fetch_call(self, sid: str) -> RemoteStatus:
        raise AssertionError("no call is old enough to be looked up in this bench")

    def fetch_message(self, sid: str) -> RemoteStatus:
        raise AssertionError("no message is old enough to be looked up in this bench")


def _app(url: str) -> Any:
    from outreach import create_app
    from outreach.cli import upgrade_database

    upgrade_database(url)
    return create_app(
        {
            "app": {"env": "testing", "secret_key": "bench"},
            "database": {"url": url},
            "scheduler": {"run_in_serve": False},
            "telephony": {
                "calls_per_second": CALLS_PER_SECOND,
                "sms_per_second": SMS_PER_SECOND,
            },
        }
    )


def _seed(session: Any, order: str) -> tuple[int, int]:
    """Consenting seniors with a French mobile; a call campaign and an SMS campaign, both
    always open, with their tasks due today in ``order``. Returns (calls, SMS) due."""
    from sqlalchemy import insert, select

    from outreach.accounts.operations import create_organisation
    from outreach.campaigns.models import CampaignKind, CampaignState, Task
    from outreach.campaigns.operations import create_campaign, set_state
    from outreach.campaigns.schedule import WEEKDAYS, paris_today
    from outreach.roster.models import Senior

    now = datetime.now(UTC)
    n_calls = math.ceil(CALLS_PER_SECOND * SECONDS * MARGIN) + 10
    n_sms = math.ceil(SMS_PER_SECOND * SECONDS * MARGIN) + 10
    org = create_organisation(session, "bench", "Bailleur du banc d'essai")
    campaigns = {}
    for channel in ("ivr", "sms"):
        campaign = create_campaign(
            session, org.id, f"Courtoisie {channel}", CampaignKind.courtesy,
            channel_policy=channel, call_window={d: [["00:00", "23:59"]] for d in WEEKDAYS},
            skip_holidays=False,
        )  # fmt: skip
        set_state(session, campaign, CampaignState.active, now)
        campaigns[channel] = campaign.id
    # One senior per call at least: a senior's call stays in flight (no webhook comes).
    session.execute(insert(Senior), [
        {"organisation_id": org.id, "external_ref": f"D{i:06d}", "civility": "Mme",
         "last_name": f"Nom{i}", "first_name": "Jeanne", "phone_mobile": f"+336{i:08d}",
         "departement": "37", "consent_status": "given", "consent_phone": True,
         "consent_sms": True}
        for i in range(max(n_calls, n_sms))
    ])  # fmt: skip
    seniors = list(session.scalars(select(Senior.id).order_by(Senior.id)))

    def task(channel: str, senior_id: int, i: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        rate = CALLS_PER_SECOND if channel == "ivr" else SMS_PER_SECOND
        if order == "interleaved":
            # Task i of a channel sorts at i / rate (calls first on a tie); one rank.
            rank, key = MAX_RANK, (i / rate, channel != "ivr")
        else:
            # Each rank holds the call campaign's tasks, then the SMS campaign's.
            rank = min(i // (CALLS_PER_RANK * rate // CALLS_PER_SECOND), MAX_RANK)
            key = (rank, channel != "ivr", i)
        row = {"organisation_id": org.id, "campaign_id": campaigns[channel],
               "senior_id": senior_id, "due_date": paris_today(now), "channel": channel,
               "state": "pending", "fragility_rank": rank}  # fmt: skip
        return key, row

    rows = [task("ivr", s, i) for i, s in enumerate(seniors[:n_calls])]
    rows += [task("sms", s, i) for i, s in enumerate(seniors[:n_sms])]
    # Ids follow this order, and the dispatcher's order ends on the id.
    rows.sort(key=lambda r: r[0])
    session.execute(insert(Task), [row for _, row in rows])
    return n_calls, n_sms


def _rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _run(url: str, label: str, order: str) -> None:
    from outreach.db import session_scope
    from outreach.telephony.dispatch import Dispatcher

    app = _app(url)
    with app.app_context():
        with session_scope() as session:
            due_calls, due_sms = _seed(session, order)
        gateway = StubGateway()
        session = app.extensions["outreach.sessionmaker"]()
        try:
            result = Dispatcher(session, app.config["OUTREACH"], gateway).run(SECONDS)
        finally:
            session.close()
    app.extensions["outreach.engine"].dispose()
    requests = result.calls + result.sms
    if result.cancelled or result.not_sent or not result.calls or not result.sms:
        raise SystemExit(f"dispatch [{label}]: unexpected result: {result.summary()}")
    if (result.calls, result.sms) != (len(gateway.calls), len(gateway.sms)):
        raise SystemExit(f"dispatch [{label}]: {result.summary()} but the gateway saw "
                         f"{len(gateway.calls)} calls, {len(gateway.sms)} SMS")  # fmt: skip
    if result.calls >= due_calls or result.sms >= due_sms:
        print(f"   dispatch [{label}]: ran out of due tasks; the rates below understate")
    parts = []
    for name, times, configured in (("calls", gateway.calls, CALLS_PER_SECOND),
                                    ("SMS", gateway.sms, SMS_PER_SECOND)):  # fmt: skip
        rate, overall = _rate(times), (len(times) - 1) / SECONDS
        parts.append(
            f"{len(times):,} {name}, {rate:.2f}/s first to last ({rate / configured - 1:+.1%}), "
            f"{overall:.2f}/s over the run ({overall / configured - 1:+.1%})"
        )
    print(f"   dispatch [{label}, {order}]: {'; '.join(parts)}")
    print(
        f"      dispatcher's own time {result.busy_seconds / requests * 1000:.1f} ms per "
        f"request ({result.busy_seconds:.1f} s busy in {SECONDS:.0f} s)"
    )


def main() -> None:
    print(
        f"   configured: {CALLS_PER_SECOND} calls/s, {SMS_PER_SECOND} SMS/s; "
        f"{SECONDS:.0f} s per run (BENCH_SECONDS); goal: each rate within 5 %"
    )
    for order in ("interleaved", "by campaign"):
        with tempfile.TemporaryDirectory() as tmp:
            _run(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", "sqlite", order)
    base = postgres_base_url()
    if not base:
        print("   postgresql: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)")
        return
    with postgres_database(base) as url:
        _run(url, "postgresql", "interleaved")


if __name__ == "__main__":
    main()
