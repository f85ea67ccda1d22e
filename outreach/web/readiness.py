"""The pre-season check page (``/canicule/preparation``): who on the canicule list would be
missed in a heatwave, the list for the proximity staff as XLSX (``?format=xlsx``, as the
bilan canicule serves its files), and a test SMS campaign.

Everything is limited to the organisations where the user holds "campaigns.manage"
(``access.require``); an organisation id taken from the URL is checked with ``access.can``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from outreach.accounts import access
from outreach.campaigns.schedule import paris_today
from outreach.db import get_session
from outreach.readiness import check, export, operations

bp = Blueprint("readiness", __name__, url_prefix="/canicule/preparation")
P = "campaigns.manage"
# Seniors shown per problem; the XLSX has them all.
SHOWN = 200


def _now() -> datetime:
    return datetime.now(UTC)


@bp.get("")
def index() -> ResponseReturnValue:
    """The page, or with ``?format=xlsx`` the list for the proximity staff (an export)."""
    ids = access.require(P)
    session = get_session()
    now = _now()
    today = paris_today(now)
    fmt = request.args.get("format", "")
    if fmt not in ("", "xlsx"):
        abort(404)
    result = check.check(session, ids, today)
    names = export.organisation_names(session, ids)
    if fmt == "xlsx":
        body = operations.export_proximity_list(
            session, result, names, now, user_id=current_user.id
        )
        name = f"verification-canicule-{today.isoformat()}.xlsx"
        return Response(
            body,
            mimetype=export.MIME,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render_template(
        "readiness/index.html",
        result=result,
        names=names,
        orgs=sorted(names.items(), key=lambda kv: kv[1]),
        problems=list(check.Problem),
        labels=check.LABELS,
        shown=SHOWN,
    )


@bp.post("/<int:organisation_id>/sms-test")
def test_sms(organisation_id: int) -> ResponseReturnValue:
    if not access.can(P, organisation_id):
        abort(404)
    campaign = operations.create_test_sms_campaign(
        get_session(), organisation_id, paris_today(_now()), user_id=current_user.id
    )
    flash(
        _(
            "Campagne de test créée en brouillon. Relisez le SMS ci-dessous, "
            "puis activez-la pour l'envoyer."
        ),
        "success",
    )
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))
