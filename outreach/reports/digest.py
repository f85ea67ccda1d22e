"""The optional weekly e-mail digest of each organisation's figures, for its managers.

Off by default (``reports.weekly_digest``): when on, on the configured weekday and hour
(Paris time), each manager gets one e-mail with last week's figures (Monday to Sunday before
the run) from ``indicators.compute``, the alerts overdue now and the link to the home page.
Figures only: no senior's name or reference, since e-mail leaves our hands. Each e-mail goes
through the notification outbox under a dedupe key naming the ISO week, the organisation
and the user, so a second run in the same week (or the hourly job firing again) sends
nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.notifications.operations import email_users, managers_of
from outreach.reports.indicators import Period, compute, organisation_ids_for
from outreach.timezone import PARIS

# The figures of the digest, in their order, with their French wording.
LINES = (
    ("seniors_targeted", "Personnes ciblées"),
    ("seniors_attempted", "Personnes sollicitées"),
    ("seniors_reached", "Personnes jointes"),
    ("seniors_never_reached", "Personnes jamais jointes"),
    ("help_requests", "Demandes d'aide"),
    ("refusals", "Refus"),
)


def previous_week(now: datetime) -> Period:
    """Monday to Sunday (Paris days) of the week before the one ``now`` falls in."""
    today = now.astimezone(PARIS).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return Period(monday, monday + timedelta(days=6))


def is_due(config: dict[str, dict[str, Any]], now: datetime) -> bool:
    """True on the configured weekday and hour, Paris time (the job fires every hour)."""
    local = now.astimezone(PARIS)
    reports = config["reports"]
    return local.weekday() == reports["digest_weekday"] and local.hour == reports["digest_hour"]


def body(figures: dict[str, Any], org_name: str, period: Period, link: str) -> str:
    """The plain French text of one organisation's digest (figures only, no person)."""
    indicators = figures["indicators"]
    width = max(len(label) for _, label in LINES)
    rows = [f"  {label:<{width}} : {indicators.get(name, 0)}" for name, label in LINES]
    overdue = figures["alerts"]["overdue_now"]
    return (
        f"Bonjour,\n\nVoici la semaine de {org_name}, du lundi "
        f"{period.start.strftime('%d/%m/%Y')} au dimanche {period.end.strftime('%d/%m/%Y')} :\n\n"
        + "\n".join(rows)
        + f"\n\nAlertes en retard à cette heure : {overdue}\n\n"
        f"Le détail est sur la page d'accueil : {link}\n"
    )


def send_weekly(session: Session, config: dict[str, dict[str, Any]], now: datetime) -> int:
    """Queue last week's digest to each manager of each organisation; returns how many
    e-mails were new (0 when the digest is off, or already queued this week)."""
    if not config["reports"]["weekly_digest"]:
        return 0
    period = previous_week(now)
    year, week, _ = period.start.isocalendar()
    link = config["telephony"]["public_base_url"].rstrip("/") + "/"
    queued = 0
    orgs = session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.id))
    for org_id, org_name in orgs.all():
        managers = managers_of(session, org_id)
        if not managers:
            continue  # nobody to tell: spare the queries
        # An association's figures include its member landlords, as on its report page.
        figures = compute(
            session, organisation_ids_for(session, org_id), period, now=now, breakdowns=False
        )
        queued += email_users(
            session,
            managers,
            key=f"weekly-digest:{year}-W{week:02d}:org{org_id}",
            subject=f"{org_name} : la semaine du {period.start.strftime('%d/%m/%Y')}",
            body=body(figures, org_name, period, link),
            organisation_id=org_id,
            now=now,
        )
    session.flush()
    return queued
