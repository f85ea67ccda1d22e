"""The quotas and the draw of the regional panel (issue 13): ``/panel/quotas`` and
``/panel/tirage``.

An association's managers ("panel.manage" in an organisation without a parent) set the
quotas per département and run the draw. Every manager whose organisation takes part
(``access.panel_org_ids``: an association's managers act for its landlords) sees the quota
table and downloads the XLSX of the landlords she may see: a landlord's manager gets only
her own references. Organisations arrive as query or form values and are checked against
those sets, so another association's are answered 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.db import get_session
from outreach.panel import draw as drawing
from outreach.panel.export import MIME, draw_workbook
from outreach.panel.models import Draw, DrawState, PanelMember
from outreach.panel.quotas import SHARES, QuotaError, settings_from

bp = Blueprint("panel_draw", __name__, url_prefix="/panel")
P = "panel.manage"
MAX_SEED = 2**31 - 1


def _int(value: str | None) -> int | None:
    """A positive id or seed from a form or query value; None when absent or malformed."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if 0 <= number <= MAX_SEED else None


def _associations() -> dict[int, str]:
    """The associations (organisations without a parent) where the user may draw."""
    ids = access.org_ids(P)
    rows = get_session().execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(ids), Organisation.parent_id.is_(None))
        .order_by(Organisation.name)
    )
    return {org_id: name for org_id, name in rows}


def _chosen(associations: dict[int, str], value: str | None) -> int:
    """The association of the page: the one asked for (404 if not hers), or her first."""
    if value:
        chosen = _int(value)
        if chosen is None or chosen not in associations:
            abort(404)
        return chosen
    return next(iter(associations))


def _association(association_id: int) -> Organisation:
    org = get_session().get(Organisation, association_id)
    if org is None:
        abort(404)
    return org


def _form_settings(form: Any, landlords: dict[int, str]) -> dict[str, Any]:
    """The raw settings of one département as submitted (validated by ``settings_from``)."""
    raw: dict[str, Any] = {
        "size": form.get("size", ""),
        "landlord_tolerance": form.get("landlord_tolerance", ""),
    }
    for quota in SHARES:
        raw[quota.key] = {
            "target": form.get(f"{quota.key}_target", ""),
            "tolerance": form.get(f"{quota.key}_tolerance", ""),
        }
    raw["landlords"] = {
        str(org): form[f"landlord_{org}"].strip()
        for org in landlords
        if form.get(f"landlord_{org}", "").strip()
    }
    return raw


@bp.route("/quotas", methods=["GET", "POST"])
def quotas() -> ResponseReturnValue:
    """The quotas per département of the association's listings, and their defaults."""
    access.require(P)
    associations = _associations()
    if not associations:
        abort(403)
    session = get_session()
    source = request.form if request.method == "POST" else request.args
    association_id = _chosen(associations, source.get("association"))
    landlords = drawing.member_organisations(session, _association(association_id))
    weights = drawing.drawable_counts(session, sorted(landlords))
    stored = drawing.quota_settings(session, association_id)
    departements = sorted(set(weights) | set(stored))
    errors: dict[str, str] = {}
    submitted: dict[str, dict[str, Any]] = {}
    if request.method == "POST":
        dept = request.form.get("departement", "")
        if dept not in departements:
            abort(404)
        raw = _form_settings(request.form, landlords)
        try:
            settings = settings_from(raw)
        except QuotaError as exc:
            errors[dept], submitted[dept] = str(exc), raw
        else:
            drawing.save_quota(session, association_id, dept, settings, current_user.id)
            flash(_("Quotas du département %(dept)s enregistrés.", dept=dept), "success")
            return redirect(url_for(".quotas", association=association_id, _anchor=f"d{dept}"))
    values: dict[str, dict[str, Any]] = {}
    for dept in departements:
        try:
            values[dept] = settings_from(stored.get(dept)).as_json()
        except QuotaError as exc:  # stored before a rule changed: show it to be fixed
            values[dept] = settings_from(None).as_json()
            errors.setdefault(dept, str(exc))
    return render_template(
        "panel/quotas.html",
        associations=associations,
        association_id=association_id,
        landlords=landlords,
        weights=weights,
        departements=departements,
        values=values,
        submitted=submitted,
        errors=errors,
        shares=SHARES,
    ), (400 if errors and request.method == "POST" else 200)


def _visible_draws() -> tuple[list[Draw], list[int]]:
    """The current draws the user may see (her associations' and her landlords'), and the
    landlords whose references she may download."""
    session = get_session()
    visible = access.panel_org_ids(session, P)
    if not visible:
        abort(403)
    parents = session.scalars(
        select(Organisation.parent_id).where(
            Organisation.id.in_(visible), Organisation.parent_id.is_not(None)
        )
    )
    owners = set(visible) | {p for p in parents if p is not None}
    draws = session.scalars(
        select(Draw)
        .where(Draw.organisation_id.in_(owners), Draw.state != DrawState.discarded)
        .order_by(Draw.created_at.desc(), Draw.id.desc())
    ).all()
    latest: dict[int, Draw] = {}
    for d in draws:
        latest.setdefault(d.organisation_id, d)
    return list(latest.values()), visible


@bp.get("/tirage")
def draw_page() -> ResponseReturnValue:
    session = get_session()
    draws, visible = _visible_draws()
    associations = _associations()
    shown = []
    for d in draws:
        members = drawing.member_organisations(session, _association(d.organisation_id))
        drawn = set(
            session.scalars(
                select(PanelMember.organisation_id).where(PanelMember.draw_id == d.id).distinct()
            )
        )
        mine = {org: name for org, name in members.items() if org in visible and org in drawn}
        shown.append({"draw": d, "name": members.get(d.organisation_id, ""), "landlords": mine})
    return render_template(
        "panel/draw.html", draws=shown, associations=associations, seed=_default_seed()
    )


def _default_seed() -> int:
    # A suggestion only: the seed the manager keeps is the one she submits.
    return int(datetime.now(UTC).strftime("%Y%m%d"))


@bp.post("/tirage")
def run() -> ResponseReturnValue:
    access.require(P)
    associations = _associations()
    if not associations:
        abort(403)
    association_id = _chosen(associations, request.form.get("association", ""))
    seed = _int(request.form.get("seed"))
    if seed is None:
        flash(_("La graine doit être un nombre entier positif."), "error")
        return redirect(url_for(".draw_page"))
    session = get_session()
    try:
        result = drawing.run_draw(
            session, _association(association_id), seed, user_id=current_user.id
        )
    except drawing.DrawError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".draw_page"))
    if result.feasible:
        flash(_("Tirage effectué : tous les quotas sont respectés."), "success")
    else:
        flash(
            _(
                "Tirage effectué, mais les quotas ne peuvent pas tous être respectés avec ces "
                "listes : voici le tirage le plus proche, les écarts sont signalés."
            ),
            "warning",
        )
    return redirect(url_for(".draw_page", _anchor=f"tirage-{result.id}"))


@bp.get("/tirage/xlsx")
def download() -> ResponseReturnValue:
    """The XLSX of one draw for one landlord the user may see (``?draw=&landlord=``)."""
    draws, visible = _visible_draws()
    draw_id, landlord = _int(request.args.get("draw")), _int(request.args.get("landlord"))
    found = next((d for d in draws if d.id == draw_id), None)
    if found is None or landlord not in visible:
        abort(404)
    session = get_session()
    members = drawing.member_organisations(session, _association(found.organisation_id))
    if landlord not in members:
        abort(404)
    title = [
        ("Association", members[found.organisation_id]),
        ("Bailleur", members[landlord]),
        ("Tirage n°", found.id),
        ("Graine", found.seed),
    ]
    body = draw_workbook(session, found, {landlord: members[landlord]}, title)
    name = f"tirage-{found.id}-bailleur-{landlord}.xlsx"
    return Response(
        body, mimetype=MIME, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
