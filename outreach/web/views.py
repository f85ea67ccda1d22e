"""Home page."""

from flask import Blueprint, render_template

bp = Blueprint("views", __name__)


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("home.html")
