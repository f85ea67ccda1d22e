"""Gateway settings of each organisation (issue 12): the number its automated calls show,
the name its SMS come from, and the Twilio account they go through.

Seniors recognise their landlord by these; an empty field means the configuration's value.
Only an administrator of the organisation changes them (a wrong caller ID makes every call
look like a stranger's, or gets it blocked). A refused form is shown again with what was
typed and the reason, in French.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.accounts.operations import AccountError, set_gateway_settings
from outreach.db import get_session
from outreach.telephony.accounts import InvalidSetting, check_caller_id, check_sms_sender
from outreach.web.roster_forms import options

bp = Blueprint("org_gateway", __name__, url_prefix="/organisations")

PROBLEMS = {
    "invalid": _l("Ce numéro n'est pas valide."),
    "mobile": _l(
        "Un numéro de mobile (06, 07) ne peut pas être présenté par des appels ou SMS "
        "automatiques : utilisez un numéro prévu pour cela (09 ou une tranche dédiée)."
    ),
    "too_long": _l("Un nom d'expéditeur a 11 caractères au plus."),
    "characters": _l("Lettres sans accent, chiffres et espaces seulement."),
}


def _checked(check: Any) -> Any:
    def validate(form: FlaskForm, field: Any) -> None:
        try:
            check(field.data or "")
        except InvalidSetting as exc:
            raise ValidationError(str(PROBLEMS[exc.reason])) from exc

    return validate


class GatewayForm(FlaskForm):
    caller_id = StringField(
        _l("Numéro présenté sur les appels automatiques"),
        validators=[Optional(), Length(max=30), _checked(check_caller_id)],
    )
    sms_sender = StringField(
        _l("Expéditeur des SMS"),
        validators=[Optional(), Length(max=30), _checked(check_sms_sender)],
    )
    account = SelectField(_l("Compte Twilio"), choices=options([("", "—")]))

    def set_accounts(self, names: list[str]) -> None:
        self.account.choices = options(
            [("", _l("Compte par défaut")), *((name, name) for name in names)]
        )


def admin_org_ids() -> list[int]:
    """The organisations the logged-in user administers: only they change these settings."""
    return access.org_ids("organisation.gateway")


def _account_names() -> list[str]:
    return sorted(current_app.config["OUTREACH"]["telephony"]["accounts"])


def _form_for(org: Organisation) -> GatewayForm:
    form = GatewayForm(prefix=f"org{org.id}", formdata=None)
    form.set_accounts(_account_names())
    form.caller_id.data = org.caller_id or ""
    form.sms_sender.data = org.sms_sender or ""
    form.account.data = org.gateway_account or ""
    return form


def _page(orgs: list[Organisation], forms: dict[int, GatewayForm], status: int = 200) -> Any:
    tel = current_app.config["OUTREACH"]["telephony"]
    rows = [{"org": org, "form": forms.get(org.id) or _form_for(org)} for org in orgs]
    return render_template("org_gateway/index.html", rows=rows, tel=tel), status


def _orgs() -> list[Organisation]:
    ids = admin_org_ids()
    if not ids:
        abort(403)
    # Organisations carry no organisation_id: scoped by their own id, from the user's roles.
    stmt = select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
    return list(get_session().scalars(stmt))


@bp.get("/telephonie")
def index() -> ResponseReturnValue:
    return _page(_orgs(), {})


@bp.post("/<int:organisation_id>/telephonie")
def update(organisation_id: int) -> ResponseReturnValue:
    orgs = _orgs()
    org = next((o for o in orgs if o.id == organisation_id), None)
    if org is None:
        abort(404)
    form = GatewayForm(prefix=f"org{org.id}")
    form.set_accounts(_account_names())
    if not form.validate_on_submit():
        return _page(orgs, {org.id: form}, 422)
    try:
        set_gateway_settings(
            get_session(),
            org,
            current_app.config["OUTREACH"],
            caller_id=(form.caller_id.data or "").strip(),
            sms_sender=(form.sms_sender.data or "").strip(),
            account=form.account.data or "",
            user_id=current_user.id,
        )
    except AccountError:
        # The form's own checks are the operation's: reached only by a forged account name.
        get_session().rollback()
        abort(400)
    flash(_("Réglages de téléphonie enregistrés pour %(o)s.", o=org.name), "success")
    return redirect(url_for("org_gateway.index"))
