"""Mes alertes: the social worker's inbox, one alert's page and what can be done from it.

Handlers parse, call ``escalation.operations``, flash in French and redirect. Alerts are
loaded through ``access.scoped()`` / ``access.get_or_404()``: another landlord's alert is a
404, and volunteers and callers (no alerts.view) get a 403.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from outreach.accounts import access
from outreach.accounts.models import Organisation, Role, User
from outreach.audit.operations import record
from outreach.campaigns.schedule import PARIS
from outreach.db import get_session
from outreach.escalation import operations as ops
from outreach.escalation.models import Alert, AlertCause, AlertStatus, Resolution
from outreach.partners.operations import PartnerError, partners_for
from outreach.roster.models import Senior
from outreach.roster.queries import referent_candidates
from outreach.web import alerts_forms as forms
from outreach.web.alerts_timeline import alert_history, referral_of, senior_timeline
from outreach.web.roster import HistoryEntry, history_provider

bp = Blueprint("alerts", __name__, url_prefix="/alertes")
VIEW = "alerts.view"
MANAGE = "alerts.manage"
# An inbox longer than this is a backlog to filter, not a list to read.
INBOX_LIMIT = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "CAUSE_LABELS": forms.CAUSE_LABELS,
        "SEVERITY_LABELS": forms.SEVERITY_LABELS,
        "STATUS_LABELS": forms.STATUS_LABELS,
        "RESOLUTION_LABELS": forms.RESOLUTION_LABELS,
    }


def my_overdue_count() -> int:
    """How many of the alerts I am the referent of are past their due time (for the nav)."""
    if not access.can(VIEW):
        return 0
    stmt = select(func.count(Alert.id)).where(
        Alert.referent_id == current_user.id,
        Alert.status.in_(forms.TODO),
        Alert.due_at < _now(),
    )
    return get_session().scalar(access.scoped(stmt, Alert, VIEW)) or 0


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    # A function, not a number: only pages whose nav shows the link run the query.
    return {"my_overdue_alerts": my_overdue_count}


def _mine_by_default() -> bool:
    """A social worker opens her own alerts; a manager or an admin the whole organisation's."""
    return not any(m.role in (Role.manager, Role.admin) for m in current_user.memberships)


def _counters(session: Session, mine: bool, now: datetime) -> dict[str, int]:
    tomorrow = now.astimezone(PARIS).date() + timedelta(days=1)
    end_of_day = datetime.combine(tomorrow, time(0), PARIS)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    stmt = (
        select(
            func.count(Alert.id),
            count(Alert.due_at < now),
            count(and_(Alert.due_at >= now, Alert.due_at < end_of_day)),
            count(Alert.status == AlertStatus.open),
        )
        .select_from(Alert)
        .where(Alert.status.in_(forms.TODO))
    )
    if mine:
        stmt = stmt.where(Alert.referent_id == current_user.id)
    todo, overdue, today, new = session.execute(access.scoped(stmt, Alert, VIEW)).one()
    return {"todo": todo, "overdue": overdue, "today": today, "new": new}


@bp.get("/")
def index() -> ResponseReturnValue:
    ids = access.require(VIEW)
    session = get_session()
    now = _now()
    form = forms.AlertFilterForm(request.args)
    filters = form.values(_mine_by_default())
    stmt = select(Alert, Senior).join(Senior, Senior.id == Alert.senior_id)
    stmt = access.scoped(stmt, Alert, VIEW).where(Alert.status.in_(filters.statuses))
    if filters.mine:
        stmt = stmt.where(Alert.referent_id == current_user.id)
    if filters.severity:
        stmt = stmt.where(Alert.severity == filters.severity)
    if filters.cause:
        stmt = stmt.where(Alert.cause == filters.cause)
    if filters.closed_only:
        stmt = stmt.order_by(Alert.resolved_at.desc(), Alert.id.desc())
    else:
        # Most pressing first: what is still to do, by due time.
        resolved_last = case((Alert.status == AlertStatus.resolved, 1), else_=0)
        stmt = stmt.order_by(resolved_last, Alert.due_at, Alert.id)
    rows = session.execute(stmt.limit(INBOX_LIMIT + 1)).all()
    referent_ids = {a.referent_id for a, _s in rows if a.referent_id}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(referent_ids))).all())
    orgs = {m.organisation_id: m.organisation.name for m in current_user.memberships}
    return render_template(
        "alerts/index.html",
        form=form,
        rows=rows[:INBOX_LIMIT],
        more=len(rows) > INBOX_LIMIT,
        limit=INBOX_LIMIT,
        counts=_counters(session, filters.mine, now),
        filters=filters,
        names=names,
        org_names={i: orgs[i] for i in ids} if len(ids) > 1 else None,
        now=now,
    )


def _resolve_form(session: Session, alert: Alert, senior: Senior) -> forms.ResolveForm:
    form = forms.ResolveForm()
    partners = partners_for(session, alert.organisation_id, senior.departement)
    form.set_partners([(p.id, p.name) for p in partners])
    return form


def _page(
    alert: Alert, resolve_form: forms.ResolveForm | None = None, status: int = 200
) -> ResponseReturnValue:
    session = get_session()
    senior = access.get_or_404(session, Senior, alert.senior_id, VIEW)
    manage = access.can(MANAGE, alert.organisation_id)
    open_ = alert.status != AlertStatus.resolved
    reassign_form = None
    if manage and open_:
        resolve_form = resolve_form or _resolve_form(session, alert, senior)
        reassign_form = forms.ReassignForm()
        people = referent_candidates(session, alert.organisation_id)
        reassign_form.set_people([(u.id, u.name) for u in people if u.id != alert.referent_id])
    timeline, truncated = senior_timeline(session, senior)
    return render_template(
        "alerts/show.html",
        alert=alert,
        senior=senior,
        organisation=session.get(Organisation, alert.organisation_id),
        referent=session.get(User, alert.referent_id) if alert.referent_id else None,
        manage=manage,
        open_=open_,
        resolve_form=resolve_form if manage and open_ else None,
        reassign_form=reassign_form,
        reinforced_form=forms.ReinforcedForm() if manage else None,
        events=alert_history(session, alert),
        referral=referral_of(session, alert),
        timeline=timeline,
        truncated=truncated,
        canicule=alert.cause == AlertCause.canicule_unreached,
        now=_now(),
    ), status


@bp.get("/<int:alert_id>")
def show(alert_id: int) -> ResponseReturnValue:
    access.require(VIEW)
    session = get_session()
    alert = access.get_or_404(session, Alert, alert_id, VIEW)
    # The page shows the senior's file: part of the GDPR trail of who opened which record.
    record(
        session,
        action="view",
        entity="senior",
        entity_id=alert.senior_id,
        organisation_id=alert.organisation_id,
        user_id=current_user.id,
        details={"alert_id": alert.id},
    )
    return _page(alert)


def _load(alert_id: int) -> Alert:
    access.require(MANAGE)
    return access.get_or_404(get_session(), Alert, alert_id, MANAGE)


def _back(alert: Alert) -> ResponseReturnValue:
    return redirect(url_for("alerts.show", alert_id=alert.id))


@bp.post("/<int:alert_id>/prise-en-charge")
def acknowledge(alert_id: int) -> ResponseReturnValue:
    alert = _load(alert_id)
    if ops.acknowledge(get_session(), alert, current_user.id, _now()):
        flash(_("Vous avez pris en charge cette alerte."), "success")
    elif alert.status == AlertStatus.resolved:
        flash(_("Cette alerte est déjà close."), "info")
    else:
        flash(_("Cette alerte était déjà prise en charge."), "info")
    return _back(alert)


@bp.post("/<int:alert_id>/cloture")
def resolve(alert_id: int) -> ResponseReturnValue:
    alert = _load(alert_id)
    session = get_session()
    senior = access.get_or_404(session, Senior, alert.senior_id, MANAGE)
    form = _resolve_form(session, alert, senior)
    if alert.status == AlertStatus.resolved:
        flash(_("Cette alerte est déjà close."), "info")
        return _back(alert)
    if not form.validate_on_submit():
        return _page(alert, form, 400)
    resolution = Resolution(form.resolution.data)
    try:
        ops.resolve(
            session,
            alert,
            resolution,
            form.note.data,
            current_user.id,
            _now(),
            partner_id=form.partner_id(),
        )
    except (ops.AlertError, PartnerError) as exc:
        # resolve() may have acknowledged before refusing the referral: undo all of it.
        session.rollback()
        form.form_errors.append(_sentence(str(exc)))
        return _page(alert, form, 400)
    flash(_("Alerte close : %(r)s.", r=forms.RESOLUTION_LABELS[resolution]), "success")
    return _back(alert)


@bp.post("/<int:alert_id>/reattribuer")
def reassign(alert_id: int) -> ResponseReturnValue:
    alert = _load(alert_id)
    session = get_session()
    people = {u.id: u.name for u in referent_candidates(session, alert.organisation_id)}
    form = forms.ReassignForm()
    form.set_people(list(people.items()))
    if not form.validate_on_submit():
        errors = [e for errs in form.errors.values() for e in errs]
        flash(str(errors[0]) if errors else _("Choisissez une personne."), "error")
        return _back(alert)
    target = int(form.referent.data)
    try:
        ops.reassign(session, alert, target, current_user.id, _now())
    except ops.AlertError as exc:
        flash(_sentence(str(exc)), "error")
    else:
        flash(_("Alerte confiée à %(name)s.", name=people[target]), "success")
    return _back(alert)


@bp.post("/<int:alert_id>/suivi-renforce")
def reinforced(alert_id: int) -> ResponseReturnValue:
    alert = _load(alert_id)
    session = get_session()
    form = forms.ReinforcedForm()
    if not form.validate_on_submit():
        abort(400)
    senior = access.get_or_404(session, Senior, alert.senior_id, MANAGE)
    on = form.on.data == "1"
    if (senior.reinforced_since is not None) == on:
        flash(_("Rien à changer : le suivi était déjà celui demandé."), "info")
        return _back(alert)
    ops.set_reinforced(session, senior, on, current_user.id, _now(), alert)
    if on:
        flash(_("%(name)s passe en suivi renforcé.", name=senior.display_name), "success")
    else:
        flash(_("%(name)s revient au suivi habituel.", name=senior.display_name), "success")
    return _back(alert)


@history_provider
def _alerts_history(session: Any, senior: Senior) -> list[HistoryEntry]:
    """The senior's alerts on her page, for those who may see alerts only."""
    if not access.can(VIEW, senior.organisation_id):
        return []
    stmt = access.scoped(select(Alert).where(Alert.senior_id == senior.id), Alert, VIEW)
    entries = []
    for alert in session.scalars(stmt):
        label = _("Alerte : %(cause)s", cause=forms.CAUSE_LABELS.get(alert.cause, alert.cause))
        parts = [
            str(forms.SEVERITY_LABELS.get(alert.severity, alert.severity)),
            str(forms.STATUS_LABELS.get(alert.status, alert.status)),
        ]
        if alert.resolution:
            parts.append(str(forms.RESOLUTION_LABELS.get(alert.resolution, alert.resolution)))
        parts.append(alert.summary)
        url = url_for("alerts.show", alert_id=alert.id)
        entries.append(HistoryEntry(alert.opened_at, label, " — ".join(parts), url))
    return entries
