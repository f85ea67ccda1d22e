"""Workshops pages: the list with the period's counts, the form, and the workshop's page
(invitations, answers, waiting list, transport, attendance).

Managers (``workshops.manage``) plan, invite, cancel and take someone off; the team
(``workshops.view``) sees the workshops, notes answers given on the phone, transport needs
and attendance. Workshops are loaded through ``access.get_or_404`` / ``access.scoped``; an
invitation named in a form must belong to the workshop of the URL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from outreach.accounts import access
from outreach.campaigns.models import ChannelPolicy
from outreach.db import get_session, utcnow
from outreach.partners.models import Partner
from outreach.roster.models import Senior
from outreach.web import workshops_forms as forms
from outreach.workshops import counts, operations
from outreach.workshops.invitations import invite
from outreach.workshops.models import Invitation, InvitationStatus, Workshop, WorkshopState
from outreach.workshops.operations import WorkshopError

bp = Blueprint("workshops", __name__, url_prefix="/ateliers")
VIEW = "workshops.view"
MANAGE = "workshops.manage"
EVER = (date(2000, 1, 1), date(2100, 12, 31))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "STATUS_LABELS": forms.STATUS_LABELS,
        "STATE_LABELS": forms.STATE_LABELS,
        "CHANNEL_LABELS": forms.CHANNEL_LABELS,
    }


def _period() -> tuple[date, date]:
    """The period of the counts: ?du=&au= (ISO dates), this calendar year by default."""
    today = utcnow().date()
    try:
        start = date.fromisoformat(request.args.get("du", ""))
    except ValueError:
        start = date(today.year, 1, 1)
    try:
        end = date.fromisoformat(request.args.get("au", ""))
    except ValueError:
        end = date(today.year, 12, 31)
    # Within the years a workshop can have (a hostile date would overflow the time zones).
    start, end = (min(max(d, EVER[0]), EVER[1]) for d in (start, end))
    return start, max(start, end)


@bp.get("/")
def index() -> ResponseReturnValue:
    org_ids = access.require(VIEW)
    session = get_session()
    now = utcnow()
    rows = session.scalars(
        access.scoped(select(Workshop), Workshop, VIEW).order_by(Workshop.starts_at, Workshop.id)
    ).all()
    figures = {r["id"]: r for r in counts.by_workshop(session, org_ids, *EVER)}
    start, end = _period()
    return render_template(
        "workshops/index.html",
        upcoming=[w for w in rows if w.starts_at >= now and w.state == WorkshopState.planned],
        past=[w for w in reversed(rows) if w.starts_at < now or w.state != WorkshopState.planned],
        figures=figures,
        period=counts.section(session, org_ids, start, end),
        start=start,
        end=end,
        may_manage=bool(access.org_ids(MANAGE)),
    )


def _form(workshop: Workshop | None) -> forms.WorkshopForm:
    form = forms.WorkshopForm()
    ids = [workshop.organisation_id] if workshop else access.org_ids(MANAGE)
    names = {m.organisation_id: m.organisation.name for m in current_user.memberships}
    form.organisation.choices = forms.options((i, names.get(i, str(i))) for i in ids)
    if len(ids) == 1:
        form.organisation.data = ids[0]
    session = get_session()
    partners = session.scalars(
        select(Partner)
        .where(Partner.organisation_id.in_(ids), Partner.active.is_(True))
        .order_by(Partner.name)
    ).all()
    form.partner.choices = forms.options(
        [("", _("Aucun")), *((str(p.id), p.name) for p in partners)]
    )
    if request.method == "GET" and workshop is not None:
        form.fill(workshop)
    return form


def _error_on(form: Any, exc: WorkshopError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if exc.field == "starts_at":
        field = form.day
    elif exc.field == "ends_at":
        field = form.end
    elif exc.field == "partner_id":
        field = form.partner
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


@bp.route("/nouveau", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    access.require(MANAGE)
    session = get_session()
    form = _form(None)
    if form.validate_on_submit():
        if not access.can(MANAGE, form.organisation.data):
            abort(403)
        try:
            workshop = operations.create_workshop(
                session, form.organisation.data, utcnow(), current_user.id, **form.to_fields()
            )
        except WorkshopError as exc:
            session.rollback()
            _error_on(form, exc)
        else:
            flash(_("Atelier « %(theme)s » créé.", theme=workshop.theme), "success")
            return redirect(url_for("workshops.show", workshop_id=workshop.id))
    status = 400 if request.method == "POST" else 200
    return render_template("workshops/form.html", form=form, workshop=None), status


@bp.route("/<int:workshop_id>/modifier", methods=["GET", "POST"])
def edit(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, MANAGE)
    form = _form(workshop)
    if form.validate_on_submit():
        try:
            operations.update_workshop(
                session, workshop, utcnow(), current_user.id, **form.to_fields()
            )
        except WorkshopError as exc:
            session.rollback()
            _error_on(form, exc)
        else:
            flash(_("Atelier modifié."), "success")
            return redirect(url_for("workshops.show", workshop_id=workshop.id))
    status = 400 if request.method == "POST" else 200
    return render_template("workshops/form.html", form=form, workshop=workshop), status


@bp.get("/<int:workshop_id>")
def show(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, VIEW)
    rows = session.execute(
        select(Invitation, Senior)
        .join(Senior, Senior.id == Invitation.senior_id)
        .where(Invitation.workshop_id == workshop.id)
        .order_by(Senior.last_name, Senior.first_name, Invitation.id)
    ).all()
    by_status = operations.counts(session, workshop.id)
    partner = session.get(Partner, workshop.partner_id) if workshop.partner_id else None
    return render_template(
        "workshops/show.html",
        workshop=workshop,
        partner=partner,
        invitations=rows,
        waiting=sorted(
            (r for r in rows if r[0].status == InvitationStatus.waiting),
            key=lambda r: r[0].waiting_rank or 0,
        ),
        registered=[r for r in rows if r[0].status == InvitationStatus.registered],
        transport=[r for r in rows if r[0].transport_needed and r[0].status in operations.OPEN],
        by_status=by_status,
        invite_form=forms.InviteForm(formdata=None),
        may_manage=access.can(MANAGE, workshop.organisation_id),
        started=workshop.starts_at <= utcnow(),
        now=utcnow(),
    )


def _back(workshop: Workshop, anchor: str = "") -> Response:
    return redirect(url_for("workshops.show", workshop_id=workshop.id) + anchor)


@bp.post("/<int:workshop_id>/inviter")
def invite_group(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, MANAGE)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        flash(_("L'invitation n'est pas partie : vérifiez le groupe et le canal."), "error")
        return _back(workshop, "#inviter")
    try:
        result = invite(
            session, workshop, form.rules(), ChannelPolicy(form.channel.data), utcnow(),
            current_user.id,
        )  # fmt: skip
    except WorkshopError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _back(workshop, "#inviter")
    flash(
        _(
            "%(n)s personnes invitées ; %(skipped)s ne peuvent pas l'être par ce canal "
            "(consentement, opposition, pas de numéro, absence) ; %(already)s l'étaient déjà.",
            n=result.invited,
            skipped=sum(result.skipped.values()),
            already=result.already,
        ),
        "success",
    )
    return _back(workshop, "#invitations")


def _invitation(workshop: Workshop) -> Invitation:
    """The invitation named by the form, which must be one of this workshop's."""
    raw = request.form.get("invitation_id", "")
    if not raw.isdigit() or len(raw) > 12:
        abort(404)
    invitation = get_session().get(Invitation, int(raw))
    if invitation is None or invitation.workshop_id != workshop.id:
        abort(404)
    return invitation


@bp.post("/<int:workshop_id>/reponse")
def record_answer(workshop_id: int) -> ResponseReturnValue:
    """An answer given on the phone or at the agency, noted by the team."""
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, VIEW)
    invitation = _invitation(workshop)
    comes = request.form.get("comes")
    if comes not in ("yes", "no"):
        abort(400)
    promoted = operations.answer(session, invitation, comes == "yes", utcnow())
    if promoted:
        flash(
            _(
                "Une place s'est libérée : la première personne en attente est inscrite "
                "et prévenue."
            ),
            "success",
        )
    return _back(workshop, "#invitations")


@bp.post("/<int:workshop_id>/transport")
def transport(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, VIEW)
    invitation = _invitation(workshop)
    form = forms.TransportForm()
    if not form.validate_on_submit():
        flash(_("La précision sur le transport : 300 caractères au plus."), "error")
        return _back(workshop, "#invitations")
    operations.set_transport(invitation, request.form.get("needed") == "1", form.note.data)
    session.flush()
    return _back(workshop, "#invitations")


@bp.post("/<int:workshop_id>/retirer")
def withdraw(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, MANAGE)
    invitation = _invitation(workshop)
    try:
        operations.withdraw(session, invitation, utcnow(), current_user.id)
    except WorkshopError as exc:
        flash(str(exc), "error")
    return _back(workshop, "#invitations")


@bp.post("/<int:workshop_id>/annuler")
def cancel(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, MANAGE)
    try:
        registered = operations.cancel_workshop(session, workshop, utcnow(), current_user.id)
    except WorkshopError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Atelier annulé. Prévenez les %(n)s personnes inscrites.", n=registered), "success")
    return _back(workshop)


@bp.post("/<int:workshop_id>/presence")
def attendance(workshop_id: int) -> ResponseReturnValue:
    session = get_session()
    workshop = access.get_or_404(session, Workshop, workshop_id, VIEW)
    present = {int(v) for v in request.form.getlist("present") if v.isdigit() and len(v) < 12}
    try:
        n = operations.record_attendance(session, workshop, present, utcnow(), current_user.id)
    except WorkshopError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Présences enregistrées. Présents : %(n)s.", n=n), "success")
    return _back(workshop, "#presence")
