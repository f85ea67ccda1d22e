"""Forms and French labels of the staff queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from outreach.calls import labels
from outreach.calls.models import Disposition, Severity, SignalKind
from outreach.campaigns.schedule import PARIS
from outreach.queue.recording import Outcome
from outreach.telephony import numbers
from outreach.web.filters import accord, format_phone
from outreach.web.roster_forms import options

LABELS = labels.ALL

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
# The canicule call has one checklist: the form's. Each item shows the question to ask
# (DOMAIN.md) before what to tick; the staff script points to it instead of repeating it.
CANICULE_QUESTIONS = {
    "hot_home": "« Fait-il frais chez vous ? Volets fermés le jour, aéré la nuit ? »",
    "not_drinking": "« Avez-vous bu de l'eau aujourd'hui ? Combien de verres ? »",
    "not_eating": "« Avez-vous mangé normalement ? »",
    "heat_illness": "« Êtes-vous très {fatiguee} ? Vertiges, mal à la tête, fièvre ? » "
    "Écoutez aussi sa façon de parler.",
    "no_visits": "« Quelqu'un passe-t-il vous voir, de la famille, un voisin ? »",
    "needs": "« Avez-vous besoin de quelque chose : courses, eau, ventilateur, être "
    "{accompagnee} dans un lieu frais ? »",
}


def canicule_choices(senior: Any = None) -> list[Any]:
    """The canicule checklist, each question agreeing with the senior when it is known."""
    words = {
        "fatiguee": accord(senior, "fatigué", "fatiguée"),
        "accompagnee": accord(senior, "accompagné", "accompagnée"),
    }
    return options(
        (k, f"{CANICULE_QUESTIONS[k].format(**words)} → {v[0]}") for k, v in CANICULE_CHECKS.items()
    )


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


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
        choices=canicule_choices(),
    )
    notes = TextAreaField("Note sociale", validators=[Optional(), Length(max=2000)])
    callback_at = DateTimeLocalField(
        "Rappeler le", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    callback_for_me = BooleanField("C'est moi qui rappelle")
    absent_until = DateField("Absent(e) jusqu'au", validators=[Optional()])
    # Which of her numbers the caller dialled: a "wrong number" flags that one (and the
    # automated calls skip it), a reached call puts it first (telephony.numbers).
    phone = RadioField("Numéro composé", choices=[], validators=[Optional()])


def with_numbers(form: OutcomeForm, order: list[str], flagged: list[str], default: bool) -> None:
    """Offer her numbers on the form: the call order first, then those flagged wrong (a
    caller may still try them). ``default`` ticks the first (a page shown, not a post)."""
    form.phone.choices = [(n, format_phone(n)) for n in order] + [
        (n, f"{format_phone(n)} (signalé faux)") for n in flagged
    ]
    if default and not form.phone.data and (order or flagged):
        form.phone.data = (order or flagged)[0]


def make_outcome_form(
    may_write_notes: bool, session: Session | None = None, senior: Any = None
) -> OutcomeForm:
    """The outcome form; with ``senior``, her numbers to say which one was dialled."""
    form = OutcomeForm()
    if not may_write_notes:
        # Volunteers neither see nor write social notes: the field is not on their form.
        del form.notes
    if session is not None and senior is not None:
        order = numbers.call_order(session, senior)
        flagged = [n for n in numbers.her_numbers(senior) if n not in order]
        with_numbers(form, order, flagged, default=not form.is_submitted())
    return form


def has_entries(form: OutcomeForm, canicule: bool) -> bool:
    """Whether anything was ticked or typed besides the disposition."""
    return bool(
        form.signals.data
        or (canicule and form.canicule.data)
        or ("notes" in form and (form.notes.data or "").strip())
        or form.callback_at.data
        or form.absent_until.data
    )


def outcome_from(form: OutcomeForm, canicule: bool) -> Outcome:
    severity = Severity(form.severity.data or "concern")
    signals: list[tuple[SignalKind, Severity, str | None]] = [
        (SignalKind(k), severity, None) for k in form.signals.data or []
    ]
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
        phone=form.phone.data or None,
    )
