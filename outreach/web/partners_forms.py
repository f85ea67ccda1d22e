"""Forms and French labels of the partners directory.

Field checks call the normalisers of ``partners.operations``, so that the form and the
operation give the same message for the same mistake.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Form,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, ValidationError

from outreach.partners.models import Partner, PartnerKind
from outreach.partners.operations import (
    PartnerError,
    normalise_departements,
    normalise_email,
    normalise_partner_phone,
)
from outreach.web.filters import format_phone
from outreach.web.roster_forms import ANY, options

KIND_LABELS = {
    PartnerKind.ccas: _l("CCAS"),
    PartnerKind.clic: _l("CLIC"),
    PartnerKind.ssiad: _l("SSIAD (soins infirmiers à domicile)"),
    PartnerKind.saad: _l("Service d'aide à domicile"),
    PartnerKind.croix_rouge: _l("Croix-Rouge chez vous"),
    PartnerKind.mairie: _l("Mairie"),
    PartnerKind.medical: _l("Médecin, centre de santé"),
    PartnerKind.other: _l("Autre partenaire"),
}
STATUS_LABELS = {
    "active": _l("Actifs"),
    "inactive": _l("Désactivés"),
    "all": _l("Tous"),
}


def _kind_choices(empty: Any) -> list[Any]:
    return options([empty, *((k.value, label) for k, label in KIND_LABELS.items())])


class PartnerFilterForm(Form):
    """Filters of the directory, read from the query string so that URLs are bookmarks."""

    kind = SelectField(_l("Type"), choices=_kind_choices(ANY))
    dep = SelectField(_l("Département desservi"), choices=options([ANY]), validate_choice=False)
    status = SelectField(_l("Statut"), choices=options(STATUS_LABELS.items()), default="active")

    def values(self) -> tuple[PartnerKind | None, str | None, str]:
        """(kind, département, status) asked for; a hand-edited value is ignored."""
        kind = PartnerKind(self.kind.data) if self.kind.data in set(PartnerKind) else None
        dep = (self.dep.data or "").strip().upper()[:3] or None
        status = self.status.data if self.status.data in STATUS_LABELS else "active"
        return kind, dep, status


def _call(normaliser: Any, field: Any) -> None:
    try:
        normaliser(field.data)
    except PartnerError as exc:
        raise ValidationError(str(exc)) from exc


class PartnerForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), coerce=int, choices=[])
    name = StringField(_l("Nom"), validators=[Length(max=200)])
    kind = SelectField(_l("Type de partenaire"), choices=_kind_choices(("", "—")))
    departements = StringField(_l("Départements desservis"), validators=[Length(max=200)])
    communes = StringField(_l("Communes desservies"), validators=[Length(max=500)])
    contact_name = StringField(_l("Personne à contacter"), validators=[Length(max=200)])
    phone = TelField(_l("Téléphone"))
    email = EmailField(_l("Adresse e-mail"))
    address = StringField(_l("Adresse"), validators=[Length(max=300)])
    notes = TextAreaField(
        _l("Remarques (horaires, conditions d'intervention…)"), validators=[Length(max=2000)]
    )

    def validate_name(self, field: Any) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Le nom du partenaire est obligatoire."))

    def validate_kind(self, field: Any) -> None:
        if field.data not in set(PartnerKind):
            raise ValidationError(_l("Choisissez le type de partenaire dans la liste."))

    def validate_departements(self, field: Any) -> None:
        _call(normalise_departements, field)

    def validate_phone(self, field: Any) -> None:
        _call(normalise_partner_phone, field)

    def validate_email(self, field: Any) -> None:
        _call(normalise_email, field)

    def fill(self, partner: Partner) -> None:
        """Load a partner's values for its edit page (a GET)."""
        self.process(obj=partner)
        self.organisation.data = partner.organisation_id
        self.kind.data = partner.kind.value
        self.departements.data = ", ".join(partner.departements or [])
        self.phone.data = format_phone(partner.phone)

    def to_fields(self) -> dict[str, Any]:
        """The values for ``create_partner`` / ``update_partner`` (checked again there)."""
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "departements": self.departements.data,
            "communes": self.communes.data,
            "contact_name": self.contact_name.data,
            "phone": self.phone.data,
            "email": self.email.data,
            "address": self.address.data,
            "notes": self.notes.data,
        }
