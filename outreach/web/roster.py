"""Roster pages (placeholder, replaced by the roster web module)."""

from flask import Blueprint

bp = Blueprint("roster", __name__, url_prefix="/seniors")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return "todo"


@bp.get("/import")
def import_roster():  # type: ignore[no-untyped-def]
    return "todo"
