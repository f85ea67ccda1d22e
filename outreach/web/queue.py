"""Ma file du jour: the staff queue, the call screen and the outcome form."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.audit.operations import record
from outreach.calls.models import Attempt
from outreach.calls.scripts import ScriptNotFound, render_staff_html, script_context
from outreach.campaigns.models import Campaign, CampaignKind, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.db import get_session
from outreach.escalation.rules import sweep
from outreach.queue.operations import (
    CallAccess,
    QueueError,
    QueueFilters,
    call_access,
    claim_next,
    claim_task,
    counters,
    queue_query,
    release,
)
from outreach.queue.recording import record_outcome
from outreach.roster.eligibility import ineligible
from outreach.roster.models import Senior
from outreach.telephony.inbound import mark_called_back, waiting_calls
from outreach.telephony.models import InboundCall
from outreach.web import queue_forms as forms
from outreach.web.calls import SMS_CHOICES, sms_to_read
from outreach.web.converters import id_or_none

bp = Blueprint("queue", __name__, url_prefix="/file")
QUEUE_PREVIEW = 30


def _now() -> datetime:
    return datetime.now(UTC)


def _claim_minutes() -> int:
    return current_app.config["OUTREACH"]["queue"]["claim_minutes"]


def _filters() -> QueueFilters:
    return QueueFilters(
        campaign_id=id_or_none(request.args.get("campagne")),
        departement=(request.args.get("dep") or "").strip().upper() or None,
    )


@bp.get("/")
def index():
    ids = access.require("queue.work")
    session = get_session()
    now, filters = _now(), _filters()
    today = paris_today(now)
    rows = session.execute(
        queue_query(session, ids, current_user.id, today, now, filters).limit(QUEUE_PREVIEW)
    ).all()
    mine = session.execute(
        select(Task, Senior)
        .join(Senior, Senior.id == Task.senior_id)
        .where(
            Task.organisation_id.in_(ids),
            Task.state == TaskState.claimed,
            Task.claimed_by_id == current_user.id,
            Task.claimed_until >= now,
        )
    ).all()
    campaigns = session.scalars(
        access.scoped(select(Campaign), Campaign, "queue.work")
        .where(Campaign.state == "active")
        .order_by(Campaign.name)
    ).all()
    deps = _departements(tuple(ids))
    return render_template(
        "queue/index.html",
        sms=sms_to_read() if access.can("notes.view") else [],
        inbound=session.execute(
            access.scoped(waiting_calls(), InboundCall, "queue.work").limit(QUEUE_PREVIEW)
        ).all(),
        # Volunteers see a caller's number only: neither who she is nor the notes.
        notes_orgs=access.org_ids("notes.view"),
        sms_choices=SMS_CHOICES,
        rows=rows,
        mine=mine,
        counts=counters(session, ids, current_user.id, today, now, filters),
        campaigns=campaigns,
        deps=deps,
        filters=filters,
        today=today,
        args={k: v for k, v in request.args.items() if v},
    )


_DEPS_CACHE: dict[tuple[int, ...], tuple[float, list[str]]] = {}
DEPS_CACHE_SECONDS = 300


def _departements(org_ids: tuple[int, ...]) -> list[str]:
    """The départements of the organisations' rosters, for the queue filter.

    Kept a few minutes per process: it changes only with an import, and reading it from
    100,000 seniors on every queue page would cost more than the rest of the page.
    """
    cached = _DEPS_CACHE.get(org_ids)
    if cached and time.monotonic() - cached[0] < DEPS_CACHE_SECONDS:
        return cached[1]
    deps: list[str] = list(
        get_session().scalars(
            select(Senior.departement)
            .where(Senior.organisation_id.in_(org_ids), Senior.departement.is_not(None))
            .distinct()
            .order_by(Senior.departement)
        )
    )
    _DEPS_CACHE[org_ids] = (time.monotonic(), deps)
    return deps


@bp.post("/appels-recus/<int:call_id>")
def inbound_called_back(call_id: int):
    """The "Rappelé(e)" button: a call received has been returned (with a note, for those
    who write notes)."""
    session = get_session()
    call = access.get_or_404(session, InboundCall, call_id, "queue.work")
    note = None
    if access.can("notes.view", call.organisation_id):
        note = request.form.get("note", "")
    if mark_called_back(session, call, current_user.id, note, _now()):
        flash(_("Appel rappelé : c'est noté. Merci !"), "success")
    else:
        flash(_("Cet appel avait déjà été rappelé."), "info")
    return redirect(url_for("queue.index", _anchor="inbound"))


@bp.post("/suivant")
def next_senior():
    ids = access.require("queue.work")
    session = get_session()
    now = _now()
    filters = QueueFilters(
        campaign_id=id_or_none(request.form.get("campagne")),
        departement=(request.form.get("dep") or "").strip().upper() or None,
    )
    task = claim_next(
        session, ids, current_user.id, paris_today(now), now, _claim_minutes(), filters
    )
    if task is None:
        flash(_("Plus personne à appeler pour l'instant. Merci !"), "success")
        return redirect(url_for("queue.index"))
    return redirect(url_for("queue.call", task_id=task.id))


def _load_task(task_id: int) -> Task:
    return access.get_or_404(get_session(), Task, task_id, "queue.work")


def _workable_task(task_id: int) -> Task:
    """The task whose call screen the user may open now (hers, or hers to take), or the
    answer instead: a 404 for a task she could not work (stepping through ids reads no
    senior), or back to the queue with what happened to a task of today's queue (a stale
    tab: taken by a colleague, closed, not to be called now)."""
    task = _load_task(task_id)
    now = _now()
    ids = access.org_ids("queue.work")
    state = call_access(get_session(), task, ids, current_user.id, paris_today(now), now)
    if state in (CallAccess.mine, CallAccess.claimable):
        return task
    if state == CallAccess.hidden:
        abort(404)
    if state == CallAccess.taken:
        flash(_("Une autre personne appelle déjà ce senior."), "error")
    elif state == CallAccess.closed:
        why = forms.LABELS["skip"].get(task.disposition or "")
        if task.state == TaskState.cancelled and why:
            flash(_("Cet appel a été annulé entre-temps : %(why)s.", why=why), "info")
        else:
            flash(_("Cet appel est terminé : il n'est plus dans la file."), "info")
    else:
        flash(_("Cet appel n'est pas à faire pour l'instant : il a quitté la file."), "info")
    abort(redirect(url_for("queue.index")))


@bp.post("/appel/<int:task_id>/prendre")
def take(task_id: int):
    task = _workable_task(task_id)
    if not claim_task(get_session(), task, current_user.id, _now(), _claim_minutes()):
        flash(_("Une autre personne appelle déjà ce senior."), "error")
        return redirect(url_for("queue.index"))
    return redirect(url_for("queue.call", task_id=task.id))


@bp.post("/appel/<int:task_id>/rendre")
def give_back(task_id: int):
    task = _load_task(task_id)
    release(get_session(), task, current_user.id)
    flash(_("Appel remis dans la file."), "info")
    return redirect(url_for("queue.index"))


def _call_page(task: Task, form: forms.OutcomeForm, status: int = 200):
    session = get_session()
    senior = session.get(Senior, task.senior_id)
    campaign = session.get(Campaign, task.campaign_id)
    organisation = session.get(Organisation, task.organisation_id)
    assert senior and campaign and organisation
    today = paris_today(_now())
    may_notes = access.can("notes.view", task.organisation_id)
    form.canicule.choices = forms.canicule_choices(senior)
    try:
        script = render_staff_html(
            campaign.script,
            script_context(senior, organisation, campaign, current_user.name, today),
        )
    except ScriptNotFound:
        script = None
    history = (
        session.execute(
            select(Attempt)
            .where(Attempt.senior_id == senior.id)
            .order_by(Attempt.started_at.desc())
            .limit(5)
        )
        .scalars()
        .all()
    )
    mine = task.state == TaskState.claimed and task.claimed_by_id == current_user.id
    # Anything that changed since the claim (a refusal by SMS, a pause, a death recorded
    # by a colleague) is said before the caller dials.
    changed = None
    if task.state == TaskState.cancelled:
        changed = forms.LABELS["skip"].get(task.disposition or "", task.disposition)
    else:
        reason = ineligible(senior, task.channel, today, campaign.kind)
        changed = forms.LABELS["skip"][reason] if reason else None
    return render_template(
        "queue/call.html",
        task=task,
        senior=senior,
        campaign=campaign,
        organisation=organisation,
        script=script,
        history=history,
        form=form,
        changed=changed,
        mine=mine,
        may_notes=may_notes,
        canicule=campaign.kind == CampaignKind.canicule,
        today=today,
        labels=forms.LABELS,
    ), status


@bp.get("/appel/<int:task_id>")
def call(task_id: int):
    task = _workable_task(task_id)
    # The call screen shows her phones and history: an access, logged as her page is.
    record(
        get_session(),
        action="view",
        entity="senior",
        entity_id=task.senior_id,
        organisation_id=task.organisation_id,
        user_id=current_user.id,
        details={"screen": "call"},
    )
    may_notes = access.can("notes.view", task.organisation_id)
    senior = get_session().get(Senior, task.senior_id)
    return _call_page(task, forms.make_outcome_form(may_notes, get_session(), senior))


QUICK_REFUSED = (
    "Vous avez coché des signaux ou écrit une note : choisissez le résultat de l'appel "
    "dans le formulaire et enregistrez-le, rien de ce que vous avez saisi n'est perdu."
)


@bp.post("/appel/<int:task_id>")
def save(task_id: int):
    task = _workable_task(task_id)
    may_notes = access.can("notes.view", task.organisation_id)
    session = get_session()
    campaign = session.get(Campaign, task.campaign_id)
    canicule = campaign is not None and campaign.kind == CampaignKind.canicule
    # "Joint(e), tout va bien" is a button of the outcome form itself, so that whatever was
    # ticked or typed comes with it: it is refused (and kept) when signals or a note say
    # otherwise.
    quick = request.form.get("quick") == "1"
    form = forms.make_outcome_form(may_notes, session, session.get(Senior, task.senior_id))
    if quick and not form.disposition.data:
        form.disposition.data = forms.Disposition.reached_ok.value
    if not form.validate_on_submit():
        return _call_page(task, form, 400)
    if quick and forms.has_entries(form, canicule):
        form.disposition.data = None
        form.form_errors.append(QUICK_REFUSED)
        return _call_page(task, form, 400)
    outcome = forms.outcome_from(form, canicule)
    try:
        now = _now()
        queue_config = current_app.config["OUTREACH"]["queue"]
        record_outcome(
            session,
            task,
            current_user.id,
            outcome,
            now,
            may_notes,
            min_call_seconds=queue_config["min_call_seconds"],
        )
        # A fall or a worry reaches the referent now, not at the next run of the rules job.
        sweep(session, current_app.config["OUTREACH"], now, senior_id=task.senior_id)
    except QueueError as exc:
        session.rollback()
        form.form_errors.append(str(exc))
        return _call_page(_load_task(task_id), form, 400)
    flash(_("Résultat enregistré. Merci !"), "success")
    return redirect(url_for("queue.index"))
