"""Call scripts from `call_scripts/<name>/`: Jinja2 templates rendered for one senior.

The staff script is Markdown: Jinja2 fills it in first (with autoescape off, since the
output is not HTML yet), then markdown-it renders it with raw HTML disabled, so a name
typed as ``<script>`` in a roster file shows as text and never runs.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from markdown_it import MarkdownIt
from markupsafe import Markup

SCRIPTS_DIR = Path(__file__).resolve().parent.parent.parent / "call_scripts"
KINDS = ("staff.md", "ivr.txt", "sms.txt")


class ScriptNotFound(LookupError):
    pass


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(SCRIPTS_DIR)),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


_md = MarkdownIt("commonmark", {"html": False})


def available_scripts() -> list[str]:
    """Script folders that have a staff script."""
    if not SCRIPTS_DIR.is_dir():
        return []
    return sorted(p.name for p in SCRIPTS_DIR.iterdir() if (p / "staff.md").is_file())


def script_context(senior: Any, organisation: Any, campaign: Any, caller: str, today: date) -> dict:
    return {
        "senior": {
            "civility": senior.civility,
            "first_name": senior.first_name,
            "last_name": senior.last_name,
            "age": senior.age_on(today),
            "lives_alone": senior.lives_alone,
            "city": senior.city,
        },
        "organisation": {"name": organisation.name},
        "campaign": {
            "name": campaign.name,
            "kind": str(campaign.kind),
            "vigilance_level": campaign.vigilance_level,
        },
        "caller": caller,
        "today": today,
    }


def render_text(script: str, kind: str, context: dict[str, Any]) -> str:
    """The filled-in text of ``call_scripts/<script>/<kind>``."""
    if kind not in KINDS or "/" in script or script.startswith("."):
        raise ScriptNotFound(f"{script}/{kind}")
    try:
        return _env().get_template(f"{script}/{kind}").render(**context)
    except TemplateNotFound as exc:
        raise ScriptNotFound(f"{script}/{kind}") from exc


def render_staff_html(script: str, context: dict[str, Any]) -> Markup:
    """The staff script as safe HTML for the call screen."""
    return Markup(_md.render(render_text(script, "staff.md", context)))
