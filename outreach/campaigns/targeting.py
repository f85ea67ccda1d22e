"""Targeting rules: which seniors of the roster a campaign is about.

Rules are a small JSON document stored on the campaign, so that a manager's choices are
kept as data (shown, edited, counted live) rather than as code:

    {"departements": ["37", "41"],        # any of these
     "min_age": 75, "max_age": 120,       # bounds included, age on the day of generation
     "lives_alone": true,                 # true/false; absent = either
     "canicule_register": true,
     "gir_max": 4,                        # GIR 1..gir_max (the lower, the more dependent)
     "residences": ["Les Tilleuls"],
     "consent": "given",                  # consent status; absent = any (then skipped)
     "panel_to_contact": true,            # a drawn panel member still to be asked
     "any_of": [{"canicule_register": true}, {"min_age": 75}, {"lives_alone": true}]}

Top-level keys all hold (AND); ``any_of`` holds when one of its groups holds (OR).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

from outreach.campaigns.schedule import add_months
from outreach.roster.models import ConsentStatus, Senior

BOOL_KEYS = ("lives_alone", "canicule_register", "qpv", "adapted_housing")
SIMPLE_KEYS = {"departements", "min_age", "max_age", "gir_max", "residences", "consent", *BOOL_KEYS}
# Drawn members of the regional panel still to be asked for their accord de principe
# (outreach.panel.agreements): set by code on the agreement campaigns, not by the form.
SIMPLE_KEYS.add("panel_to_contact")

# The DOMAIN.md default for a canicule: the register, or 75 and over, or living alone.
CANICULE_DEFAULT_ANY_OF = [{"canicule_register": True}, {"min_age": 75}, {"lives_alone": True}]


class TargetingError(ValueError):
    """Invalid rules; the message is in French for the campaign form."""


def validate(rules: dict[str, Any], nested: bool = False) -> dict[str, Any]:
    """Check and normalise rules; raise TargetingError naming the faulty rule."""
    if not isinstance(rules, dict):
        raise TargetingError("les règles de ciblage doivent être un objet")
    clean: dict[str, Any] = {}
    for key, value in rules.items():
        if key == "any_of" and not nested:
            if not isinstance(value, list) or not value:
                raise TargetingError("any_of : une liste de groupes de règles est attendue")
            clean["any_of"] = [validate(group, nested=True) for group in value]
        elif key not in SIMPLE_KEYS:
            raise TargetingError(f"règle de ciblage inconnue : {key}")
        elif key in ("departements", "residences"):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise TargetingError(f"{key} : une liste de valeurs est attendue")
            clean[key] = [v.strip().upper() if key == "departements" else v.strip() for v in value]
        elif key in ("min_age", "max_age", "gir_max"):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 130:
                raise TargetingError(f"{key} : un nombre entier est attendu")
            if key == "gir_max" and not 1 <= value <= 6:
                raise TargetingError("gir_max : un GIR va de 1 à 6")
            clean[key] = value
        elif key == "consent":
            if value not in {c.value for c in ConsentStatus}:
                raise TargetingError(f"consent : valeur inconnue {value!r}")
            clean[key] = value
        else:
            if not isinstance(value, bool):
                raise TargetingError(f"{key} : oui ou non attendu")
            clean[key] = value
    if clean.get("min_age", 0) > clean.get("max_age", 130):
        raise TargetingError("l'âge minimum dépasse l'âge maximum")
    return clean


def _group_clause(rules: dict[str, Any], today: date) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if deps := rules.get("departements"):
        parts.append(Senior.departement.in_(deps))
    if (min_age := rules.get("min_age")) is not None:
        # Aged at least N today <=> born on or before today minus N years.
        parts.append(Senior.birth_date <= add_months(today, -12 * min_age))
    if (max_age := rules.get("max_age")) is not None:
        # Aged at most N <=> born after today minus N+1 years.
        parts.append(Senior.birth_date > add_months(today, -12 * (max_age + 1)))
    if (gir_max := rules.get("gir_max")) is not None:
        parts.append(and_(Senior.gir.is_not(None), Senior.gir <= gir_max))
    if residences := rules.get("residences"):
        parts.append(Senior.residence.in_(residences))
    if consent := rules.get("consent"):
        parts.append(Senior.consent_status == ConsentStatus(consent))
    for key in BOOL_KEYS:
        if key in rules:
            parts.append(getattr(Senior, key).is_(rules[key]))
    if "panel_to_contact" in rules:
        from outreach.panel.agreements import to_contact_clause

        member = to_contact_clause()
        parts.append(member if rules["panel_to_contact"] else ~member)
    if any_of := rules.get("any_of"):
        parts.append(or_(*(_group_clause(g, today) for g in any_of)))
    return and_(true(), *parts)


def clause(rules: dict[str, Any], today: date) -> ColumnElement[bool]:
    """The SQL condition on ``Senior`` for validated ``rules`` on ``today``."""
    return _group_clause(validate(rules), today)
