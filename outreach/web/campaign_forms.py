"""Forms and French labels of the campaign pages.

The targeting fields live in ``TargetingFields`` so that the campaign form (POST) and the
live count (GET ``/campagnes/compte``, same field names) read them the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from outreach.campaigns import targeting
from outreach.campaigns.models import (
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    SkipReason,
    TaskState,
)
from outreach.campaigns.operations import KIND_DEFAULTS, VIGILANCE_LEVELS
from outreach.campaigns.schedule import PARIS, WEEKDAYS
from outreach.roster.models import ConsentStatus
from outreach.web.roster_forms import CONSENT_LABELS, options

KIND_LABELS = {
    CampaignKind.courtesy: _l("Courtoisie"),
    CampaignKind.canicule: _l("Canicule"),
    CampaignKind.reminder: _l("Rappel"),
    CampaignKind.custom: _l("Ponctuelle"),
    CampaignKind.workshop: _l("Atelier"),
    CampaignKind.agreement: _l("Recueil d'accord"),
}
STATE_LABELS = {
    CampaignState.draft: _l("Brouillon"),
    CampaignState.active: _l("Active"),
    CampaignState.paused: _l("En pause"),
    CampaignState.closed: _l("Clôturée"),
}
CHANNEL_LABELS = {
    ChannelPolicy.staff: _l("Appels par l'équipe"),
    ChannelPolicy.ivr: _l("Appel automatique (serveur vocal)"),
    ChannelPolicy.sms: _l("SMS"),
    ChannelPolicy.ivr_then_staff: _l("Appel automatique, puis l'équipe si pas de réponse"),
}
TASK_STATE_LABELS = {
    TaskState.pending: _l("À faire"),
    TaskState.queued: _l("Envoyés à la plateforme"),
    TaskState.claimed: _l("En cours"),
    TaskState.done: _l("Terminés"),
    TaskState.failed: _l("Échecs"),
    TaskState.cancelled: _l("Annulés"),
    TaskState.escalated: _l("Transmis en alerte"),
}
SKIP_LABELS = {
    SkipReason.no_consent: _l("Pas de consentement"),
    SkipReason.opted_out: _l("Opposé(e) à ce canal"),
    SkipReason.no_phone: _l("Pas de numéro valide"),
    SkipReason.paused: _l("En pause / absent(e)"),
    SkipReason.left: _l("Parti(e)"),
}
WEEKDAY_LABELS = dict(
    zip(
        WEEKDAYS,
        (
            _l("Lundi"),
            _l("Mardi"),
            _l("Mercredi"),
            _l("Jeudi"),
            _l("Vendredi"),
            _l("Samedi"),
            _l("Dimanche"),
        ),
        strict=True,
    )
)
LEVEL_LABELS = {"jaune": _l("Jaune"), "orange": _l("Orange"), "rouge": _l("Rouge")}
SCRIPT_LABELS = {
    "courtesy": _l("Courtoisie"),
    "canicule": _l("Canicule"),
    "reminder": _l("Rappel"),
    "canicule_test": _l("Test SMS avant l'été"),
    "agreement": _l("Recueil d'accord (panel)"),
}
EITHER = options([("", _l("Indifférent")), ("oui", _l("Oui")), ("non", _l("Non"))])
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DEPARTEMENT_RE = re.compile(r"^(\d{2,3}|2A|2B)$")
# The cadence the courtesy form edits: weekly for 75+ living alone, every N days otherwise.
FRAGILE_WHEN = {"min_age": 75, "lives_alone": True}


def _split(text: str | None, sep: str) -> list[str]:
    return [p.strip() for p in re.split(sep, text or "") if p.strip()]


def _tri(value: bool | None) -> str:
    return "" if value is None else ("oui" if value else "non")


class TargetingFields(Form):
    """Targeting rules as form fields; see ``campaigns.targeting`` for their meaning."""

    departements = StringField(_l("Départements"), validators=[Optional(), Length(max=400)])
    min_age = IntegerField(
        _l("Âge minimum"),
        validators=[Optional(), NumberRange(0, 130, _l("Un âge entre 0 et 130 ans."))],
    )
    max_age = IntegerField(
        _l("Âge maximum"),
        validators=[Optional(), NumberRange(0, 130, _l("Un âge entre 0 et 130 ans."))],
    )
    lives_alone = SelectField(_l("Vit seul(e)"), choices=EITHER, default="")
    canicule_register = SelectField(
        _l("Inscrit(e) au registre canicule"), choices=EITHER, default=""
    )
    gir_max = IntegerField(
        _l("GIR maximum"),
        validators=[Optional(), NumberRange(1, 6, _l("Le GIR est un chiffre de 1 à 6."))],
    )
    residences = TextAreaField(_l("Résidences"), validators=[Optional(), Length(max=4000)])
    consent = SelectField(
        _l("Consentement"),
        choices=options(
            [("", _l("Indifférent")), *((c.value, CONSENT_LABELS[c]) for c in ConsentStatus)]
        ),
        default="",
    )
    priority_only = BooleanField(
        _l(
            "Seulement les personnes prioritaires : inscrites au registre canicule, "
            "ou de 75 ans et plus, ou vivant seules"
        )
    )

    def validate_departements(self, field: Any) -> None:
        for dep in _split(field.data, r"[,;\s]+"):
            if not DEPARTEMENT_RE.match(dep.upper()):
                raise ValidationError(
                    _l(
                        "Département inconnu : %(dep)s. Saisissez des numéros de département "
                        "séparés par des virgules, par exemple 37, 41.",
                        dep=dep,
                    )
                )

    def validate_max_age(self, field: Any) -> None:
        low = self.min_age.data
        if field.data is not None and low is not None and low > field.data:
            raise ValidationError(_l("L'âge maximum doit être supérieur ou égal à l'âge minimum."))

    def targeting_rules(self, kept: dict[str, Any] | None = None) -> dict[str, Any]:
        """The rules the fields describe, over ``kept``: rules of the stored campaign that
        the form cannot show (set by code) and that an edit must not lose."""
        rules: dict[str, Any] = {
            k: v for k, v in (kept or {}).items() if k not in FORM_RULE_KEYS and k != "any_of"
        }
        if (kept or {}).get("any_of") not in (None, targeting.CANICULE_DEFAULT_ANY_OF):
            rules["any_of"] = kept["any_of"]  # type: ignore[index]
        elif self.priority_only.data:
            rules["any_of"] = targeting.CANICULE_DEFAULT_ANY_OF
        if deps := _split(self.departements.data, r"[,;\s]+"):
            rules["departements"] = sorted({d.upper() for d in deps})
        for key in ("min_age", "max_age", "gir_max"):
            if getattr(self, key).data is not None:
                rules[key] = getattr(self, key).data
        for key in ("lives_alone", "canicule_register"):
            value = getattr(self, key).data
            if value in ("oui", "non"):
                rules[key] = value == "oui"
        if residences := _split(self.residences.data, r"[\r\n]+"):
            rules["residences"] = residences
        if self.consent.data:
            rules["consent"] = self.consent.data
        return rules

    def fill_targeting(self, rules: dict[str, Any]) -> None:
        self.departements.data = ", ".join(rules.get("departements", []))
        self.min_age.data = rules.get("min_age")
        self.max_age.data = rules.get("max_age")
        self.gir_max.data = rules.get("gir_max")
        self.lives_alone.data = _tri(rules.get("lives_alone"))
        self.canicule_register.data = _tri(rules.get("canicule_register"))
        self.residences.data = "\n".join(rules.get("residences", []))
        self.consent.data = rules.get("consent", "")
        self.priority_only.data = rules.get("any_of") == targeting.CANICULE_DEFAULT_ANY_OF


# What the kind decides (besides the call window), refilled when the kind changes.
KIND_FIELDS = frozenset(
    {
        "skip_holidays",
        "own_message",
        "requires_human",
        "retry_delay_minutes",
        "max_attempts_per_day",
        "max_attempts",
        "script",
        "cadence_fragile_days",
        "cadence_other_days",
    }
)
FORM_RULE_KEYS = frozenset(
    {
        "departements",
        "min_age",
        "max_age",
        "gir_max",
        "lives_alone",
        "canicule_register",
        "residences",
        "consent",
    }
)


class CountForm(TargetingFields):
    """The live count's query string: the campaign form's fields (CSRF not needed for GET)."""

    organisation = IntegerField(validators=[Optional()])
    campaign_id = IntegerField(validators=[Optional()])


def script_choices(current: str | None = None) -> list[tuple[str, Any]]:
    """The folders of call_scripts/ at the repository root, else the two shipped ones."""
    root = Path(current_app.root_path).parent / "call_scripts"
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    names = names or ["courtesy", "canicule"]
    if current and current not in names:
        names.append(current)  # keep a script whose folder went away visible
    return [(n, SCRIPT_LABELS.get(n, n)) for n in names]


class CampaignForm(TargetingFields, FlaskForm):
    name = StringField(
        _l("Nom de la campagne"),
        validators=[DataRequired(_l("Le nom est obligatoire.")), Length(max=200)],
    )
    kind = SelectField(_l("Type de campagne"), choices=options(KIND_LABELS.items()))
    organisation = SelectField(_l("Organisation"), coerce=int, choices=[])
    channel_policy = SelectField(_l("Canal"), choices=options(CHANNEL_LABELS.items()))
    skip_holidays = BooleanField(_l("Pas d'appel les jours fériés"))
    # One contact a day (DESIGN.md): what another campaign's contact means for this one.
    own_message = BooleanField(
        _l("Message propre : un appel d'une autre campagne le même jour ne le remplace pas")
    )
    requires_human = BooleanField(
        _l(
            "Voix humaine : une réponse à un appel automatique ou à un SMS d'une autre "
            "campagne ne suffit pas"
        )
    )
    retry_delay_minutes = IntegerField(
        _l("Délai avant de rappeler (minutes)"),
        validators=[
            DataRequired(_l("Indiquez un nombre de minutes.")),
            NumberRange(1, 24 * 60, _l("Entre 1 et 1440 minutes.")),
        ],
    )
    max_attempts_per_day = IntegerField(
        _l("Tentatives par jour au plus"),
        validators=[DataRequired(_l("Indiquez un nombre.")), NumberRange(1, 20)],
    )
    max_attempts = IntegerField(
        _l("Tentatives en tout au plus"),
        validators=[DataRequired(_l("Indiquez un nombre.")), NumberRange(1, 50)],
    )
    script = SelectField(_l("Script d'appel"), choices=[])
    cadence_fragile_days = IntegerField(
        _l("Personnes de 75 ans et plus vivant seules : tous les … jours"),
        validators=[Optional(), NumberRange(1, 365)],
    )
    cadence_other_days = IntegerField(
        _l("Les autres : tous les … jours"), validators=[Optional(), NumberRange(1, 365)]
    )
    starts_on = DateField(_l("Début"), format=DATE_FORMATS, validators=[Optional()])
    ends_on = DateField(_l("Fin"), format=DATE_FORMATS, validators=[Optional()])
    event_date = DateField(_l("Date de l'événement"), format=DATE_FORMATS, validators=[Optional()])
    event_time = TimeField(_l("Heure de l'événement"), validators=[Optional()])
    remind_hours_before = IntegerField(
        _l("Rappeler … heures avant"), validators=[Optional(), NumberRange(1, 24 * 14)]
    )

    # ------------------------------------------------------------ call window
    def window_rows(self) -> list[tuple[str, Any, list[tuple[Any, Any]]]]:
        """(weekday, label, [(start field, end field), ...]) for the template."""
        return [
            (
                d,
                WEEKDAY_LABELS[d],
                [(self[f"w_{d}_{i}_start"], self[f"w_{d}_{i}_end"]) for i in (1, 2)],
            )
            for d in WEEKDAYS
        ]

    def call_window(self) -> dict[str, list[list[str]]]:
        window: dict[str, list[list[str]]] = {}
        for day, _label, spans in self.window_rows():
            ranges = [
                [start.data.strftime("%H:%M"), end.data.strftime("%H:%M")]
                for start, end in spans
                if start.data and end.data
            ]
            if ranges:
                window[day] = sorted(ranges)
        return window

    def _check_window(self) -> bool:
        ok = True
        for _day, _label, spans in self.window_rows():
            for start, end in spans:
                if bool(start.data) != bool(end.data) and not (start.errors or end.errors):
                    (end if start.data else start).errors.append(
                        _l("Indiquez le début et la fin de la plage.")
                    )
                    ok = False
                elif start.data and end.data and start.data >= end.data:
                    end.errors.append(_l("La fin doit être après le début."))
                    ok = False
            (s1, e1), (s2, _e2) = spans
            if ok and e1.data and s2.data and s1.data and s2.data < e1.data:
                s2.errors.append(_l("La seconde plage commence avant la fin de la première."))
                ok = False
        if ok and not self.call_window():
            first = self[f"w_{WEEKDAYS[0]}_1_start"]
            message = _l("Indiquez au moins une plage d'appel dans la semaine.")
            first.errors = [*first.errors, message]
            ok = False
        return ok

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        return self._check_window() and ok

    def validate_ends_on(self, field: Any) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("La fin doit être le même jour que le début ou après."))

    def validate_event_date(self, field: Any) -> None:
        if self.kind.data == CampaignKind.reminder and not field.data:
            raise ValidationError(_l("Une campagne de rappel a besoin de la date de l'événement."))

    def validate_event_time(self, field: Any) -> None:
        if self.event_date.data and not field.data:
            raise ValidationError(_l("Indiquez l'heure de l'événement."))

    def validate_cadence_other_days(self, field: Any) -> None:
        if self.kind.data == CampaignKind.courtesy and not field.data:
            raise ValidationError(_l("Indiquez tous les combien de jours appeler."))

    # ------------------------------------------------------------ filling and reading
    def setup(self, organisations: dict[int, str], script: str | None) -> None:
        self.organisation.choices = options(sorted(organisations.items(), key=lambda kv: kv[1]))
        self.script.choices = options(script_choices(script))

    def fill_defaults(self, kind: CampaignKind) -> None:
        """The kind's defaults (operations.KIND_DEFAULTS) for what depends on the kind."""
        d = KIND_DEFAULTS[kind]
        # Show the defaults, not what the browser sent (fields render raw_data first).
        for f in self:
            if f.name.startswith("w_") or f.name in KIND_FIELDS:
                f.raw_data = None
        self._fill_window(d["call_window"])
        self.skip_holidays.data = d["skip_holidays"]
        self.own_message.data = d["own_message"]
        self.requires_human.data = d["requires_human"]
        self.retry_delay_minutes.data = d["retry_delay_minutes"]
        self.max_attempts_per_day.data = d["max_attempts_per_day"]
        self.max_attempts.data = d["max_attempts"]
        # setup() gave options(): SelectChoice items (types-WTForms 3.2 still says tuples).
        names = [c.value for c in cast("list[Any]", self.script.choices)]
        self.script.data = d["script"] if d["script"] in names else names[0]
        self._fill_cadence(d["cadence"] or KIND_DEFAULTS[CampaignKind.courtesy]["cadence"])
        if self.remind_hours_before.data is None:
            self.remind_hours_before.data = 24

    def _fill_window(self, window: dict[str, list[list[str]]]) -> None:
        for day, _label, spans in self.window_rows():
            ranges = window.get(day, [])
            for i, (start, end) in enumerate(spans):
                pair = ranges[i] if i < len(ranges) else None
                start.data = time.fromisoformat(pair[0]) if pair else None
                end.data = time.fromisoformat(pair[1]) if pair else None

    def _fill_cadence(self, cadence: list[dict[str, Any]]) -> None:
        for rule in cadence:
            if rule.get("when") == FRAGILE_WHEN:
                self.cadence_fragile_days.data = rule.get("every_days")
            elif not rule.get("when"):
                self.cadence_other_days.data = rule.get("every_days")

    def fill_from(self, campaign: Any) -> None:
        self.name.data = campaign.name
        self.kind.data = campaign.kind.value
        self.organisation.data = campaign.organisation_id
        self.channel_policy.data = campaign.channel_policy.value
        self.fill_targeting(campaign.targeting or {})
        self._fill_window(campaign.call_window or {})
        self.skip_holidays.data = campaign.skip_holidays
        self.own_message.data = campaign.own_message
        self.requires_human.data = campaign.requires_human
        self.retry_delay_minutes.data = campaign.retry_delay_minutes
        self.max_attempts_per_day.data = campaign.max_attempts_per_day
        self.max_attempts.data = campaign.max_attempts
        self.script.data = campaign.script
        self._fill_cadence(campaign.cadence or KIND_DEFAULTS[CampaignKind.courtesy]["cadence"])
        self.starts_on.data = campaign.starts_on
        self.ends_on.data = campaign.ends_on
        if campaign.event_at is not None:
            local = campaign.event_at.astimezone(PARIS)
            self.event_date.data, self.event_time.data = local.date(), local.time()
        self.remind_hours_before.data = campaign.remind_hours_before or 24

    def cadence(self, kind: CampaignKind) -> list[dict[str, Any]]:
        if kind != CampaignKind.courtesy:
            return KIND_DEFAULTS[kind]["cadence"]
        rules: list[dict[str, Any]] = []
        if self.cadence_fragile_days.data:
            rules.append({"when": dict(FRAGILE_WHEN), "every_days": self.cadence_fragile_days.data})
        rules.append({"every_days": self.cadence_other_days.data})
        return rules

    def campaign_fields(self, kind: CampaignKind, kept: dict[str, Any] | None) -> dict[str, Any]:
        """Keyword arguments for operations.create_campaign / update_campaign."""
        event_at = None
        if self.event_date.data and self.event_time.data:
            local = datetime.combine(self.event_date.data, self.event_time.data, tzinfo=PARIS)
            event_at = local.astimezone(UTC)
        return {
            "targeting": self.targeting_rules(kept),
            "channel_policy": ChannelPolicy(self.channel_policy.data),
            "call_window": self.call_window(),
            "skip_holidays": bool(self.skip_holidays.data),
            "own_message": bool(self.own_message.data),
            "requires_human": bool(self.requires_human.data),
            "retry_delay_minutes": self.retry_delay_minutes.data,
            "max_attempts_per_day": self.max_attempts_per_day.data,
            "max_attempts": self.max_attempts.data,
            "script": self.script.data,
            "cadence": self.cadence(kind),
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data,
            "event_at": event_at,
            "remind_hours_before": self.remind_hours_before.data if event_at else None,
        }


# Two time ranges per weekday: w_mon_1_start, w_mon_1_end, w_mon_2_start, ...
for _day in WEEKDAYS:
    for _i in (1, 2):
        for _edge, _text in (("start", _l("de")), ("end", _l("à"))):
            setattr(
                CampaignForm,
                f"w_{_day}_{_i}_{_edge}",
                TimeField(_text, validators=[Optional()]),
            )


class CaniculeForm(FlaskForm):
    """Click 1: tick départements; click 2: "Déclencher la canicule"."""

    departements = SelectMultipleField(
        _l("Départements en vigilance canicule"),
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    level = SelectField(
        _l("Niveau de vigilance"),
        choices=options((lv, LEVEL_LABELS[lv]) for lv in VIGILANCE_LEVELS),
        default="orange",
    )

    def validate_departements(self, field: Any) -> None:
        # Not DataRequired: its "required" flag would make the browser demand every box.
        if not field.data:
            raise ValidationError(_l("Cochez au moins un département."))


class StateForm(FlaskForm):
    state = HiddenField()
    confirm = BooleanField(_l("Je confirme la clôture : les appels restants seront annulés."))


def parse_day(value: str | None, default: date) -> date:
    """The ``?jour=`` of the campaign page; a bad value falls back to ``default``."""
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def describe_targeting(rules: dict[str, Any]) -> list[str]:
    """The rules in plain French, one line each, for the campaign page."""
    lines = []
    if deps := rules.get("departements"):
        lines.append(_("Départements : %(d)s", d=", ".join(deps)))
    low, high = rules.get("min_age"), rules.get("max_age")
    if low is not None and high is not None:
        lines.append(_("De %(a)s à %(b)s ans", a=low, b=high))
    elif low is not None:
        lines.append(_("%(a)s ans et plus", a=low))
    elif high is not None:
        lines.append(_("%(b)s ans au plus", b=high))
    for key, yes, no in (
        ("lives_alone", _("Vit seul(e)"), _("Ne vit pas seul(e)")),
        ("canicule_register", _("Inscrit(e) au registre canicule"), _("Hors registre canicule")),
        ("qpv", _("En quartier prioritaire"), _("Hors quartier prioritaire")),
        ("adapted_housing", _("Logement adapté"), _("Logement non adapté")),
    ):
        if key in rules:
            lines.append(yes if rules[key] else no)
    if (gir := rules.get("gir_max")) is not None:
        lines.append(_("GIR 1 à %(g)s", g=gir))
    if residences := rules.get("residences"):
        lines.append(_("Résidences : %(r)s", r=", ".join(residences)))
    if consent := rules.get("consent"):
        lines.append(_("Consentement : %(c)s", c=CONSENT_LABELS[ConsentStatus(consent)]))
    if any_of := rules.get("any_of"):
        if any_of == targeting.CANICULE_DEFAULT_ANY_OF:
            lines.append(
                _("Prioritaires : registre canicule, ou 75 ans et plus, ou vivant seul(e)")
            )
        else:
            lines.append(
                _(
                    "Au moins une des conditions : %(c)s",
                    c=" ; ".join(", ".join(describe_targeting(g)) for g in any_of),
                )
            )
    return lines or [_("Tous les seniors suivis de l'organisation")]


def describe_window(window: dict[str, list[list[str]]]) -> list[str]:
    """Call window as lines, consecutive days with the same hours grouped:
    "Lundi au vendredi : 10:00–13:00, 14:00–20:00"."""
    lines: list[str] = []
    run: list[str] = []

    def hours(day: str) -> str:
        return ", ".join(f"{a}–{b}" for a, b in window.get(day, []))

    def flush() -> None:
        if not run or not hours(run[0]):
            return
        first, last = WEEKDAY_LABELS[run[0]], WEEKDAY_LABELS[run[-1]]
        if len(run) == 1:
            days = str(first)
        elif len(run) == 2:
            days = _("%(a)s et %(b)s", a=first, b=str(last).lower())
        else:
            days = _("%(a)s au %(b)s", a=first, b=str(last).lower())
        lines.append(f"{days} : {hours(run[0])}")

    for day in WEEKDAYS:
        if run and hours(day) != hours(run[0]):
            flush()
            run = []
        run.append(day)
    flush()
    if len(lines) == 1 and lines[0].startswith(f"{WEEKDAY_LABELS['mon']} au"):
        if all(window.get(d) for d in WEEKDAYS):
            lines = [_("Tous les jours : %(h)s", h=hours("mon"))]
    return lines or [_("Aucune plage : la campagne n'appelle jamais")]
