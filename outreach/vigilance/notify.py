"""Telling the managers of a proposal: an e-mail each (the outbox), and for red an SMS to
the organisation's on-duty phone. Dedupe keys carry the proposal id: a job that runs again
sends nothing twice. Nothing personal: départements and colours only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.notifications.operations import email_users, managers_of, queue
from outreach.vigilance.models import ProposalKind, ProposalState, VigilanceProposal

RED = 4


def proposal_link(config: dict[str, dict[str, Any]], proposal: VigilanceProposal) -> str:
    base = config["telephony"]["public_base_url"].rstrip("/")
    return f"{base}/vigilance/propositions/{proposal.id}"


def _texts(p: VigilanceProposal, org: Organisation, link: str) -> tuple[str, str, str]:
    deps = ", ".join(p.departements)
    day = p.for_day.strftime("%d/%m")
    if p.kind == ProposalKind.lift:
        subject = f"Fin de vigilance canicule proposée — {deps}"
        body = (
            f"Bonjour,\n\nLa vigilance canicule de Météo-France est redescendue sous le seuil "
            f"pour {deps} ({org.name}). Vous pouvez lever l'alerte canicule de ces "
            f"départements, ou la maintenir :\n\n{link}\n"
        )
        return subject, body, ""
    if p.state == ProposalState.auto_activated:
        subject = f"Canicule déclenchée automatiquement — vigilance {p.level} — {deps}"
        body = (
            f"Bonjour,\n\nMétéo-France place {deps} en vigilance canicule {p.level} à partir "
            f"du {day}. Comme prévu pour {org.name}, la campagne canicule a été déclenchée "
            f"automatiquement et les appels du jour sont créés.\n\n{link}\n"
        )
        sms = f"outreach : vigilance canicule ROUGE {deps}, canicule déclenchée automatiquement."
        return subject, body, sms
    subject = f"Vigilance canicule {p.level} — {deps} : déclenchement proposé"
    body = (
        f"Bonjour,\n\nMétéo-France place {deps} en vigilance canicule {p.level} à partir du "
        f"{day}. Des seniors de {org.name} suivis en cas de canicule y habitent. Déclenchez "
        f"la campagne canicule en un clic (ou refusez) :\n\n{link}\n"
    )
    sms = f"outreach : vigilance canicule ROUGE {deps}. Déclenchement à valider : {link}"
    return subject, body, sms


def tell_managers(
    session: Session,
    org: Organisation,
    proposal: VigilanceProposal,
    config: dict[str, dict[str, Any]],
    now: datetime,
) -> int:
    """Queue the e-mails (and the red SMS) of a new proposal; how many were queued."""
    subject, body, sms = _texts(proposal, org, proposal_link(config, proposal))
    queued = email_users(
        session,
        managers_of(session, org.id),
        key=f"vigilance:{proposal.id}",
        subject=subject,
        body=body,
        organisation_id=org.id,
        now=now,
    )
    if sms and proposal.colour >= RED and org.on_duty_phone:
        queued += queue(
            session,
            key=f"vigilance-sms:{proposal.id}",
            channel="sms",
            recipient=org.on_duty_phone,
            subject="",
            body=sms,
            organisation_id=org.id,
            now=now,
        )
    return queued
