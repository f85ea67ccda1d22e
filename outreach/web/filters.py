"""Template helpers: dates in Paris time, phones in the French national format, labels,
and French agreement (with a senior, with the noun of a filter)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import phonenumbers
from flask import Flask
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from outreach.accounts import access
from outreach.accounts.models import Role
from outreach.calls.scripts import agree, grammatical_gender
from outreach.timezone import PARIS


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, LazyString) else value


ROLE_LABELS = {
    Role.caller: "Appelant(e)",
    Role.volunteer: "Bénévole",
    Role.social_worker: "Travailleur social",
    Role.manager: "Responsable",
    Role.admin: "Administrateur",
    Role.proximity: "Gardien / agent de proximité",
}


def format_phone(e164: str | None) -> str:
    """+33612345678 -> 06 12 34 56 78; foreign numbers in international format."""
    if not e164:
        return ""
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if num.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(num, fmt)


def accord(senior: Any, masculine: str, feminine: str, unknown: str | None = None) -> str:
    """``{{ accord(senior, "parti", "partie") }}``: the word agreeing with this senior, as in
    the call scripts; « parti(e) » when neither her civility nor her sex is known."""
    gender = grammatical_gender(getattr(senior, "civility", None), getattr(senior, "sex", None))
    return agree(gender, masculine, feminine, unknown)


def all_option(field: Any, label: str) -> Any:
    """The select ``field`` with its "all" option (value "") labelled ``label``.

    The filters share one « Tous » option; a feminine noun needs « Toutes » (« Gravité :
    Toutes », « Organisation : Toutes »). Only this request's copy of the choices changes.
    """
    choices = []
    for choice in field.choices or []:
        if (
            dataclasses.is_dataclass(choice)
            and not isinstance(choice, type)
            and getattr(choice, "value", None) == ""
        ):
            choice = dataclasses.replace(choice, label=label)
        elif isinstance(choice, tuple) and choice and choice[0] == "":
            choice = ("", label, *choice[2:])
        choices.append(choice)
    field.choices = choices
    return field


def register_filters(app: Flask) -> None:
    @app.template_filter("phone")
    def _phone(value: str | None) -> str:
        return format_phone(value)

    @app.template_filter("frdate")
    def _frdate(value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
        return value.strftime("%d/%m/%Y")

    @app.template_filter("yesno")
    def _yesno(value: bool | None) -> str:
        return _("oui") if value else _("non")

    # Flask-Babel's lazy strings declare themselves safe HTML (``__html__``), so a lazy
    # message with a value typed by a user ("Département inconnu : %(dep)s") would reach the
    # page unescaped. Printed values are made plain strings first, then escaped as any text.
    app.jinja_env.finalize = _plain
    app.jinja_env.filters["all_option"] = all_option
    app.jinja_env.globals["accord"] = accord
    app.jinja_env.globals["can"] = access.can
    app.jinja_env.globals["role_label"] = lambda r: _(ROLE_LABELS.get(Role(r), str(r)))
