"""The rehearsal's people: N generated seniors, or the shape of a real canicule list.

Nothing personal reaches the throw-away database. Generated seniors come from the demo's
generator; a copy of an organisation keeps, for each senior on its canicule list, only what
changes how the day goes (which phones and emergency contacts she has, her consent and
opt-outs, a pause, a referent, the fields the canicule targeting and the reports read) under
invented names and numbers.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from outreach.accounts.models import Organisation, Role, User
from outreach.accounts.operations import create_organisation, create_user
from outreach.campaigns import targeting
from outreach.demo.people import Phones, add_demo_seniors
from outreach.roster.consent import opt_out, set_consent
from outreach.roster.models import Channel, ConsentSource, ConsentStatus, EmergencyContact, Senior

ORG_SLUG = "repetition"
DEPARTEMENTS = ("37", "45")  # two of the demo's Centre-Val de Loire départements


class NumberedPhones(Phones):
    """Distinct valid French numbers for any roster size (the demo's blocks hold 10,000):
    a landline, a mobile and a relative's mobile per index, never a real subscriber's
    concern since the simulator rings no one."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.counters = {"landline": 0, "mobile": 0, "relative": 0}

    def _next(self, kind: str, prefix: str) -> str:
        self.counters[kind] += 1
        return f"{prefix}{self.counters[kind]:07d}"

    def landline(self) -> str:
        return self._next("landline", "+3314")

    def mobile(self) -> str:
        return self._next("mobile", "+3361")

    def relative(self) -> str:
        return self._next("relative", "+3375")


@dataclass
class Cast:
    """Who plays the rehearsal in the throw-away database."""

    organisation_id: int
    departements: tuple[str, ...]
    staff_ids: list[int]
    seniors: int


def _password() -> str:
    return secrets.token_urlsafe(24)


def _people(session: Session, staff: int) -> tuple[Organisation, list[User], list[int]]:
    org = create_organisation(session, ORG_SLUG, "Répétition canicule")
    referents = [
        create_user(
            session, f"referente{i}@repetition.invalid", f"Référente {i}", _password(),
            [(org, Role.social_worker)],
        )
        for i in (1, 2)
    ]  # fmt: skip
    callers = [
        create_user(
            session, f"appelant{i}@repetition.invalid", f"Appelant {i}", _password(),
            [(org, Role.caller)],
        ).id
        for i in range(1, staff + 1)
    ]  # fmt: skip
    org.on_duty_user_id = referents[0].id
    return org, referents, callers


def generated(session: Session, count: int, staff: int, today: date, seed: int) -> Cast:
    """``count`` demo seniors, all on the canicule register (the day calls every one)."""
    org, referents, callers = _people(session, staff)
    rng = random.Random(seed)
    add_demo_seniors(session, rng, NumberedPhones(rng), org, DEPARTEMENTS, referents, count, today)
    for senior in session.scalars(select(Senior).where(Senior.organisation_id == org.id)):
        senior.canicule_register = True
    session.flush()
    return Cast(org.id, DEPARTEMENTS, callers, count)


def canicule_list(session: Session, organisation_id: int, today: date) -> list[Senior]:
    """The organisation's seniors the canicule campaign targets by default (active ones)."""
    rules = {"any_of": targeting.CANICULE_DEFAULT_ANY_OF}
    return list(
        session.scalars(
            select(Senior)
            .where(
                Senior.organisation_id == organisation_id,
                Senior.active.is_(True),
                Senior.erased_at.is_(None),
                targeting.clause(rules, today),
            )
            .options(selectinload(Senior.emergency_contacts))
            .order_by(Senior.id)
        )
    )


def copied(
    source: Session, organisation_id: int, session: Session, staff: int, today: date, seed: int
) -> Cast:
    """The shape of an organisation's canicule list, anonymised (see the module's note)."""
    org, referents, callers = _people(session, staff)
    phones = NumberedPhones(random.Random(seed))
    originals = canicule_list(source, organisation_id, today)
    copies: list[tuple[Senior, Senior]] = []
    for i, s in enumerate(originals, start=1):
        copy = Senior(
            organisation_id=org.id,
            external_ref=f"R{i:06d}",
            last_name=f"Personne {i}",
            first_name="Répétition",
            civility=s.civility,
            # The year only: her age band on the day, not her birthday.
            birth_date=date(s.birth_date.year, 7, 1) if s.birth_date else None,
            sex=s.sex,
            phone_landline=phones.landline() if s.phone_landline else None,
            phone_mobile=phones.mobile() if s.phone_mobile else None,
            departement=s.departement,
            housing_type=s.housing_type,
            area=s.area,
            qpv=s.qpv,
            lives_alone=s.lives_alone,
            adapted_housing=s.adapted_housing,
            gir=s.gir,
            preferred_channel=s.preferred_channel,
            referent_id=referents[i % 2].id if s.referent_id else None,
            canicule_register=s.canicule_register,
            paused_until=s.paused_until,
            pause_reason="pause" if s.paused_until else None,
        )
        for j, contact in enumerate(s.emergency_contacts, start=1):
            copy.emergency_contacts.append(
                EmergencyContact(
                    organisation_id=org.id,
                    name=f"Proche {j}",
                    relation=contact.relation,
                    phone=phones.relative() if contact.phone else None,
                )
            )
        copies.append((s, copy))
    session.add_all(c for _, c in copies)
    session.flush()
    at = datetime.combine(today, time(0), UTC)
    for original, copy in copies:
        if original.consent_status != ConsentStatus.unknown:
            set_consent(
                session, copy, status=original.consent_status, phone=original.consent_phone,
                sms=original.consent_sms, stated_on=original.consent_date,
                source=ConsentSource.system, user_id=None, now=at, detail="répétition",
            )  # fmt: skip
        for channel, when in (
            (Channel.phone, original.opted_out_phone_at),
            (Channel.sms, original.opted_out_sms_at),
        ):
            if when is not None:
                opt_out(session, copy, channel, source=ConsentSource.system, user_id=None, now=at)
    session.flush()
    deps = tuple(sorted({c.departement for _, c in copies if c.departement})) or DEPARTEMENTS
    return Cast(org.id, deps, callers, len(copies))
