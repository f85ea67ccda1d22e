"""Writes on the roster. Operations flush (or leave it to their caller); callers commit."""

from __future__ import annotations

from typing import Any

from outreach.roster.consent import CONSENT_FIELDS
from outreach.roster.models import EmergencyContact, Senior


def update_senior(senior: Senior, values: dict[str, Any], *, dry_run: bool = False) -> bool:
    """Set the attributes in ``values`` that differ from ``senior``'s; return whether any did.

    Consent columns are refused: they change through ``roster.consent`` (``from_file``),
    which keeps their history. With ``dry_run`` nothing is set.
    """
    if consent := set(values) & set(CONSENT_FIELDS):
        raise ValueError(f"consent goes through roster.consent: {', '.join(sorted(consent))}")
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
