"""The agreements page (``/panel/accords``): per landlord, the accords de principe obtained
against the number to reach, each member's status, the substitutes proposed for those who
refused or stayed unreachable, and the association's freezing of the panel.

Scoping (outreach.accounts.access): a landlord's users see its own members; an association's
users see all its landlords side by side (``panel_org_ids``). Members are shown by their
pseudonymous reference; the name of a linked senior only to users who may read that
landlord's roster (``org_ids("roster.view")``). A substitution needs "panel.manage" on the
member's landlord (its manager, or the association's); freezing, "panel.manage" on the
association that made the draw.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from outreach.accounts import access
from outreach.db import get_session
from outreach.panel import consolidation, substitutes
from outreach.panel.agreements import link_members
from outreach.panel.models import Draw, DrawState, ListingRow, MemberRole, MemberStatus, PanelMember
from outreach.roster.models import Senior

bp = Blueprint("panel_agreements", __name__, url_prefix="/panel/accords")
P = "panel.agreements"

STATUS_LABELS = {
    MemberStatus.to_contact: _l("à contacter"),
    MemberStatus.agreed: _l("accord"),
    MemberStatus.refused: _l("refus"),
    MemberStatus.unreachable: _l("injoignable"),
    MemberStatus.replaced: _l("remplacé(e)"),
    MemberStatus.waiting: _l("en réserve"),
}
NO_CONTACT = _l("coordonnées à importer")


def _now() -> datetime:
    return datetime.now(UTC)


def _id(name: str) -> int | None:
    """A form's row id, or None when it is not one the database could hold."""
    raw = request.form.get(name, "")
    if not raw.isdigit() or not 0 < int(raw) <= access.MAX_ID:
        return None
    return int(raw)


def _current_draw(ids: list[int]) -> Draw | None:
    """The latest draw not discarded that the user's organisations are part of."""
    session = get_session()
    theirs = select(PanelMember.draw_id).where(PanelMember.organisation_id.in_(ids))
    return session.scalar(
        select(Draw)
        .where(
            Draw.state != DrawState.discarded,
            or_(Draw.organisation_id.in_(ids), Draw.id.in_(theirs)),
        )
        .order_by(Draw.id.desc())
        .limit(1)
    )


def _label(member: PanelMember) -> str:
    status = MemberStatus(member.status)
    if status == MemberStatus.to_contact and member.senior_id is None:
        return str(NO_CONTACT)
    label, cycles = str(STATUS_LABELS[status]), member.unreachable_cycles
    if status == MemberStatus.unreachable:
        return f"{label} ×{cycles}"
    if status == MemberStatus.to_contact and cycles:
        return label + " " + _("(injoignable ×%(n)s)", n=cycles)
    return label


def _members(draw: Draw, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The drawn members of ``draw`` in ``ids`` per landlord, ready for the template."""
    session = get_session()
    named = set(access.org_ids("roster.view"))
    rows = session.execute(
        select(PanelMember, ListingRow.reference, Senior)
        .join(ListingRow, ListingRow.id == PanelMember.listing_row_id)
        .outerjoin(Senior, Senior.id == PanelMember.senior_id)
        .where(
            PanelMember.draw_id == draw.id,
            PanelMember.role == MemberRole.drawn,
            PanelMember.organisation_id.in_(ids),
        )
        .order_by(PanelMember.organisation_id, PanelMember.rank, PanelMember.id)
    ).all()
    proposed = substitutes.proposals(session, draw)
    refs = dict(
        session.execute(
            select(PanelMember.id, ListingRow.reference)
            .join(ListingRow, ListingRow.id == PanelMember.listing_row_id)
            .where(PanelMember.draw_id == draw.id)
        ).all()
    )
    managed = set(access.panel_org_ids(session, "panel.manage"))
    result: dict[int, list[dict[str, Any]]] = {}
    for member, reference, senior in rows:
        reserve = proposed.get(member.id)
        result.setdefault(member.organisation_id, []).append(
            {
                "member": member,
                "reference": reference,
                "name": senior.display_name
                if senior is not None and member.organisation_id in named
                else None,
                "status": _label(member),
                "replaces": refs.get(member.substitute_for_id or 0),
                "reserve": reserve,
                "reserve_ref": refs.get(reserve.id) if reserve is not None else None,
                "may_replace": member.organisation_id in managed,
            }
        )
    return result


@bp.get("")
def index() -> ResponseReturnValue:
    session = get_session()
    ids = access.panel_org_ids(session, P)
    if not ids:
        abort(403)
    draw = _current_draw(ids)
    if draw is None:
        return render_template("panel/agreements.html", draw=None)
    for org_id in sorted(set(ids)):
        link_members(session, org_id)  # roster rows imported since, by reference
    progress = consolidation.progress(session, draw, ids)
    may_freeze = draw.state == DrawState.drawn and access.can("panel.manage", draw.organisation_id)
    return render_template(
        "panel/agreements.html",
        draw=draw,
        progress=progress,
        members=_members(draw, ids),
        may_freeze=may_freeze,
    )


@bp.post("/remplacer")
def replace() -> ResponseReturnValue:
    session = get_session()
    member_id, reserve_id = _id("member"), _id("reserve")
    member = session.get(PanelMember, member_id) if member_id else None
    if member is None or member.organisation_id not in access.panel_org_ids(session, P):
        abort(404)
    if member.organisation_id not in access.panel_org_ids(session, "panel.manage"):
        abort(403)
    try:
        substitutes.confirm(session, member, reserve_id or 0, current_user.id, _now())
    except substitutes.SubstitutionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("panel_agreements.index"))
    flash(_("Remplacement enregistré : la personne de la réserve est à contacter."), "success")
    return redirect(url_for("panel_agreements.index"))


def _draw_to_freeze(draw_id: int | None) -> Draw:
    draw = get_session().get(Draw, draw_id) if draw_id else None
    if draw is None or not access.can("panel.manage", draw.organisation_id):
        abort(404)
    return draw


@bp.get("/figer")
def confirm_freeze() -> ResponseReturnValue:
    raw = request.args.get("draw", "")
    draw = _draw_to_freeze(int(raw) if raw.isdigit() and 0 < int(raw) <= access.MAX_ID else None)
    session = get_session()
    ids = access.panel_org_ids(session, P)
    progress = consolidation.progress(session, draw, ids)
    return render_template("panel/agreements_freeze.html", draw=draw, progress=progress)


@bp.post("/figer")
def freeze() -> ResponseReturnValue:
    draw = _draw_to_freeze(_id("draw"))
    if request.form.get("confirm") != "oui":
        return redirect(url_for("panel_agreements.confirm_freeze", draw=draw.id))
    try:
        enrolled = consolidation.freeze(get_session(), draw, current_user.id, _now())
    except consolidation.FreezeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("panel_agreements.index"))
    flash(
        _(
            "Panel figé : %(n)s senior(s) suivi(s) désormais par les campagnes de courtoisie.",
            n=enrolled,
        ),
        "success",
    )
    return redirect(url_for("panel_agreements.index"))
