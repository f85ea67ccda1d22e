"""The landlords' anonymised listings (issue 13): upload one, see what the listings hold.

A manager uploads the listing of one of her organisations or, for an association, of one
of its member landlords (``access.panel_org_ids``: the rows hold no identity). The page
shows the import's report (a simulation rolls back) and the listings' counts per
département and landlord, the figures the quotas of the draw are set against.
"""

from __future__ import annotations

import errno

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SelectField

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.db import get_session
from outreach.panel.listing import IdentityColumns, ListingResult, import_listing
from outreach.panel.listing_summary import listing_summary
from outreach.roster.guards import ImportBusy, os_error_text
from outreach.roster.readers import FatalImportError
from outreach.web.roster_forms import options

bp = Blueprint("panel_listing", __name__, url_prefix="/panel")
PERMISSION = "panel.listing"


class ListingForm(FlaskForm):
    organisation = SelectField(_l("Bailleur"), coerce=int, choices=[])
    file = FileField(
        _l("Liste anonymisée (CSV ou Excel .xlsx)"),
        validators=[
            FileRequired(_l("Choisissez un fichier à importer.")),
            FileAllowed(["csv", "xlsx"], _l("Le fichier doit être au format CSV ou XLSX.")),
        ],
    )
    dry_run = BooleanField(_l("Simulation (ne rien modifier)"))


def _landlords() -> dict[int, str]:
    """The organisations whose listing the user may upload, by name."""
    session = get_session()
    ids = access.panel_org_ids(session, PERMISSION)
    if not ids:
        abort(403)
    rows = session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(ids))
        .order_by(Organisation.name)
    )
    return {org_id: name for org_id, name in rows}


def _form(landlords: dict[int, str], read_request: bool = True) -> ListingForm:
    form = ListingForm() if read_request else ListingForm(formdata=None)
    form.organisation.choices = options(landlords.items())
    if len(landlords) == 1 and not form.organisation.data:
        form.organisation.data = next(iter(landlords))
    return form


def _render(
    form: ListingForm,
    landlords: dict[int, str],
    status: int = 200,
    result: ListingResult | None = None,
    landlord: str | None = None,
    refused: list[str] | None = None,
) -> ResponseReturnValue:
    summary = listing_summary(get_session(), landlords)
    page = render_template(
        "panel/listing.html", form=form, result=result, landlord=landlord, refused=refused,
        dry_run=bool(form.dry_run.data), several=len(landlords) > 1, summary=summary,
    )  # fmt: skip
    return page, status


@bp.route("/listing", methods=["GET", "POST"])
def listing() -> ResponseReturnValue:
    landlords = _landlords()
    form = _form(landlords)
    if not form.validate_on_submit():
        return _render(form, landlords, 400 if request.method == "POST" else 200)
    session = get_session()
    # The choices are the user's landlords: a forged id failed validation above.
    organisation = session.get(Organisation, form.organisation.data)
    if organisation is None:  # deleted since the form was drawn
        abort(404)
    upload = form.file.data
    try:
        result = import_listing(
            session, organisation, upload.stream, upload.filename or "",
            config=current_app.config["OUTREACH"], dry_run=form.dry_run.data,
            user_id=current_user.id,
        )  # fmt: skip
    except FatalImportError as exc:
        session.rollback()
        form.file.errors = [*form.file.errors, str(exc)]
        refused = exc.columns if isinstance(exc, IdentityColumns) else None
        status = 409 if isinstance(exc, ImportBusy) else 400
        return _render(form, landlords, status, refused=refused)
    if form.dry_run.data:
        session.rollback()  # the importer only flushed: the simulation leaves no trace
    return _render(form, landlords, result=result, landlord=organisation.name)


@bp.errorhandler(413)
def _too_large(_exc: Exception) -> ResponseReturnValue:
    # The body was refused before it was read: the page without the form's data.
    landlords = _landlords()
    form = _form(landlords, read_request=False)
    limit = current_app.config["OUTREACH"]["roster"]["max_upload_mb"]
    form.file.errors = [_("Le fichier est trop volumineux (%(limit)s Mo au maximum).", limit=limit)]
    return _render(form, landlords, 413)


@bp.errorhandler(OSError)
def _system_error(exc: OSError) -> ResponseReturnValue:
    # A full disk while the upload is spooled: rolled back, said in French (as the roster).
    get_session().rollback()
    current_app.logger.warning("listing import failed: %s", errno.errorcode.get(exc.errno or 0))
    landlords = _landlords()
    form = _form(landlords, read_request=False)
    form.file.errors = [
        _(
            "Le fichier n'a pas pu être traité (%(reason)s). Rien n'a été modifié.",
            reason=os_error_text(exc),
        )
    ]
    return _render(form, landlords, 507)
