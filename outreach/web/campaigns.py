"""Campaign pages for managers (placeholder until the campaign pages land)."""

from flask import Blueprint, render_template

from outreach.accounts import access

bp = Blueprint("campaigns", __name__, url_prefix="/campagnes")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    access.require("campaigns.manage")
    return render_template("home.html")
