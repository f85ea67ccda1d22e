"""Partners directory pages: the list with filters, the new and edit forms, deactivation,
and the referrals shown in a senior's history.

Handlers parse, call ``partners.operations``, render. Partners are loaded through
``access.scoped()`` / ``access.get_or_404()``; an organisation id taken from a form is one
of the choices built from ``access.org_ids()``, so a forged one fails validation.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.db import get_session
from outreach.partners.models import Partner, Referral
from outreach.partners.operations import PartnerError, create_partner, update_partner
from outreach.roster.models import Senior
from outreach.web import partners_forms as forms
from outreach.web.roster import HistoryEntry, history_provider

bp = Blueprint("partners", __name__, url_prefix="/partenaires")
VIEW = "partners.view"
MANAGE = "partners.manage"


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"KIND_LABELS": forms.KIND_LABELS}


def _org_names(permission: str) -> dict[int, str]:
    ids = access.org_ids(permission)
    return {
        m.organisation_id: m.organisation.name
        for m in current_user.memberships
        if m.organisation_id in ids
    }


@bp.get("/")
def index() -> ResponseReturnValue:
    access.require(VIEW)
    session = get_session()
    form = forms.PartnerFilterForm(request.args)
    kind, dep, status = form.values()
    # A directory holds tens of partners per landlord: filtering the territory (a JSON list)
    # in Python keeps one query that reads the same on SQLite and PostgreSQL.
    everyone = session.scalars(access.scoped(select(Partner), Partner, VIEW)).all()
    deps = sorted({d for p in everyone for d in p.departements or []})
    if dep and dep not in deps:
        deps.append(dep)  # an old bookmark keeps its filter visible
    form.dep.choices = forms.options([forms.ANY, *((d, d) for d in deps)])
    shown = [
        p
        for p in everyone
        if (status == "all" or p.active == (status == "active"))
        and (kind is None or p.kind == kind)
        and (dep is None or dep in (p.departements or []))
    ]
    shown.sort(key=lambda p: (not p.active, p.name.lower(), p.id))
    names = _org_names(VIEW)
    return render_template(
        "partners/index.html",
        form=form,
        partners=shown,
        filtered=bool(kind or dep or status != "active"),
        org_names=names if len(names) > 1 else None,
        manageable=set(access.org_ids(MANAGE)),
    )


def _form(partner: Partner | None) -> forms.PartnerForm:
    form = forms.PartnerForm()
    names = _org_names(MANAGE)
    if partner is not None:
        # The organisation of a partner is fixed: its referrals belong to that landlord.
        names = {partner.organisation_id: names[partner.organisation_id]}
    form.organisation.choices = forms.options(sorted(names.items(), key=lambda kv: kv[1]))
    if request.method == "GET" and partner is not None:
        form.fill(partner)
    if len(names) == 1:
        # Nothing to choose: not read from the request, so not shown in the form either.
        form.organisation.data = next(iter(names))
    return form


def _error_on(form: forms.PartnerForm, exc: PartnerError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
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
        try:
            partner = create_partner(
                session, form.organisation.data, user_id=current_user.id, **form.to_fields()
            )
        except PartnerError as exc:
            session.rollback()
            _error_on(form, exc)
        else:
            flash(_("Partenaire « %(name)s » ajouté à l'annuaire.", name=partner.name), "success")
            return redirect(url_for("partners.index"))
    status = 400 if request.method == "POST" else 200
    several = len(form.organisation.choices or ()) > 1
    return render_template("partners/form.html", form=form, partner=None, several=several), status


@bp.route("/<int:partner_id>/modifier", methods=["GET", "POST"])
def edit(partner_id: int) -> ResponseReturnValue:
    access.require(MANAGE)
    session = get_session()
    partner = access.get_or_404(session, Partner, partner_id, MANAGE)
    form = _form(partner)
    if form.validate_on_submit():
        try:
            changed = update_partner(session, partner, user_id=current_user.id, **form.to_fields())
        except PartnerError as exc:
            session.rollback()
            _error_on(form, exc)
        else:
            if changed:
                flash(_("Modifications enregistrées."), "success")
            else:
                flash(_("Aucune modification à enregistrer."), "info")
            return redirect(url_for("partners.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("partners/form.html", form=form, partner=partner, several=False), status


@bp.post("/<int:partner_id>/statut")
def set_active(partner_id: int) -> ResponseReturnValue:
    """Deactivate (or reactivate) a partner: never deleted, its referrals stay readable."""
    access.require(MANAGE)
    session = get_session()
    partner = access.get_or_404(session, Partner, partner_id, MANAGE)
    active = request.form.get("active") == "1"
    update_partner(session, partner, user_id=current_user.id, active=active)
    if active:
        flash(_("« %(name)s » est de nouveau proposé.", name=partner.name), "success")
    else:
        flash(
            _(
                "« %(name)s » est désactivé : il n'est plus proposé pour les orientations, "
                "les orientations passées restent visibles.",
                name=partner.name,
            ),
            "success",
        )
    return redirect(url_for("partners.index"))


@history_provider
def _referrals_history(session: Any, senior: Senior) -> list[HistoryEntry]:
    """Referrals of a senior, for the roster page; nothing for those without partners.view
    (volunteers), and the note only for those who read social notes."""
    stmt = access.scoped(
        select(Referral, Partner)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.senior_id == senior.id),
        Referral,
        VIEW,
    )
    may_notes = access.can("notes.view", senior.organisation_id)
    may_edit = access.can(MANAGE, senior.organisation_id)
    entries = []
    for referral, partner in session.execute(stmt).all():
        label = _(
            "Orienté(e) vers %(partner)s (%(kind)s)",
            partner=partner.name,
            kind=forms.KIND_LABELS.get(partner.kind, partner.kind),
        )
        detail = referral.note if may_notes and referral.note else ""
        url = url_for("partners.edit", partner_id=partner.id) if may_edit else None
        entries.append(HistoryEntry(referral.created_at, label, detail, url))
    return entries
