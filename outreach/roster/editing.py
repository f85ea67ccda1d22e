"""Editing one senior by hand (the roster edit page). Flushes, never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.db import utcnow
from outreach.roster.consent import FILE_KEYS as CONSENT_KEYS
from outreach.roster.consent import set_consent
from outreach.roster.eligibility import cancel_forbidden
from outreach.roster.models import ConsentSource, ConsentStatus, EmergencyContact, Senior
from outreach.roster.phones import departement_of, normalise_phone
from outreach.timezone import PARIS

# Columns a person may change by hand; the others (reference, organisation, opt-out dates,
# timestamps) change only through imports, the gateway or the system.
EDITABLE_FIELDS = frozenset(
    {
        "civility",
        "last_name",
        "first_name",
        "birth_date",
        "sex",
        "phone_mobile",
        "phone_landline",
        "address",
        "postcode",
        "city",
        "residence",
        "floor",
        "door_code",
        "access_notes",
        "housing_type",
        "area",
        "qpv",
        "lives_alone",
        "adapted_housing",
        "gir",
        "preferred_channel",
        "referent_id",
        "canicule_register",
        "consent_status",
        "consent_date",
        "consent_source",
        "consent_phone",
        "consent_sms",
        "paused_until",
        "pause_reason",
        "active",
        "left_reason",
        "left_on",
    }
)
CONTACT_FIELDS = ("name", "relation", "phone")
# Fields the contact rule reads (roster.eligibility): a change may forbid open tasks.
ELIGIBILITY_FIELDS = frozenset(
    {"consent_status", "consent_phone", "consent_sms", "paused_until", "active"}
    | {"phone_mobile", "phone_landline"}
)
PHONE_FIELDS = ("phone_mobile", "phone_landline")
BOOL_FIELDS = frozenset(
    {"qpv", "lives_alone", "adapted_housing", "canicule_register", "active"}
    | {"consent_phone", "consent_sms"}
)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _update_contact(
    session: Session, senior: Senior, values: dict[str, Any] | None, region: str
) -> list[str]:
    """Create, change or remove the first emergency contact; return the changed names."""
    values = {k: _blank_to_none((values or {}).get(k)) for k in CONTACT_FIELDS}
    if values["phone"]:
        values["phone"] = normalise_phone(values["phone"], region)
    contact = senior.emergency_contacts[0] if senior.emergency_contacts else None
    if not values["name"]:
        if any(values.values()):
            raise ValueError("an emergency contact needs a name")
        if contact is None:
            return []
        senior.emergency_contacts.remove(contact)
        return [f"emergency_contact.{k}" for k in CONTACT_FIELDS if getattr(contact, k)]
    if contact is None:
        contact = EmergencyContact(organisation_id=senior.organisation_id, name=values["name"])
        senior.emergency_contacts.append(contact)
        changed = []
        for key in CONTACT_FIELDS:
            setattr(contact, key, values[key])
            if values[key]:
                changed.append(f"emergency_contact.{key}")
        return changed
    changed = []
    for key in CONTACT_FIELDS:
        if getattr(contact, key) != values[key]:
            setattr(contact, key, values[key])
            changed.append(f"emergency_contact.{key}")
    return changed


def _update_consent(
    session: Session, senior: Senior, form: dict[str, Any], user_id: int | None, now: datetime
) -> list[str]:
    """The consent part of the form, through ``roster.consent`` (source "page", the user);
    return the names of the consent fields that changed."""
    before = {k: getattr(senior, k) for k in CONSENT_KEYS}
    status = ConsentStatus(form.get("consent_status") or senior.consent_status)
    stated_on = form.get("consent_date", senior.consent_date)
    detail = form.get("consent_source", senior.consent_source)
    if status != senior.consent_status:
        # The form shows the stored date and source: left as they were, they belong to the
        # earlier decision, not to this one (a withdrawal is dated the day it is recorded).
        if stated_on == senior.consent_date:
            stated_on = now.astimezone(PARIS).date()
        if detail == senior.consent_source:
            detail = None
    set_consent(
        session, senior, status=status,
        phone=bool(form.get("consent_phone", senior.consent_phone)),
        sms=bool(form.get("consent_sms", senior.consent_sms)),
        stated_on=stated_on, source=ConsentSource.page, user_id=user_id, now=now,
        detail=detail,
    )  # fmt: skip
    return [k for k in CONSENT_KEYS if getattr(senior, k) != before[k]]


def update_senior(
    session: Session,
    senior: Senior,
    data: dict[str, Any],
    user_id: int | None,
    *,
    region: str = "FR",
    now: datetime | None = None,
) -> list[str]:
    """Apply ``data`` to ``senior`` and return the names of the fields that changed.

    ``data`` maps names of ``EDITABLE_FIELDS`` to new values, plus optionally
    ``emergency_contact``: a mapping with name, relation and phone (all empty removes the
    first contact). Phones are normalised to E.164 (``InvalidPhone`` if they cannot be) and
    the département follows the postcode. When something changed, an audit event "update"
    lists the field names, never their values. Flushes only.
    """
    unknown = set(data) - EDITABLE_FIELDS - {"emergency_contact"}
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    values = {k: _blank_to_none(v) for k, v in data.items() if k != "emergency_contact"}
    for key in PHONE_FIELDS:
        if key in values:
            values[key] = normalise_phone(values[key], region)
    if "postcode" in values:
        values["departement"] = departement_of(values["postcode"])
    if values.get("active") is True:
        # Back among the followed seniors: the departure no longer applies.
        values["left_reason"] = None
        values["left_on"] = None

    now = now or utcnow()
    consent = {k: values.pop(k) for k in CONSENT_KEYS if k in values}
    changed = []
    for key, value in values.items():
        if key in ("last_name", "first_name") and value is None:
            raise ValueError(f"{key} cannot be empty")
        if key in BOOL_FIELDS:
            value = bool(value)
        if getattr(senior, key) != value:
            setattr(senior, key, value)
            changed.append(key)
    if "emergency_contact" in data:
        changed.extend(_update_contact(session, senior, data["emergency_contact"], region))
    if consent:
        changed.extend(_update_consent(session, senior, consent, user_id, now))

    if ELIGIBILITY_FIELDS & set(changed):
        # A consent withdrawn, a pause or a departure takes effect at once.
        cancel_forbidden(session, senior, now)
    if changed:
        record(
            session,
            action="update",
            entity="senior",
            entity_id=senior.id,
            organisation_id=senior.organisation_id,
            user_id=user_id,
            details={"fields": changed},
        )
    session.flush()
    return changed
