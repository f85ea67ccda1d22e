"""Forms and French labels of the alert pages ("Mes alertes" and one alert)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from outreach.calls.models import Severity
from outreach.doorknock.labels import EVENT_LABELS as KNOCK_EVENT_LABELS
from outreach.escalation.models import AlertCause, AlertStatus, Resolution
from outreach.web.roster_forms import ANY, options

CAUSE_LABELS = {
    AlertCause.urgent_signal: _l("Signal urgent"),
    AlertCause.concern_signal: _l("Signal d'inquiétude"),
    AlertCause.canicule_unreached: _l("Canicule : injoignable, levée de doute"),
    AlertCause.courtesy_unreached: _l("Injoignable sur plusieurs appels"),
    AlertCause.life_event: _l("Événement de vie (décès, hospitalisation…)"),
    AlertCause.help_requested: _l("Demande d'aide (touche 3 ou SMS AIDE)"),
}
SEVERITY_LABELS = {
    Severity.urgent: _l("Urgente"),
    Severity.concern: _l("À suivre"),
    Severity.info: _l("Pour information"),
}
STATUS_LABELS = {
    AlertStatus.open: _l("Nouvelle"),
    AlertStatus.acknowledged: _l("Prise en charge"),
    AlertStatus.resolved: _l("Close"),
}
RESOLUTION_LABELS = {
    Resolution.phoned_back: _l("Personne rappelée"),
    Resolution.home_visit: _l("Visite à domicile"),
    Resolution.partner_referral: _l("Orientation vers un partenaire"),
    Resolution.emergency_services: _l("Secours appelés (15, 18, 112)"),
    Resolution.adaptation_request: _l("Demande d'adaptation du logement"),
    Resolution.no_action: _l("Aucune action nécessaire"),
}
# AlertEvent.action, as the history of an alert tells it.
EVENT_LABELS = {
    "opened": _l("Alerte ouverte"),
    "joined": _l("Nouveau fait rattaché à l'alerte"),
    "acknowledged": _l("Prise en charge"),
    "reassigned": _l("Réattribuée"),
    "resolved": _l("Alerte close"),
    "reinforced_on": _l("Passage en suivi renforcé"),
    "reinforced_off": _l("Fin du suivi renforcé"),
    "escalated": _l("Délai dépassé : responsables prévenus"),
    "corrected": _l("Appel corrigé : l'alerte suit le résultat corrigé"),
    "erased": _l("Données de la personne effacées : alerte close"),
    # The door-knocks' events, labelled where door-knocks are (written once).
    **KNOCK_EVENT_LABELS,
}

# The inbox's status filter: what is still to do (new and acknowledged), or what is closed.
TODO = (AlertStatus.open, AlertStatus.acknowledged)
STATUS_FILTERS = {
    "a_traiter": (_l("À traiter"), TODO),
    "closes": (_l("Closes"), (AlertStatus.resolved,)),
    "toutes": (_l("Toutes"), tuple(AlertStatus)),
}
WHO_FILTERS = {"moi": _l("Dont je suis référent(e)"), "toutes": _l("Toute l'organisation")}


@dataclass
class InboxFilters:
    statuses: tuple[AlertStatus, ...]
    closed_only: bool
    severity: Severity | None
    cause: AlertCause | None
    mine: bool


class AlertFilterForm(Form):
    """The inbox's filters, read from the query string so that a filtered inbox is a link."""

    statut = SelectField(
        _l("Statut"),
        choices=options((k, label) for k, (label, _s) in STATUS_FILTERS.items()),
        default="a_traiter",
    )
    gravite = SelectField(
        _l("Gravité"),
        choices=options([ANY, *((s.value, label) for s, label in SEVERITY_LABELS.items())]),
    )
    motif = SelectField(
        _l("Motif"),
        choices=options([ANY, *((c.value, label) for c, label in CAUSE_LABELS.items())]),
    )
    qui = SelectField(_l("Alertes"), choices=options(WHO_FILTERS.items()))

    def values(self, mine_by_default: bool) -> InboxFilters:
        """The filters asked for; an unknown value (a hand-edited URL) falls back to the
        default rather than failing, so an old bookmark still shows an inbox."""
        status = self.statut.data if self.statut.data in STATUS_FILTERS else "a_traiter"
        self.statut.data = status
        if self.qui.data not in WHO_FILTERS:
            self.qui.data = "moi" if mine_by_default else "toutes"
        severity = self.gravite.data if self.gravite.data in set(Severity) else None
        cause = self.motif.data if self.motif.data in set(AlertCause) else None
        return InboxFilters(
            statuses=STATUS_FILTERS[status][1],
            closed_only=status == "closes",
            severity=Severity(severity) if severity else None,
            cause=AlertCause(cause) if cause else None,
            mine=self.qui.data == "moi",
        )


class ResolveForm(FlaskForm):
    resolution = RadioField(
        _l("Ce qui a été fait"),
        choices=options((r.value, label) for r, label in RESOLUTION_LABELS.items()),
        validators=[DataRequired(_l("Choisissez ce qui a été fait."))],
    )
    # Choices: the alert organisation's active partners, set by the handler, so that a
    # forged id of another landlord's partner fails validation.
    partner = SelectField(_l("Partenaire"), choices=options([("", "—")]), default="")
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def set_partners(self, partners: list[tuple[int, str]]) -> None:
        self.partner.choices = options(
            [("", _l("— Choisissez le partenaire —")), *((str(i), n) for i, n in partners)]
        )

    def validate_partner(self, field: SelectField) -> None:
        if self.resolution.data == Resolution.partner_referral and not field.data:
            raise ValidationError(
                _l("Choisissez le partenaire vers lequel la personne est orientée.")
            )

    def partner_id(self) -> int | None:
        """The partner of a referral; None for any other resolution."""
        if self.resolution.data != Resolution.partner_referral or not self.partner.data:
            return None
        return int(self.partner.data)


class ReassignForm(FlaskForm):
    referent = SelectField(
        _l("Réattribuer à"),
        choices=options([("", "—")]),
        validators=[DataRequired(_l("Choisissez la personne qui suivra l'alerte."))],
    )

    def set_people(self, people: list[tuple[int, str]]) -> None:
        self.referent.choices = options(
            [("", _l("— Choisissez —")), *((str(i), n) for i, n in people)]
        )


class ReinforcedForm(FlaskForm):
    # The state asked for, not a blind toggle: a double click must not undo the first one.
    on = HiddenField(validators=[AnyOf(["0", "1"])])
