"""Demo data: a regional association, two member landlords, their staff and 300 seniors.

Everything is fictitious. The same seed gives the same people on every run; only the dates
(birth dates, consents, pauses) move with today so that ages and "paused until" stay
plausible. ``load_demo`` flushes, the CLI commits.

Phone numbers: landlines use the ranges ARCEP reserves for fiction (02 61 91 in
Centre-Val de Loire, and 01 99 00, 03 53 01, 04 65 71, 05 36 49 for relatives living
elsewhere). The mobile fiction range 06 39 98 is refused by libphonenumber, hence by the
roster's own validation, so demo mobiles use two small valid blocks (06 00 0x, 07 80 0x)
that may belong to real people: the demo runs with the ``simulator`` gateway, and a
database holding the demo must never be pointed at a real gateway.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, Role, User
from outreach.accounts.operations import create_organisation, create_user
from outreach.campaigns.schedule import paris_today
from outreach.demo.activity import add_demo_alerts, add_demo_campaigns, add_demo_partners
from outreach.demo.data import RESIDENCES
from outreach.demo.people import Phones, add_demo_seniors
from outreach.doorknock.operations import set_residences
from outreach.web.filters import ROLE_LABELS

DEMO_PASSWORD = "demo-seniors-cvl"
SEED = 20200316  # the first lockdown, when landlords started phoning their seniors
SENIOR_COUNT = 300

ASSOCIATION = ("arhs-cvl", "Association régionale Habitat Seniors Centre-Val de Loire")
# slug, name, départements served (together: the six of Centre-Val de Loire).
LANDLORDS = [
    ("vth", "Val Touraine Habitat", ("37", "41", "36")),
    ("lhs", "Loire Habitat Seniors", ("45", "28", "18")),
]
# Staff of each landlord: role, e-mail local part, display name. Two social workers so that
# referents are shared out as in a real agency.
STAFF = {
    "vth": [
        (Role.caller, "caller", "Camille Rousseau"),
        (Role.volunteer, "volunteer", "Lucas Garnier"),
        (Role.social_worker, "social_worker", "Claire Dubois"),
        (Role.social_worker, "social_worker2", "Nadia Benali"),
        (Role.manager, "manager", "Isabelle Moreau"),
        (Role.admin, "admin", "Thomas Lefèvre"),
        (Role.proximity, "gardien", "Marc Petit"),
    ],
    "lhs": [
        (Role.caller, "caller", "Sarah Fontaine"),
        (Role.volunteer, "volunteer", "Hugo Mercier"),
        (Role.social_worker, "social_worker", "Anne Girard"),
        (Role.social_worker, "social_worker2", "Karima Haddad"),
        (Role.manager, "manager", "Sophie Lambert"),
        (Role.admin, "admin", "Julien Perrin"),
        (Role.proximity, "gardien", "Nathalie Roux"),
    ],
}
ASSOCIATION_ADMIN = ("admin", "Catherine Bonnet")

DEMO_LOGINS_HINT = (
    "demo logins (after `outreach demo`): manager@vth.demo, caller@vth.demo, "
    "volunteer@vth.demo, social_worker@vth.demo, admin@vth.demo, the same @lhs.demo, "
    f"admin@arhs-cvl.demo; password: {DEMO_PASSWORD}"
)


def add_demo_panel_and_workshop(
    session: Session, org: Organisation, departements: tuple[str, ...], rng: random.Random
) -> None:
    """An anonymised listing of 300 tenants per département (the panel's first step done, so
    the association can set quotas and draw), and a workshop planned in ten days."""
    from datetime import time, timedelta

    from outreach.panel.generate import insert_listing, listing_rows
    from outreach.timezone import PARIS
    from outreach.workshops.operations import create_workshop

    rows = listing_rows(org.id, departements, 300 * len(departements), seed=rng.randint(1, 999))
    insert_listing(session, [{**r, "reference": f"{org.slug.upper()}-{i:05d}"}
                             for i, r in enumerate(rows)])  # fmt: skip
    now = datetime.now(UTC)
    day = paris_today(now) + timedelta(days=10)
    create_workshop(
        session, org.id, now, None,
        theme="Bien vivre l'été : se protéger de la chaleur", place="Salle des fêtes",
        address="2 place de la Mairie", postcode=f"{departements[0]}000",
        city="", accessibility="Plain-pied, places de stationnement réservées",
        starts_at=datetime.combine(day, time(14, 30), PARIS), ends_at=None,
        capacity=15, territory=departements[0], organiser=org.name, partner_id=None,
    )  # fmt: skip


def load_demo(session: Session, force: bool = False) -> list[str] | None:
    """Create the demo organisations, users and seniors; return the login lines.

    Does nothing and returns None when the database already has a user (unless ``force``)
    or when the demo organisations already exist (loading twice would duplicate nothing
    useful and fail on unique slugs).
    """
    if not force and session.scalar(select(User.id).limit(1)) is not None:
        return None
    slugs = [ASSOCIATION[0], *(slug for slug, _, _ in LANDLORDS)]
    if session.scalar(select(Organisation.id).where(Organisation.slug.in_(slugs)).limit(1)):
        return None

    rng = random.Random(SEED)
    today = paris_today(datetime.now(UTC))
    association = create_organisation(session, *ASSOCIATION)
    landlords = [
        (create_organisation(session, slug, name, association.slug), departements)
        for slug, name, departements in LANDLORDS
    ]
    lines: list[str] = []
    phones = Phones(rng)
    per_landlord = SENIOR_COUNT // len(landlords)
    for org, departements in landlords:
        social_workers = []
        for role, local, name in STAFF[org.slug]:
            phone = phones.landline() if role in (Role.social_worker, Role.manager) else None
            user = create_user(
                session, f"{local}@{org.slug}.demo", name, DEMO_PASSWORD, [(org, role)], phone
            )
            lines.append(f"{user.email:<28} ({ROLE_LABELS[role]}, {org.name})")
            if role is Role.social_worker:
                social_workers.append(user)
            if role is Role.proximity:
                # The demo's gardien covers every residence of the landlord's roster.
                set_residences(session, user, org.id, [f"Résidence {r}" for r in RESIDENCES])
        add_demo_seniors(
            session, rng, phones, org, departements, social_workers, per_landlord, today
        )
        add_demo_campaigns(session, org, departements)
        # The first social worker is on duty (referent of the seniors without one). No
        # on-duty phone: demo numbers may be real, and urgent alerts would text them.
        org.on_duty_user_id = social_workers[0].id
        add_demo_partners(session, org, departements)
        add_demo_panel_and_workshop(session, org, departements, rng)

    # The association's admin also administers the member landlords: membership is what
    # scopes access, and a regional administrator is expected to see both rosters.
    local, name = ASSOCIATION_ADMIN
    admin = create_user(
        session,
        f"{local}@{association.slug}.demo",
        name,
        DEMO_PASSWORD,
        [(association, Role.admin), *((org, Role.admin) for org, _ in landlords)],
    )
    orgs = ", ".join([association.name, *(org.name for org, _ in landlords)])
    lines.append(f"{admin.email:<28} ({ROLE_LABELS[Role.admin]}, {orgs})")
    lines.append(f"password for every demo login: {DEMO_PASSWORD}")
    for org, _departements in landlords:
        add_demo_alerts(session, org)
    session.flush()
    return lines
