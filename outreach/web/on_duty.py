"""L'astreinte: who is on duty in each organisation, and the number urgent alerts text.

The on-duty social worker is the referent of every alert about a senior without one; the
on-duty phone receives urgent alerts by SMS. Managers and administrators set them here (or
with ``outreach on-duty``); the list shows only the organisations the user manages.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from outreach.accounts import access
from outreach.accounts.models import Organisation, User
from outreach.accounts.operations import AccountError, set_on_duty
from outreach.db import get_session
from outreach.roster.queries import referent_candidates
from outreach.web.roster_forms import options

bp = Blueprint("on_duty", __name__, url_prefix="/astreinte")
# Who runs the organisation's follow-up: the same people who build its campaigns.
P = "campaigns.manage"


class OnDutyForm(FlaskForm):
    user = SelectField(_l("Travailleur social d'astreinte"), choices=options([("", "—")]))
    phone = StringField(
        _l("Téléphone d'astreinte (SMS des alertes urgentes)"),
        validators=[Optional(), Length(max=30)],
    )

    def set_people(self, people: list[User]) -> None:
        self.user.choices = options(
            [("", _l("— Personne —")), *((str(u.id), u.name or u.email) for u in people)]
        )


def _forms(session: Any, orgs: list[Organisation]) -> list[dict[str, Any]]:
    rows = []
    for org in orgs:
        form = OnDutyForm(prefix=f"org{org.id}", formdata=None)
        form.set_people(referent_candidates(session, org.id))
        form.user.data = str(org.on_duty_user_id or "")
        form.phone.data = org.on_duty_phone or ""
        rows.append({"org": org, "form": form})
    return rows


@bp.get("/")
def index() -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    # Organisations carry no organisation_id: scoped by their own id, from the same list.
    ids = access.org_ids(P)
    orgs = list(session.scalars(select(Organisation).where(Organisation.id.in_(ids))))
    return render_template("on_duty/index.html", rows=_forms(session, orgs))


@bp.post("/<int:organisation_id>")
def update(organisation_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    org = session.get(Organisation, organisation_id)
    if org is None or org.id not in access.org_ids(P):
        abort(404)
    form = OnDutyForm(prefix=f"org{org.id}")
    people = referent_candidates(session, org.id)
    form.set_people(people)
    if not form.validate_on_submit():
        flash(_("Le formulaire n'est pas valide : réessayez."), "error")
        return redirect(url_for("on_duty.index"))
    by_id = {str(u.id): u for u in people}
    user = by_id.get(form.user.data or "")
    if form.user.data and user is None:
        flash(_("Cette personne ne peut pas être d'astreinte ici."), "error")
        return redirect(url_for("on_duty.index"))
    try:
        if user is None:
            org.on_duty_user_id = None
        set_on_duty(session, org, user, (form.phone.data or "").strip(), user_id=current_user.id)
    except AccountError:
        session.rollback()
        flash(_("Numéro de téléphone d'astreinte invalide : %(p)s", p=form.phone.data), "error")
        return redirect(url_for("on_duty.index"))
    flash(_("Astreinte enregistrée pour %(o)s.", o=org.name), "success")
    return redirect(url_for("on_duty.index"))
