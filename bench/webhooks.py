"""Twilio call-status webhooks under gunicorn on PostgreSQL, against a bare Flask endpoint.

Both apps are served the same way (gunicorn, ``WORKERS`` gthread workers of ``THREADS``
threads each) and receive the same pre-signed requests from ``CLIENTS`` client processes
that keep their connection alive. outreach's requests are the real thing: ``POST
/twilio/voice/status?a=<attempt>`` with Twilio's form fields and a valid
``X-Twilio-Signature``, four per call (initiated, ringing, in-progress, completed), the
completed one scheduling a retry (half the calls) or handing the task to the staff queue
(the other half) once applied. The webhook stores the callback (write-behind, then the
inbox table) and answers; the ``process-webhooks`` job applies the stored callbacks, run
here after the load until the inbox is empty, and its rate is printed too. Figures:
requests/s, p50 and p95 latency of each app, the ratio of the rates (goal: 0.5 or more),
the job's rate, and a check that every attempt ended ``completed`` and no task stayed
``queued``. Every response must be 204; anything else stops the bench.

Needs PostgreSQL (``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``): a fresh database is
created, migrated and dropped. ``BENCH_WEBHOOK_CALLS`` changes the number of calls.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

from bench.http_load import Figures, Request, gunicorn, load
from bench.support import free_port, postgres_base_url, postgres_database

CALLS = int(os.environ.get("BENCH_WEBHOOK_CALLS", "3000"))
ROUNDS = 3
WARMUP_CALLS = 100  # not timed: workers import the app and fill their connection pools
WORKERS, THREADS, CLIENTS = 2, 4, 4
STAGES = ("initiated", "ringing", "in-progress", "completed")
BLOCK = 20  # calls a client walks through the four stages together, as calls overlap
CALLER_ID = "+33970000000"

# -- data ------------------------------------------------------------------------------------


def _seed(url: str, calls: int) -> list[tuple[int, str, str]]:
    """One organisation, ``calls`` seniors each with a queued IVR task and its attempt at the
    gateway; returns (attempt id, CallSid, number called) per call."""
    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from outreach.accounts.operations import create_organisation
    from outreach.calls.models import Attempt
    from outreach.campaigns.models import CampaignKind, CampaignState, Task
    from outreach.campaigns.operations import create_campaign, set_state
    from outreach.campaigns.schedule import paris_today
    from outreach.db import make_engine
    from outreach.roster.models import Senior

    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as s:
        org = create_organisation(s, "bench", "Bailleur du banc d'essai")
        campaign = create_campaign(s, org.id, "Courtoisie", CampaignKind.courtesy,
                                   channel_policy="ivr_then_staff")  # fmt: skip
        set_state(s, campaign, CampaignState.active, now)
        s.execute(insert(Senior), [
            {"organisation_id": org.id, "external_ref": f"W{i:06d}", "last_name": f"Nom{i}",
             "first_name": "Jeanne", "phone_mobile": f"+336{i:08d}", "departement": "37",
             "consent_status": "given", "consent_phone": True, "consent_sms": True}
            for i in range(calls)
        ])  # fmt: skip
        seniors = s.execute(select(Senior.id, Senior.phone_mobile).order_by(Senior.id)).all()
        # Half the tasks are on their first try (the completed callback schedules a retry),
        # half on their last (it hands the task over to the staff queue).
        s.execute(insert(Task), [
            {"organisation_id": org.id, "campaign_id": campaign.id, "senior_id": sid,
             "due_date": paris_today(now), "channel": "ivr", "state": "queued",
             "attempts": 1 if i % 2 == 0 else campaign.max_attempts}
            for i, (sid, _) in enumerate(seniors)
        ])  # fmt: skip
        tasks = s.execute(select(Task.id, Task.senior_id).order_by(Task.id)).all()
        s.execute(insert(Attempt), [
            {"organisation_id": org.id, "task_id": tid, "senior_id": sid, "channel": "ivr",
             "started_at": now - timedelta(seconds=30), "gateway_sid": f"CA{tid:032x}",
             "gateway_status": "queued"}
            for tid, sid in tasks
        ])  # fmt: skip
        s.commit()
        phones = dict(seniors)
        rows = s.execute(
            select(Attempt.id, Attempt.gateway_sid, Attempt.senior_id).order_by(Attempt.id)
        ).all()
    engine.dispose()
    return [(a_id, sid, phones[senior_id]) for a_id, sid, senior_id in rows]


def _apply_inbox(config_path: Path) -> tuple[int, float]:
    """Run the process-webhooks job until the inbox is empty, as the scheduler would."""
    from outreach import create_app
    from outreach.scheduling.runner import run_job

    previous = os.environ.get("OUTREACH_CONFIG")
    os.environ["OUTREACH_CONFIG"] = str(config_path)
    try:
        app = create_app()
    finally:
        if previous is None:
            os.environ.pop("OUTREACH_CONFIG", None)
        else:
            os.environ["OUTREACH_CONFIG"] = previous
    applied = 0
    started = time.perf_counter()
    while True:
        n = int(run_job(app, "process-webhooks").rsplit(" ", 1)[1])
        if n == 0:
            break
        applied += n
    return applied, time.perf_counter() - started


def _outcome(url: str) -> tuple[int, Counter[str]]:
    """Attempts that reached "completed", and the tasks by state and channel afterwards."""
    from sqlalchemy import func, select

    from outreach.calls.models import Attempt
    from outreach.campaigns.models import Task
    from outreach.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        completed = conn.scalar(
            select(func.count()).where(
                Attempt.gateway_status == "completed", Attempt.ended_at.is_not(None)
            )
        )
        tasks = Counter(
            {
                f"{state} {channel}": n
                for state, channel, n in conn.execute(
                    select(Task.state, Task.channel, func.count()).group_by(
                        Task.state, Task.channel
                    )
                )
            }
        )
    engine.dispose()
    return completed or 0, tasks


# -- requests --------------------------------------------------------------------------------


def _requests(
    calls: list[tuple[int, str, str]], base: str, token: str, account_sid: str
) -> list[list[Request]]:
    """Signed status callbacks, dealt to the clients; each client sends a call's four
    callbacks in order, blocks of calls interleaved as Twilio would."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(token)
    clock = datetime.now(UTC)
    per_client: list[list[Request]] = [[] for _ in range(CLIENTS)]
    for c in range(CLIENTS):
        mine = calls[c::CLIENTS]
        for start in range(0, len(mine), BLOCK):
            for seq, stage in enumerate(STAGES):
                for attempt_id, sid, to in mine[start : start + BLOCK]:
                    path = f"/twilio/voice/status?a={attempt_id}"
                    params = _params(account_sid, sid, to, stage, seq, clock, attempt_id)
                    headers = {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "User-Agent": "TwilioProxy/1.1",
                        "X-Twilio-Signature": validator.compute_signature(base + path, params),
                    }
                    per_client[c].append((path, urlencode(params).encode(), headers))
    return per_client


def _params(
    account_sid: str, sid: str, to: str, stage: str, seq: int, clock: datetime, n: int
) -> dict[str, str]:
    """The form of a Twilio call-progress callback (fields as Twilio sends them)."""
    params = {
        "AccountSid": account_sid, "ApiVersion": "2010-04-01", "CallSid": sid,
        "CallStatus": stage, "CallbackSource": "call-progress-events", "Direction": "outbound-api",
        "From": CALLER_ID, "Caller": CALLER_ID, "FromCountry": "FR", "CallerCountry": "FR",
        "FromCity": "", "FromState": "", "FromZip": "", "CallerCity": "", "CallerState": "",
        "CallerZip": "", "To": to, "Called": to, "ToCountry": "FR", "CalledCountry": "FR",
        "ToCity": "", "ToState": "", "ToZip": "", "CalledCity": "", "CalledState": "",
        "CalledZip": "", "SequenceNumber": str(seq),
        "Timestamp": format_datetime(clock + timedelta(seconds=seq * 5)),
    }  # fmt: skip
    if stage in ("in-progress", "completed"):
        params["AnsweredBy"] = "machine_start" if n % 5 == 0 else "human"
    if stage == "completed":
        params["CallDuration"] = str(20 + n % 40)
        params["Duration"] = "1"
    return params


def _check(figures: Figures, what: str) -> None:
    if set(figures.statuses) != {204}:
        hint = (
            " (403: the signature or the URL it covers is wrong)" if 403 in figures.statuses else ""
        )
        raise SystemExit(f"webhooks: {what} answered {dict(figures.statuses)}, not all 204{hint}")


def _median(runs: list[Figures]) -> Figures:
    return sorted(runs, key=lambda f: f.rate)[len(runs) // 2]


def _rates(runs: list[Figures]) -> str:
    return "runs " + ", ".join(f"{f.rate:,.0f}" for f in runs)


# -- the bench -------------------------------------------------------------------------------


def _run(url: str, tmp: Path) -> None:
    from outreach.config import ENV_OVERRIDES, load_config
    from outreach.telephony.gateway import credentials

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config_path = tmp / "outreach.toml"
    config_path.write_text(
        f'[app]\nenv = "production"\nsecret_key = "{os.urandom(24).hex()}"\n'
        f'instance_path = "{tmp}"\n[database]\nurl = "{url}"\n'
        # Production refuses the simulator: the webhooks are those of the Twilio backend,
        # with credentials of this run (nothing is sent to any gateway here).
        f'[telephony]\nbackend = "twilio"\npublic_base_url = "{base}"\n'
        f'account_sid = "AC{os.urandom(16).hex()}"\nauth_token = "{os.urandom(16).hex()}"\n'
        'caller_id = "+33970000000"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
    env["OUTREACH_CONFIG"] = str(config_path)
    account_sid, token = credentials(load_config(environ={"OUTREACH_CONFIG": str(config_path)}))

    calls = _seed(url, WARMUP_CALLS + CALLS)
    warmup = _requests(calls[:WARMUP_CALLS], base, token, account_sid)
    timed = _requests(calls[WARMUP_CALLS:], base, token, account_sid)
    n = sum(len(r) for r in timed)

    # Both servers up at once, loaded in turn (bare, outreach, bare, outreach...): this
    # machine's speed drifts by a third from one minute to the next, so the ratio compares
    # the medians of runs interleaved in time rather than two runs minutes apart. Repeated
    # passes resend the same callbacks, as Twilio's duplicates, which change nothing twice.
    bare_port = free_port()
    bare_runs: list[Figures] = []
    outreach_runs: list[Figures] = []
    with (
        gunicorn("bench.bare_app:app", bare_port, env, tmp / "bare.log", WORKERS, THREADS),
        gunicorn("wsgi:app", port, env, tmp / "outreach.log", WORKERS, THREADS),
    ):
        load(bare_port, warmup)
        _check(load(port, warmup), "outreach (warm-up)")
        for _ in range(ROUNDS):
            bare_runs.append(load(bare_port, timed))
            outreach_runs.append(load(port, timed))
    for run in bare_runs:
        _check(run, "bare Flask")
    for run in outreach_runs:
        _check(run, "outreach")
    bare, outreach = _median(bare_runs), _median(outreach_runs)
    applied, apply_seconds = _apply_inbox(config_path)
    completed, tasks = _outcome(url)
    if completed != len(calls) or any(k.startswith("queued") for k in tasks):
        raise SystemExit(
            f"webhooks: {completed} of {len(calls)} attempts completed, tasks {dict(tasks)}: "
            "the completed callbacks did not all act"
        )
    print(
        f"   webhooks [postgresql; gunicorn {WORKERS} gthread workers x {THREADS} threads; "
        f"{CLIENTS} keep-alive clients]: {n:,} signed status callbacks "
        f"({CALLS:,} calls x {len(STAGES)} stages)"
    )
    print(f"   outreach /twilio/voice/status: {outreach.line()} (median; {_rates(outreach_runs)})")
    print(f"   bare Flask 204:                {bare.line()} (median; {_rates(bare_runs)})")
    ratios = ", ".join(
        f"{o.rate / b.rate:.2f}" for b, o in zip(bare_runs, outreach_runs, strict=True)
    )
    print(f"   ratio {outreach.rate / bare.rate:.2f} (goal >= 0.5; round by round: {ratios})")
    print(
        f"   applied afterwards by the process-webhooks job: {applied:,} callbacks in "
        f"{apply_seconds:.1f} s ({applied / apply_seconds:,.0f}/s, one process)"
    )
    tasks_text = ", ".join(f"{v:,} {k}" for k, v in sorted(tasks.items()))
    print(
        f"   afterwards: {completed:,} attempts completed; tasks: {tasks_text}; "
        f"reconnects {outreach.reconnects}/{bare.reconnects}"
    )


def main() -> None:
    base = postgres_base_url()
    if not base:
        print("   webhooks: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)")
        return
    with tempfile.TemporaryDirectory() as tmp, postgres_database(base) as url:
        _run(url, Path(tmp))


if __name__ == "__main__":
    main()
