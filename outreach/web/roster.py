"""Roster pages: the list of seniors, one senior's page, her edit form, CSV export, import.

Handlers parse the request, call ``roster.queries`` / ``roster.editing`` / the importer, and
render. Every query goes through ``access.scoped()`` or ``access.get_or_404()``.
"""

from __future__ import annotations

import errno
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts import access
from outreach.accounts.models import Organisation, User
from outreach.audit.operations import record
from outreach.db import get_session
from outreach.roster.consent import CHANGE_LABELS as CONSENT_CHANGE_LABELS
from outreach.roster.consent import SOURCE_LABELS as CONSENT_SOURCE_LABELS
from outreach.roster.consent import history as consent_history
from outreach.roster.editing import update_senior
from outreach.roster.export import export_roster
from outreach.roster.guards import ImportBusy, os_error_text
from outreach.roster.importer import FatalImportError
from outreach.roster.importer import import_roster as run_import
from outreach.roster.models import Senior
from outreach.roster.queries import (
    RosterFilters,
    count_rows,
    departements_of,
    page_of,
    referent_candidates,
    roster_select,
)
from outreach.web import roster_forms as forms

bp = Blueprint("roster", __name__, url_prefix="/seniors")


@dataclass
class HistoryEntry:
    """One line of a senior's "Historique" (a call, an SMS, an alert...)."""

    at: datetime
    label: str
    detail: str = ""
    url: str | None = None
    # A contact still to come (shown apart from what happened).
    planned: bool = False
    # A link beside the entry (e.g. "Corriger" a call recorded minutes ago).
    action_url: str | None = None
    action_label: str | None = None


HistoryProvider = Callable[[Session, Senior], Iterable[HistoryEntry]]
# Later features (calls, alerts) register here what they know about a senior; the page
# shows all entries, newest first. Templates may also override the "history" block.
HISTORY_PROVIDERS: list[HistoryProvider] = []


def history_provider(fn: HistoryProvider) -> HistoryProvider:
    """Decorator: add ``fn`` to the providers of the senior page's history."""
    HISTORY_PROVIDERS.append(fn)
    return fn


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "CONSENT_LABELS": forms.CONSENT_LABELS,
        "LEFT_LABELS": forms.LEFT_LABELS,
        "SEX_LABELS": forms.SEX_LABELS,
        "HOUSING_LABELS": forms.HOUSING_LABELS,
        "AREA_LABELS": forms.AREA_LABELS,
        "CHANNEL_LABELS": forms.CHANNEL_LABELS,
        "CONSENT_CHANGE_LABELS": CONSENT_CHANGE_LABELS,
        "CONSENT_SOURCE_LABELS": CONSENT_SOURCE_LABELS,
    }


def _org_names(ids: list[int]) -> dict[int, str]:
    return {
        m.organisation_id: m.organisation.name
        for m in current_user.memberships
        if m.organisation_id in ids
    }


def _region() -> str:
    return current_app.config["OUTREACH"]["roster"]["default_region"]


def _filters_from_args(session: Session, ids: list[int], permission: str) -> tuple[Any, Any]:
    """The filter form read from the query string, with the typed search recalled from the
    session (``forms.remember_search``), and the filters it asks for."""
    args = request.args.copy()
    args.pop("q", None)  # an old bookmark's terms are not searched: they belong in no URL
    form = forms.RosterFilterForm(args)
    token = request.args.get(forms.SEARCH_ARG)
    terms = forms.recall_search(token)
    form.q.data = terms or ""
    form.lost_search = bool(token) and terms is None
    names = _org_names(ids)
    orgs = sorted(names.items(), key=_second)
    form.org.choices = forms.options([forms.ANY, *((str(i), n) for i, n in orgs)])
    base = access.scoped(select(Senior), Senior, permission)
    deps = departements_of(session, base)
    asked = (form.dep.data or "").strip().upper()
    if asked and asked not in deps:
        deps.append(asked)  # an old bookmark keeps its filter visible
    form.dep.choices = forms.options([forms.ANY, *((d, d) for d in deps)])
    return form, form.to_filters(ids)


def _second(item: tuple[Any, Any]) -> Any:
    return item[1]


@bp.get("/")
def index() -> ResponseReturnValue:
    ids = access.require("roster.view")
    session = get_session()
    form, filters = _filters_from_args(session, ids, "roster.view")
    today = forms.today_in_paris()
    stmt = access.scoped(roster_select(filters, today, _region()), Senior, "roster.view")
    total = count_rows(session, stmt)
    size = current_app.config["OUTREACH"]["app"]["page_size"]
    pages = max(1, math.ceil(total / size))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    # The links of the page (pages, export) keep the filters and the search's id, no terms.
    drop = {"page", "q"} | ({forms.SEARCH_ARG} if form.lost_search else set())
    args = {k: v for k, v in request.args.items() if k not in drop and v}
    return render_template(
        "roster/index.html",
        form=form,
        seniors=page_of(session, stmt, page, size),
        total=total,
        page=page,
        pages=pages,
        args=args,
        filtered=bool(set(filters.active_names()) - {"status"} or filters.status != "active"),
        org_names=_org_names(ids) if len(ids) > 1 else None,
        today=today,
    )


@bp.post("/")
def search() -> ResponseReturnValue:
    """The search form, posted: the typed terms (a name, a phone number) go into the
    session and the URL gets an id for them, the filters go into the URL as they are."""
    access.require("roster.view")
    form = forms.RosterFilterForm(request.form)
    args: dict[str, Any] = form.url_args()
    terms = (form.q.data or "").strip()[:100]
    if terms:
        args[forms.SEARCH_ARG] = forms.remember_search(terms)
    return redirect(url_for("roster.index", **args), 303)


@bp.get("/<int:senior_id>")
def show(senior_id: int) -> ResponseReturnValue:
    access.require("roster.view")
    session = get_session()
    senior = access.get_or_404(session, Senior, senior_id, "roster.view")
    # Who opened which record is part of the GDPR trail; no personal value goes in it.
    record(
        session,
        action="view",
        entity="senior",
        entity_id=senior.id,
        organisation_id=senior.organisation_id,
        user_id=current_user.id,
    )
    entries = [e for provider in HISTORY_PROVIDERS for e in provider(session, senior)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return render_template(
        "roster/senior.html",
        planned=sorted((e for e in entries if e.planned), key=lambda e: e.at),
        senior=senior,
        referent=session.get(User, senior.referent_id) if senior.referent_id else None,
        organisation=session.get(Organisation, senior.organisation_id),
        history=[e for e in entries if not e.planned],
        consent_history=consent_history(session, senior.id),
        today=forms.today_in_paris(),
    )


@bp.route("/<int:senior_id>/modifier", methods=["GET", "POST"])
def edit(senior_id: int) -> ResponseReturnValue:
    access.require("roster.edit")
    session = get_session()
    senior = access.get_or_404(session, Senior, senior_id, "roster.edit")
    if senior.erased_at is not None:
        flash(_("Ses données ont été effacées : il n'y a plus rien à modifier."), "info")
        return redirect(url_for("roster.show", senior_id=senior.id))
    form = forms.SeniorForm()
    referents = referent_candidates(session, senior.organisation_id)
    form.setup(senior, referents, fill=request.method == "GET")
    if form.validate_on_submit():
        changed = update_senior(session, senior, form.to_data(), current_user.id, region=_region())
        if changed:
            flash(_("Modifications enregistrées."), "success")
        else:
            flash(_("Aucune modification à enregistrer."), "info")
        return redirect(url_for("roster.show", senior_id=senior.id))
    status = 400 if request.method == "POST" else 200
    return render_template("roster/edit.html", form=form, senior=senior), status


@bp.get("/export.csv")
def export() -> ResponseReturnValue:
    ids = access.require("roster.export")
    session = get_session()
    _form, filters = _filters_from_args(session, ids, "roster.export")
    stmt = access.scoped(
        roster_select(filters, forms.today_in_paris(), _region()), Senior, "roster.export"
    )
    orgs = [filters.organisation_id] if filters.organisation_id else ids
    chunks = export_roster(session, stmt, orgs, current_user.id, filters.active_names())
    filename = f"seniors-{forms.today_in_paris():%Y-%m-%d}.csv"

    def body() -> Iterator[str]:
        # The rows are read while the response streams, after the request's own session
        # handling is over: this read-only transaction must be ended here, or its
        # connection stays "idle in transaction" and holds locks.
        try:
            yield from chunks
        finally:
            session.close()

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


def _import_form(read_request: bool = True) -> forms.ImportForm:
    ids = access.org_ids("roster.import")
    form = forms.ImportForm() if read_request else forms.ImportForm(formdata=None)
    form.organisation.choices = forms.options(sorted(_org_names(ids).items(), key=_second))
    if len(ids) == 1 and not form.organisation.data:
        form.organisation.data = ids[0]
    return form


@bp.route("/import", methods=["GET", "POST"])
def import_roster() -> ResponseReturnValue:
    access.require("roster.import")
    return _import_page(get_session())


@bp.errorhandler(OSError)
def _system_error(exc: OSError) -> ResponseReturnValue:
    # A full disk while the upload (or a temporary copy) is written, which can happen as
    # early as the CSRF check reads the form: the transaction is rolled back and the
    # import page says so in French instead of a bare 500. Other pages: the 500 page.
    if request.endpoint != "roster.import_roster":
        raise exc
    get_session().rollback()
    current_app.logger.warning("roster import failed: %s", errno.errorcode.get(exc.errno or 0))
    form = _import_form(read_request=False)
    form.file.errors = [
        _(
            "Le fichier n'a pas pu être traité (%(reason)s). Rien n'a été modifié : "
            "réessayez plus tard ou prévenez l'administrateur.",
            reason=os_error_text(exc),
        )
    ]
    several = len(form.organisation.choices or ()) > 1
    page = render_template(
        "roster/import.html", form=form, result=None, organisation=None, dry_run=False,
        several=several,
    )  # fmt: skip
    return page, 507


def _import_page(session: Session) -> ResponseReturnValue:
    form = _import_form()
    result, status, organisation = None, 200, None
    if form.validate_on_submit():
        # The choices are the user's organisations with roster.import: a forged id fails
        # validation above, so this lookup cannot reach another landlord.
        organisation = session.get(Organisation, form.organisation.data)
        if organisation is None:  # deleted since the form was drawn
            abort(404)
        upload = form.file.data
        try:
            result = run_import(
                session,
                organisation,
                upload.stream,
                upload.filename or "",
                config=current_app.config["OUTREACH"],
                dry_run=form.dry_run.data,
                user_id=current_user.id,
            )
        except FatalImportError as exc:
            session.rollback()
            form.file.errors = [*form.file.errors, str(exc)]
            status = 409 if isinstance(exc, ImportBusy) else 400
        else:
            if form.dry_run.data:
                session.rollback()  # the importer only flushed: the simulation leaves no trace
    elif request.method == "POST":
        status = 400
    return render_template(
        "roster/import.html",
        form=form,
        result=result,
        organisation=organisation,
        dry_run=bool(form.dry_run.data),
        several=len(form.organisation.choices or ()) > 1,
    ), status


@bp.errorhandler(413)
def _too_large(_exc: Exception) -> ResponseReturnValue:
    # The body was refused before it was read: render the page without touching the form.
    form = _import_form(read_request=False)
    limit = current_app.config["OUTREACH"]["roster"]["max_upload_mb"]
    form.file.errors = [
        _(
            "Le fichier est trop volumineux (%(limit)s Mo au maximum). Enregistrez-le en CSV "
            "ou découpez-le en plusieurs fichiers.",
            limit=limit,
        )
    ]
    return render_template(
        "roster/import.html",
        form=form,
        result=None,
        organisation=None,
        dry_run=False,
        several=len(form.organisation.choices or ()) > 1,
    ), 413


__all__ = ["bp", "HistoryEntry", "history_provider", "RosterFilters"]
