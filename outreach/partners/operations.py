"""Writes on the partners directory and referrals of seniors to partners.

Operations validate their input (the web forms reuse the same checks, so that a message is
written once), flush, and never commit: the request or job that calls them owns the
transaction. Messages are in French, for the social worker who reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.db import utcnow
from outreach.escalation.models import Alert
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.roster.models import Senior
from outreach.roster.phones import InvalidPhone, normalise_phone


class PartnerError(ValueError):
    """Invalid partner input; ``field`` names the faulty field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ReferralError(PartnerError):
    """A referral that cannot be recorded (another landlord's partner, an inactive one...)."""


# Metropolitan départements 01-95 (Corsica is 2A/2B, never 20) and the overseas ones,
# which take the first three digits of their postcodes (971-978, 984-989).
DEPARTEMENT_RE = re.compile(r"^(0[1-9]|1\d|2[1-9]|2A|2B|[3-8]\d|9[0-5]|97[1-8]|98[4-9])$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
# Free-text fields: (maximum length, the French name used in messages).
TEXT_FIELDS = {
    "communes": (500, "La liste des communes"),
    "address": (300, "L'adresse"),
    "contact_name": (200, "Le nom du contact"),
    "notes": (2000, "Les remarques"),
}
FIELDS = ("name", "kind", "departements", "phone", "email", *TEXT_FIELDS)
NOTE_MAX = 1000


def normalise_departements(value: str | Iterable[str] | None) -> list[str]:
    """Département codes from "37, 41" or ["37", "2a"]: upper-cased, unique, sorted.

    Raises PartnerError naming the first code that is not a département.
    """
    if value is None:
        return []
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else list(value)
    codes: set[str] = set()
    for item in items:
        code = str(item).strip().upper()
        if not code:
            continue
        if len(code) == 1 and code.isdigit():
            code = "0" + code  # "1" typed for l'Ain
        if not DEPARTEMENT_RE.match(code):
            raise PartnerError(
                f"Département inconnu : {item}. Saisissez des numéros de département "
                "séparés par des virgules, par exemple 37, 41 ou 2A.",
                "departements",
            )
        codes.add(code)
    return sorted(codes)


def normalise_partner_phone(value: str | None) -> str | None:
    """The E.164 form of a partner's number, None when empty; PartnerError when invalid."""
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise PartnerError(
            "Numéro de téléphone invalide : saisissez-le avec ses 10 chiffres, "
            "par exemple 02 47 12 34 56.",
            "phone",
        ) from exc


def normalise_email(value: str | None) -> str | None:
    """A plausible e-mail address (trimmed), None when empty; PartnerError otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 254 or not EMAIL_RE.match(text):
        raise PartnerError(
            "Adresse e-mail invalide : elle doit ressembler à contact@exemple.fr.", "email"
        )
    return text


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validated and normalised values for the given fields only."""
    unknown = set(values) - {*FIELDS, "active"}
    if unknown:
        # A programming error, not a user's: no translation needed, but keep it explicit.
        raise TypeError(f"unknown partner fields: {sorted(unknown)}")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            name = (value or "").strip()
            if not name:
                raise PartnerError("Le nom du partenaire est obligatoire.", "name")
            if len(name) > 200:
                raise PartnerError("Le nom ne doit pas dépasser 200 caractères.", "name")
            clean[key] = name
        elif key == "kind":
            if value not in set(PartnerKind):
                raise PartnerError("Choisissez le type de partenaire dans la liste.", "kind")
            clean[key] = PartnerKind(value)
        elif key == "departements":
            clean[key] = normalise_departements(value)
        elif key == "phone":
            clean[key] = normalise_partner_phone(value)
        elif key == "email":
            clean[key] = normalise_email(value)
        elif key == "active":
            clean[key] = bool(value)
        else:
            limit, label = TEXT_FIELDS[key]
            text = (value or "").strip() or None
            if text is not None and len(text) > limit:
                raise PartnerError(f"{label} ne doit pas dépasser {limit} caractères.", key)
            clean[key] = text
    return clean


def create_partner(
    session: Session, organisation_id: int, *, user_id: int | None = None, **fields: Any
) -> Partner:
    """Add a partner to an organisation's directory; ``name`` and ``kind`` are required."""
    fields.setdefault("name", None)
    fields.setdefault("kind", None)
    fields.setdefault("active", True)
    partner = Partner(organisation_id=organisation_id, **_clean(fields))
    if partner.departements is None:
        partner.departements = []
    session.add(partner)
    session.flush()
    record(
        session,
        action="create",
        entity="partner",
        entity_id=partner.id,
        organisation_id=organisation_id,
        user_id=user_id,
        details={"kind": partner.kind.value},
    )
    return partner


def update_partner(
    session: Session, partner: Partner, *, user_id: int | None = None, **fields: Any
) -> list[str]:
    """Change some fields of a partner (``active=False`` deactivates it: a partner is never
    deleted, the referrals made to it stay readable). Returns the names of changed fields."""
    changed = []
    for key, value in _clean(fields).items():
        if getattr(partner, key) != value:
            setattr(partner, key, value)
            changed.append(key)
    if changed:
        record(
            session,
            action="update",
            entity="partner",
            entity_id=partner.id,
            organisation_id=partner.organisation_id,
            user_id=user_id,
            details={"fields": changed},
        )
        session.flush()
    return changed


def refer(
    session: Session,
    senior: Senior,
    partner: Partner,
    user_id: int | None,
    note: str | None = None,
    alert_id: int | None = None,
    now: datetime | None = None,
) -> Referral:
    """Record that ``senior`` was referred to ``partner`` (usually as an alert's resolution).

    The partner must be an active one of the senior's own organisation, and the alert, when
    given, one of this senior's: ids come from forms, and a forged one must not tie a senior
    to another landlord's directory.
    """
    if partner.organisation_id != senior.organisation_id:
        raise ReferralError("Ce partenaire ne fait pas partie de l'annuaire de ce bailleur.")
    if not partner.active:
        raise ReferralError(f"Le partenaire « {partner.name} » n'est plus actif.")
    if alert_id is not None:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.senior_id != senior.id:
            raise ReferralError("Cette alerte ne concerne pas ce senior.")
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise ReferralError(f"La note ne doit pas dépasser {NOTE_MAX} caractères.", "note")
    referral = Referral(
        organisation_id=senior.organisation_id,
        senior_id=senior.id,
        partner_id=partner.id,
        alert_id=alert_id,
        user_id=user_id,
        note=text,
        created_at=now or utcnow(),
    )
    session.add(referral)
    session.flush()
    # Ids and the partner's kind only: the note may describe the senior's situation.
    record(
        session,
        action="refer",
        entity="senior",
        entity_id=senior.id,
        organisation_id=senior.organisation_id,
        user_id=user_id,
        details={
            "referral_id": referral.id,
            "partner_id": partner.id,
            "partner_kind": partner.kind.value,
            "alert_id": alert_id,
            "with_note": text is not None,
        },
    )
    return referral


def partners_for(
    session: Session, organisation_id: int, departement: str | None = None
) -> list[Partner]:
    """Active partners of an organisation, those serving ``departement`` first, then by name.

    Not scoped to a user: the caller passes an organisation it has already checked (the
    alert's). A directory holds tens of partners, so the territory is matched in Python
    rather than with JSON operators that differ between SQLite and PostgreSQL.
    """
    partners = session.scalars(
        select(Partner).where(Partner.organisation_id == organisation_id, Partner.active.is_(True))
    ).all()
    dep = (departement or "").strip().upper()

    def key(p: Partner) -> tuple[bool, str, int]:
        return (not (dep and dep in (p.departements or [])), p.name.lower(), p.id)

    return sorted(partners, key=key)
