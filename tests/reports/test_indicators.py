"""Every figure of ``reports.indicators.compute`` against a small history built by hand.

An association with two landlords (hlm-a, hlm-b), eight seniors chosen for their
départements, ages and phones, a week of tasks, attempts on the three channels (one
corrected, one inbound SMS, one at half past midnight Paris time that is still the day
before in UTC, one just outside each end of the period), alerts acknowledged and resolved
at chosen minutes, referrals, reinforced follow-up, an erased senior, and a third
organisation outside the report whose history must count nowhere.

The period is Monday 6 to Sunday 12 July 2026 (CEST, UTC+2): from 2026-07-05 22:00 UTC to
2026-07-12 22:00 UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outreach.accounts.models import Organisation
from outreach.calls.models import Attempt, AttemptChannel, Disposition, Severity
from outreach.calls.outcomes import Outcome
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy, Task, TaskState
from outreach.escalation.models import Alert, AlertCause, AlertEvent, AlertStatus
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.queue import recording
from outreach.queue.corrections import correct_outcome
from outreach.reports import activity
from outreach.reports.indicators import (
    DIMENSIONS,
    INDICATORS,
    Period,
    compute,
    organisation_ids_for,
    totals,
)
from outreach.reports.labels import DIMENSION_LABELS, INDICATOR_LABELS, key_label
from outreach.roster.models import Area, ConsentStatus, HousingType, Sex
from tests.factories import make_org, make_senior, make_user

PERIOD = Period(date(2026, 7, 6), date(2026, 7, 12))
NOW = datetime(2026, 7, 20, 10, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A UTC moment in July 2026 (Paris is two hours ahead)."""
    return datetime(2026, 7, day, hour, minute, second, tzinfo=UTC)


def _org(session, slug: str, parent: Organisation | None = None) -> Organisation:
    org = make_org(session, slug, slug.upper())
    if parent is not None:
        org.parent_id = parent.id
    session.flush()
    return org


def _attempt(session, senior, channel: AttemptChannel, started: datetime, **fields: Any) -> Attempt:
    attempt = Attempt(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        channel=channel,
        started_at=started,
        **fields,
    )
    session.add(attempt)
    session.flush()
    return attempt


def _alert(session, senior, cause, severity, opened, due, ack=None, resolved=None) -> Alert:
    status = (
        AlertStatus.resolved if resolved else AlertStatus.acknowledged if ack else AlertStatus.open
    )
    alert = Alert(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        cause=cause,
        severity=severity,
        status=status,
        summary="…",
        opened_at=opened,
        due_at=due,
        acknowledged_at=ack,
        resolved_at=resolved,
    )
    session.add(alert)
    session.flush()
    return alert


@pytest.fixture
def history(app, session) -> dict[str, Any]:
    asso = _org(session, "asso")
    a = _org(session, "hlm-a", asso)
    b = _org(session, "hlm-b", asso)
    other = _org(session, "autre")  # not in the report: must count nowhere
    caller_a = make_user(session, a, "caller")
    volunteer_a = make_user(session, a, "volunteer")
    caller_b = make_user(session, b, "caller")
    caller_o = make_user(session, other, "caller")

    s1 = make_senior(  # 75 on the last day (born the day after, 76 years before)
        session, a, departement="37", birth_date=date(1950, 7, 13), sex=Sex.female,
        lives_alone=True, qpv=True, housing_type=HousingType.collectif, area=Area.urbain, gir=4,
    )  # fmt: skip
    s2 = make_senior(  # 65 exactly on the last day; a landline only
        session, a, departement="37", birth_date=date(1961, 7, 12), sex=Sex.male,
        housing_type=HousingType.individuel, area=Area.rural,
        phone_mobile=None, phone_landline="+33247000000",
    )  # fmt: skip
    s3 = make_senior(  # 91, no phone at all
        session, a, departement="41", birth_date=date(1935, 1, 1), sex=Sex.female,
        lives_alone=True, housing_type=HousingType.collectif, area=Area.urbain, gir=2,
        phone_mobile=None,
    )  # fmt: skip
    s4 = make_senior(  # 62, refused consent: not followed, only a call after the period
        session, a, departement="41", birth_date=date(1964, 5, 5), sex=Sex.female,
        consent_status=ConsentStatus.refused,
    )  # fmt: skip
    s5 = make_senior(session, b, departement="45", birth_date=None, sex=None)
    s6 = make_senior(  # 56, has left: targeted before leaving, not followed now
        session, b, departement="45", birth_date=date(1970, 1, 1), sex=Sex.male, active=False,
    )  # fmt: skip
    s7 = make_senior(  # erased: an anonymous remainder whose history still counts
        session, b, departement=None, birth_date=date(1945, 2, 2), sex=Sex.female,
        phone_mobile=None, erased_at=at(15, 9),
    )  # fmt: skip
    s8 = make_senior(  # 86, followed, contacted only just before the period
        session, b, departement="37", birth_date=date(1940, 1, 1), sex=Sex.female,
    )  # fmt: skip
    s9 = make_senior(session, other, departement="37")

    campaigns = {}
    for org in (a, b, other):
        c = Campaign(organisation_id=org.id, name="Courtoisie", kind=CampaignKind.courtesy)
        session.add(c)
        session.flush()
        campaigns[org.id] = c
    for senior, day in [
        (s1, 6), (s1, 8), (s2, 7), (s3, 10), (s5, 12), (s6, 6), (s7, 9), (s9, 8),
        (s8, 5), (s4, 13),  # just outside the period
    ]:  # fmt: skip
        session.add(
            Task(
                organisation_id=senior.organisation_id,
                campaign_id=campaigns[senior.organisation_id].id,
                senior_id=senior.id,
                due_date=date(2026, 7, day),
                channel=ChannelPolicy.staff,
                state=TaskState.done,
            )
        )
    session.flush()

    staff, ivr, sms = AttemptChannel.staff, AttemptChannel.ivr, AttemptChannel.sms
    # s1: a staff call with a concern (6.5 min), an SMS awaiting its reply, the reply "AIDE".
    _attempt(session, s1, staff, at(6, 8), ended_at=at(6, 8, 6, 30), user_id=caller_a.id,
             disposition=Disposition.reached_concern, outcome=Outcome.reached_concern)  # fmt: skip
    _attempt(session, s1, sms, at(8, 7))
    _attempt(session, s1, sms, at(8, 7, 30), direction="inbound", outcome=Outcome.help_requested)
    # s2: an unanswered automated call, SMS "RAPPEL", a volunteer's call (3 min).
    _attempt(session, s2, ivr, at(7, 8), ended_at=at(7, 8, 1), duration_seconds=20,
             outcome=Outcome.unreached)  # fmt: skip
    _attempt(session, s2, sms, at(7, 9), direction="inbound", outcome=Outcome.callback_requested)
    _attempt(session, s2, staff, at(7, 12), ended_at=at(7, 12, 3), user_id=volunteer_a.id,
             disposition=Disposition.reached_later, outcome=Outcome.reached_later)  # fmt: skip
    # s3: recorded "tout va bien", corrected to "pas de réponse"; the gateway's duration
    # (4 min) wins over ended − started (10 min).
    mistaken = _attempt(session, s3, staff, at(10, 9), ended_at=at(10, 9, 10),
                        duration_seconds=240, user_id=caller_a.id,
                        disposition=Disposition.reached_ok, outcome=Outcome.reached_ok)  # fmt: skip
    correct_outcome(
        session,
        app.config["OUTREACH"],
        mistaken,
        caller_a.id,
        recording.Outcome(Disposition.no_answer),
        at(10, 9, 20),
        True,
    )
    # s5: refuses on the last evening (22:30 Paris).
    _attempt(session, s5, ivr, at(12, 20, 30), ended_at=at(12, 20, 31), duration_seconds=15,
             outcome=Outcome.refused)  # fmt: skip
    # s6: 00:30 on Monday in Paris, still Sunday in UTC: inside the period.
    _attempt(session, s6, ivr, at(5, 22, 30), ended_at=at(5, 22, 31), outcome=Outcome.unreached)
    # s6: a staff call never ended (counts as a call, no minutes).
    _attempt(session, s6, staff, at(7, 10), user_id=caller_b.id, outcome=Outcome.unreached)
    # s7: "1" on the automated call.
    _attempt(session, s7, ivr, at(9, 8), ended_at=at(9, 8, 1), duration_seconds=45,
             outcome=Outcome.reached_ok)  # fmt: skip
    # Just outside: 23:30 Paris the day before, 00:10 Paris the day after.
    _attempt(session, s8, staff, at(5, 21, 30), ended_at=at(5, 21, 35), user_id=caller_b.id,
             disposition=Disposition.reached_ok, outcome=Outcome.reached_ok)  # fmt: skip
    _attempt(session, s4, staff, at(12, 22, 10), ended_at=at(12, 22, 20), user_id=caller_a.id,
             disposition=Disposition.reached_ok, outcome=Outcome.reached_ok)  # fmt: skip
    # The other organisation, in the period: counts nowhere.
    _attempt(session, s9, staff, at(8, 8), ended_at=at(8, 8, 5), user_id=caller_o.id,
             disposition=Disposition.reached_ok, outcome=Outcome.reached_ok)  # fmt: skip

    urgent, concern, info = Severity.urgent, Severity.concern, Severity.info
    # Acknowledged after 30, 10 and 90 minutes; resolved after 120 and 240 minutes.
    _alert(session, s1, AlertCause.concern_signal, concern, at(6, 8, 7), at(7, 8, 7),
           ack=at(6, 8, 37), resolved=at(6, 10, 7))  # fmt: skip
    al2 = _alert(session, s3, AlertCause.urgent_signal, urgent, at(10, 9, 5), at(10, 13, 5),
                 ack=at(10, 9, 15), resolved=at(10, 13, 5))  # fmt: skip
    _alert(session, s2, AlertCause.courtesy_unreached, concern, at(7, 12, 5), at(8, 12, 5),
           ack=at(7, 13, 35))  # overdue, acknowledged  # fmt: skip
    _alert(session, s6, AlertCause.canicule_unreached, urgent, at(12, 21), at(12, 23))  # overdue
    # Opened before the period, still open and overdue: overdue now, not "opened".
    al5 = _alert(session, s8, AlertCause.urgent_signal, urgent, at(5, 21, 40), at(6, 1, 40))
    # Opened at midnight Paris after the last day: outside; due after now.
    _alert(session, s5, AlertCause.life_event, info, at(12, 22), at(21, 0))
    s9_alert = _alert(session, s9, AlertCause.urgent_signal, urgent, at(8, 9), at(8, 10))
    for alert, moment in [(al2, at(10, 10)), (al5, at(5, 21, 50)), (s9_alert, at(8, 9, 30))]:
        session.add(AlertEvent(alert_id=alert.id, at=moment, action="reinforced_on"))
    session.add(AlertEvent(alert_id=al5.id, at=at(8, 9), action="acknowledged"))

    partners = {}
    for kind in (PartnerKind.ccas, PartnerKind.clic, PartnerKind.ssiad):
        partners[kind] = Partner(organisation_id=a.id, name=kind.value.upper(), kind=kind)
        session.add(partners[kind])
    other_partner = Partner(organisation_id=other.id, name="CCAS", kind=PartnerKind.ccas)
    session.add(other_partner)
    session.flush()
    for senior, partner, created in [
        (s1, partners[PartnerKind.ccas], at(9, 10)),
        (s1, partners[PartnerKind.clic], at(10, 10)),
        (s3, partners[PartnerKind.ssiad], at(11, 10)),
        (s2, partners[PartnerKind.ccas], at(12, 22, 30)),  # 00:30 Paris after the period
        (s2, partners[PartnerKind.ccas], at(5, 21, 59)),  # 23:59 Paris before it
        (s9, other_partner, at(8, 10)),
    ]:
        session.add(
            Referral(
                organisation_id=senior.organisation_id,
                senior_id=senior.id,
                partner_id=partner.id,
                created_at=created,
            )
        )
    session.commit()
    return {"asso": asso, "a": a, "b": b, "other": other}


def _row(*values: int) -> dict[str, int]:
    assert len(values) == len(INDICATORS)
    return dict(zip(INDICATORS, values, strict=True))


#            fol tgt ph att rch nev ok con cb help ref prt rnf
TOTAL = _row(5, 6, 4, 6, 3, 3, 1, 1, 1, 1, 1, 2, 1)
HLM_A = _row(3, 3, 2, 3, 2, 1, 0, 1, 1, 1, 0, 2, 1)
HLM_B = _row(2, 3, 2, 3, 1, 2, 1, 0, 0, 0, 1, 0, 0)


def test_every_figure_of_an_association(session, history):
    ids = organisation_ids_for(session, history["asso"])
    assert ids == [history["asso"].id, history["a"].id, history["b"].id]
    report = compute(session, ids, PERIOD, now=NOW)

    assert [o["slug"] for o in report["organisations"]] == ["asso", "hlm-a", "hlm-b"]
    assert report["period"] == {"from": "2026-07-06", "to": "2026-07-12"}
    assert report["generated_at"] == "2026-07-20T10:00:00+00:00"
    assert report["indicators"] == TOTAL

    contacts = report["contacts"]
    nonzero = {ch: {k: n for k, n in row.items() if n} for ch, row in contacts.items()}
    assert nonzero == {
        "staff": {"reached_concern": 1, "reached_later": 1, "unreached": 2},
        "ivr": {"unreached": 2, "refused": 1, "reached_ok": 1},
        "sms": {"pending": 1, "help_requested": 1, "callback_requested": 1},
    }
    assert set(contacts["ivr"]) == set(activity.CONTACT_KEYS)  # every column, zeros included

    alerts = report["alerts"]
    assert {k: n for k, n in alerts["by_cause"].items() if n} == {
        "concern_signal": 1,
        "urgent_signal": 1,
        "courtesy_unreached": 1,
        "canicule_unreached": 1,
    }
    assert alerts["by_severity"] == {"info": 0, "concern": 2, "urgent": 2}
    # [10, 30, 90]: median 30; p90 at rank 1.8 → 30 + 0.8 × 60 = 78 (linear interpolation).
    assert alerts["time_to_acknowledge_minutes"] == {"median": 30.0, "p90": 78.0}
    # [120, 240]: median 180; p90 at rank 0.9 → 120 + 0.9 × 120 = 228.
    assert alerts["time_to_resolve_minutes"] == {"median": 180.0, "p90": 228.0}
    assert alerts["overdue_now"] == 3

    assert {k: n for k, n in report["referrals"].items() if n} == {"ccas": 1, "clic": 1, "ssiad": 1}
    # Staff: 6.5 + 4 (the gateway's duration) + 0 (never ended); the volunteer: 3.
    assert report["activity"] == {
        "staff": {"calls": 3, "minutes": 10.5},
        "volunteers": {"calls": 1, "minutes": 3.0},
    }

    by = report["by"]
    assert list(by) == list(DIMENSIONS)
    assert by["landlord"] == {"hlm-a": HLM_A, "hlm-b": HLM_B}
    # Each dimension splits the totals exactly (every senior is in one cell).
    for dimension, cells in by.items():
        for name in INDICATORS:
            assert sum(c[name] for c in cells.values()) == TOTAL[name], (dimension, name)

    #                                     fol tgt ph att rch nev ok con cb help ref prt rnf
    assert by["age_band"] == {
        "<60": _row(0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0),  # s6
        "60-64": _row(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),  # s4
        "65-74": _row(1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0),  # s2, 65 on the last day
        "75-84": _row(1, 2, 1, 2, 2, 0, 1, 1, 0, 1, 0, 1, 0),  # s1 (75 on the last day), s7
        "85+": _row(2, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1),  # s3, s8
        "unknown": _row(1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0),  # s5
    }
    assert by["departement"] == {
        "37": _row(3, 2, 2, 2, 2, 0, 0, 1, 1, 1, 0, 1, 0),  # s1, s2, s8
        "41": _row(1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1),  # s3, s4
        "45": _row(1, 2, 2, 2, 0, 2, 0, 0, 0, 0, 1, 0, 0),  # s5, s6
        "unknown": _row(0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0),  # s7, erased
    }
    assert by["sex"]["H"] == _row(1, 2, 2, 2, 1, 1, 0, 0, 1, 0, 0, 0, 0)  # s2, s6
    assert by["sex"]["unknown"]["refusals"] == 1  # s5
    assert by["lives_alone"]["yes"] == _row(2, 2, 1, 2, 1, 1, 0, 1, 0, 1, 0, 2, 1)  # s1, s3
    assert by["qpv"] == {"no": {n: TOTAL[n] - by["qpv"]["yes"][n] for n in INDICATORS},
                         "yes": _row(1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0)}  # fmt: skip
    assert by["housing_type"]["individuel"] == _row(1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0)
    assert by["area"]["urbain"]["seniors_never_reached"] == 1  # s3
    assert by["gir"]["2"] == _row(1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1)  # s3
    assert by["gir"]["4"]["help_requests"] == 1  # s1
    assert by["gir"]["unknown"]["seniors_followed"] == 3  # s2, s5, s8


def test_one_landlord_alone_has_no_landlord_breakdown(session, history):
    a = history["a"]
    assert organisation_ids_for(session, a) == [a.id]
    report = compute(session, [a.id], PERIOD, now=NOW)
    assert report["indicators"] == HLM_A
    assert "landlord" not in report["by"]
    assert report["by"]["departement"]["41"]["moved_to_reinforced_followup"] == 1
    assert report["alerts"]["overdue_now"] == 1  # s2's
    assert report["activity"]["volunteers"] == {"calls": 1, "minutes": 3.0}


def test_without_breakdowns_the_same_totals(session, history):
    ids = organisation_ids_for(session, history["asso"])
    report = compute(session, ids, PERIOD, now=NOW, breakdowns=False)
    assert report["indicators"] == TOTAL
    assert report["by"] == {}
    assert totals(session, ids, PERIOD) == TOTAL  # the dashboard's shortcut


def test_an_empty_period_counts_the_followed_only(session, history):
    ids = organisation_ids_for(session, history["asso"])
    report = compute(session, ids, Period(date(2026, 1, 5), date(2026, 1, 11)), now=NOW)
    assert report["indicators"] == _row(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert report["alerts"]["time_to_acknowledge_minutes"] == {"median": None, "p90": None}
    assert report["alerts"]["overdue_now"] == 3  # not limited to the period


def test_period_bounds_are_paris_midnights():
    winter = Period(date(2026, 1, 1), date(2026, 1, 31)).utc_bounds()
    assert winter == (datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 1, 31, 23, tzinfo=UTC))
    # The week that springs forward: 23 hours on Sunday 29 March.
    spring = Period(date(2026, 3, 23), date(2026, 3, 29)).utc_bounds()
    assert spring[1] - spring[0] == timedelta(days=7, hours=-1)


def test_percentile_is_linear_between_ranks():
    assert activity.percentile([], 0.5) is None
    assert activity.percentile([7.0], 0.9) == 7.0
    assert activity.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert activity.percentile([0.0, 10.0], 0.9) == 9.0


def test_every_indicator_dimension_and_key_has_a_french_label():
    assert set(INDICATOR_LABELS) == set(INDICATORS)
    assert set(DIMENSION_LABELS) == set(DIMENSIONS)
    assert key_label("age_band", "85+") == "85 ans et plus"
    assert key_label("sex", "unknown") == "Non renseigné"
    assert key_label("gir", "3") == "GIR 3"
    assert key_label("departement", "37") == "37"
    assert key_label("landlord", "hlm-a", {"hlm-a": "HLM A"}) == "HLM A"


def test_the_readme_defines_every_indicator():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Indicators\n")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert [r for r in rows if r in INDICATORS] == list(INDICATORS)
