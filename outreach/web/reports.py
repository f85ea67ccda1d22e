"""Rapports: an organisation's figures over a period as a file, for managers and admins.

The form travels by GET (organisation id, dates, format, mode: nothing personal), so that a
download is a link that can be bookmarked every month. An association's manager picks her
association and gets it with its member landlords (``indicators.organisation_ids_for``):
aggregates of the members are what an association is for; their seniors stay out of reach.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField
from wtforms.validators import InputRequired, ValidationError

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.db import get_session
from outreach.reports.export import MIMETYPES, filename, render
from outreach.reports.indicators import Period, compute, organisation_ids_for
from outreach.web.roster_forms import DATE_FORMATS, options, today_in_paris

bp = Blueprint("reports", __name__, url_prefix="/rapports")
PERMISSION = "reports.view"
MAX_DAYS = 3 * 366  # a period longer than three years is a typing error, not a report


def _period_is_sane(form: FlaskForm, field: Any) -> None:
    start = form.du.data
    if field.data and start:
        if field.data < start:
            raise ValidationError(_l("La date de fin doit suivre la date de début."))
        if (field.data - start).days > MAX_DAYS:
            raise ValidationError(_l("La période ne peut dépasser trois ans."))


class ReportForm(FlaskForm):
    """What to download. A GET form: no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    org = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    du = DateField(_l("Du"), format=DATE_FORMATS, validators=[InputRequired()])
    au = DateField(
        _l("Au (inclus)"), format=DATE_FORMATS, validators=[InputRequired(), _period_is_sane]
    )
    format = RadioField(
        _l("Format"),
        choices=options(
            [
                ("xlsx", _l("Excel (XLSX)")),
                ("csv", _l("CSV (tableur)")),
                ("json", _l("JSON (données)")),
            ]
        ),
        default="xlsx",
    )
    mode = RadioField(
        _l("Rapport"),
        choices=options(
            [
                ("standard", _l("Complet, pour l'organisation")),
                ("funder", _l("Pour un financeur : effectifs de moins de 5 masqués")),
            ]
        ),
        default="standard",
    )


def _organisations() -> list[Organisation]:
    """The organisations where the user may read reports, by name (403 if none)."""
    ids = access.require(PERMISSION)
    orgs = {m.organisation_id: m.organisation for m in current_user.memberships}
    return sorted((orgs[i] for i in ids if i in orgs), key=lambda o: o.name)


def _last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _form(orgs: list[Organisation], members: dict[int, int]) -> ReportForm:
    form = ReportForm(request.args if request.args else None)
    labels = []
    for org in orgs:
        n = members.get(org.id, 0)
        label = _l("%(name)s et ses %(n)s adhérents", name=org.name, n=n) if n else org.name
        labels.append((str(org.id), label))
    form.org.choices = options(labels)
    if not request.args:
        form.du.data, form.au.data = _last_month(today_in_paris())
    return form


def _chosen(form: ReportForm, orgs: list[Organisation]) -> Organisation:
    """The organisation of the form, among the reader's; another one is a 404."""
    for org in orgs:
        if str(org.id) == (form.org.data or str(orgs[0].id)):
            return org
    abort(404)


def _members(orgs: list[Organisation]) -> dict[int, int]:
    session = get_session()
    return {org.id: len(organisation_ids_for(session, org)) - 1 for org in orgs}


@bp.get("/")
def index() -> ResponseReturnValue:
    orgs = _organisations()
    members = _members(orgs)
    form = _form(orgs, members)
    return render_template("reports/index.html", form=form, associations=any(members.values()))


@bp.get("/telecharger")
def download() -> ResponseReturnValue:
    orgs = _organisations()
    members = _members(orgs)
    form = _form(orgs, members)
    org = _chosen(form, orgs)
    if not form.validate():
        associations = any(members.values())
        return render_template("reports/index.html", form=form, associations=associations), 400
    fmt = form.format.data if form.format.data in MIMETYPES else "xlsx"
    funder = form.mode.data == "funder"
    session = get_session()
    ids = organisation_ids_for(session, org)
    start, end = form.du.data, form.au.data
    assert start is not None and end is not None  # InputRequired
    report = compute(session, ids, Period(start, end), now=datetime.now(UTC))
    body = render(report, fmt, funder=funder)
    name = filename(report, fmt, funder=funder)
    return Response(
        body,
        headers={
            "Content-Type": MIMETYPES[fmt],
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
