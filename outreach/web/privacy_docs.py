"""RGPD pages for managers, admins and the DPO: the record of processing (article 30), the
notice given to seniors, and the way to the audit journal.

The documents are printable pages; ``render_document`` also makes them a standalone HTML
file for ``outreach privacy register|notice`` (no site header, its own print styles).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Session

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.campaigns.schedule import paris_today
from outreach.db import get_session
from outreach.privacy.register import TO_COMPLETE, Register, build_register
from outreach.web.converters import id_or_none

bp = Blueprint("privacy_docs", __name__, url_prefix="/confidentialite")
PERMISSION = "audit.view"
STYLESHEET = Path(__file__).parent / "static" / "privacy_docs.css"
Kind = Literal["register", "notice"]
TEMPLATES: dict[Kind, str] = {
    "register": "privacy_docs/_register.html",
    "notice": "privacy_docs/_notice.html",
}
TITLES: dict[Kind, str] = {
    "register": "Registre des activités de traitement",
    "notice": "Notice d'information",
}


def render_document(
    kind: Kind, register: Register, standalone: bool = False, **context: Any
) -> str:
    """The HTML of one document: a page of the site, or a file of its own (``standalone``,
    with the document's stylesheet inside, for ``outreach privacy register|notice``)."""
    if standalone:
        page = "privacy_docs/standalone.html"
        context["css"] = Markup(STYLESHEET.read_text(encoding="utf-8"))
    else:
        page = f"privacy_docs/{kind}.html"
    return render_template(
        page,
        body=TEMPLATES[kind],
        title=TITLES[kind],
        r=register,
        TO_COMPLETE=TO_COMPLETE,
        **context,
    )


def register_for(organisation: Organisation) -> Register:
    """The record of processing of ``organisation`` under the running configuration."""
    return build_register(
        current_app.config["OUTREACH"], organisation.name, paris_today(datetime.now(UTC))
    )


def _organisations(session: Session) -> list[Organisation]:
    ids = access.require(PERMISSION)
    names = {m.organisation_id: m.organisation for m in current_user.memberships}
    return sorted((names[i] for i in ids if i in names), key=lambda o: o.name)


def _chosen(session: Session) -> tuple[Organisation, list[Organisation]]:
    """The organisation asked for by ``?org=`` among the reader's, else her first one."""
    orgs = _organisations(session)
    asked = id_or_none(request.args.get("org"))
    if asked is None:
        return orgs[0], orgs
    for org in orgs:
        if org.id == asked:
            return org, orgs
    abort(404)


@bp.get("/")
def index() -> ResponseReturnValue:
    session = get_session()
    orgs = _organisations(session)
    return render_template("privacy_docs/index.html", orgs=orgs)


@bp.get("/registre")
def register() -> ResponseReturnValue:
    org, orgs = _chosen(get_session())
    return render_document("register", register_for(org), org=org, orgs=orgs)


@bp.get("/notice")
def notice() -> ResponseReturnValue:
    org, orgs = _chosen(get_session())
    return render_document("notice", register_for(org), org=org, orgs=orgs)
