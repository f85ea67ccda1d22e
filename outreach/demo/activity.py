"""Demo activity: campaigns on every channel, partners, and a few alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation, Role, User
from outreach.campaigns.schedule import WEEKDAYS
from outreach.demo.data import COMMUNES, DEPARTEMENT_NAMES, LANDLINE_LOCAL
from outreach.roster.models import (
    EmergencyContact,
    Senior,
)


def add_demo_campaigns(session: Session, org: Organisation, departements: tuple[str, ...]) -> None:
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


def add_demo_partners(session: Session, org: Organisation, departements: tuple[str, ...]) -> None:
    """A small partners directory for a landlord: per département the CCAS of its main town
    and a CLIC, a SSIAD and a home-help service in the first one, and Croix-Rouge chez vous
    for all. Numbers come from the 02 61 91 fiction range, from its top down, skipping those
    already given (demo people draw theirs at random from the same range); a test checks that
    no two demo contacts share a number."""
    import unicodedata

    from outreach.partners.models import Partner, PartnerKind
    from outreach.partners.operations import create_partner

    used: set[str] = set()
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

    def add(name: str, kind: PartnerKind, deps: list[str], **fields: Any) -> None:
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
    from outreach.calls.models import (
        Attempt,
        AttemptChannel,
        Disposition,
        Outcome,
        Severity,
        Signal,
    )
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
            outcome=Outcome.reached_concern,
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
