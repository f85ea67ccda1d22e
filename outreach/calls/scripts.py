"""Call scripts from `call_scripts/<name>/`: Jinja2 templates rendered for one senior.

The staff script is Markdown: Jinja2 fills it in first, then markdown-it renders it with
raw HTML disabled. Every value Jinja2 puts into the Markdown (a name, a city, the caller's
name) is escaped as Markdown text first (``markdown_text``): a name typed as
``# Titre [clic](tel:0899) <b>x</b>`` in a roster file shows as those characters, never as
a heading, a link to dial or markup. The IVR and SMS texts are plain text: no escaping.

Words that agree with the senior (« fatiguée », « seul ») go through ``accord()``: the
feminine or masculine form when her civility or sex is known, « fatigué(e) » otherwise.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    pass_context,
)
from jinja2.runtime import Context
from markdown_it import MarkdownIt
from markupsafe import Markup

SCRIPTS_DIR = Path(__file__).resolve().parent.parent.parent / "call_scripts"
KINDS = ("staff.md", "ivr.txt", "sms.txt")

# Civilities as landlords' files write them, lower-cased without dots or spaces.
FEMININE_CIVILITIES = frozenset({"mme", "madame", "mlle", "mademoiselle"})
MASCULINE_CIVILITIES = frozenset({"m", "mr", "monsieur"})


class ScriptNotFound(LookupError):
    pass


def grammatical_gender(civility: str | None, sex: Any = None) -> str | None:
    """ "f", "m" or None (unknown). The civility wins over the sex field: it is how the
    script addresses her (« Bonjour Madame »), and the words must agree with that."""
    key = (civility or "").lower().replace(".", "").replace(" ", "")
    if key in FEMININE_CIVILITIES:
        return "f"
    if key in MASCULINE_CIVILITIES:
        return "m"
    value = getattr(sex, "value", sex)
    if value == "F":
        return "f"
    if value == "H":
        return "m"
    return None


def agree(gender: str | None, masculine: str, feminine: str, unknown: str | None = None) -> str:
    """The form of a word for ``gender``; when unknown, ``unknown`` or both forms written
    the usual way: ("fatigué", "fatiguée") -> "fatigué(e)", ("le", "la") -> "le/la"."""
    if gender == "f":
        return feminine
    if gender == "m":
        return masculine
    if unknown is not None:
        return unknown
    if feminine.startswith(masculine):
        return f"{masculine}({feminine[len(masculine) :]})"
    return f"{masculine}/{feminine}"


@pass_context
def _accord(ctx: Context, masculine: str, feminine: str, unknown: str | None = None) -> str:
    """``{{ accord("fatigué", "fatiguée") }}`` in a script: agrees with the senior."""
    senior = ctx.get("senior") or {}
    return agree(senior.get("gender"), masculine, feminine, unknown)


# CommonMark lets a backslash escape any ASCII punctuation, which then reads as itself.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def markdown_text(value: Any) -> Any:
    """``value`` as literal Markdown text: punctuation backslash-escaped, line breaks made
    spaces (a value is one line: a break would start a heading or a list). Jinja2's
    ``finalize`` for the staff scripts, applied to every ``{{ ... }}``."""
    if value is None:
        return value
    text = _LINE_BREAKS.sub(" ", str(value))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@lru_cache(maxsize=2)
def _env(markdown: bool = False) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(SCRIPTS_DIR)),
        autoescape=False,  # the output is Markdown or plain text, not HTML yet
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=markdown_text if markdown else None,
    )
    env.globals["accord"] = _accord
    return env


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
            "gender": grammatical_gender(senior.civility, getattr(senior, "sex", None)),
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
        "workshop": _workshop(campaign, senior),
    }


def _workshop(campaign: Any, senior: Any) -> dict[str, Any]:
    """The workshop of a workshop's campaign, for call_scripts/workshop/ (placeholders for
    any other campaign, so that every script renders anywhere)."""
    from outreach.workshops.scripts import PLACEHOLDER, context

    if str(getattr(campaign, "kind", "")) != "workshop":
        return PLACEHOLDER
    return context(campaign, senior) or PLACEHOLDER


def render_text(script: str, kind: str, context: dict[str, Any]) -> str:
    """The filled-in text of ``call_scripts/<script>/<kind>``."""
    if kind not in KINDS or "/" in script or script.startswith("."):
        raise ScriptNotFound(f"{script}/{kind}")
    try:
        env = _env(markdown=kind == "staff.md")
        return env.get_template(f"{script}/{kind}").render(**context)
    except TemplateNotFound as exc:
        raise ScriptNotFound(f"{script}/{kind}") from exc


def render_staff_html(script: str, context: dict[str, Any]) -> Markup:
    """The staff script as safe HTML for the call screen."""
    return Markup(_md.render(render_text(script, "staff.md", context)))
