"""Ma file du jour (placeholder)."""

from flask import Blueprint, render_template

from outreach.accounts import access

bp = Blueprint("queue", __name__, url_prefix="/file")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    access.require("queue.work")
    return render_template("home.html")
