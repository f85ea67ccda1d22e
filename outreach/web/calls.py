"""Calls outside the day's queue: SMS replies to read, callbacks promised, a call recorded
from a senior's page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, literal_column, or_, select

from outreach.accounts import access
from outreach.audit.operations import record
from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import OPEN_TASK_STATES, Campaign, Task
from outreach.db import get_session
from outreach.escalation.rules import sweep
from outreach.queue.operations import QueueError
from outreach.queue.recording import record_outside_queue
from outreach.roster.models import Senior
from outreach.telephony.sms import classify_by_person
from outreach.web import queue_forms as forms

bp = Blueprint("calls", __name__)

# The one-click answers to an "SMS à lire", in the order of the buttons (short words for a
# button; the outcome's own label is what the history shows).
SMS_CHOICES = {
    Outcome.reached_ok: "Tout va bien",
    Outcome.callback_requested: "À rappeler",
    Outcome.help_requested: "Demande de l'aide",
    Outcome.refused: "STOP : ne plus lui écrire",
}
SMS_TO_READ_SHOWN = 20
TO_READ = f"'{Outcome.reply_to_read.value}'"


def _now() -> datetime:
    return datetime.now(UTC)


def sms_to_read(limit: int = SMS_TO_READ_SHOWN) -> list[Any]:
    """Replies nobody has read yet, oldest first, with their senior (for the queue page).
    Their words may be personal: only for those who read social notes."""
    stmt = (
        select(Attempt, Senior)
        .join(Senior, Senior.id == Attempt.senior_id)
        # The outcome as a literal, so that PostgreSQL's generic plans still match the
        # partial index ix_attempt_to_read.
        .where(Attempt.direction == "inbound", Attempt.outcome == literal_column(TO_READ))
        .order_by(Attempt.started_at, Attempt.id)
        .limit(limit)
    )
    return list(get_session().execute(access.scoped(stmt, Attempt, "notes.view")).all())


@bp.post("/file/sms/<int:attempt_id>")
def read_sms(attempt_id: int) -> ResponseReturnValue:
    session = get_session()
    reply = access.get_or_404(session, Attempt, attempt_id, "notes.view")
    try:
        choice = Outcome(request.form.get("outcome", ""))
    except ValueError:
        abort(400)
    if choice not in SMS_CHOICES:
        abort(400)
    now = _now()
    try:
        classify_by_person(session, reply, choice, current_user.id, now)
    except ValueError as exc:
        flash(str(exc), "info")
        return redirect(url_for("queue.index"))
    sweep(session, current_app.config["OUTREACH"], now, senior_id=reply.senior_id)
    flash(_("SMS classé : %(o)s.", o=forms.LABELS["outcome"][choice]), "success")
    return redirect(url_for("queue.index", _anchor="sms"))


@bp.get("/file/rappels")
def callbacks() -> ResponseReturnValue:
    """Mes rappels: the callbacks this caller promised, and those anyone may make."""
    ids = access.require("queue.work")
    session = get_session()
    rows = session.execute(
        select(Task, Senior, Campaign)
        .join(Senior, Senior.id == Task.senior_id)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(
            Task.organisation_id.in_(ids),
            Task.state.in_(OPEN_TASK_STATES),
            Task.callback_at.is_not(None),
            or_(Task.callback_for_id == current_user.id, Task.callback_for_id.is_(None)),
        )
        .order_by(Task.callback_at, Task.id)
    ).all()
    mine = [r for r in rows if r[0].callback_for_id == current_user.id]
    anyone = [r for r in rows if r[0].callback_for_id is None]
    return render_template("queue/callbacks.html", mine=mine, anyone=anyone, now=_now())


@bp.route("/seniors/<int:senior_id>/appel", methods=["GET", "POST"])
def record_call(senior_id: int) -> ResponseReturnValue:
    """A call made outside the queue (she called, or a colleague phoned her): recorded on
    her page, with the same form and the same rules as in the queue."""
    session = get_session()
    senior = access.get_or_404(session, Senior, senior_id, "queue.work")
    access.get_or_404(session, Senior, senior_id, "roster.view")
    if senior.erased_at is not None:
        # Her data were erased: nobody can have called her, nothing is recorded on her.
        abort(404)
    may_notes = access.can("notes.view", senior.organisation_id)
    form = forms.make_outcome_form(may_notes, session, senior)
    status = 200
    if request.method == "GET":
        # The call screen shows her history: an access, logged as her page is.
        record(
            session,
            action="view",
            entity="senior",
            entity_id=senior.id,
            organisation_id=senior.organisation_id,
            user_id=current_user.id,
            details={"screen": "call"},
        )
    if request.method == "POST":
        if form.validate_on_submit():
            now = _now()
            try:
                record_outside_queue(
                    session,
                    senior,
                    current_user.id,
                    forms.outcome_from(form, False),
                    now,
                    may_notes,
                )
                sweep(session, current_app.config["OUTREACH"], now, senior_id=senior.id)
            except QueueError as exc:
                session.rollback()
                form.form_errors.append(str(exc))
            else:
                flash(_("Appel enregistré. Merci !"), "success")
                return redirect(url_for("roster.show", senior_id=senior.id))
        status = 400
    open_today = session.scalar(
        select(Task.id).where(and_(Task.senior_id == senior.id, Task.state.in_(OPEN_TASK_STATES)))
    )
    return render_template(
        "queue/record.html", senior=senior, form=form, open_today=open_today
    ), status
