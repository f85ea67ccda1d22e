"""Journal d'audit: who viewed or changed what, for managers, admins and the DPO.

The filters travel in the query string as ids, codes and dates only, so that a bookmark
works and nothing personal reaches the access logs. A senior is looked for by her
reference, which is personal: that free text is sent by POST and turned into her id
before the redirect to the filtered list.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from outreach.accounts import access
from outreach.accounts.models import Membership, User
from outreach.audit.models import AuditEvent
from outreach.audit.queries import (
    ACTION_LABELS,
    COUNT_CAP,
    SYSTEM,
    AuditFilters,
    count_capped,
    events_select,
    export_audit,
    page_rows,
)
from outreach.db import get_session
from outreach.roster.models import Senior
from outreach.web.converters import id_or_none
from outreach.web.roster_forms import ANY, DATE_FORMATS, options, today_in_paris

bp = Blueprint("audit", __name__, url_prefix="/journal")
PERMISSION = "audit.view"


def _not_before_start(form: FlaskForm, field: Any) -> None:
    start = form.du.data
    if field.data and start and field.data < start:
        raise ValidationError(_l("La date de fin doit suivre la date de début."))


class AuditFilterForm(FlaskForm):
    """The viewer's filters. Sent by POST (the senior's reference is personal); the handler
    redirects to the list with ids in the query string."""

    utilisateur = SelectField(_l("Utilisateur"), choices=options([ANY]), validate_choice=False)
    action = SelectField(_l("Action"), choices=options([ANY]), validate_choice=False)
    senior = StringField(
        _l("Senior (réf. ou n°)"), validators=[Optional(), Length(max=64)], filters=[]
    )
    du = DateField(_l("Depuis le"), format=DATE_FORMATS, validators=[Optional()])
    au = DateField(
        _l("Jusqu'au (inclus)"), format=DATE_FORMATS, validators=[Optional(), _not_before_start]
    )


def _day(value: str | None) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime((value or "").strip(), fmt).date()
        except ValueError:
            continue
    return None


def filters_from(args: Mapping[str, str]) -> AuditFilters:
    """The filters of a query string; a value that cannot be right (a hand-edited URL) is
    ignored rather than refused, as in the roster list."""
    user = args.get("utilisateur", "")
    action = (args.get("action") or "").strip()
    return AuditFilters(
        user_id=id_or_none(user),
        system=user == SYSTEM,
        senior_id=id_or_none(args.get("senior")),
        action=action[:40] or None,
        start=_day(args.get("du")),
        end=_day(args.get("au")),
    )


def _args_of(filters: AuditFilters) -> dict[str, Any]:
    """The query string of ``filters`` (ids, codes and dates only)."""
    args = {
        "utilisateur": SYSTEM if filters.system else str(filters.user_id or ""),
        "senior": str(filters.senior_id or ""),
        "action": filters.action or "",
        "du": filters.start.isoformat() if filters.start else "",
        "au": filters.end.isoformat() if filters.end else "",
    }
    return {k: v for k, v in args.items() if v}


def _visible_seniors() -> Select[*tuple[Any, ...]]:
    return access.scoped(select(Senior), Senior, PERMISSION)


def _users(session: Session, ids: list[int]) -> list[tuple[int, str]]:
    """The members of the reader's organisations, for the user filter."""
    rows = session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id.in_(ids))
        .distinct()
        .order_by(User.name, User.id)
    ).all()
    return [(row.id, row.name) for row in rows]


def _form(session: Session, ids: list[int], read_request: bool) -> AuditFilterForm:
    form = AuditFilterForm() if read_request else AuditFilterForm(formdata=None)
    users = [(str(i), name) for i, name in _users(session, ids)]
    form.utilisateur.choices = options([ANY, (SYSTEM, _l("Système (tâches automatiques)")), *users])
    actions = sorted(ACTION_LABELS.items(), key=lambda item: item[1])
    form.action.choices = options([("", _l("Toutes")), *actions])
    return form


def _senior_label(session: Session, senior_id: int) -> str:
    """How the senior filter shows a senior id: her reference when she is visible."""
    senior = session.scalar(_visible_seniors().where(Senior.id == senior_id))
    if senior is None or senior.erased_at is not None:
        return str(senior_id)
    return senior.external_ref


def _find_senior(session: Session, text: str) -> int | None:
    """The id of the visible senior whose reference (or, failing that, id) is ``text``."""
    by_ref = session.scalars(
        _visible_seniors().where(Senior.external_ref == text).with_only_columns(Senior.id)
    ).all()
    if len(by_ref) == 1:
        return by_ref[0]
    senior_id = id_or_none(text.lstrip("#").removeprefix("n°").strip())
    if senior_id is not None and session.scalar(
        _visible_seniors().where(Senior.id == senior_id).with_only_columns(Senior.id)
    ):
        return senior_id
    return None


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    ids = access.require(PERMISSION)
    session = get_session()
    status = 200
    if request.method == "POST":
        form = _form(session, ids, read_request=True)
        if form.validate_on_submit():
            senior_id = None
            text = (form.senior.data or "").strip()
            if text:
                senior_id = _find_senior(session, text)
            if text and senior_id is None:
                form.senior.errors = [
                    *form.senior.errors,
                    _l("Aucun senior de vos organisations n'a cette référence ou ce numéro."),
                ]
            else:
                user = form.utilisateur.data or ""
                filters = AuditFilters(
                    user_id=id_or_none(user),
                    system=user == SYSTEM,
                    senior_id=senior_id,
                    action=form.action.data or None,
                    start=form.du.data,
                    end=form.au.data,
                )
                return redirect(url_for("audit.index", **_args_of(filters)))
        status = 400
        filters = AuditFilters()
    else:
        filters = filters_from(request.args)
        form = _form(session, ids, read_request=False)
        form.utilisateur.data = SYSTEM if filters.system else str(filters.user_id or "")
        form.action.data = filters.action or ""
        form.du.data, form.au.data = filters.start, filters.end
        if filters.senior_id is not None:
            form.senior.data = _senior_label(session, filters.senior_id)
    stmt = access.scoped(events_select(filters), AuditEvent, PERMISSION)
    total = count_capped(session, stmt)
    size = current_app.config["OUTREACH"]["app"]["page_size"]
    pages = max(1, math.ceil(min(total, COUNT_CAP) / size))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    args = _args_of(filters)
    return render_template(
        "audit/index.html",
        form=form,
        rows=page_rows(session, stmt, page, size, _visible_seniors()),
        total=total,
        capped=total > COUNT_CAP,
        cap=f"{COUNT_CAP:,}".replace(",", "\u202f"),
        page=page,
        pages=pages,
        args=args,
        filtered=bool(args),
        org_names=_org_names(ids) if len(ids) > 1 else None,
    ), status


def _org_names(ids: list[int]) -> dict[int, str]:
    return {
        m.organisation_id: m.organisation.name
        for m in current_user.memberships
        if m.organisation_id in ids
    }


@bp.get("/export.csv")
def export() -> ResponseReturnValue:
    ids = access.require(PERMISSION)
    session = get_session()
    filters = filters_from(request.args)
    stmt = access.scoped(events_select(filters), AuditEvent, PERMISSION)
    chunks = export_audit(session, stmt, ids, current_user.id, filters.active_names())
    filename = f"journal-audit-{today_in_paris():%Y-%m-%d}.csv"

    def body() -> Iterator[str]:
        # Streamed after the request's own session handling: end the read here (see the
        # roster export), or the connection stays "idle in transaction".
        try:
            yield from chunks
        finally:
            session.close()

    # The export's own audit event is committed by after_request, before the rows stream.
    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
