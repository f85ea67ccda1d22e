"""The report read from the rollups equals the report computed from scratch.

A history by hand over January–March 2026 (Paris is UTC+1): an association of two
landlords, seniors contacted in several months (distinct across the seam), attempts on the
three channels at half past midnight Paris on a month's first day (still the previous month
in UTC), an inbound SMS, calls of a volunteer and of a caller never ended, referrals and
reinforced follow-up, alerts. NOW is 1 May 2026: January to April are closed and settled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import delete, select

from outreach.calls.models import Attempt, AttemptChannel, Disposition, Severity
from outreach.calls.outcomes import Outcome
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task, TaskState
from outreach.escalation.models import AlertCause, AlertEvent
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.queue import recording
from outreach.queue.corrections import correct_outcome
from outreach.reports import rollups
from outreach.reports.indicators import Period, compute, organisation_ids_for, totals
from outreach.reports.models import ReportRollupMonth
from tests.factories import make_senior, make_user
from tests.reports.test_indicators import _alert, _attempt, _org

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
QUARTER = Period(date(2026, 1, 1), date(2026, 3, 31))
STRADDLE = Period(date(2026, 1, 20), date(2026, 2, 28))  # Jan partial, Feb whole
INSIDE = Period(date(2026, 2, 10), date(2026, 3, 5))  # no whole month: days only


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def history(app, session) -> dict[str, Any]:
    asso = _org(session, "asso")
    a, b = _org(session, "hlm-a", asso), _org(session, "hlm-b", asso)
    caller = make_user(session, a, "caller")
    volunteer = make_user(session, a, "volunteer")
    caller_b = make_user(session, b, "caller")
    seniors = [make_senior(session, a, departement="37") for _ in range(4)]
    seniors += [make_senior(session, b, departement="45", phone_mobile=None) for _ in range(3)]
    campaigns = {}
    for org in (a, b):
        campaigns[org.id] = Campaign(organisation_id=org.id, name="C", kind=CampaignKind.courtesy)
        session.add(campaigns[org.id])
    session.flush()
    staff, ivr, sms = AttemptChannel.staff, AttemptChannel.ivr, AttemptChannel.sms
    cycle = [
        (staff, Outcome.reached_ok, "caller"),
        (ivr, Outcome.unreached, None),
        (sms, Outcome.help_requested, None),
        (staff, Outcome.reached_concern, "volunteer"),
        (ivr, Outcome.callback_requested, None),
        (staff, Outcome.refused, "caller"),
        (sms, None, None),
    ]
    n = 0
    for month in (1, 2, 3):
        for i, s in enumerate(seniors):
            if (i + month) % 3 == 0:
                continue  # not every senior every month
            session.add(
                Task(
                    organisation_id=s.organisation_id,
                    campaign_id=campaigns[s.organisation_id].id,
                    senior_id=s.id,
                    due_date=date(2026, month, 1 + (i * 4) % 27),
                    channel=ChannelPolicy.staff,
                    state=TaskState.done,
                )
            )
            channel, outcome, user = cycle[n % len(cycle)]
            n += 1
            started = utc(month, 2 + (i * 5) % 25, 9, i)
            users = (
                {"caller": caller, "volunteer": volunteer}
                if s.organisation_id == a.id
                else {"caller": caller_b}
            )
            user_id = users[user].id if user in users else None
            _attempt(session, s, channel, started, outcome=outcome, user_id=user_id,
                     ended_at=utc(month, 2 + (i * 5) % 25, 9, 10 + i) if i % 2 else None,
                     duration_seconds=60 * i if i % 3 == 0 else None)  # fmt: skip
    # 00:30 Paris on 1 February and 1 March: still January / February in UTC.
    for month, s in ((2, seniors[0]), (3, seniors[4])):
        who = caller if s.organisation_id == a.id else caller_b
        last_day = utc(month - 1, 28 if month == 3 else 31, 23, 30)
        _attempt(session, s, AttemptChannel.staff, last_day, outcome=Outcome.reached_ok,
                 user_id=who.id, disposition=Disposition.reached_ok)  # fmt: skip
    _attempt(session, seniors[1], sms, utc(2, 14, 8), direction="inbound",
             outcome=Outcome.callback_requested)  # fmt: skip
    partner = Partner(organisation_id=a.id, name="CCAS", kind=PartnerKind.ccas)
    session.add(partner)
    session.flush()
    for s, when in ((seniors[0], utc(1, 10, 9)), (seniors[2], utc(2, 27, 23, 30)),
                    (seniors[2], utc(3, 3, 9))):  # fmt: skip
        session.add(Referral(organisation_id=s.organisation_id, senior_id=s.id,
                             partner_id=partner.id, created_at=when))  # fmt: skip
    for s, opened in (
        (seniors[3], utc(1, 5, 9)),
        (seniors[5], utc(2, 20, 9)),
        (seniors[1], utc(3, 30, 9)),
    ):
        alert = _alert(session, s, AlertCause.concern_signal, Severity.concern, opened,
                       utc(4, 1, 9), ack=opened.replace(hour=10),
                       resolved=opened.replace(hour=12))  # fmt: skip
        session.add(
            AlertEvent(alert_id=alert.id, at=opened.replace(hour=11), action="reinforced_on")
        )
    session.commit()
    return {"asso": asso, "a": a, "caller": caller, "seniors": seniors}


def live(session, ids, period) -> dict[str, Any]:
    """The report without any rollup (the rows dropped in a savepoint, rolled back)."""
    with session.begin_nested() as savepoint:
        session.execute(delete(ReportRollupMonth))
        report = compute(session, ids, period, now=NOW)
        savepoint.rollback()
    return report


def test_rollups_equal_the_live_figures(app, session, history):
    ids = organisation_ids_for(session, history["asso"])
    periods = (QUARTER, STRADDLE, INSIDE)
    before = {p: compute(session, ids, p, now=NOW) for p in periods}
    assert before[QUARTER]["indicators"]["seniors_targeted"] == 7

    built = rollups.run(session, NOW, settle_days=7)
    assert built == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    session.commit()
    assert rollups.split_period(session, QUARTER).months == tuple(built[:3])
    assert rollups.split_period(session, STRADDLE).live == (
        Period(date(2026, 1, 20), date(2026, 1, 31)),
    )
    for period in periods:
        assert compute(session, ids, period, now=NOW) == before[period], period
    assert totals(session, ids, QUARTER) == before[QUARTER]["indicators"]
    # January to March are settled; April ended yesterday: rebuilt until it settles.
    assert rollups.run(session, NOW, settle_days=7) == [date(2026, 4, 1)]

    # A correction in February marks the month stale: it is read live, then rebuilt.
    feb = session.scalars(
        select(Attempt).where(Attempt.channel == AttemptChannel.staff,
                              Attempt.started_at >= utc(2, 1, 0),
                              Attempt.started_at < utc(2, 28, 0),
                              Attempt.outcome == Outcome.reached_ok,
                              Attempt.organisation_id == history["a"].id)
    ).first()  # fmt: skip
    assert feb is not None
    with time_machine.travel(NOW, tick=False):
        correct_outcome(session, app.config["OUTREACH"], feb, history["caller"].id,
                        recording.Outcome(Disposition.no_answer), NOW, True)  # fmt: skip
        session.commit()
    assert session.get(ReportRollupMonth, date(2026, 2, 1)).stale
    fresh = {p: live(session, ids, p) for p in periods}
    assert fresh[QUARTER] != before[QUARTER]
    for period in periods:
        assert compute(session, ids, period, now=NOW) == fresh[period], period
    assert rollups.run(session, NOW, settle_days=7) == [date(2026, 2, 1), date(2026, 4, 1)]
    session.commit()
    assert date(2026, 2, 1) in rollups.split_period(session, QUARTER).months
    for period in periods:
        assert compute(session, ids, period, now=NOW) == fresh[period], period

    # The rolled months are read from the rollups: purge the quarter's attempts behind the
    # listener's back (as retention does) and its figures stay.
    session.execute(delete(Attempt).where(Attempt.started_at < utc(3, 31, 22)))
    assert compute(session, ids, QUARTER, now=NOW)["contacts"] == fresh[QUARTER]["contacts"]
    assert totals(session, ids, QUARTER) == fresh[QUARTER]["indicators"]
    session.rollback()


def test_a_recent_month_is_read_live_until_settled(session, history):
    ids = organisation_ids_for(session, history["asso"])
    april_3 = datetime(2026, 4, 3, 10, tzinfo=UTC)  # March ended 3 days ago
    assert rollups.run(session, april_3, settle_days=7) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert rollups.split_period(session, QUARTER).months == (date(2026, 1, 1), date(2026, 2, 1))
    assert compute(session, ids, QUARTER, now=NOW) == live(session, ids, QUARTER)
    # Not settled: rebuilt on each run until it is.
    assert rollups.run(session, april_3, settle_days=7) == [date(2026, 3, 1)]
    assert rollups.run(session, NOW, settle_days=7, rebuild=True)[:3] == [
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    ]  # fmt: skip


def test_the_rollup_command(app, session, history):
    from flask.cli import ScriptInfo

    from outreach.cli import cli

    def run(*args: str):
        return CliRunner().invoke(cli, ["report", *args], obj=ScriptInfo(create_app=lambda: app))

    with time_machine.travel(NOW, tick=False):
        first = run("rollup")
        again = run("rollup", "--rebuild")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "4 month(s) built: 2026-01..2026-04"
    assert again.output.strip() == "4 month(s) built: 2026-01..2026-04"
    assert run("--from", "2026-01-01").exit_code == 2  # the report still wants --org
