"""Forms and French labels of the workshops pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from outreach.campaigns.schedule import PARIS
from outreach.web.roster_forms import options
from outreach.workshops.models import InvitationStatus, Workshop, WorkshopState
from outreach.workshops.operations import MAX_CAPACITY

STATUS_LABELS = {
    InvitationStatus.invited: _l("Invité(e), sans réponse"),
    InvitationStatus.registered: _l("Inscrit(e)"),
    InvitationStatus.waiting: _l("Liste d'attente"),
    InvitationStatus.declined: _l("Ne vient pas"),
    InvitationStatus.cancelled: _l("Retiré(e)"),
}
STATE_LABELS = {
    WorkshopState.planned: _l("Prévu"),
    WorkshopState.cancelled: _l("Annulé"),
    WorkshopState.held: _l("A eu lieu"),
}
CHANNEL_LABELS = {
    "sms": _l("SMS"),
    "ivr": _l("Appel automatique (serveur vocal)"),
    "staff": _l("Appel par l'équipe"),
}
YES_NO_ANY = [("", _l("Indifférent")), ("yes", _l("Oui")), ("no", _l("Non"))]


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]


class WorkshopForm(FlaskForm):
    theme = StringField(
        _l("Thème"), validators=[DataRequired(_l("Indiquez le thème.")), Length(max=200)]
    )
    day = DateField(_l("Date"), validators=[InputRequired(_l("Indiquez la date."))])
    start = TimeField(_l("Heure de début"), validators=[InputRequired(_l("Indiquez l'heure."))])
    end = TimeField(_l("Heure de fin"), validators=[Optional()])
    place = StringField(
        _l("Lieu"), validators=[DataRequired(_l("Indiquez le lieu.")), Length(max=200)]
    )
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=300)])
    postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=5)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=120)])
    accessibility = TextAreaField(_l("Accessibilité"), validators=[Optional(), Length(max=500)])
    capacity = IntegerField(
        _l("Nombre de places"),
        validators=[
            InputRequired(_l("Indiquez le nombre de places.")),
            NumberRange(1, MAX_CAPACITY, _l("De 1 à %(max)s places.", max=MAX_CAPACITY)),
        ],
    )
    territory = StringField(
        _l("Territoire"), validators=[DataRequired(_l("Indiquez le territoire.")), Length(max=120)]
    )
    organiser = StringField(_l("Organisé par"), validators=[Optional(), Length(max=200)])
    partner = SelectField(_l("Partenaire"), choices=[], validate_choice=True)
    organisation = SelectField(_l("Organisation"), coerce=int, validate_choice=True)

    def fill(self, workshop: Workshop) -> None:
        starts = workshop.starts_at.astimezone(PARIS)
        self.day.data, self.start.data = starts.date(), starts.time()
        self.end.data = workshop.ends_at.astimezone(PARIS).time() if workshop.ends_at else None
        for name in ("theme", "place", "address", "postcode", "city", "accessibility"):
            getattr(self, name).data = getattr(workshop, name)
        self.capacity.data = workshop.capacity
        self.territory.data = workshop.territory
        self.organiser.data = workshop.organiser
        self.partner.data = str(workshop.partner_id or "")

    def to_fields(self) -> dict[str, Any]:
        day, start = self.day.data, self.start.data
        assert day is not None and start is not None  # required by the validators
        starts = datetime.combine(day, start, PARIS)
        ends = datetime.combine(day, self.end.data, PARIS) if self.end.data else None
        return {
            "theme": self.theme.data,
            "starts_at": starts,
            "ends_at": ends,
            "place": self.place.data,
            "address": self.address.data,
            "postcode": self.postcode.data,
            "city": self.city.data,
            "accessibility": self.accessibility.data,
            "capacity": self.capacity.data,
            "territory": self.territory.data,
            "organiser": self.organiser.data,
            "partner_id": int(self.partner.data) if self.partner.data else None,
        }


class InviteForm(FlaskForm):
    departements = StringField(_l("Départements"), validators=[Optional(), Length(max=200)])
    residences = StringField(_l("Résidences"), validators=[Optional(), Length(max=500)])
    min_age = IntegerField(_l("Âge minimum"), validators=[Optional(), NumberRange(0, 130)])
    max_age = IntegerField(_l("Âge maximum"), validators=[Optional(), NumberRange(0, 130)])
    lives_alone = SelectField(_l("Vit seul(e)"), choices=options(YES_NO_ANY), default="")
    channel = RadioField(
        _l("Comment inviter"),
        choices=options(CHANNEL_LABELS.items()),
        default="sms",
        validators=[DataRequired(_l("Choisissez comment inviter."))],
    )

    def rules(self) -> dict[str, Any]:
        """The targeting rules (campaigns.targeting) of the group chosen."""
        rules: dict[str, Any] = {}
        if deps := _split(self.departements.data):
            rules["departements"] = deps
        if residences := _split(self.residences.data):
            rules["residences"] = residences
        if self.min_age.data is not None:
            rules["min_age"] = self.min_age.data
        if self.max_age.data is not None:
            rules["max_age"] = self.max_age.data
        if self.lives_alone.data in ("yes", "no"):
            rules["lives_alone"] = self.lives_alone.data == "yes"
        return rules


class TransportForm(FlaskForm):
    note = StringField(_l("Précision"), validators=[Optional(), Length(max=300)])
