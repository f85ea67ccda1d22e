"""Home page: the way to the day's work, for each kind of user.

A caller or a volunteer comes to call: the page leads with a big "Ma file du jour" button
and what is left to do today. A social worker comes for her alerts. Managers get the
pages they run. Everyone sees their organisations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from outreach.accounts import access
from outreach.accounts.models import Role
from outreach.campaigns.schedule import paris_today
from outreach.db import get_session
from outreach.escalation.models import Alert, AlertStatus
from outreach.queue.operations import QueueCounters, QueueFilters, counters
from outreach.web import home_dashboards

bp = Blueprint("views", __name__)

# Whose home is the queue: the people whose job is to call.
CALLING_ROLES = frozenset({Role.caller, Role.volunteer})
# Alerts still to handle (new or acknowledged).
ALERTS_TODO = (AlertStatus.open, AlertStatus.acknowledged)


def _now() -> datetime:
    return datetime.now(UTC)


def _queue_counts(now: datetime) -> QueueCounters | None:
    """What is left in the user's queue today, for the people who call; None otherwise."""
    roles = {m.role for m in current_user.memberships}
    if not roles & CALLING_ROLES or not access.can("queue.work"):
        return None
    ids = access.org_ids("queue.work")
    return counters(get_session(), ids, current_user.id, paris_today(now), now, QueueFilters())


def _my_alerts(now: datetime) -> dict[str, Any] | None:
    """The alerts the user is the referent of and has still to handle; None without
    alerts.view (volunteers and callers never see alerts)."""
    if not access.can("alerts.view"):
        return None
    stmt = select(func.count(Alert.id), func.count(Alert.id).filter(Alert.due_at < now)).where(
        Alert.referent_id == current_user.id, Alert.status.in_(ALERTS_TODO)
    )
    row = get_session().execute(access.scoped(stmt, Alert, "alerts.view")).one()
    return {"todo": row[0], "overdue": row[1]}


@bp.get("/")
def home():
    # Proximity staff have one page: their residences' door-knocks.
    roles = {m.role for m in current_user.memberships}
    if roles == {Role.proximity}:
        return redirect(url_for("doorknock.index"))
    now = _now()
    return render_template(
        "home.html",
        queue=_queue_counts(now),
        alerts=_my_alerts(now),
        referent=any(m.role == Role.social_worker for m in current_user.memberships),
        # The dashboards of each role (issue 11): the manager's week, the caller's calls of
        # the day, the referent's follow-ups.
        **home_dashboards.context(now, paris_today(now)),
    )
