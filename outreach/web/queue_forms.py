"""Forms and French labels of the staff queue."""

from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from outreach.calls.models import Disposition, Severity, SignalKind
from outreach.campaigns.schedule import PARIS
from outreach.queue.operations import Outcome
from outreach.web.roster_forms import options

LABELS: dict[str, dict[str, str]] = {
    "disposition": {
        "reached_ok": "Joint(e), tout va bien",
        "reached_concern": "Joint(e), une inquiétude",
        "no_answer": "Pas de réponse",
        "busy": "Occupé",
        "voicemail": "Messagerie",
        "wrong_number": "Mauvais numéro",
        "refused": "Ne souhaite plus être appelé(e)",
        "absent": "Absent(e) (hôpital, vacances)",
        "deceased": "Décédé(e)",
    },
    "signal": {
        "isolation": "Isolement, solitude",
        "health_worsening": "Santé qui se dégrade",
        "fall": "Chute",
        "heat_distress": "Souffre de la chaleur",
        "not_eating_drinking": "Ne mange ou ne boit pas assez",
        "memory_confusion": "Mémoire, confusion",
        "mobility": "Difficultés à se déplacer",
        "housing_adaptation": "Logement à adapter",
        "financial": "Difficultés financières",
        "bereavement": "Deuil",
        "other": "Autre",
    },
    "severity": {"info": "Pour information", "concern": "À surveiller", "urgent": "Urgent"},
    "channel": {"staff": "Appel", "ivr": "Appel automatique", "sms": "SMS envoyé"},
    # What the gateway said of an automated call or SMS.
    "gateway": {
        "dispatching": "en cours d'envoi",
        "queued": "en file chez l'opérateur",
        "initiated": "composé",
        "ringing": "sonne",
        "in-progress": "en ligne",
        "completed": "terminé",
        "busy": "occupé",
        "no-answer": "pas de réponse",
        "failed": "échec",
        "canceled": "annulé",
        "sent": "envoyé",
        "delivered": "reçu",
        "undelivered": "non distribué",
        "unknown": "envoi interrompu, à vérifier",
        "not_sent": "non envoyé",
        "received": "reçu",
    },
    "digits": {
        "1": "a appuyé sur 1 : tout va bien",
        "2": "a appuyé sur 2 : souhaite être rappelé(e)",
        "3": "a appuyé sur 3 : demande de l'aide",
    },
    "task": {
        "pending": "à faire",
        "queued": "envoyé",
        "claimed": "en cours",
        "done": "fait",
        "failed": "sans réponse",
        "cancelled": "annulé",
        "escalated": "transmis",
    },
    "skip": {
        "no_consent": "pas de consentement",
        "opted_out": "opposé(e) à ce canal",
        "no_phone": "pas de numéro valide",
        "paused": "en pause, absent(e)",
        "left": "ne fait plus partie du suivi",
    },
}

# The canicule checklist of DOMAIN.md: each ticked problem becomes a signal.
CANICULE_CHECKS: dict[str, tuple[str, SignalKind, Severity]] = {
    "hot_home": ("Le logement est trop chaud", SignalKind.heat_distress, Severity.concern),
    "not_drinking": ("Ne boit pas assez", SignalKind.not_eating_drinking, Severity.concern),
    "not_eating": ("Ne mange pas assez", SignalKind.not_eating_drinking, Severity.concern),
    "heat_illness": (
        "Signes de coup de chaleur : grande fatigue, vertiges, maux de tête, crampes, nausées, "
        "confusion, fièvre",
        SignalKind.heat_distress,
        Severity.urgent,
    ),
    "no_visits": ("Personne ne passe la voir", SignalKind.isolation, Severity.concern),
    "needs": (
        "A besoin d'aide : courses, eau, ventilateur, lieu frais",
        SignalKind.other,
        Severity.concern,
    ),
}


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class QuickOkForm(FlaskForm):
    quick = HiddenField(default="1")


class OutcomeForm(FlaskForm):
    disposition = RadioField(
        "Résultat de l'appel",
        choices=options(LABELS["disposition"].items()),
        validators=[DataRequired("Choisissez le résultat de l'appel.")],
    )
    signals = MultiCheckbox("Signaux de fragilité", choices=options(LABELS["signal"].items()))
    severity = RadioField(
        "Gravité des signaux cochés",
        choices=options(LABELS["severity"].items()),
        default="concern",
    )
    canicule = MultiCheckbox(
        "Canicule : ce qui ne va pas",
        choices=options((k, v[0]) for k, v in CANICULE_CHECKS.items()),
    )
    notes = TextAreaField("Note sociale", validators=[Optional(), Length(max=2000)])
    callback_at = DateTimeLocalField(
        "Rappeler le", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    callback_for_me = BooleanField("C'est moi qui rappelle")
    absent_until = DateField("Absent(e) jusqu'au", validators=[Optional()])


def make_outcome_form(may_write_notes: bool) -> OutcomeForm:
    form = OutcomeForm()
    if not may_write_notes:
        # Volunteers neither see nor write social notes: the field is not on their form.
        del form.notes
    return form


def outcome_from(form: OutcomeForm, canicule: bool) -> Outcome:
    severity = Severity(form.severity.data or "concern")
    signals = [(SignalKind(k), severity, None) for k in form.signals.data or []]
    if canicule:
        for key in form.canicule.data or []:
            label, kind, sev = CANICULE_CHECKS[key]
            signals.append((kind, sev, label[:500]))
    callback = form.callback_at.data
    return Outcome(
        disposition=Disposition(form.disposition.data),
        signals=signals,
        notes=form.notes.data if "notes" in form else None,
        callback_at=callback.replace(tzinfo=PARIS) if isinstance(callback, datetime) else None,
        callback_for_me=bool(form.callback_for_me.data),
        absent_until=form.absent_until.data,
    )
