"""The one place a senior's consent changes, and its history (GDPR: date, source, who).

The consent fields of ``Senior`` (status, date, source, channels, opt-outs) are the state;
``ConsentEvent`` rows are its history. Every change of that state goes through this module,
which writes the state and appends the event in the same flush, so the history always ends
in the stored state (``tests/test_house_style.py`` refuses an assignment anywhere else).

- ``set_consent``: a status or the accepted channels as stated by someone (the page form,
  a file). Only a given consent accepts channels: a refusal or a withdrawal accepts none.
- ``opt_out``: STOP by SMS, "ne souhaite plus être appelé(e)" on a call; kept with its date.
- ``from_file`` / ``record_events``: the importer's path, many seniors per batch, one INSERT.
Functions flush nothing themselves (``set_consent`` and ``opt_out`` add to the session).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from outreach.accounts.models import User
from outreach.roster.models import (
    Channel,
    ConsentChange,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Senior,
)

# The Senior attributes that hold the consent state: assigned here only.
CONSENT_FIELDS = (
    "consent_status",
    "consent_date",
    "consent_source",
    "consent_phone",
    "consent_sms",
    "opted_out_phone_at",
    "opted_out_sms_at",
)
# The value of ``consent_source`` for a consent that came from a landlord's file: the file
# may change it later, not a refusal stated in the application (``from_file``).
IMPORT_SOURCE = ConsentSource.import_.value

# French labels, written once (senior page, access export).
CHANGE_LABELS: dict[ConsentChange, str] = {
    ConsentChange.given: "Consentement donné",
    ConsentChange.refused: "Consentement refusé",
    ConsentChange.withdrawn: "Consentement retiré",
    ConsentChange.regiven: "Consentement donné à nouveau",
    ConsentChange.channels: "Canaux acceptés modifiés",
    ConsentChange.opted_out_phone: "Ne souhaite plus être appelé(e)",
    ConsentChange.opted_out_sms: "Ne souhaite plus recevoir de SMS (STOP)",
}
SOURCE_LABELS: dict[ConsentSource, str] = {
    ConsentSource.import_: "Import du fichier",
    ConsentSource.call: "Appel",
    ConsentSource.sms: "SMS",
    ConsentSource.page: "Fiche (saisie)",
    ConsentSource.system: "Système",
    ConsentSource.agreement: "Accord de principe",
}


def change_of(
    old: tuple[ConsentStatus, bool, bool], new: tuple[ConsentStatus, bool, bool]
) -> ConsentChange | None:
    """What going from ``old`` to ``new`` (status, phone, sms) is, or None if nothing."""
    if old == new:
        return None
    status = new[0]
    if status == old[0]:
        return ConsentChange.channels
    if status == ConsentStatus.given:
        if old[0] in (ConsentStatus.refused, ConsentStatus.withdrawn):
            return ConsentChange.regiven
        return ConsentChange.given
    if status == ConsentStatus.refused:
        return ConsentChange.refused
    # Withdrawn, or back to "unknown" by hand: either way the consent held is gone.
    return ConsentChange.withdrawn


def _state(senior: Senior) -> tuple[ConsentStatus, bool, bool]:
    # A senior not yet flushed holds None where the column default will apply.
    status = senior.consent_status or ConsentStatus.unknown
    return ConsentStatus(status), bool(senior.consent_phone), bool(senior.consent_sms)


def _event_values(
    senior: Senior,
    change: ConsentChange,
    source: ConsentSource,
    user_id: int | None,
    now: datetime,
    detail: str | None,
) -> dict[str, Any]:
    status, phone, sms = _state(senior)
    return {
        "organisation_id": senior.organisation_id,
        "senior_id": senior.id,
        "at": now,
        "change": change,
        "source": source,
        "status": status,
        "phone": phone,
        "sms": sms,
        "stated_on": senior.consent_date,
        "user_id": user_id,
        "detail": (detail or None) and detail[:120],
    }


def apply_consent(
    senior: Senior,
    *,
    status: ConsentStatus,
    phone: bool,
    sms: bool,
    stated_on: date | None,
    source: ConsentSource,
    user_id: int | None,
    now: datetime,
    detail: str | None = None,
) -> dict[str, Any] | None:
    """Write the consent state on ``senior``; return the event's values, or None when the
    status and channels did not change (a date or a source label alone is no event).

    ``stated_on`` replaces the stored date when given; a new status without a date clears
    it (the old date was that of another decision). ``detail`` is the short label of the
    source ("courrier"), also kept as ``consent_source``; without it a new status records
    the source's name. ``senior_id`` is None in the values of a senior not yet flushed.
    """
    status = ConsentStatus(status)
    if status != ConsentStatus.given:
        phone = sms = False  # only a given consent accepts a channel
    old = _state(senior)
    change = change_of(old, (status, bool(phone), bool(sms)))
    senior.consent_status = status
    senior.consent_phone = bool(phone)
    senior.consent_sms = bool(sms)
    if stated_on is not None or status != old[0]:
        senior.consent_date = stated_on
    if detail is not None:
        senior.consent_source = detail or None
    elif status != old[0]:
        senior.consent_source = source.value
    if change is None:
        return None
    return _event_values(senior, change, source, user_id, now, detail)


def set_consent(
    session: Session,
    senior: Senior,
    *,
    status: ConsentStatus,
    phone: bool,
    sms: bool,
    stated_on: date | None,
    source: ConsentSource,
    user_id: int | None,
    now: datetime,
    detail: str | None = None,
) -> ConsentEvent | None:
    """Change a senior's consent (``apply_consent``) and append the event; return it, or
    None when nothing changed. The caller cancels the tasks a withdrawal forbids."""
    values = apply_consent(
        senior, status=status, phone=phone, sms=sms, stated_on=stated_on, source=source,
        user_id=user_id, now=now, detail=detail,
    )  # fmt: skip
    if values is None:
        return None
    event = ConsentEvent(**values)
    session.add(event)
    return event


def opt_out(
    session: Session,
    senior: Senior,
    channel: Channel,
    *,
    source: ConsentSource,
    user_id: int | None,
    now: datetime,
    detail: str | None = None,
) -> bool:
    """Record that she wants no more calls (``Channel.phone``) or SMS, once, with its date;
    return whether it is new. The consent status stays: she may still accept the other."""
    attr = "opted_out_phone_at" if channel == Channel.phone else "opted_out_sms_at"
    if getattr(senior, attr) is not None:
        return False
    if channel == Channel.phone:
        senior.opted_out_phone_at = now
        change = ConsentChange.opted_out_phone
    else:
        senior.opted_out_sms_at = now
        change = ConsentChange.opted_out_sms
    session.add(ConsentEvent(**_event_values(senior, change, source, user_id, now, detail)))
    return True


# The consent columns a file row may carry (see roster.importer.parse_row).
FILE_KEYS = ("consent_status", "consent_phone", "consent_sms", "consent_source", "consent_date")


def from_file(
    senior: Senior, values: dict[str, Any], *, now: datetime, dry_run: bool = False
) -> tuple[bool, dict[str, Any] | None]:
    """Apply the consent columns of one file row (``FILE_KEYS`` in ``values``); return
    whether anything changed and the event's values (None: no event).

    The file's consent is dropped where the application knows better:
    - same status as stored: the stored channels and source stay (staff may have turned SMS
      off for someone who still agrees to calls), only a date may be added;
    - withdrawn in the application, or refused there (not by an earlier import): the file
      was exported before, and re-enrolling someone who said stop is the one mistake this
      data must never make. A file's "Non" is applied otherwise: a refusal counts at once.
    """
    values = {k: v for k, v in values.items() if k in FILE_KEYS}
    status = values.get("consent_status")
    current = _state(senior)[0]
    stated_on = values.get("consent_date")
    if status is not None and status != current:
        if current == ConsentStatus.withdrawn or (
            current == ConsentStatus.refused and senior.consent_source != IMPORT_SOURCE
        ):
            return False, None
        if dry_run:
            return True, None
        event = apply_consent(
            senior, status=status, phone=values["consent_phone"], sms=values["consent_sms"],
            stated_on=stated_on, source=ConsentSource.import_, user_id=None, now=now,
        )  # fmt: skip
        return True, event
    if stated_on is None or stated_on == senior.consent_date:
        return False, None
    if not dry_run:
        senior.consent_date = stated_on
    return True, None


def record_events(session: Session, rows: list[tuple[Senior, dict[str, Any]]]) -> None:
    """Insert the events of a batch in one statement, once the seniors have ids (flushed)."""
    if rows:
        session.execute(insert(ConsentEvent), [values | {"senior_id": s.id} for s, values in rows])


def history(session: Session, senior_id: int) -> list[tuple[ConsentEvent, str | None]]:
    """A senior's consent events, oldest first, each with the name of who recorded it."""
    stmt = (
        select(ConsentEvent, User.name)
        .outerjoin(User, User.id == ConsentEvent.user_id)
        .where(ConsentEvent.senior_id == senior_id)
        .order_by(ConsentEvent.at, ConsentEvent.id)
    )
    return [(event, name) for event, name in session.execute(stmt)]
