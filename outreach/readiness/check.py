"""The pre-season check: who on the canicule list would be missed in a heatwave, and why.

In a heatwave the question is whether anyone was forgotten, and most of the answers are
known before summer. For the seniors on the canicule list (active, matching the canicule
campaign's default targeting ``targeting.CANICULE_DEFAULT_ANY_OF`` through the very SQL
clause generation uses), the check lists who lacks:

- a valid number: none, only premium or special ones, or only numbers that failed (below);
- consent to be phoned, or who opted out of calls or of SMS: asked of
  ``eligibility.ineligible``, the one rule of who may be contacted, never re-derived here;
- an emergency contact with a phone;
- a referent (none, or a deactivated account);

and the numbers that failed in the 12 months before ``today`` (``numbers``: a wrong number,
or a number the gateway refused or could not reach). A number she no longer has is not
reported.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from outreach.accounts.models import User
from outreach.campaigns import targeting
from outreach.campaigns.models import ChannelPolicy, SkipReason
from outreach.readiness.numbers import FailedNumber, failed_numbers
from outreach.roster import eligibility
from outreach.roster.export import export_phone
from outreach.roster.models import ConsentStatus, EmergencyContact, Senior
from outreach.roster.phones import SPECIAL_REASON, is_special

CANICULE_LIST: dict[str, Any] = {"any_of": targeting.CANICULE_DEFAULT_ANY_OF}
# Where the door is (the door-knock fields), read when the roster model has them.
ACCESS_FIELDS = ("floor", "door_code")
BATCH = 500


class Problem(enum.StrEnum):
    no_valid_number = "no_valid_number"
    no_consent = "no_consent"
    no_emergency_contact = "no_emergency_contact"
    no_referent = "no_referent"
    failed_numbers = "failed_numbers"


LABELS: dict[Problem, str] = {
    Problem.no_valid_number: "Sans numéro valide",
    Problem.no_consent: "Sans consentement, ou opposé(e) aux appels ou aux SMS",
    Problem.no_emergency_contact: "Sans contact d'urgence avec un téléphone",
    Problem.no_referent: "Sans référent(e)",
    Problem.failed_numbers: "Numéros en échec depuis un an",
}


@dataclass
class Entry:
    """One senior of the list with at least one problem, and what is missing for each."""

    senior_id: int
    organisation_id: int
    reference: str
    name: str
    residence: str | None
    address: str | None
    postcode: str | None
    city: str | None
    phone_mobile: str | None
    phone_landline: str | None
    access: dict[str, str | None]
    problems: dict[Problem, str] = field(default_factory=dict)
    failed: list[FailedNumber] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)  # "Luc Moreau (fils) 06 11 22 33 44"

    def missing(self) -> str:
        """Every problem as one French line ("Sans référent(e) : aucun(e) ; ...")."""
        return " ; ".join(f"{LABELS[p]} : {detail}" for p, detail in self.problems.items())


@dataclass
class Readiness:
    """The check of some organisations' canicule list on one day."""

    organisation_ids: list[int]
    today: date
    on_list: int = 0
    entries: list[Entry] = field(default_factory=list)  # by name

    def seniors(self, problem: Problem) -> list[Entry]:
        return [e for e in self.entries if problem in e.problems]

    @property
    def counts(self) -> dict[Problem, int]:
        return {p: len(self.seniors(p)) for p in Problem}

    @property
    def complete(self) -> bool:
        """Nothing is missing for anyone on the list."""
        return not self.entries


def listed(organisation_ids: Sequence[int], today: date) -> Any:
    """The ids of the seniors on the canicule list of these organisations on ``today``."""
    return select(Senior.id).where(*_on_list(organisation_ids, today))


def _on_list(organisation_ids: Sequence[int], today: date) -> list[ColumnElement[bool]]:
    return [
        Senior.organisation_id.in_(list(organisation_ids)),
        Senior.active.is_(True),
        Senior.erased_at.is_(None),
        targeting.clause(CANICULE_LIST, today),
    ]


def check(session: Session, organisation_ids: Sequence[int], today: date) -> Readiness:
    """What is missing, per senior of the canicule list of ``organisation_ids``."""
    result = Readiness(list(organisation_ids), today)
    if not organisation_ids:
        return result
    has_phone = EmergencyContact.phone.is_not(None) & (EmergencyContact.phone != "")
    extra = [getattr(Senior, a).label(a) for a in ACCESS_FIELDS if hasattr(Senior, a)]
    rows = session.execute(
        select(
            Senior.id,
            Senior.organisation_id,
            Senior.external_ref,
            Senior.civility,
            Senior.first_name,
            Senior.last_name,
            Senior.residence,
            Senior.address,
            Senior.postcode,
            Senior.city,
            Senior.referent_id,
            User.active.label("referent_active"),
            *eligibility.COLUMNS,
            exists().where(EmergencyContact.senior_id == Senior.id).label("any_contact"),
            exists().where(EmergencyContact.senior_id == Senior.id, has_phone).label("contact"),
            *extra,
        )
        .outerjoin(User, User.id == Senior.referent_id)
        .where(*_on_list(organisation_ids, today))
        .order_by(Senior.last_name, Senior.first_name, Senior.id)
    ).all()
    failures = failed_numbers(session, organisation_ids, listed(organisation_ids, today), today)
    result.on_list = len(rows)
    for row in rows:
        entry = _entry(row, today, failures.get(row.id, {}))
        if entry.problems:
            result.entries.append(entry)
    _add_contacts(session, result.entries)
    return result


def _add_contacts(session: Session, entries: list[Entry]) -> None:
    by_id = {e.senior_id: e for e in entries}
    ids = list(by_id)
    for start in range(0, len(ids), BATCH):
        contacts = session.scalars(
            select(EmergencyContact)
            .where(EmergencyContact.senior_id.in_(ids[start : start + BATCH]))
            .order_by(EmergencyContact.id)
        )
        for c in contacts:
            relation = f" ({c.relation})" if c.relation else ""
            phone = f" {export_phone(c.phone)}" if c.phone else ""
            by_id[c.senior_id].contacts.append(f"{c.name}{relation}{phone}")


def _entry(row: Any, today: date, failed: dict[str, FailedNumber]) -> Entry:
    numbers = [n for n in (row.phone_mobile, row.phone_landline) if n]
    name = " ".join(p for p in (row.civility, row.first_name, row.last_name) if p)
    entry = Entry(
        senior_id=row.id,
        organisation_id=row.organisation_id,
        reference=row.external_ref,
        name=name,
        residence=row.residence,
        address=row.address,
        postcode=row.postcode,
        city=row.city,
        phone_mobile=row.phone_mobile,
        phone_landline=row.phone_landline,
        access={a: getattr(row, a, None) for a in ACCESS_FIELDS},
        failed=[failed[n] for n in numbers if n in failed],
    )
    problems = entry.problems
    usable = [n for n in numbers if not is_special(n) and n not in failed]
    if not usable:
        if not numbers:
            problems[Problem.no_valid_number] = "aucun numéro"
        elif all(is_special(n) for n in numbers):
            problems[Problem.no_valid_number] = SPECIAL_REASON
        else:
            problems[Problem.no_valid_number] = (
                "numéro en échec" if len(numbers) == 1 else ("numéros en échec ou refusés")
            )
    if consent := _consent(row, today):
        problems[Problem.no_consent] = consent
    if not row.contact:
        problems[Problem.no_emergency_contact] = (
            "contact d'urgence sans téléphone" if row.any_contact else "aucun contact d'urgence"
        )
    if row.referent_id is None:
        problems[Problem.no_referent] = "aucun(e) référent(e)"
    elif not row.referent_active:
        problems[Problem.no_referent] = "référent(e) au compte désactivé"
    if entry.failed:
        problems[Problem.failed_numbers] = ", ".join(f.text() for f in entry.failed)
    return entry


def _consent(row: Any, today: date) -> str | None:
    """What the one eligibility rule says of her consent, phone and SMS, in French."""
    parts = []
    phone = eligibility.ineligible(row, ChannelPolicy.staff, today)
    if phone == SkipReason.no_consent:
        given = row.consent_status == ConsentStatus.given
        parts.append("pas de consentement aux appels" if given else "pas de consentement")
    elif phone == SkipReason.opted_out:
        parts.append("opposé(e) aux appels")
    if eligibility.ineligible(row, ChannelPolicy.sms, today) == SkipReason.opted_out:
        parts.append("opposé(e) aux SMS")
    return ", ".join(parts) or None
