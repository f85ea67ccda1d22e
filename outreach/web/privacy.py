"""The senior's rights on her page: export her data (managers, admins), erase it (admins).

Handlers parse, call ``privacy.export`` / ``privacy.erasure``, render. The export document is
a page of its own, addressed to her and printable to PDF (no navigation, its own print
style); the CLI renders the same document through ``render_document``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import InputRequired

from outreach.accounts import access
from outreach.calls.labels import ALL as CALL_LABELS
from outreach.calls.models import Attempt
from outreach.db import get_engine, get_session
from outreach.privacy import erasure
from outreach.privacy.export import export_senior, to_json
from outreach.roster.consent import CHANGE_LABELS, SOURCE_LABELS
from outreach.roster.models import EmergencyContact, Senior
from outreach.timezone import PARIS
from outreach.web.alerts_forms import (
    CAUSE_LABELS,
    EVENT_LABELS,
    RESOLUTION_LABELS,
    SEVERITY_LABELS,
)
from outreach.web.alerts_forms import STATUS_LABELS as ALERT_STATUS_LABELS
from outreach.web.panel_agreements import STATUS_LABELS as PANEL_LABELS
from outreach.web.roster_forms import (
    AREA_LABELS,
    CHANNEL_LABELS,
    CONSENT_LABELS,
    HOUSING_LABELS,
    LEFT_LABELS,
    SEX_LABELS,
)
from outreach.web.workshops_forms import STATUS_LABELS as INVITATION_LABELS

bp = Blueprint("privacy", __name__, url_prefix="/seniors")

ACCESS_LABELS = {
    "view": _l("a consulté votre fiche"),
    "update": _l("a modifié votre fiche"),
    "create": _l("a créé votre fiche"),
    "export": _l("a exporté vos données"),
    "erase": _l("a effacé vos données"),
}
DOCUMENT_CSS = Path(__file__).parent / "templates" / "privacy" / "_document.css"


@cache
def _document_style() -> tuple[Markup, str]:
    """The document's own style sheet, inline (the file stands alone once saved or printed),
    and the CSP hash that allows exactly it."""
    css = DOCUMENT_CSS.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"


def _when(value: str | None) -> str:
    """An ISO date or datetime of the export, as the document shows it (Paris time)."""
    if not value:
        return ""
    if "T" not in value:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def render_document(data: dict[str, Any]) -> str:
    """The export as a French HTML document addressed to her, standalone (inline style)."""
    style, _hash = _document_style()
    return render_template(
        "privacy/export.html",
        data=data,
        style=style,
        when=_when,
        labels={
            "call": CALL_LABELS,
            "consent": CONSENT_LABELS,
            "consent_change": CHANGE_LABELS,
            "consent_source": SOURCE_LABELS,
            "left": LEFT_LABELS,
            "sex": SEX_LABELS,
            "housing": HOUSING_LABELS,
            "area": AREA_LABELS,
            "channel": CHANNEL_LABELS,
            "cause": CAUSE_LABELS,
            "severity": SEVERITY_LABELS,
            "alert_status": ALERT_STATUS_LABELS,
            "resolution": RESOLUTION_LABELS,
            "event": EVENT_LABELS,
            "access": ACCESS_LABELS,
            "invitation": INVITATION_LABELS,
            "panel": PANEL_LABELS,
        },
    )


def _senior(senior_id: int, permission: str) -> Senior:
    access.require(permission)
    senior = access.get_or_404(get_session(), Senior, senior_id, permission)
    return senior


def _filename(senior: Senior, suffix: str) -> str:
    # The reference only: a name in a file name ends up in download folders and logs.
    ref = "".join(c if c.isalnum() or c in "-_" else "_" for c in senior.external_ref)
    return f"donnees-{ref}.{suffix}"


@bp.get("/<int:senior_id>/donnees.json")
def export_json(senior_id: int) -> ResponseReturnValue:
    senior = _senior(senior_id, "privacy.export")
    if senior.erased_at is not None:
        return redirect(url_for("roster.show", senior_id=senior.id))
    data = export_senior(
        get_session(), senior, fmt="json", user_id=current_user.id, via="page",
        now=datetime.now(UTC),
    )  # fmt: skip
    return Response(
        to_json(data),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_filename(senior, "json")}"'},
    )


@bp.get("/<int:senior_id>/donnees.html")
def export_document(senior_id: int) -> ResponseReturnValue:
    senior = _senior(senior_id, "privacy.export")
    if senior.erased_at is not None:
        return redirect(url_for("roster.show", senior_id=senior.id))
    data = export_senior(
        get_session(), senior, fmt="html", user_id=current_user.id, via="page",
        now=datetime.now(UTC),
    )  # fmt: skip
    response = Response(render_document(data), mimetype="text/html")
    # Shown in the browser (to print or save as PDF): nothing but its own inline style.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {_document_style()[1]}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["Content-Disposition"] = f'inline; filename="{_filename(senior, "html")}"'
    return response


class EraseForm(FlaskForm):
    confirmation = StringField(
        _l("Pour confirmer, saisissez sa référence ou le mot EFFACER"),
        validators=[InputRequired(_l("Saisissez sa référence ou le mot EFFACER."))],
    )

    def confirms(self, senior: Senior) -> bool:
        typed = (self.confirmation.data or "").strip()
        return typed == senior.external_ref or typed.upper() == "EFFACER"


def _what_is_held(senior: Senior) -> dict[str, int]:
    session = get_session()
    count = func.count()
    return {
        "contacts": session.scalar(select(count).where(EmergencyContact.senior_id == senior.id))
        or 0,
        "attempts": session.scalar(select(count).where(Attempt.senior_id == senior.id)) or 0,
    }


@bp.route("/<int:senior_id>/effacer", methods=["GET", "POST"])
def erase(senior_id: int) -> ResponseReturnValue:
    senior = _senior(senior_id, "privacy.erase")
    if senior.erased_at is not None:
        flash(_("Les données de cette personne sont déjà effacées."), "info")
        return redirect(url_for("roster.show", senior_id=senior.id))
    form = EraseForm()
    status = 200
    if form.validate_on_submit():
        if form.confirms(senior):
            session = get_session()
            erasure.erase_senior(
                session, senior, reason="request", user_id=current_user.id,
                now=datetime.now(UTC),
            )  # fmt: skip
            # Committed here, not after the response: the files are compacted once the
            # erasure is durable, and outside any transaction.
            session.commit()
            compacted = erasure.compact(get_engine(), erasure.erased_tables(session))
            flash(_("Les données de la personne ont été effacées."), "success")
            if not compacted:
                flash(
                    _(
                        "La base était occupée : ses fichiers seront réécrits cette nuit "
                        "(ou dès maintenant avec « outreach senior compact »)."
                    ),
                    "info",
                )
            return redirect(url_for("roster.index"))
        form.confirmation.errors = [
            _(
                "Le texte saisi ne correspond ni à sa référence ni au mot EFFACER : "
                "rien n'a été effacé."
            )
        ]
    if form.is_submitted():
        status = 400
    return (
        render_template("privacy/erase.html", form=form, senior=senior, held=_what_is_held(senior)),
        status,
    )
