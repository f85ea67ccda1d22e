"""Writes on the roster. Operations flush (or leave it to their caller); callers commit."""

from __future__ import annotations

from typing import Any

from outreach.roster.models import ConsentStatus, EmergencyContact, Senior

IMPORT_SOURCE = "import"
CONSENT_FLAGS = ("consent_status", "consent_phone", "consent_sms", "consent_source")


def _consent_from_file(senior: Senior, values: dict[str, Any]) -> dict[str, Any]:
    """Drop the file's consent where the application knows better.

    - Same status as stored: keep the stored flags and source (staff may have turned SMS
      off for someone who still agrees to calls), only a date may be added.
    - Withdrawn in the application, or refused there (not by an earlier import): the file
      was exported before, and re-enrolling someone who said stop is the one mistake this
      data must never make. A file's "Non" is applied otherwise: a refusal counts at once.
    """
    new = values.get("consent_status")
    if new is None:
        return values
    current = senior.consent_status
    if new == current:
        return {k: v for k, v in values.items() if k not in CONSENT_FLAGS}
    if current == ConsentStatus.withdrawn or (
        current == ConsentStatus.refused and senior.consent_source != IMPORT_SOURCE
    ):
        return {k: v for k, v in values.items() if k not in (*CONSENT_FLAGS, "consent_date")}
    return values


def update_senior(senior: Senior, values: dict[str, Any], *, dry_run: bool = False) -> bool:
    """Set the attributes in ``values`` that differ from ``senior``'s; return whether any did.

    Consent columns go through the rules of ``_consent_from_file``. With ``dry_run``
    nothing is set.
    """
    values = _consent_from_file(senior, values)
    changed = [k for k, v in values.items() if getattr(senior, k) != v]
    if not dry_run:
        for key in changed:
            setattr(senior, key, values[key])
    return bool(changed)


def set_first_emergency_contact(
    senior: Senior, name: str | None, phone: str | None, *, dry_run: bool = False
) -> bool:
    """Create or update the senior's first emergency contact; return whether it changed.

    Only the given parts are set: an empty cell does not erase what staff recorded. A new
    contact needs a name (the column is not nullable and a bare number helps nobody).
    """
    contact = senior.emergency_contacts[0] if senior.emergency_contacts else None
    if contact is None:
        if not name:
            return False
        if not dry_run:
            senior.emergency_contacts.append(
                EmergencyContact(organisation_id=senior.organisation_id, name=name, phone=phone)
            )
        return True
    changed = False
    for key, value in (("name", name), ("phone", phone)):
        if value and getattr(contact, key) != value:
            changed = True
            if not dry_run:
                setattr(contact, key, value)
    return changed
