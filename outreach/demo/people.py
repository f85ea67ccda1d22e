"""Demo seniors, their phones and emergency contacts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, User
from outreach.demo.data import (
    COMMUNES,
    CONSENT_SOURCES,
    FEMALE_NAMES,
    LANDLINE_ELSEWHERE,
    LANDLINE_LOCAL,
    MALE_NAMES,
    MOBILE_BLOCKS,
    RELATIONS,
    RELATIVE_FEMALE,
    RELATIVE_MALE,
    RESIDENCES,
    STREETS,
    SURNAMES,
)
from outreach.roster.consent import opt_out, set_consent
from outreach.roster.models import (
    Area,
    Channel,
    ConsentSource,
    ConsentStatus,
    EmergencyContact,
    HousingType,
    LeftReason,
    Senior,
    Sex,
)
from outreach.roster.phones import departement_of

CALLED = "appel de la conseillère sociale"
# A demo senior's consent: status, date, how it was collected.
ConsentPlan = tuple[ConsentStatus, date, str]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


class Phones:
    """Draws distinct numbers so that two demo people never share one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def draw(self, prefix: str, digits: int) -> str:
        while True:
            number = prefix + "".join(str(self.rng.randrange(10)) for _ in range(digits))
            if number not in self.used:
                self.used.add(number)
                return number

    def landline(self) -> str:
        return self.draw(LANDLINE_LOCAL, 4)

    def mobile(self) -> str:
        return self.draw(self.rng.choice(MOBILE_BLOCKS), 5)

    def relative(self) -> str:
        if self.rng.random() < 0.6:
            return self.mobile()
        return self.draw(self.rng.choice(LANDLINE_ELSEWHERE), 4)


def add_demo_seniors(
    session: Session,
    rng: random.Random,
    phones: Phones,
    org: Organisation,
    departements: tuple[str, ...],
    referents: list[User],
    count: int,
    today: date,
) -> None:
    # A few exact cases, so that every state the screens show is present in the demo.
    # (Fewer than 20 seniors, a small rehearsal: as many of those cases as fit.)
    special = rng.sample(range(count), min(20, count))
    refused, unknown = set(special[0:3]), set(special[3:9])
    sms_opt_out, paused = set(special[9:13]), set(special[13:14])
    moved, deceased = (special[14], special[15]) if count > 15 else (None, None)
    seniors = []
    plans: list[tuple[ConsentPlan | None, datetime | None]] = []
    for i in range(count):
        senior, given = _senior(rng, phones, org, departements, referents, today, i)
        plan: ConsentPlan | None = given
        stop = None
        if i in refused or i in unknown:
            plan = None
            if i in refused:
                refused_on = today - timedelta(days=rng.randrange(30, 700))
                plan = (ConsentStatus.refused, refused_on, CALLED)
        if i in sms_opt_out:
            senior.phone_mobile = senior.phone_mobile or phones.mobile()
            senior.preferred_channel = Channel.phone
            stopped = today - timedelta(days=rng.randrange(5, 200))
            stop = datetime.combine(stopped, time(9, 30), UTC)
        if i in paused:
            senior.paused_until = today + timedelta(days=rng.randrange(7, 30))
            senior.pause_reason = "hospitalisation"
        if i in (moved, deceased):
            senior.active = False
            senior.left_reason = LeftReason.moved if i == moved else LeftReason.deceased
            senior.left_on = today - timedelta(days=rng.randrange(10, 120))
        seniors.append(senior)
        plans.append((plan, stop))
    session.add_all(seniors)
    session.flush()
    for senior, (plan, stop) in zip(seniors, plans, strict=True):
        _consent(session, senior, plan, stop)
    session.flush()


def _consent(
    session: Session, senior: Senior, plan: ConsentPlan | None, stop: datetime | None
) -> None:
    """Her consent and STOP, dated in the past, through roster.consent (the history)."""
    if plan is not None:
        status, day, label = plan
        set_consent(
            session, senior, status=status, phone=True,
            sms=senior.phone_mobile is not None and stop is None,
            stated_on=day, source=ConsentSource.page, user_id=None,
            now=datetime.combine(day, time(10), UTC), detail=label,
        )  # fmt: skip
    if stop is not None:
        opt_out(session, senior, Channel.sms, source=ConsentSource.sms, user_id=None, now=stop)


def _senior(
    rng: random.Random,
    phones: Phones,
    org: Organisation,
    departements: tuple[str, ...],
    referents: list[User],
    today: date,
    index: int,
) -> tuple[Senior, ConsentPlan]:
    sex = Sex.female if rng.random() < 0.62 else Sex.male
    first = rng.choice(FEMALE_NAMES if sex is Sex.female else MALE_NAMES)
    last = rng.choice(SURNAMES)
    # Ages 62-98, most between 70 and 85 as in the landlords' panels, a few at the edges.
    if rng.random() < 0.15:
        age = rng.randint(62, 98)
    else:
        age = min(98, max(62, round(rng.triangular(62, 98, 78))))
    latest = _years_before(today, age)
    earliest = _years_before(today, age + 1) + timedelta(days=1)
    birth = earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))

    departement = departements[index % len(departements)]
    city, postcode, urban = rng.choice(COMMUNES[departement])
    collectif = rng.random() < (0.85 if urban else 0.5)
    street = f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"
    if collectif:
        street = f"{street}, appartement {rng.randrange(1, 60)}"

    kind = rng.random()  # both phones, landline only, mobile only, none
    landline = phones.landline() if kind < 0.70 else None
    mobile = phones.mobile() if 0.40 <= kind < 0.96 else None

    consent_date = today - timedelta(days=rng.randrange(30, 3 * 365))
    gir = rng.choice([2, 3, 4, 4, 5, 5, 6, 6]) if rng.random() < 0.2 else None
    senior = Senior(
        organisation_id=org.id,
        external_ref=f"{org.slug.upper()}-{index + 1:06d}",
        civility="Mme" if sex is Sex.female else "M.",
        last_name=last,
        first_name=first,
        birth_date=birth,
        sex=sex,
        phone_landline=landline,
        phone_mobile=mobile,
        address=street,
        postcode=postcode,
        city=city,
        departement=departement_of(postcode),
        residence=f"Résidence {rng.choice(RESIDENCES)}" if collectif else None,
        housing_type=HousingType.collectif if collectif else HousingType.individuel,
        area=Area.urbain if urban else Area.rural,
        qpv=urban and rng.random() < 0.5,
        lives_alone=rng.random() < 0.4,
        adapted_housing=rng.random() < 0.2,
        gir=gir,
        preferred_channel=Channel.sms if mobile and rng.random() < 0.1 else Channel.phone,
        language="fr",
        referent_id=referents[index % len(referents)].id,
        canicule_register=rng.random() < 0.25,
    )
    # Applied through roster.consent once she has an id, so that the demo shows a history.
    plan = (ConsentStatus.given, consent_date, rng.choice(CONSENT_SOURCES))
    for _ in range(rng.choices([0, 1, 2], weights=[35, 45, 20])[0]):
        relation, relative_sex, same_name = rng.choice(RELATIONS)
        given = rng.choice(RELATIVE_FEMALE if relative_sex is Sex.female else RELATIVE_MALE)
        family = last if same_name else rng.choice(SURNAMES)
        senior.emergency_contacts.append(
            EmergencyContact(
                organisation_id=org.id,
                name=f"{given} {family}",
                relation=relation,
                phone=phones.relative(),
            )
        )
    return senior, plan
