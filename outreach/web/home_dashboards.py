"""What the home page adds for each role: the manager's week, the caller's calls of the
day, the referent's follow-ups, the association's landlords side by side.

The figures come from ``outreach.reports.dashboard`` (and the indicators module through
it); this module only scopes the organisations, shapes the chart and names things in
French. ``views.home`` merges what it returns into the page's context.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import flash, request
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from outreach.accounts import access
from outreach.accounts.models import Role
from outreach.calls.outcomes import LABELS as OUTCOME_LABELS
from outreach.calls.outcomes import Outcome
from outreach.campaigns import stats
from outreach.db import get_session
from outreach.reports import dashboard
from outreach.reports.indicators import compute
from outreach.reports.labels import INDICATOR_LABELS
from outreach.web.campaign_forms import KIND_LABELS
from outreach.web.charts import Chart, Series

# The columns of the association's table: key indicators of the week, per landlord.
LANDLORD_FIGURES = (
    "seniors_followed",
    "seniors_targeted",
    "seniors_attempted",
    "seniors_reached",
    "seniors_never_reached",
    "help_requests",
    "concerns",
)


def _day_label(day: date) -> str:
    """A short French day name for a bar: "lun. 23"."""
    return str(format_date(day, "EEE d"))


def week_chart(days: list[dashboard.DayReach]) -> Chart:
    """Reached / not reached seniors per day of the week, as a stacked bar chart."""
    return Chart(
        id="chart-week",
        title=str(_l("Seniors joints et non joints, jour par jour")),
        description=str(
            _l(
                "Pour chaque jour de la semaine, le nombre de seniors appelés qui ont "
                "répondu et de ceux qui n'ont pas été joints ce jour-là."
            )
        ),
        category_label=str(_l("Jour")),
        categories=[_day_label(d.day) for d in days],
        series=[
            Series(str(_l("Joints")), [d.reached for d in days], "reached"),
            Series(str(_l("Non joints")), [d.not_reached for d in days], "unreached"),
        ],
    )


def chosen_monday(today: date, asked: str | None) -> date:
    """The Monday of the week asked for by ``?semaine=YYYY-MM-DD`` (any day of it); this
    week when nothing, a date that is not one (with a message) or a week to come is asked."""
    this_week = dashboard.monday_of(today)
    if not asked:
        return this_week
    try:
        monday = dashboard.monday_of(date.fromisoformat(asked.strip()))
    except ValueError:
        flash(
            gettext("Date de semaine invalide (attendue : AAAA-MM-JJ) : voici cette semaine."),
            "error",
        )
        return this_week
    if monday > this_week:
        flash(gettext("Cette semaine n'a pas encore commencé : voici la semaine en cours."), "info")
        return this_week
    return monday


def manager_week(now: datetime, today: date) -> dict[str, Any] | None:
    """The manager's week (Monday to Sunday, ``?semaine=`` picks it), or None for a user
    who manages no organisation."""
    ids = access.org_ids("campaigns.manage")
    if not ids:
        return None
    session = get_session()
    monday = chosen_monday(today, request.args.get("semaine"))
    period = dashboard.week_starting(monday)
    days = dashboard.reach_by_day(session, ids, period)
    campaigns = dashboard.running_campaigns(session, ids)
    landlords = dashboard.member_landlords(session, ids)
    return {
        "period": period,
        "monday": monday,
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7) if monday < dashboard.monday_of(today) else None,
        "today": today,
        "figures": dashboard.week_figures(session, ids, period, now),
        "chart": week_chart(days),
        "unreached": dashboard.long_unreached(session, ids, now),
        "unreached_days": dashboard.UNREACHED_DAYS,
        "overdue": dashboard.overdue_alerts(session, ids, now),
        "campaigns": campaigns,
        "campaign_counts": stats.day_counts(session, [c.id for c in campaigns], today),
        "landlords": [
            (
                org,
                compute(session, [org.id], period, now=now, breakdowns=False)["indicators"],
            )
            for org in landlords
        ],
        "landlord_figures": LANDLORD_FIGURES,
    }


def caller_day(today: date) -> dict[Outcome | None, int] | None:
    """The user's own calls of the day by outcome, for whoever works the queue."""
    if not access.can("queue.work"):
        return None
    return dashboard.my_calls_today(
        get_session(), access.org_ids("queue.work"), current_user.id, today
    )


def follow_ups(today: date) -> dict[str, Any] | None:
    """The follow-ups due of a referent social worker; None for everyone else."""
    if not any(m.role == Role.social_worker for m in current_user.memberships):
        return None
    total, rows = dashboard.follow_ups_due(
        get_session(), access.org_ids("alerts.view"), current_user.id, today
    )
    return {"total": total, "rows": rows}


def context(now: datetime, today: date) -> dict[str, Any]:
    """Everything the home page adds to what it showed before the dashboards."""
    return {
        "week": manager_week(now, today),
        "my_calls": caller_day(today),
        "follow_ups": follow_ups(today),
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "CAMPAIGN_KIND_LABELS": KIND_LABELS,
        "indicator_label": lambda name: INDICATOR_LABELS.get(name, name),
    }
