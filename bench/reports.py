"""Reports and the manager's dashboard over 100,000 seniors with a year of history.

PostgreSQL only (``TEST_DATABASE_URL`` or ``BENCH_DATABASE_URL``; a fresh database is
created and dropped). The dataset: a regional association of three landlords, the first
with ``BENCH_SENIORS`` seniors (100,000 by default), the two others a tenth of that each; a
year of fortnightly courtesy tasks per senior on the staff, IVR or SMS channel with their
attempts (the outcome mix of ``calls.outcomes``), a week of canicule calls in July, alerts
opened by help requests, concerns and repeated silence (acknowledged, resolved, a few moved
to reinforced follow-up), referrals to partners. Figures: the build time, then p50/p95 over
``BENCH_RUNS`` runs (20) after a warm-up of
- ``reports.indicators.compute`` of the last complete quarter, with breakdowns, for the
  landlord and for the association (its three landlords);
- the manager's home dashboard, ``GET /`` through the Flask test client (goal: p95 300 ms).

``python -m bench.reports --keep`` keeps the database and prints its URL, and
``BENCH_REPORTS_URL=<url> python -m bench.reports`` measures an existing one, so that
queries can be tuned without building 7 million rows again.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from bench.support import percentile, postgres_base_url, postgres_database
from outreach.timezone import PARIS

SENIORS = int(os.environ.get("BENCH_SENIORS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
GOAL_MS = 300.0
PASSWORD = "bench password"
MANAGER = "manager@bench.example"
DEPARTEMENTS = (("37", 30), ("45", 22), ("41", 14), ("28", 14), ("18", 10), ("36", 10))
PARTNER_KINDS = ("ccas", "clic", "ssiad", "saad", "croix_rouge", "mairie", "medical", "other")

# Outcome mixes per channel: (disposition or None, outcome, weight). Staff callers choose a
# disposition (busy, voicemail...) that maps to an outcome; the IVR's keys and the SMS words
# map straight to outcomes (calls.outcomes).
STAFF_MIX = (
    ("reached_ok", "reached_ok", 600), ("reached_concern", "reached_concern", 30),
    ("reached_later", "reached_later", 30), ("no_answer", "unreached", 170),
    ("busy", "unreached", 40), ("voicemail", "unreached", 70),
    ("wrong_number", "wrong_number", 10), ("refused", "refused", 5),
    ("absent", "absent", 20), ("deceased", "deceased", 1),
)  # fmt: skip
IVR_MIX = (
    (None, "reached_ok", 540), (None, "reached_concern", 20), (None, "callback_requested", 40),
    (None, "help_requested", 10), (None, "unreached", 370), (None, "wrong_number", 10),
    (None, "refused", 10),
)  # fmt: skip
SMS_MIX = (
    (None, "reached_ok", 500), (None, "callback_requested", 20), (None, "help_requested", 10),
    (None, "unreached", 455), (None, "refused", 15),
)  # fmt: skip
RESOLUTIONS = (("phoned_back", 40), ("home_visit", 15), ("partner_referral", 25),
               ("emergency_services", 3), ("adaptation_request", 5), ("no_action", 12))  # fmt: skip
REACHED = {"reached_ok", "reached_concern", "reached_later", "callback_requested",
           "help_requested"}  # fmt: skip

COLUMNS: dict[str, tuple[str, ...]] = {
    "senior": (
        "id", "organisation_id", "external_ref", "last_name", "first_name", "birth_date", "sex",
        "phone_mobile", "phone_landline", "departement", "housing_type", "area", "qpv",
        "lives_alone", "adapted_housing", "gir", "preferred_channel", "language",
        "canicule_register", "consent_status", "consent_date", "consent_phone", "consent_sms",
        "reinforced_since", "active", "left_reason", "left_on", "created_at", "updated_at",
    ),
    "task": (
        "id", "organisation_id", "campaign_id", "senior_id", "due_date", "state", "channel",
        "priority", "fragility_rank", "attempts", "disposition", "outcome", "completed_at",
        "created_at",
    ),
    "attempt": (
        "id", "organisation_id", "task_id", "senior_id", "channel", "direction", "user_id",
        "started_at", "ended_at", "disposition", "outcome", "duration_seconds",
    ),
    "signal": ("organisation_id", "attempt_id", "senior_id", "kind", "severity", "created_at"),
    "alert": (
        "id", "organisation_id", "senior_id", "cause", "severity", "status", "referent_id",
        "summary", "opened_at", "due_at", "acknowledged_at", "acknowledged_by_id",
        "resolved_at", "resolved_by_id", "resolution",
    ),
    "alert_source": ("alert_id", "kind", "source_id", "created_at"),
    "alert_event": ("alert_id", "at", "user_id", "action", "detail"),
    "referral": ("organisation_id", "senior_id", "partner_id", "alert_id", "user_id",
                 "created_at"),
}  # fmt: skip


class Writer:
    """Buffers rows per table and writes them in the order of ``COLUMNS`` (parents first):
    COPY on PostgreSQL, an executemany of Core inserts elsewhere."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        self.counts = dict.fromkeys(COLUMNS, 0)
        self.postgres = conn.dialect.name == "postgresql"

    def add(self, table: str, *row: Any) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        from outreach.db import Base

        for name, cols in COLUMNS.items():
            rows = self.rows[name]
            if not rows:
                continue
            self.counts[name] += len(rows)
            if self.postgres:
                raw = self.conn.connection.driver_connection
                assert raw is not None
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            else:
                table: Table = Base.metadata.tables[name]
                self.conn.execute(table.insert(), [dict(zip(cols, r, strict=True)) for r in rows])
            rows.clear()


@dataclass
class Dataset:
    """What ``build`` made: the ids to measure with, and how many rows of each table."""

    association_id: int
    org_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Org:
    id: int
    campaigns: dict[str, int]  # channel -> courtesy campaign id; "canicule" -> its id
    staff: list[int]
    volunteers: list[int]
    social_workers: list[int]
    partners: list[int]


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    total = sum(w[-1] for w in weighted)
    r = rng.random() * total
    for item in weighted:
        r -= item[-1]
        if r < 0:
            return item
    return weighted[-1]


def _people(session: Any, slug: str, name: str, parent: str | None) -> _Org:
    from outreach.accounts.models import Role
    from outreach.accounts.operations import create_organisation, create_user
    from outreach.campaigns.models import CampaignKind, CampaignState, ChannelPolicy
    from outreach.campaigns.operations import create_campaign
    from outreach.partners.models import Partner

    org = create_organisation(session, slug, name, parent)
    session.flush()

    def users(role: Role, n: int) -> list[int]:
        made = [
            create_user(
                session,
                f"{role.value}{i}@{slug}.example",
                f"{role.value} {i}",
                PASSWORD,
                [(org, role)],
            )  # fmt: skip
            for i in range(n)
        ]
        session.flush()
        return [u.id for u in made]

    campaigns = {}
    for channel in (ChannelPolicy.staff, ChannelPolicy.ivr, ChannelPolicy.sms):
        c = create_campaign(session, org.id, f"Courtoisie {channel.value}", CampaignKind.courtesy,
                            cadence=[{"every_days": 14}], channel_policy=channel)  # fmt: skip
        c.state = CampaignState.active
        campaigns[channel.value] = c
    canicule = create_campaign(session, org.id, "Canicule juillet", CampaignKind.canicule,
                               targeting={"departements": ["37"]})  # fmt: skip
    canicule.state = CampaignState.closed
    campaigns["canicule"] = canicule
    partners = [
        Partner(organisation_id=org.id, name=f"Partenaire {kind}", kind=kind, departements=[])
        for kind in PARTNER_KINDS
    ]
    session.add_all(partners)
    session.flush()
    return _Org(
        id=org.id,
        campaigns={k: c.id for k, c in campaigns.items()},
        staff=users(Role.caller, 6),
        volunteers=users(Role.volunteer, 4),
        social_workers=users(Role.social_worker, 2),
        partners=[p.id for p in partners],
    )


class _Ids:
    def __init__(self) -> None:
        self.senior = self.task = self.attempt = self.alert = 0

    def next(self, kind: str) -> int:
        value = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


def _senior(rng: random.Random, ids: _Ids, org: _Org, now: datetime) -> dict[str, Any]:
    """One senior's row (written by the caller once her history is known)."""
    today = now.astimezone(PARIS).date()
    sid = ids.next("senior")
    age = _pick(rng, ((60, 65, 10), (65, 75, 40), (75, 85, 35), (85, 97, 15)))
    birth = today - timedelta(days=rng.randint(age[0] * 365 + 1, age[1] * 365 - 1))
    mobile = rng.random() < 0.7
    landline = rng.random() < (0.25 if mobile else 0.8)
    consent = _pick(rng, (("given", 93), ("unknown", 4), ("refused", 2), ("withdrawn", 1)))[0]
    active = rng.random() < 0.97
    return {
        "id": sid,
        "organisation_id": org.id,
        "external_ref": f"R{sid:08d}",
        "last_name": f"Nom{sid}",
        "first_name": "Prénom",
        "birth_date": birth,
        "sex": _pick(rng, (("F", 60), ("H", 38), (None, 2)))[0],
        "phone_mobile": f"+336{sid:08d}" if mobile else None,
        "phone_landline": f"+332{sid:08d}" if landline else None,
        "departement": _pick(rng, (*DEPARTEMENTS, (None, 1)))[0],
        "housing_type": _pick(rng, (("collectif", 75), ("individuel", 23), (None, 2)))[0],
        "area": _pick(rng, (("urbain", 70), ("rural", 28), (None, 2)))[0],
        "qpv": rng.random() < 0.3,
        "lives_alone": rng.random() < 0.45,
        "adapted_housing": rng.random() < 0.2,
        "gir": rng.choice((None, None, None, None, None, None, 4, 5, 6, 6, 3, 2)),
        "preferred_channel": "phone",
        "language": "fr",
        "canicule_register": rng.random() < 0.2,
        "consent_status": consent,
        "consent_date": today - timedelta(days=400) if consent != "unknown" else None,
        "consent_phone": consent == "given",
        "consent_sms": consent == "given",
        "reinforced_since": None,
        "active": active,
        "left_reason": None if active else rng.choice(("moved", "ehpad", "deceased")),
        "left_on": None if active else today - timedelta(days=rng.randint(1, 330)),
        "created_at": now - timedelta(days=400),
        "updated_at": now - timedelta(days=400),
    }


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, dtime(9, 0), PARIS).astimezone(UTC) + timedelta(minutes=minutes)


class _Alerts:
    """Alerts of one senior: a fact joins the alert of its cause while it is not resolved
    (the rule of ``uq_alert_open_cause``), else opens a new one."""

    def __init__(self, w: Writer, rng: random.Random, ids: _Ids, org: _Org, now: datetime):
        self.w, self.rng, self.ids, self.org, self.now = w, rng, ids, org, now
        self.open_until: dict[str, datetime | None] = {}
        self.reinforced: date | None = None

    def fact(self, senior: dict[str, Any], cause: str, severity: str, at: datetime,
             attempt_id: int | None) -> None:  # fmt: skip
        until = self.open_until.get(cause, at)
        if cause in self.open_until and (until is None or until > at):
            return  # joins the alert still open
        rng, w = self.rng, self.w
        aid = self.ids.next("alert")
        referent = rng.choice(self.org.social_workers)
        due = at + (timedelta(hours=4) if severity == "urgent" else timedelta(days=2))
        ack = at + timedelta(minutes=rng.lognormvariate(4.0 if severity == "urgent" else 6.0, 1))
        res = ack + timedelta(minutes=rng.lognormvariate(7.0, 1.2))
        status = "resolved" if res <= self.now else "acknowledged" if ack <= self.now else "open"
        resolution = _pick(rng, RESOLUTIONS)[0] if status == "resolved" else None
        w.add("alert", aid, self.org.id, senior["id"], cause, severity, status, referent,
              "Alerte du banc d'essai", at, due, ack if status != "open" else None,
              referent if status != "open" else None, res if resolution else None,
              referent if resolution else None, resolution)  # fmt: skip
        if attempt_id is not None:
            w.add("alert_source", aid, "attempt", attempt_id, at)
        w.add("alert_event", aid, at, None, "opened", None)
        if status != "open":
            w.add("alert_event", aid, ack, referent, "acknowledged", None)
        if resolution:
            w.add("alert_event", aid, res, referent, "resolved", resolution)
            if resolution == "partner_referral":
                w.add("referral", self.org.id, senior["id"], rng.choice(self.org.partners), aid,
                      referent, res)  # fmt: skip
            if severity != "info" and self.reinforced is None and rng.random() < 0.15:
                w.add("alert_event", aid, res, referent, "reinforced_on", None)
                self.reinforced = res.astimezone(PARIS).date()
        self.open_until[cause] = res if resolution else None


def _history(w: Writer, rng: random.Random, ids: _Ids, org: _Org, senior: dict[str, Any],
             now: datetime, heatwave: Sequence[date]) -> None:  # fmt: skip
    """A year of a senior's tasks, attempts, signals and alerts."""
    today = now.astimezone(PARIS).date()
    if senior["consent_status"] != "given" or not (
        senior["phone_mobile"] or senior["phone_landline"]
    ):
        return
    channel = _pick(rng, (("staff", 50), ("ivr", 35), ("sms", 15)))[0]
    if channel == "sms" and not senior["phone_mobile"]:
        channel = "ivr"
    mix = {"staff": STAFF_MIX, "ivr": IVR_MIX, "sms": SMS_MIX}[channel]
    alerts = _Alerts(w, rng, ids, org, now)
    last_day = senior["left_on"] or today
    offset = senior["id"] % 14
    days = [(today - timedelta(days=k * 14 + offset), channel, org.campaigns[channel], 100)
            for k in range(26, -1, -1)]  # fmt: skip
    if senior["departement"] == "37":
        days += [(d, "staff", org.campaigns["canicule"], 0) for d in heatwave]
    unreached_run = 0
    for day, chan, campaign_id, priority in sorted(days, key=lambda d: d[0]):
        if day > last_day or day <= today - timedelta(days=365):
            continue
        tid = ids.next("task")
        if day == today:
            w.add("task", tid, org.id, campaign_id, senior["id"], day, "pending", chan,
                  priority, 11, 0, None, None, None, now - timedelta(hours=4))  # fmt: skip
            continue
        minute = rng.randint(0, 540)
        outcome: str = "unreached"
        disposition: str | None = None
        tries = 0
        while tries < 3:
            tries += 1
            aid = ids.next("attempt")
            disposition, outcome, _ = _pick(rng, mix if chan == channel else STAFF_MIX)
            started = _at(day, minute)
            reached = outcome in REACHED
            user: int | None = None
            seconds: int | None = None
            if chan == "staff":
                user = rng.choice(org.staff if rng.random() < 0.7 else org.volunteers)
                seconds = rng.randint(240, 720) if reached else rng.randint(0, 40)
            else:
                seconds = rng.randint(40, 100) if reached and chan == "ivr" else None
            ended = started + timedelta(seconds=seconds or 1)
            w.add("attempt", aid, org.id, tid, senior["id"], chan, "outbound", user, started,
                  ended, disposition, outcome, seconds)  # fmt: skip
            if outcome == "help_requested":
                alerts.fact(senior, "help_requested", "urgent", ended, aid)
            elif outcome == "reached_concern":
                kind = rng.choice(("isolation", "health_worsening", "mobility", "fall"))
                severity = "urgent" if kind == "fall" else "concern"
                w.add("signal", org.id, aid, senior["id"], kind, severity, ended)
                cause = "urgent_signal" if severity == "urgent" else "concern_signal"
                alerts.fact(senior, cause, severity, ended, aid)
            if outcome != "unreached":
                break
            minute += 90
        unreached_run = unreached_run + 1 if outcome == "unreached" else 0
        if unreached_run == 3 and priority == 100:
            alerts.fact(senior, "courtesy_unreached", "concern", _at(day, minute + 60), None)
        elif outcome == "unreached" and priority == 0:
            alerts.fact(senior, "canicule_unreached", "urgent", _at(day, minute + 60), None)
        w.add("task", tid, org.id, campaign_id, senior["id"], day, "done", chan, priority, 11,
              tries, disposition or outcome, outcome, _at(day, minute + 5),
              datetime.combine(day, dtime(5), PARIS))  # fmt: skip
    senior["reinforced_since"] = alerts.reinforced


def build(session: Any, seniors: int, now: datetime, seed: int = 11) -> Dataset:
    """The dataset described in this module's docstring, in ``session``'s transaction:
    ``seniors`` for the first landlord and a tenth of that for each of two others."""
    from outreach.accounts.models import Role
    from outreach.accounts.operations import create_organisation, create_user, get_organisation

    rng = random.Random(seed)
    assoc = create_organisation(session, "bench-asso", "Association régionale")
    session.flush()
    orgs = [
        _people(session, "bench", "Bailleur du banc d'essai", "bench-asso"),
        *(_people(session, f"bench-{n}", f"Bailleur {n}", "bench-asso") for n in (2, 3)),
    ]
    main = get_organisation(session, "bench")
    assert main is not None
    create_user(session, MANAGER, "Responsable", PASSWORD, [(main, Role.manager)])
    session.flush()

    today = now.astimezone(PARIS).date()
    july = date(today.year if today.month > 7 else today.year - 1, 7, 20)
    heatwave = [july + timedelta(days=i) for i in range(6)]
    w = Writer(session.connection())
    ids = _Ids()
    for org, n in zip(orgs, (seniors, seniors // 10, seniors // 10), strict=True):
        batch: list[dict[str, Any]] = []
        for _ in range(n):
            senior = _senior(rng, ids, org, now)
            _history(w, rng, ids, org, senior, now, heatwave)
            batch.append(senior)
            if len(batch) >= 2000:
                _flush_seniors(w, batch)
        _flush_seniors(w, batch)
    if w.postgres:
        for table in ("senior", "task", "attempt", "alert"):
            session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            ))  # fmt: skip
    return Dataset(assoc.id, [o.id for o in orgs], dict(w.counts))


def _flush_seniors(w: Writer, batch: list[dict[str, Any]]) -> None:
    # Seniors go first (the writer's table order), so that their rows can carry what their
    # history decided (reinforced follow-up).
    w.rows["senior"] = [tuple(s[c] for c in COLUMNS["senior"]) for s in batch]
    w.flush()
    batch.clear()


def last_quarter(today: date) -> tuple[date, date]:
    """The last complete calendar quarter before ``today``."""
    first_month = (today.month - 1) // 3 * 3 + 1
    end = date(today.year, first_month, 1) - timedelta(days=1)
    start = date(end.year, end.month - 2, 1)
    return start, end


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), percentile(times, 0.95), times[-1]


def _line(label: str, figures: tuple[float, float, float]) -> str:
    p50, p95, worst = figures
    verdict = "ok" if p95 <= GOAL_MS else "OVER"
    return (
        f"   {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms "
        f"(goal p95 <= {GOAL_MS:.0f} ms: {verdict}; {RUNS} runs)"
    )


def _app(url: str) -> Any:
    from outreach import create_app

    return create_app(
        {
            "app": {"env": "testing", "secret_key": "bench", "login_rate_limit": "100000/minute"},
            "database": {"url": url},
            "scheduler": {"run_in_serve": False},
        }
    )


def measure(url: str, dataset: Dataset | None, now: datetime) -> None:
    """Print the figures of the reports and the dashboard on the database at ``url``."""
    from outreach.db import session_scope

    app = _app(url)
    with app.app_context(), session_scope() as session:
        if dataset is None:
            ids = session.execute(text(
                "SELECT o.id, o.parent_id FROM organisation o WHERE o.slug LIKE 'bench%' "
                "ORDER BY o.id"
            )).all()  # fmt: skip
            org_ids = [i for i, parent in ids if parent is not None]
            dataset = Dataset(next(i for i, parent in ids if parent is None), org_ids)
        start, end = last_quarter(now.astimezone(PARIS).date())
        try:
            from outreach.reports import rollups
            from outreach.reports.indicators import Period, compute
        except ImportError:
            print("   reports.indicators: not there yet, skipped")
        else:
            # What the nightly report-rollups job does (nothing when a kept database has them).
            started = time.perf_counter()
            built = rollups.run(session, now, settle_days=7)
            session.commit()
            print(
                f"   rollups: {len(built)} month(s) built in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            period = Period(start, end)
            for label, org_ids in (
                ("landlord", dataset.org_ids[:1]),
                ("association", dataset.org_ids),
            ):

                def run(o: list[int] = org_ids) -> Any:
                    return compute(session, o, period, now=now, breakdowns=True)

                figures = _timed(run, RUNS)
                print(_line(f"indicators.compute {start}..{end} [{label}]", figures), flush=True)
        session.rollback()
    client = app.test_client()
    page = client.get("/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert match, "no CSRF token on the login page"
    client.post("/login", data={"email": MANAGER, "password": PASSWORD,
                                "csrf_token": match.group(1)})  # fmt: skip

    def home() -> None:
        resp = client.get("/")
        assert resp.status_code == 200, resp.status_code

    print(_line("GET / as a manager", _timed(home, RUNS)), flush=True)
    app.extensions["outreach.engine"].dispose()


def _build_into(url: str, now: datetime) -> Dataset:
    from outreach.db import session_scope

    app = _app(url)
    started = time.perf_counter()
    with app.app_context(), session_scope() as session:
        dataset = build(session, SENIORS, now)
    with app.extensions["outreach.engine"].connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    app.extensions["outreach.engine"].dispose()
    c = dataset.counts
    print(
        f"   dataset: {c['senior']:,} seniors in 3 landlords, {c['task']:,} tasks, "
        f"{c['attempt']:,} attempts, {c['alert']:,} alerts, {c['referral']:,} referrals; "
        f"built in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return dataset


def main(argv: Iterable[str] = ()) -> None:
    args = list(argv) or sys.argv[1:]
    now = datetime.now(UTC)  # the dashboard reads the real clock: the history ends today
    existing = os.environ.get("BENCH_REPORTS_URL")
    if existing:
        measure(existing, None, now)
        return
    base = postgres_base_url()
    if not base:
        print("   postgresql: skipped (set TEST_DATABASE_URL or BENCH_DATABASE_URL)")
        return
    if "--keep" in args:
        # Left for the next runs; drop it by hand. The context manager is never exited: its
        # generator's ``finally`` would drop the database when collected, even at exit, hence
        # the os._exit at the end.
        kept = postgres_database(base)
        url = kept.__enter__()
        print(f"   kept: BENCH_REPORTS_URL={url}", flush=True)
        try:
            measure(url, _build_into(url, now), now)
        except Exception:
            import traceback

            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    with postgres_database(base) as url:
        measure(url, _build_into(url, now), now)


if __name__ == "__main__":
    main()
