"""French labels of the report figures: indicators, dimensions, breakdown keys, contact
channels and outcomes, alert causes and severities, partner kinds.

Written once here (or reused from where the pages already define them) and read by the
dashboards, the exports and the CLI. Lazy strings: ``str(label)`` gives the text in the
request's language, or the French source outside a request (CLI, jobs).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from outreach.calls.outcomes import LABELS as OUTCOME_LABELS
from outreach.reports.activity import PENDING
from outreach.reports.indicators import UNKNOWN
from outreach.web.alerts_forms import CAUSE_LABELS, SEVERITY_LABELS
from outreach.web.partners_forms import KIND_LABELS
from outreach.web.roster_forms import AREA_LABELS, HOUSING_LABELS, SEX_LABELS

INDICATOR_LABELS: dict[str, Any] = {
    "seniors_followed": _l("Personnes suivies"),
    "seniors_targeted": _l("Personnes ciblées"),
    "with_valid_phone": _l("Avec un numéro de téléphone"),
    "seniors_attempted": _l("Personnes appelées"),
    "seniors_reached": _l("Personnes jointes"),
    "seniors_never_reached": _l("Personnes jamais jointes"),
    "reached_ok": _l("Jointes, tout va bien"),
    "concerns": _l("Jointes, une inquiétude"),
    "callback_requests": _l("Demandes de rappel"),
    "help_requests": _l("Demandes d'aide"),
    "refusals": _l("Ne souhaitent plus être appelées"),
    "referred_to_partner": _l("Orientées vers un partenaire"),
    "moved_to_reinforced_followup": _l("Passées en suivi renforcé"),
}
DIMENSION_LABELS: dict[str, Any] = {
    "departement": _l("Département"),
    "age_band": _l("Tranche d'âge"),
    "sex": _l("Sexe"),
    "lives_alone": _l("Vit seul(e)"),
    "qpv": _l("Quartier prioritaire (QPV)"),
    "housing_type": _l("Type d'habitat"),
    "area": _l("Urbain / rural"),
    "gir": _l("GIR"),
    "landlord": _l("Bailleur"),
}
_YES_NO = {"yes": _l("Oui"), "no": _l("Non")}
KEY_LABELS: dict[str, dict[str, Any]] = {
    "age_band": {
        "<60": _l("moins de 60 ans"),
        "60-64": _l("60 à 64 ans"),
        "65-74": _l("65 à 74 ans"),
        "75-84": _l("75 à 84 ans"),
        "85+": _l("85 ans et plus"),
    },
    "sex": {k.value: v for k, v in SEX_LABELS.items()},
    "lives_alone": _YES_NO,
    "qpv": _YES_NO,
    "housing_type": {k.value: v for k, v in HOUSING_LABELS.items()},
    "area": {k.value: v for k, v in AREA_LABELS.items()},
    "gir": {str(n): _l("GIR %(n)s", n=n) for n in range(1, 7)},
}
UNKNOWN_LABEL = _l("Non renseigné")

CHANNEL_LABELS: dict[str, Any] = {
    "staff": _l("Appel par l'équipe"),
    "ivr": _l("Appel automatique"),
    "sms": _l("SMS"),
}
CONTACT_LABELS: dict[str, Any] = {
    **{o.value: text for o, text in OUTCOME_LABELS.items()},
    PENDING: _l("En cours, sans résultat"),
}
ACTIVITY_LABELS: dict[str, Any] = {
    "staff": _l("Salariés"),
    "volunteers": _l("Bénévoles"),
    "calls": _l("Appels"),
    "minutes": _l("Minutes d'appel"),
}
ALERT_CAUSE_LABELS: dict[str, Any] = {k.value: v for k, v in CAUSE_LABELS.items()}
ALERT_SEVERITY_LABELS: dict[str, Any] = {k.value: v for k, v in SEVERITY_LABELS.items()}
PARTNER_KIND_LABELS: dict[str, Any] = {k.value: v for k, v in KIND_LABELS.items()}


def key_label(dimension: str, key: str, landlords: dict[str, str] | None = None) -> str:
    """The French label of a breakdown key: a département's code as is, a landlord's name
    from ``landlords`` (slug → name, e.g. from the report's "organisations")."""
    if key == UNKNOWN:
        return str(UNKNOWN_LABEL)
    if dimension == "landlord":
        return (landlords or {}).get(key, key)
    label = KEY_LABELS.get(dimension, {}).get(key)
    return str(label) if label is not None else key
