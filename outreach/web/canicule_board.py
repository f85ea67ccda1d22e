"""The canicule board (a wall screen that refreshes itself) and the bilan canicule.

- ``/canicule/tableau``: today's figures per département, the ETA of the last first call and
  the "levée de doute" list; ``?jour=`` for a past day of the campaign, ``?mur=1`` for a
  wall screen (large type, no navigation). ``/canicule/tableau/fragment`` is the same board
  without the page around it, fetched every few seconds by static/board.js; without
  JavaScript the page has a "Mettre à jour" link.
- ``/canicule/bilan``: the end-of-heatwave report, with ``?format=csv|xlsx`` downloads.

Organisation ids come from ``access.org_ids``: the board needs "alerts.view" (it names the
unreached seniors and their emergency contacts), the bilan "campaigns.manage".
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.campaigns.models import Campaign, CampaignKind
from outreach.db import get_session
from outreach.reports import canicule, canicule_bilan, writers
from outreach.timezone import PARIS
from outreach.web import alerts_forms

bp = Blueprint("canicule", __name__, url_prefix="/canicule")
VIEW = "alerts.view"
REPORT = "campaigns.manage"
REFRESH_SECONDS = 7
MAX_BILAN_DAYS = 366

FIGURES = {
    "registered": _l("Inscrits au registre"),
    "to_call": _l("À appeler aujourd'hui"),
    "attempted": _l("Appelés"),
    "reached_ok": _l("Joints, tout va bien"),
    "concern": _l("Inquiétude"),
    "help": _l("Demande d'aide"),
    "unreached": _l("Injoignables après le dernier essai"),
    "refused": _l("Refus"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def _labels() -> dict[str, dict[str, str]]:
    return {
        "cause": {str(k): str(v) for k, v in alerts_forms.CAUSE_LABELS.items()},
        "severity": {str(k): str(v) for k, v in alerts_forms.SEVERITY_LABELS.items()},
        "resolution": {str(k): str(v) for k, v in alerts_forms.RESOLUTION_LABELS.items()},
        "status": {str(k): str(v) for k, v in alerts_forms.STATUS_LABELS.items()},
    }


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    # A function: only pages whose nav shows the link run its one indexed query.
    def canicule_active() -> bool:
        ids = access.org_ids(VIEW)
        return bool(ids) and canicule.active(get_session(), ids)

    return {"canicule_active": canicule_active}


def _day(today: date) -> date:
    raw = request.args.get("jour", "")
    try:
        return date.fromisoformat(raw) if raw else today
    except ValueError:
        abort(404)


def hour_text(at: datetime) -> str:
    """ "11 h 40", Paris time, rounded up to the next 5 minutes ("vers ...")."""
    local = at.astimezone(PARIS)
    minutes = math.ceil((local.minute + (local.second > 0 or local.microsecond > 0)) / 5) * 5
    local = local.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)
    return f"{local.hour} h {local.minute:02d}"


def eta_text(eta: canicule.Eta) -> str:
    """The ETA as a sentence for the board."""
    if eta.done:
        return _("Tous ont eu un premier appel.")
    if eta.at is not None:
        return _("Dernier premier appel vers %(hour)s.", hour=hour_text(eta.at))
    if eta.remaining_staff and not eta.staff_working:
        return _("Aucun appelant en ligne : pas d'estimation pour les appels par l'équipe.")
    return _("Pas tous avant la fermeture de la plage d'appel.")


def _context(day: date, now: datetime, wall: bool) -> dict[str, Any]:
    session = get_session()
    ids = access.org_ids(VIEW)
    today = now.astimezone(PARIS).date()
    data = canicule.board(session, ids, day)
    eta = (
        canicule.day_eta(session, ids, now, current_app.config["OUTREACH"]["telephony"])
        if day == today
        else None
    )
    args: dict[str, Any] = {"jour": day.isoformat()} if day != today else {}
    if wall:
        args["mur"] = "1"
    return {
        "board": data,
        "figures": FIGURES,
        "eta": eta,
        "eta_text": eta_text(eta) if eta else None,
        "is_today": day == today,
        "today": today,
        "wall": wall,
        "updated_at": now.astimezone(PARIS),
        "status_labels": _labels()["status"],
        "self_url": url_for("canicule.board", **args),
        "fragment_url": url_for("canicule.fragment", **args),
    }


@bp.get("/tableau")
def board() -> ResponseReturnValue:
    access.require(VIEW)
    now = _now()
    ctx = _context(_day(now.astimezone(PARIS).date()), now, request.args.get("mur") == "1")
    ctx["days"] = canicule.campaign_days(get_session(), access.org_ids(VIEW))
    return render_template("canicule/board.html", refresh=REFRESH_SECONDS, **ctx)


@bp.get("/tableau/fragment")
def fragment() -> ResponseReturnValue:
    access.require(VIEW)
    now = _now()
    ctx = _context(_day(now.astimezone(PARIS).date()), now, request.args.get("mur") == "1")
    return render_template("canicule/_board.html", **ctx)


# ------------------------------------------------------------------------------ bilan


def _bilan_args(session: Any, today: date) -> tuple[Campaign | None, date, date]:
    raw = request.args.get("campagne", "")
    if raw:
        if not raw.isdigit():
            abort(404)
        campaign = access.get_or_404(session, Campaign, int(raw), REPORT)
        if campaign.kind != CampaignKind.canicule:
            abort(404)
        start, end = canicule_bilan.period_of(session, campaign)
        return campaign, start, end
    try:
        start = date.fromisoformat(
            request.args.get("du") or (today - timedelta(days=6)).isoformat()
        )
        end = date.fromisoformat(request.args.get("au") or today.isoformat())
    except ValueError:
        abort(404)
    # Far dates would overflow the UTC conversion of the period's bounds.
    if (
        end < start
        or (end - start).days > MAX_BILAN_DAYS
        or not 2000 <= start.year <= end.year < 2200
    ):
        abort(404)
    return None, start, end


@bp.get("/bilan")
def bilan() -> ResponseReturnValue:
    ids = access.require(REPORT)
    session = get_session()
    now = _now()
    campaign, start, end = _bilan_args(session, now.astimezone(PARIS).date())
    report = canicule_bilan.compute(session, ids, start, end, campaign)
    labels = _labels()
    fmt = request.args.get("format", "")
    if fmt in ("csv", "xlsx"):
        orgs = ", ".join(
            sorted(
                m.organisation.name for m in current_user.memberships if m.organisation_id in ids
            )
        )
        title = [
            (_("Rapport"), _("Bilan canicule")),
            (_("Organisation"), orgs),
            (_("Période"), f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"),
            (_("Généré le"), now),
        ]
        if campaign is not None:
            title.insert(1, (_("Campagne"), campaign.name))
        sheets = canicule_bilan.sheets(report, labels)
        name = f"bilan-canicule-{start.isoformat()}-{end.isoformat()}.{fmt}"
        if fmt == "csv":
            body, mime = writers.to_csv(sheets, title), "text/csv; charset=utf-8"
        else:
            body = writers.to_xlsx(sheets, title)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    if fmt:
        abort(404)
    campaigns = session.scalars(
        access.scoped(select(Campaign), Campaign, REPORT)
        .where(Campaign.kind == CampaignKind.canicule)
        .order_by(Campaign.created_at.desc())
    ).all()
    args = (
        {"campagne": campaign.id} if campaign else {"du": start.isoformat(), "au": end.isoformat()}
    )
    return render_template(
        "canicule/bilan.html",
        report=report,
        campaign=campaign,
        campaigns=campaigns,
        columns=canicule_bilan.COLUMN_LABELS,
        labels=labels,
        csv_url=url_for("canicule.bilan", format="csv", **args),
        xlsx_url=url_for("canicule.bilan", format="xlsx", **args),
    )
