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
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, Role, User
from outreach.accounts.operations import create_organisation, create_user
from outreach.campaigns.schedule import WEEKDAYS
from outreach.roster.models import (
    Area,
    Channel,
    ConsentStatus,
    EmergencyContact,
    HousingType,
    LeftReason,
    Senior,
    Sex,
)
from outreach.roster.phones import departement_of
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
    ],
    "lhs": [
        (Role.caller, "caller", "Sarah Fontaine"),
        (Role.volunteer, "volunteer", "Hugo Mercier"),
        (Role.social_worker, "social_worker", "Anne Girard"),
        (Role.social_worker, "social_worker2", "Karima Haddad"),
        (Role.manager, "manager", "Sophie Lambert"),
        (Role.admin, "admin", "Julien Perrin"),
    ],
}
ASSOCIATION_ADMIN = ("admin", "Catherine Bonnet")

DEMO_LOGINS_HINT = (
    "demo logins (after `outreach demo`): manager@vth.demo, caller@vth.demo, "
    "volunteer@vth.demo, social_worker@vth.demo, admin@vth.demo, the same @lhs.demo, "
    f"admin@arhs-cvl.demo; password: {DEMO_PASSWORD}"
)

# Real communes and postcodes: (commune, postcode, urban?).
COMMUNES: dict[str, list[tuple[str, str, bool]]] = {
    "18": [
        ("Bourges", "18000", True),
        ("Vierzon", "18100", True),
        ("Saint-Doulchard", "18230", True),
        ("Saint-Amand-Montrond", "18200", False),
        ("Mehun-sur-Yèvre", "18500", False),
        ("Aubigny-sur-Nère", "18700", False),
    ],
    "28": [
        ("Chartres", "28000", True),
        ("Dreux", "28100", True),
        ("Lucé", "28110", True),
        ("Vernouillet", "28500", True),
        ("Châteaudun", "28200", False),
        ("Nogent-le-Rotrou", "28400", False),
    ],
    "36": [
        ("Châteauroux", "36000", True),
        ("Déols", "36130", True),
        ("Issoudun", "36100", True),
        ("Argenton-sur-Creuse", "36200", False),
        ("Le Blanc", "36300", False),
        ("La Châtre", "36400", False),
    ],
    "37": [
        ("Tours", "37000", True),
        ("Tours", "37100", True),
        ("Joué-lès-Tours", "37300", True),
        ("Saint-Pierre-des-Corps", "37700", True),
        ("Amboise", "37400", False),
        ("Chinon", "37500", False),
        ("Loches", "37600", False),
    ],
    "41": [
        ("Blois", "41000", True),
        ("Vineuil", "41350", True),
        ("Vendôme", "41100", True),
        ("Romorantin-Lanthenay", "41200", False),
        ("Mer", "41500", False),
        ("Montoire-sur-le-Loir", "41800", False),
    ],
    "45": [
        ("Orléans", "45000", True),
        ("Fleury-les-Aubrais", "45400", True),
        ("Saint-Jean-de-Braye", "45800", True),
        ("Montargis", "45200", True),
        ("Gien", "45500", False),
        ("Pithiviers", "45300", False),
    ],
}
STREETS = [
    "rue des Tilleuls",
    "avenue de la République",
    "rue Jean Jaurès",
    "rue Victor Hugo",
    "allée des Acacias",
    "rue Pasteur",
    "boulevard Jean Moulin",
    "rue des Écoles",
    "place du Marché",
    "rue de la Paix",
    "impasse des Lilas",
    "rue du Général de Gaulle",
    "chemin des Vignes",
    "rue des Peupliers",
    "avenue du Maréchal Leclerc",
    "rue Anatole France",
]
RESIDENCES = [
    "Les Tilleuls",
    "Les Acacias",
    "Le Clos Fleuri",
    "Les Jardins de la Loire",
    "Le Parc",
    "Les Coteaux",
    "La Roseraie",
    "Les Marronniers",
]
FEMALE_NAMES = (
    "Jeanne Marie Monique Jacqueline Simone Yvette Denise Colette Odette Paulette Ginette "
    "Françoise Christiane Suzanne Madeleine Micheline Josette Nicole Danielle Michèle Annie "
    "Geneviève Huguette Lucienne Renée Andrée Gisèle Marcelle Janine Bernadette Yvonne "
    "Germaine Éliane Claudine Arlette Raymonde"
).split()
MALE_NAMES = (
    "Jean Michel André Pierre Bernard Jacques René Roger Marcel Claude Gérard Robert Daniel "
    "Guy Alain Louis Henri Maurice Raymond Georges Lucien Gilbert Paul Roland Francis Serge "
    "Yves Joseph Christian Jean-Pierre Jean-Claude Albert Fernand Émile"
).split()
SURNAMES = (
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Faure Mercier Blanc Guérin Boyer Garnier Chevalier Legrand Gauthier "
    "Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Masson Marchand Duval Denis "
    "Dumont Lemaire Noël Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet "
    "Gaillard Barbier Arnaud Renard Roy Leroux Colin Caron Picard Aubert Lemoine Renaud "
    "Dumas Lacroix Bourgeois Benoît Leclerc Guillaume Hubert Berger Moulin Deschamps Huet "
    "Boucher Fleury Royer Jacquet Poirier Aubry Guyot Carré Charpentier Ménard Maillard "
    "Baron Bailly Hervé Besson Langlois Pelletier Lebrun Tessier Chauvin Pichon Lejeune"
).split()
# Relation, sex of the relative (for the first name), whether they share the surname.
RELATIONS = [
    ("fille", Sex.female, False),
    ("fils", Sex.male, True),
    ("voisine", Sex.female, False),
    ("voisin", Sex.male, False),
    ("nièce", Sex.female, False),
    ("neveu", Sex.male, False),
    ("petite-fille", Sex.female, False),
    ("sœur", Sex.female, False),
]
RELATIVE_FEMALE = "Sophie Nathalie Isabelle Sandrine Valérie Céline Stéphanie Aurélie Julie".split()
RELATIVE_MALE = "Philippe Laurent Stéphane Olivier Christophe Frédéric Nicolas Sébastien".split()
CONSENT_SOURCES = [
    "questionnaire papier",
    "appel de la conseillère sociale",
    "visite à domicile",
    "enquête annuelle",
]
# Fiction ranges for landlines (8 digits after +33, the last 4 drawn); mobile blocks (the
# last 5 drawn) - see the module docstring.
LANDLINE_LOCAL = "+3326191"
LANDLINE_ELSEWHERE = ["+3319900", "+3335301", "+3346571", "+3353649", "+3326191"]
MOBILE_BLOCKS = ["+336000", "+337800"]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


class _Phones:
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
    today = date.today()
    association = create_organisation(session, *ASSOCIATION)
    landlords = [
        (create_organisation(session, slug, name, association.slug), departements)
        for slug, name, departements in LANDLORDS
    ]
    lines: list[str] = []
    phones = _Phones(rng)
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
        _add_seniors(session, rng, phones, org, departements, social_workers, per_landlord, today)
        _add_campaigns(session, org, departements)
        # The first social worker is on duty (referent of the seniors without one). No
        # on-duty phone: demo numbers may be real, and urgent alerts would text them.
        org.on_duty_user_id = social_workers[0].id
        add_demo_partners(session, org, departements)

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


def _add_campaigns(session: Session, org: Organisation, departements: tuple[str, ...]) -> None:
    """Three active campaigns, one per département of the landlord, so that every channel
    is at work as soon as the scheduler starts: staff calls ("Ma file du jour"), automated
    calls through the simulator (handed to the staff when unanswered) and SMS. Their windows
    are open every day and all day: a newcomer trying the demo on a Sunday evening should
    still see them work (real campaigns keep the working-day default of DOMAIN.md)."""
    from outreach.campaigns.models import CampaignKind, CampaignState, ChannelPolicy
    from outreach.campaigns.operations import create_campaign

    staff_dep, sms_dep, ivr_dep = departements
    always = {d: [["00:00", "23:59"]] for d in WEEKDAYS}
    for name, policy, dep in (
        ("Appels de courtoisie (démo)", ChannelPolicy.staff, staff_dep),
        ("Appels automatiques (démo)", ChannelPolicy.ivr_then_staff, ivr_dep),
        ("SMS de courtoisie (démo)", ChannelPolicy.sms, sms_dep),
    ):
        campaign = create_campaign(
            session,
            org.id,
            name,
            CampaignKind.courtesy,
            call_window=always,
            skip_holidays=False,
            channel_policy=policy,
            targeting={"departements": [dep]},
            # Retries a few minutes apart, so the demo shows them within its first hour.
            retry_delay_minutes=5 if policy != ChannelPolicy.staff else 120,
        )
        campaign.state = CampaignState.active


# "du Cher", "d'Indre-et-Loire": département names as they follow "CLIC".
DEPARTEMENT_NAMES = {
    "18": "du Cher",
    "28": "d'Eure-et-Loir",
    "36": "de l'Indre",
    "37": "d'Indre-et-Loire",
    "41": "du Loir-et-Cher",
    "45": "du Loiret",
}


def add_demo_partners(session: Session, org: Organisation, departements: tuple[str, ...]) -> None:
    """A small partners directory for a landlord: per département the CCAS of its main town
    and a CLIC, a SSIAD and a home-help service in the first one, and Croix-Rouge chez vous
    for all. Numbers come from the 02 61 91 fiction range, from its top down, skipping those
    already given (demo people draw theirs at random from the same range); a test checks that
    no two demo contacts share a number."""
    import unicodedata

    from outreach.partners.models import Partner, PartnerKind
    from outreach.partners.operations import create_partner

    used = set()
    for column in (
        Senior.phone_landline,
        Senior.phone_mobile,
        EmergencyContact.phone,
        User.phone,
        Partner.phone,
    ):
        used.update(session.scalars(select(column).where(column.is_not(None))))
    free = (n for i in range(9999, 0, -1) if (n := f"{LANDLINE_LOCAL}{i:04d}") not in used)

    def slug(text: str) -> str:
        ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "-".join("".join(c if c.isalnum() else " " for c in ascii_.lower()).split())

    def add(name: str, kind: PartnerKind, deps: list[str], **fields: str) -> None:
        create_partner(
            session,
            org.id,
            name=name,
            kind=kind,
            departements=deps,
            phone=next(free),
            email=f"{slug(name)}@example.org",
            **fields,
        )

    for index, dep in enumerate(departements):
        town, postcode, _urban = COMMUNES[dep][0]
        of = "d'" if slug(town)[0] in "aeiouy" else "de "  # CCAS d'Orléans, de Tours
        add(
            f"CCAS {of}{town}",
            PartnerKind.ccas,
            [dep],
            communes=town,
            address=f"Hôtel de ville, {postcode} {town}",
            contact_name="Pôle seniors",
            notes="Registre canicule, portage de repas, visites à domicile.",
        )
        add(
            f"CLIC {DEPARTEMENT_NAMES[dep]}",
            PartnerKind.clic,
            [dep],
            contact_name="Coordinatrice gérontologique",
            notes="Évaluation des besoins, aide aux dossiers APA.",
        )
        if index == 0:
            add(
                f"SSIAD {town} Agglomération",
                PartnerKind.ssiad,
                [dep],
                communes=f"{town} et communes voisines",
                notes="Sur prescription médicale.",
            )
            add(
                f"Services à domicile {town} Seniors",
                PartnerKind.saad,
                [dep],
                notes="Aide aux courses, au ménage, à la toilette.",
            )
    add(
        "Croix-Rouge chez vous",
        PartnerKind.croix_rouge,
        list(departements),
        notes="Appels de convivialité et livraisons pour les personnes isolées.",
    )


def _add_seniors(
    session: Session,
    rng: random.Random,
    phones: _Phones,
    org: Organisation,
    departements: tuple[str, ...],
    referents: list[User],
    count: int,
    today: date,
) -> None:
    # A few exact cases, so that every state the screens show is present in the demo.
    special = rng.sample(range(count), 20)
    refused, unknown = set(special[0:3]), set(special[3:9])
    sms_opt_out, paused = set(special[9:13]), set(special[13:14])
    moved, deceased = special[14], special[15]
    seniors = []
    for i in range(count):
        senior = _senior(rng, phones, org, departements, referents, today, i)
        if i in refused or i in unknown:
            senior.consent_status = ConsentStatus.refused if i in refused else ConsentStatus.unknown
            senior.consent_date = senior.consent_source = None
            senior.consent_phone = senior.consent_sms = False
            if i in refused:
                senior.consent_date = today - timedelta(days=rng.randrange(30, 700))
                senior.consent_source = "appel de la conseillère sociale"
        if i in sms_opt_out:
            senior.phone_mobile = senior.phone_mobile or phones.mobile()
            senior.consent_sms = False
            senior.preferred_channel = Channel.phone
            stopped = today - timedelta(days=rng.randrange(5, 200))
            senior.opted_out_sms_at = datetime.combine(stopped, time(9, 30), UTC)
        if i in paused:
            senior.paused_until = today + timedelta(days=rng.randrange(7, 30))
            senior.pause_reason = "hospitalisation"
        if i in (moved, deceased):
            senior.active = False
            senior.left_reason = LeftReason.moved if i == moved else LeftReason.deceased
            senior.left_on = today - timedelta(days=rng.randrange(10, 120))
        seniors.append(senior)
    session.add_all(seniors)
    session.flush()


def _senior(
    rng: random.Random,
    phones: _Phones,
    org: Organisation,
    departements: tuple[str, ...],
    referents: list[User],
    today: date,
    index: int,
) -> Senior:
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
        consent_status=ConsentStatus.given,
        consent_date=consent_date,
        consent_source=rng.choice(CONSENT_SOURCES),
        consent_phone=True,
        consent_sms=mobile is not None,
    )
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
    return senior


# (how long ago, signal, severity, the caller's note, acknowledged by the referent since)
DEMO_ALERTS = [
    (timedelta(hours=3), "fall", "urgent", "Tombée dans sa cuisine hier soir.", False),
    (timedelta(hours=1), "isolation", "concern", "Ne voit plus personne depuis un mois.", False),
    (timedelta(days=1), "not_eating_drinking", "concern", "Dit sauter des repas.", True),
]


def add_demo_alerts(session: Session, org: Organisation, now: datetime | None = None) -> None:
    """A few alerts for the landlord's social workers, so that "Mes alertes" is not empty: a
    fall (urgent, already late), loneliness, and meals skipped (acknowledged). Made the way
    production makes them: a staff call with a signal, then the escalation rules."""
    from flask import current_app, has_app_context

    from outreach.accounts.models import Membership
    from outreach.calls.models import Attempt, AttemptChannel, Disposition, Severity, Signal
    from outreach.config import load_config
    from outreach.escalation.models import Alert
    from outreach.escalation.operations import acknowledge
    from outreach.escalation.rules import sweep

    now = now or datetime.now(UTC)
    # The CLI runs in the app (its escalation settings); tests may call this without one.
    config = current_app.config["OUTREACH"] if has_app_context() else load_config(environ={})
    caller_id = session.scalar(
        select(Membership.user_id).where(
            Membership.organisation_id == org.id, Membership.role == Role.caller
        )
    )
    seniors = session.scalars(
        select(Senior)
        .where(Senior.organisation_id == org.id, Senior.active.is_(True))
        .where(Senior.emergency_contacts.any())
        .order_by(Senior.id)
        .limit(len(DEMO_ALERTS))
    ).all()
    for senior, (ago, kind, severity, note, acknowledged) in zip(
        seniors, DEMO_ALERTS, strict=False
    ):
        at = now - ago
        attempt = Attempt(
            organisation_id=org.id,
            senior_id=senior.id,
            channel=AttemptChannel.staff,
            user_id=caller_id,
            started_at=at,
            ended_at=at + timedelta(minutes=8),
            disposition=Disposition.reached_concern,
            notes=note,
        )
        attempt.signals.append(
            Signal(
                organisation_id=org.id,
                senior_id=senior.id,
                kind=kind,
                severity=Severity(severity),
                created_at=at,
            )
        )
        session.add(attempt)
        session.flush()
        sweep(session, config, at, senior_id=senior.id)  # as right after that call
        alert = session.scalar(select(Alert).where(Alert.senior_id == senior.id))
        if acknowledged and alert is not None and alert.referent_id:
            acknowledge(session, alert, alert.referent_id, at + timedelta(hours=2))
