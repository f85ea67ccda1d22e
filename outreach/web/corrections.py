"""Correcting a recorded call: the outcome form again, filled with what was recorded.

The author of a staff call may correct it for ``queue.correction_minutes`` after the call, a
manager or an admin of its organisation at any time; anyone else gets a 403 (and a 404 for
another organisation's call, as everywhere). ``correctable(attempt)`` is a template global,
so that a page showing an attempt can offer the link::

    {% if correctable(a) %}<a href="{{ url_for('corrections.correct', attempt_id=a.id) }}">
    {{ _("Corriger") }}</a>{% endif %}
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.accounts.models import Role, User
from outreach.calls.models import Attempt, Disposition, Severity
from outreach.campaigns.models import OPEN_TASK_STATES, Campaign, CampaignKind, Task
from outreach.campaigns.schedule import PARIS
from outreach.db import get_session
from outreach.queue.corrections import correct_outcome, may_correct
from outreach.queue.operations import QueueError
from outreach.roster.models import Senior
from outreach.web import queue_forms as forms

bp = Blueprint("corrections", __name__)
PERMISSION = "queue.work"
MANAGERS = frozenset({Role.manager, Role.admin})
SEVERITY_RANK = {Severity.info: 0, Severity.concern: 1, Severity.urgent: 2}
# What a correction does not undo on the senior's record (see the page's hint).
LIFE_EVENTS = (Disposition.refused, Disposition.deceased, Disposition.absent)


def _now() -> datetime:
    return datetime.now(UTC)


def _minutes() -> int:
    return current_app.config["OUTREACH"]["queue"]["correction_minutes"]


def _is_manager(organisation_id: int) -> bool:
    return any(
        m.organisation_id == organisation_id and m.role in MANAGERS
        for m in current_user.memberships
    )


def correctable(attempt: Attempt) -> bool:
    """Whether the current user may correct ``attempt`` now (for the "Corriger" links)."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    if not access.can(PERMISSION, attempt.organisation_id):
        return False
    return may_correct(
        attempt, current_user, _is_manager(attempt.organisation_id), _now(), _minutes()
    )


@bp.record_once
def _register(state: Any) -> None:
    state.app.add_template_global(correctable)


def _canicule(task: Task | None) -> bool:
    if task is None:
        return False
    kind = get_session().scalar(select(Campaign.kind).where(Campaign.id == task.campaign_id))
    return kind == CampaignKind.canicule


def _prefill(
    form: forms.OutcomeForm, attempt: Attempt, task: Task | None, senior: Senior, canicule: bool
) -> None:
    """What was recorded, in the form's terms (canicule checks, one severity for the rest)."""
    now = _now()
    form.disposition.data = attempt.disposition.value if attempt.disposition else None
    checks_of: dict[tuple[Any, Any, str | None], str] = {
        (kind, sev, text): key for key, (text, kind, sev) in forms.CANICULE_CHECKS.items()
    }
    plain, checks, severities = [], [], []
    for signal in attempt.signals:
        key = checks_of.get((signal.kind, signal.severity, signal.note)) if canicule else None
        if key is not None:
            checks.append(key)
        else:
            plain.append(signal.kind.value)
            severities.append(Severity(signal.severity))
    form.signals.data = plain
    form.canicule.data = checks
    if severities:
        form.severity.data = max(severities, key=SEVERITY_RANK.__getitem__).value
    if "notes" in form:
        form.notes.data = attempt.notes
    if task is not None and task.state in OPEN_TASK_STATES and task.callback_at is not None:
        if task.callback_at > now:
            form.callback_at.data = task.callback_at.astimezone(PARIS).replace(tzinfo=None)
            form.callback_for_me.data = task.callback_for_id == current_user.id
    today = now.astimezone(PARIS).date()
    if attempt.disposition == Disposition.absent and senior.paused_until:
        if senior.paused_until >= today:
            form.absent_until.data = senior.paused_until


def _back(senior: Senior) -> str:
    if access.can("roster.view", senior.organisation_id):
        return url_for("roster.show", senior_id=senior.id)
    return url_for("queue.index")  # volunteers do not browse the roster


def _deadline(attempt: Attempt) -> str:
    """Until when the author may correct her call, in Paris time: "28/11/2026 à 11:46"."""
    until = (attempt.started_at + timedelta(minutes=_minutes())).astimezone(PARIS)
    return until.strftime("%d/%m/%Y\u00a0à\u00a0%H:%M")  # kept on one line


def _page(attempt: Attempt, form: forms.OutcomeForm, status: int = 200) -> tuple[str, int]:
    session = get_session()
    senior = session.get(Senior, attempt.senior_id)
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    campaign = session.get(Campaign, task.campaign_id) if task is not None else None
    author = session.get(User, attempt.user_id) if attempt.user_id else None
    assert senior is not None
    manager = _is_manager(attempt.organisation_id)
    others = session.scalars(
        select(Attempt)
        .where(Attempt.senior_id == senior.id, Attempt.id != attempt.id)
        .order_by(Attempt.started_at.desc())
        .limit(5)
    ).all()
    return render_template(
        "queue/correct.html",
        attempt=attempt,
        senior=senior,
        campaign=campaign,
        author=author,
        form=form,
        others=others,
        may_notes=access.can("notes.view", attempt.organisation_id),
        canicule=campaign is not None and campaign.kind == CampaignKind.canicule,
        deadline=None if manager else _deadline(attempt),
        life_event=attempt.disposition in LIFE_EVENTS,
        back=_back(senior),
        labels=forms.LABELS,
    ), status


@bp.route("/appels/<int:attempt_id>/corriger", methods=["GET", "POST"])
def correct(attempt_id: int) -> ResponseReturnValue:
    session = get_session()
    attempt = access.get_or_404(session, Attempt, attempt_id, PERMISSION)
    if not correctable(attempt):
        abort(403)
    senior = session.get(Senior, attempt.senior_id)
    task = session.get(Task, attempt.task_id) if attempt.task_id else None
    assert senior is not None
    may_notes = access.can("notes.view", attempt.organisation_id)
    canicule = _canicule(task)
    form = forms.make_outcome_form(may_notes)
    if not form.is_submitted():
        _prefill(form, attempt, task, senior, canicule)
        return _page(attempt, form)
    if not form.validate():
        return _page(attempt, form, 400)
    try:
        correct_outcome(
            session,
            current_app.config["OUTREACH"],
            attempt,
            current_user.id,
            forms.outcome_from(form, canicule),
            _now(),
            may_notes,
        )
        session.commit()
    except QueueError as exc:
        session.rollback()
        form.form_errors.append(str(exc))
        return _page(access.get_or_404(session, Attempt, attempt_id, PERMISSION), form, 400)
    flash(_("Correction enregistrée"), "success")
    return redirect(_back(senior))
