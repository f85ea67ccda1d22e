"""Forms of the roster pages: list filters (GET), senior edit, roster import."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from flask import session as http_session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    Form,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    TelField,
)

# WTForms 3.3 (the minimum) deprecates (value, label) tuples in favour of SelectChoice, which
# types-WTForms (written for 3.2) does not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from outreach.campaigns.schedule import paris_today
from outreach.roster.models import (
    Area,
    Channel,
    ConsentStatus,
    HousingType,
    LeftReason,
    Senior,
    Sex,
)
from outreach.roster.phones import InvalidPhone, SpecialPhone, is_mobile, normalise_phone
from outreach.roster.queries import AGE_BANDS, RosterFilters
from outreach.web.filters import format_phone

CONSENT_LABELS = {
    ConsentStatus.unknown: _l("Inconnu"),
    ConsentStatus.given: _l("Donné"),
    ConsentStatus.refused: _l("Refusé"),
    ConsentStatus.withdrawn: _l("Retiré"),
}
LEFT_LABELS = {
    LeftReason.moved: _l("Déménagement"),
    LeftReason.ehpad: _l("Entrée en EHPAD"),
    LeftReason.deceased: _l("Décès"),
    LeftReason.other: _l("Autre motif"),
}
SEX_LABELS = {Sex.female: _l("Femme"), Sex.male: _l("Homme")}
HOUSING_LABELS = {HousingType.collectif: _l("Collectif"), HousingType.individuel: _l("Individuel")}
AREA_LABELS = {Area.urbain: _l("Urbain"), Area.rural: _l("Rural")}
CHANNEL_LABELS = {Channel.phone: _l("Téléphone"), Channel.sms: _l("SMS")}
AGE_LABELS = {
    "lt65": _l("moins de 65 ans"),
    "65-74": _l("65 à 74 ans"),
    "75-84": _l("75 à 84 ans"),
    "85+": _l("85 ans et plus"),
}
STATUS_LABELS = {
    "active": _l("Suivis actuellement"),
    "left": _l("Partis"),
    "all": _l("Tous"),
}
CIVILITIES = ("Mme", "M.")
ANY = ("", _l("Tous"))
YES_NO = [ANY, ("oui", _l("Oui")), ("non", _l("Non"))]  # pairs: see options()
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def options(pairs: Iterable[tuple[Any, Any]]) -> list[Any]:
    """Select options (SelectChoice) from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _choices(labels: dict[Any, Any], empty: Any = ("", "—")) -> list[Any]:
    return options([empty, *((str(k), v) for k, v in labels.items())])


def today_in_paris() -> date:
    """Today's date where the users are (``outreach.timezone``), not the server's."""
    return paris_today(datetime.now(UTC))


def _yes_no(value: str | None) -> bool | None:
    return {"oui": True, "non": False}.get(value or "")


# ---------------------------------------------------------------- list filters (GET)


class RosterFilterForm(Form):
    """The list's search and filters. The filters (choices from lists) are read from the
    query string, so URLs are bookmarks; the typed search (a name, a phone number) never
    is: it is posted, kept in the user's session and named in URLs by an opaque id
    (``remember_search``), so that it stays out of access logs and browser history."""

    q = SearchField(_l("Rechercher"), validators=[Optional(), Length(max=100)])
    org = SelectField(_l("Organisation"), choices=options([ANY]), validate_choice=False)
    dep = SelectField(_l("Département"), choices=options([ANY]), validate_choice=False)
    age = SelectField(_l("Âge"), choices=_choices(AGE_LABELS, ANY))
    alone = SelectField(_l("Vit seul(e)"), choices=options(YES_NO))
    canicule = SelectField(_l("Registre canicule"), choices=options(YES_NO))
    consent = SelectField(_l("Consentement"), choices=_choices(CONSENT_LABELS, ANY))
    status = SelectField(_l("Statut"), choices=options(STATUS_LABELS.items()), default="active")
    # Set when the URL names a search this session no longer knows (the page says so).
    lost_search = False

    def url_args(self) -> dict[str, str]:
        """The filters for the list's URL: values of the lists only, never typed text (a
        forged value that is not an option stays out of the URL and of the logs)."""
        args = {}
        for field in self:
            value = str(field.data or "")
            if field.name == "q" or not value:
                continue
            if field.name == "org":
                fits = value.isascii() and value.isdigit() and len(value) <= 10
            elif field.name == "dep":
                fits = value.isascii() and value.isalnum() and len(value) <= 3
            else:
                choices = getattr(field, "choices", None) or ()
                fits = value in {choice.value for choice in choices}
            if fits:
                args[field.name] = value
        return args

    def to_filters(self, org_ids: list[int]) -> RosterFilters:
        """The filters asked for; a value that cannot be right (a hand-edited URL) is ignored
        rather than refused, so an old bookmark still shows a list."""
        org_id = int(self.org.data) if (self.org.data or "").isdigit() else None
        consent = self.consent.data if self.consent.data in set(ConsentStatus) else None
        return RosterFilters(
            q=(self.q.data or "").strip()[:100],
            organisation_id=org_id if org_id in org_ids else None,
            departement=(self.dep.data or "").strip().upper()[:3] or None,
            age_band=self.age.data if self.age.data in AGE_BANDS else None,
            lives_alone=_yes_no(self.alone.data),
            canicule_register=_yes_no(self.canicule.data),
            consent_status=ConsentStatus(consent) if consent else None,
            status=self.status.data if self.status.data in STATUS_LABELS else "active",
        )


# The last few searches of a user, so that pagination, the export link and the back button
# of each of her tabs keep their own search.
SEARCHES_KEPT = 5
SEARCH_KEY = "roster_searches"
SEARCH_ARG = "recherche"


def remember_search(terms: str) -> str:
    """Keep ``terms`` in the session; return the id that names them in URLs."""
    kept = list(http_session.get(SEARCH_KEY, []))
    same = [pair for pair in kept if pair[1] == terms]
    token = same[0][0] if same else secrets.token_urlsafe(6)
    kept = [pair for pair in kept if pair[1] != terms]
    http_session[SEARCH_KEY] = [*kept[-(SEARCHES_KEPT - 1) :], [token, terms]]
    return token


def recall_search(token: str | None) -> str | None:
    """The terms an id names, or None if this session does not know it (an old link, a
    link from someone else's session)."""
    for known, terms in http_session.get(SEARCH_KEY, []):
        if token and known == token:
            return str(terms)
    return None


# ---------------------------------------------------------------- senior edit


def _phone_check(form: FlaskForm, field: Any) -> None:
    try:
        field.normalised = normalise_phone(field.data)
    except SpecialPhone as exc:
        raise ValidationError(
            _l("Numéro surtaxé ou spécial refusé : un senior n'est jamais appelé sur ce numéro.")
        ) from exc
    except InvalidPhone as exc:
        raise ValidationError(
            _l(
                "Numéro de téléphone invalide : saisissez-le avec ses 10 chiffres, "
                "par exemple 06 12 34 56 78."
            )
        ) from exc


# Bidirectional embeddings, overrides and isolates: invisible, they reorder what is shown.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _one_line(form: FlaskForm, field: Any) -> None:
    """A name, an address, a city: one line of visible text. A line break would turn a name
    into a heading or a list in the call script; a control character shows as nothing."""
    value = field.data or ""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS for c in value):
        raise ValidationError(
            _l(
                "Ce champ doit tenir sur une ligne, sans retour à la ligne, tabulation ni "
                "caractère invisible."
            )
        )


def _not_in_future(form: FlaskForm, field: Any) -> None:
    if field.data and field.data > today_in_paris():
        raise ValidationError(_l("Cette date ne peut pas être dans le futur."))


class SeniorForm(FlaskForm):
    civility = SelectField(
        _l("Civilité"), choices=options([("", "—"), *((c, c) for c in CIVILITIES)])
    )
    last_name = StringField(
        _l("Nom"),
        validators=[DataRequired(_l("Le nom est obligatoire.")), Length(max=120), _one_line],
    )
    first_name = StringField(
        _l("Prénom"),
        validators=[DataRequired(_l("Le prénom est obligatoire.")), Length(max=120), _one_line],
    )
    birth_date = DateField(_l("Date de naissance"), format=DATE_FORMATS, validators=[Optional()])
    sex = SelectField(_l("Sexe"), choices=_choices(SEX_LABELS))

    phone_mobile = TelField(_l("Téléphone portable"), validators=[Optional(), _phone_check])
    phone_landline = TelField(_l("Téléphone fixe"), validators=[Optional(), _phone_check])
    preferred_channel = SelectField(
        _l("Moyen de contact préféré"), choices=options(CHANNEL_LABELS.items())
    )

    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=250), _one_line])
    postcode = StringField(_l("Code postal"), validators=[Optional()])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=120), _one_line])
    residence = StringField(
        _l("Résidence ou bâtiment"), validators=[Optional(), Length(max=120), _one_line]
    )
    floor = StringField(_l("Étage"), validators=[Optional(), Length(max=20), _one_line])
    door_code = StringField(
        _l("Code porte (digicode)"), validators=[Optional(), Length(max=40), _one_line]
    )
    access_notes = StringField(
        _l("Consignes d'accès"), validators=[Optional(), Length(max=300), _one_line]
    )
    housing_type = SelectField(_l("Type de logement"), choices=_choices(HOUSING_LABELS))
    area = SelectField(_l("Secteur"), choices=_choices(AREA_LABELS))
    qpv = BooleanField(_l("Quartier prioritaire (QPV)"))
    lives_alone = BooleanField(_l("Vit seul(e)"))
    adapted_housing = BooleanField(_l("Logement adapté"))
    gir = IntegerField(
        _l("GIR (si connu)"),
        validators=[Optional(), NumberRange(1, 6, _l("Le GIR est un chiffre de 1 à 6."))],
    )

    referent_id = SelectField(_l("Référent(e)"), choices=options([("", "—")]))
    canicule_register = BooleanField(_l("Inscrit(e) au registre canicule"))
    consent_status = SelectField(_l("Consentement"), choices=options(CONSENT_LABELS.items()))
    consent_date = DateField(
        _l("Date du consentement"), format=DATE_FORMATS, validators=[Optional(), _not_in_future]
    )
    consent_source = StringField(
        _l("Recueilli par (source)"), validators=[Optional(), Length(max=120), _one_line]
    )
    consent_phone = BooleanField(_l("Accepte les appels"))
    consent_sms = BooleanField(_l("Accepte les SMS"))
    paused_until = DateField(_l("En pause jusqu'au"), format=DATE_FORMATS, validators=[Optional()])
    pause_reason = StringField(
        _l("Motif de la pause"), validators=[Optional(), Length(max=200), _one_line]
    )
    status = SelectField(
        _l("Statut du suivi"),
        choices=options(
            [("active", _l("Suivi(e) actuellement")), ("left", _l("A quitté le suivi"))]
        ),
    )
    left_reason = SelectField(_l("Motif du départ"), choices=_choices(LEFT_LABELS))
    left_on = DateField(
        _l("Date du départ"), format=DATE_FORMATS, validators=[Optional(), _not_in_future]
    )

    # No Optional(): it would stop validate_ec_name, which checks an empty name.
    ec_name = StringField(_l("Nom du contact"), validators=[Length(max=200), _one_line])
    ec_relation = StringField(
        _l("Lien (fille, voisin…)"), validators=[Optional(), Length(max=80), _one_line]
    )
    ec_phone = TelField(_l("Téléphone du contact"), validators=[Optional(), _phone_check])

    def setup(self, senior: Senior, referents: list[Any], fill: bool) -> None:
        """Choices that depend on the senior; ``fill`` loads her values (a GET)."""
        current = senior.referent_id
        people = [(str(u.id), u.name) for u in referents]
        if current is not None and str(current) not in {k for k, _ in people}:
            # Keep a referent who left the eligible roles rather than drop her silently.
            people.append((str(current), _l("Référent(e) actuel(le)")))
        self.referent_id.choices = options([("", _l("— Aucun(e) —")), *people])
        if senior.civility and senior.civility not in CIVILITIES:
            extra = options([(senior.civility, senior.civility)])
            self.civility.choices = [*(self.civility.choices or ()), *extra]
        if not fill:
            return
        self.process(obj=senior)
        self.referent_id.data = str(current) if current is not None else ""
        self.status.data = "active" if senior.active else "left"
        self.phone_mobile.data = format_phone(senior.phone_mobile)
        self.phone_landline.data = format_phone(senior.phone_landline)
        contact = senior.emergency_contacts[0] if senior.emergency_contacts else None
        if contact is not None:
            self.ec_name.data = contact.name
            self.ec_relation.data = contact.relation
            self.ec_phone.data = format_phone(contact.phone)

    # Field checks that need more than one value or today's date.
    def validate_birth_date(self, field: Any) -> None:
        if field.data and field.data > today_in_paris():
            raise ValidationError(_l("La date de naissance ne peut pas être dans le futur."))
        if field.data and field.data.year < 1900:
            raise ValidationError(_l("La date de naissance doit être après 1900."))

    def validate_postcode(self, field: Any) -> None:
        code = re.sub(r"\s", "", field.data or "")
        if code and not re.fullmatch(r"\d{5}", code):
            raise ValidationError(
                _l("Le code postal doit comporter 5 chiffres, par exemple 37000.")
            )

    def validate_phone_mobile(self, field: Any) -> None:
        number = getattr(field, "normalised", None)
        if number and not is_mobile(number):
            raise ValidationError(
                _l("Ce numéro n'est pas un portable : saisissez-le dans « Téléphone fixe ».")
            )

    def validate_left_reason(self, field: Any) -> None:
        if self.status.data == "left" and not field.data:
            raise ValidationError(_l("Indiquez le motif du départ."))
        if self.status.data == "active" and field.data:
            raise ValidationError(
                _l("Choisissez « A quitté le suivi » comme statut pour enregistrer un départ.")
            )

    def validate_ec_name(self, field: Any) -> None:
        if not (field.data or "").strip() and (
            (self.ec_relation.data or "").strip() or (self.ec_phone.data or "").strip()
        ):
            raise ValidationError(_l("Indiquez le nom du contact d'urgence."))

    def to_data(self) -> dict[str, Any]:
        """The values for ``roster.editing.update_senior`` (phones already E.164)."""

        def enum_or_none(cls: type, value: str | None) -> Any:
            return cls(value) if value else None

        left = self.status.data == "left"
        return {
            "civility": self.civility.data or None,
            "last_name": self.last_name.data,
            "first_name": self.first_name.data,
            "birth_date": self.birth_date.data,
            "sex": enum_or_none(Sex, self.sex.data),
            "phone_mobile": getattr(self.phone_mobile, "normalised", None),
            "phone_landline": getattr(self.phone_landline, "normalised", None),
            "preferred_channel": Channel(self.preferred_channel.data),
            "address": self.address.data,
            "postcode": re.sub(r"\s", "", self.postcode.data or "") or None,
            "city": self.city.data,
            "residence": self.residence.data,
            "floor": self.floor.data,
            "door_code": self.door_code.data,
            "access_notes": self.access_notes.data,
            "housing_type": enum_or_none(HousingType, self.housing_type.data),
            "area": enum_or_none(Area, self.area.data),
            "qpv": self.qpv.data,
            "lives_alone": self.lives_alone.data,
            "adapted_housing": self.adapted_housing.data,
            "gir": self.gir.data,
            "referent_id": int(self.referent_id.data) if self.referent_id.data else None,
            "canicule_register": self.canicule_register.data,
            "consent_status": ConsentStatus(self.consent_status.data),
            "consent_date": self.consent_date.data,
            "consent_source": self.consent_source.data,
            "consent_phone": self.consent_phone.data,
            "consent_sms": self.consent_sms.data,
            "paused_until": self.paused_until.data,
            "pause_reason": self.pause_reason.data,
            "active": not left,
            "left_reason": enum_or_none(LeftReason, self.left_reason.data) if left else None,
            "left_on": self.left_on.data if left else None,
            "emergency_contact": {
                "name": self.ec_name.data,
                "relation": self.ec_relation.data,
                "phone": getattr(self.ec_phone, "normalised", None),
            },
        }


# ---------------------------------------------------------------- import


class ImportForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int, choices=[])
    file = FileField(
        _l("Fichier des seniors (CSV ou Excel .xlsx)"),
        validators=[
            FileRequired(_l("Choisissez un fichier à importer.")),
            FileAllowed(["csv", "xlsx"], _l("Le fichier doit être au format CSV ou XLSX.")),
        ],
    )
    dry_run = BooleanField(_l("Simulation (ne rien modifier)"))
