"""Reading the audit trail: filters, one page of events, the CSV export (the DPO's view).

The statements built here are not scoped: the web layer wraps them in
``access.scoped(..., AuditEvent, "audit.view")``, so that a manager reads her own
organisations' trail only. Every filter maps onto an index of ``audit_event``: ``at``
(the period and the newest-first order), ``organisation_id`` (the scope) and
``(entity, entity_id)`` (one senior).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import Session, aliased

from outreach.accounts.models import User
from outreach.audit.models import AuditEvent
from outreach.audit.operations import record
from outreach.calls.models import Attempt
from outreach.roster.export import BOM, DELIMITER, neutralise
from outreach.roster.models import Senior
from outreach.timezone import PARIS

# Every action written by ``audit.operations.record`` (grep "record(" outreach), named once
# in French. An action missing here is shown as it is stored, never hidden.
ACTION_LABELS: dict[str, str] = {
    "view": "Consultation",
    "create": "Création",
    "update": "Modification",
    "import": "Import du fichier",
    "export": "Export",
    "erase": "Effacement",
    "retention": "Purge (durées de conservation)",
    "consent": "Consentement modifié",
    "phone_opt_out": "Ne plus appeler",
    "sms_opt_out": "STOP SMS",
    "sms_reply_classified": "SMS classé",
    "outcome_corrected": "Résultat d'appel corrigé",
    "refer": "Orientation vers un partenaire",
    "on_duty": "Astreinte modifiée",
    "campaign.draft": "Campagne remise en brouillon",
    "campaign.active": "Campagne activée",
    "campaign.paused": "Campagne suspendue",
    "campaign.closed": "Campagne clôturée",
    "canicule.activate": "Canicule déclenchée",
    "canicule.deactivate": "Canicule levée",
    "vigilance.proposal": "Vigilance : proposition de déclenchement",
    "vigilance.supersede": "Vigilance : proposition remplacée",
    "vigilance.auto": "Vigilance : déclenchement automatique",
    "vigilance.accept": "Vigilance : proposition acceptée",
    "vigilance.refuse": "Vigilance : proposition refusée",
    "vigilance.seen": "Vigilance : proposition vue",
    "vigilance.auto_set": "Vigilance : déclenchement automatique réglé",
    "doorknock": "Passage à domicile",
    "gateway_settings": "Réglages de téléphonie modifiés",
    "rehearsal.request": "Répétition canicule demandée",
    "login": "Connexion",
    "logout": "Déconnexion",
}
ENTITY_LABELS: dict[str, str] = {
    "senior": "Senior",
    "attempt": "Appel ou SMS",
    "roster": "Fichier des seniors",
    "partner": "Partenaire",
    "campaign": "Campagne",
    "organisation": "Organisation",
    "alert": "Alerte",
    "user": "Utilisateur",
    "audit": "Journal d'audit",
    "rehearsal": "Répétition canicule",
}
# Keys of ``details`` that the page and the CSV name in French; others show as stored.
DETAIL_LABELS: dict[str, str] = {
    "screen": "depuis",
    "fields": "champs",
    "rows": "lignes",
    "filters": "filtres",
    "source": "source",
    "outcome": "résultat",
    "alert_id": "alerte n°",
    "attempt": "appel n°",
    "referral_id": "orientation n°",
    "partner_id": "partenaire n°",
    "kind": "type",
    "via": "par",
    "departements": "départements",
    "level": "niveau",
    "tasks_created": "appels créés",
    "format": "format",
    "reason": "motif",
}
DETAIL_VALUES: dict[str, str] = {
    "call": "l'écran d'appel",
    "request": "demande de la personne",
    "retention": "durée de conservation échue",
    "cli": "ligne de commande",
}
SYSTEM = "systeme"  # the user filter's value for actions of the system (CLI, jobs)
DETAILS_MAX = 200
COUNT_CAP = 10_000  # counting further costs time and tells a DPO nothing: narrow the period
BATCH = 500


@dataclass(frozen=True)
class AuditFilters:
    """What the viewer asks for; ``None`` means "any"."""

    user_id: int | None = None
    system: bool = False  # only actions without a user
    senior_id: int | None = None
    action: str | None = None
    start: date | None = None  # first day included, Paris time
    end: date | None = None  # last day included, Paris time

    def active_names(self) -> list[str]:
        """The names of the filters in use (for the export's audit event: no values)."""
        names = {
            "user": self.user_id is not None or self.system,
            "senior": self.senior_id is not None,
            "action": self.action is not None,
            "start": self.start is not None,
            "end": self.end is not None,
        }
        return [name for name, used in names.items() if used]


def paris_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in Paris."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def events_select(filters: AuditFilters) -> Select[*tuple[Any, ...]]:
    """The events matching ``filters`` with their author's name, newest first (unscoped)."""
    stmt = select(AuditEvent, User.name).outerjoin(User, User.id == AuditEvent.user_id)
    if filters.system:
        stmt = stmt.where(AuditEvent.user_id.is_(None))
    elif filters.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == filters.user_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.start is not None:
        stmt = stmt.where(AuditEvent.at >= paris_midnight(filters.start))
    if filters.end is not None:
        stmt = stmt.where(AuditEvent.at < paris_midnight(filters.end + timedelta(days=1)))
    if filters.senior_id is not None:
        # Her record, and what was done to her calls and SMS (a correction, a reply read).
        # The ids first, each branch through the (entity, entity_id) index: written as one
        # OR, PostgreSQL misjudges it and walks the whole trail backwards along ``at``.
        on_her = select(AuditEvent.id).where(
            AuditEvent.entity == "senior", AuditEvent.entity_id == filters.senior_id
        )
        on_her_calls = (
            select(AuditEvent.id)
            .join(Attempt, Attempt.id == AuditEvent.entity_id)
            .where(AuditEvent.entity == "attempt", Attempt.senior_id == filters.senior_id)
        )
        ids = union_all(on_her, on_her_calls).subquery()
        stmt = stmt.where(AuditEvent.id.in_(select(ids.c.id)))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def count_capped(session: Session, stmt: Select[*tuple[Any, ...]], cap: int = COUNT_CAP) -> int:
    """How many rows ``stmt`` returns, counting no further than ``cap + 1``."""
    sub = stmt.order_by(None).with_only_columns(AuditEvent.id).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


@dataclass
class AuditRow:
    """One line of the viewer: the event, its author, and the senior it concerns."""

    event: AuditEvent
    user_name: str | None
    senior: Senior | None = None  # loaded when the event concerns a senior or her call
    senior_id: int | None = None
    details: str = field(default="")

    @property
    def action_label(self) -> str:
        return action_label(self.event.action)

    @property
    def entity_label(self) -> str:
        return ENTITY_LABELS.get(self.event.entity, self.event.entity)


def action_label(action: str) -> str:
    """The French name of an audit action (the stored name when it has none)."""
    return ACTION_LABELS.get(action, action)


def summarise(details: dict[str, Any] | None, limit: int = DETAILS_MAX) -> str:
    """A short French reading of ``details``: "champs : last_name, city ; lignes : 12".

    Nested values (a correction's before/after) are named by their keys only.
    """
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if value is None or value == [] or value == {}:
            continue
        label = DETAIL_LABELS.get(key, key)
        if isinstance(value, dict):
            text = "(" + ", ".join(str(k) for k in value) + ")"
        elif isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "oui" if value else "non"
        else:
            text = DETAIL_VALUES.get(str(value), str(value))
        parts.append(f"{label} : {text}")
    summary = " ; ".join(parts)
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


def page_rows(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    page: int,
    size: int,
    seniors: Select[*tuple[Any, ...]],
) -> list[AuditRow]:
    """One page (1-based) of ``stmt``'s events, with the seniors they concern.

    ``seniors`` is the scoped ``select(Senior)`` the reader may see: a senior of another
    organisation is never loaded, even when an event names her id.
    """
    result = session.execute(stmt.limit(size).offset((max(page, 1) - 1) * size)).all()
    rows = [AuditRow(event, name, details=summarise(event.details)) for event, name in result]
    attempt_ids = {r.event.entity_id for r in rows if r.event.entity == "attempt"}
    of_attempt: dict[int, int] = {}
    if attempt_ids:
        of_attempt = dict(
            session.execute(
                select(Attempt.id, Attempt.senior_id).where(Attempt.id.in_(attempt_ids))
            ).all()
        )
    for row in rows:
        e = row.event
        if e.entity == "senior":
            row.senior_id = e.entity_id
        elif e.entity == "attempt" and e.entity_id is not None:
            row.senior_id = of_attempt.get(e.entity_id)
    wanted = {r.senior_id for r in rows if r.senior_id is not None}
    if wanted:
        found = {s.id: s for s in session.scalars(seniors.where(Senior.id.in_(wanted)))}
        for row in rows:
            row.senior = found.get(row.senior_id) if row.senior_id is not None else None
    return rows


# ------------------------------------------------------------------------- CSV export

CSV_HEADERS = ["Date", "Heure", "Utilisateur", "Action", "Objet", "N°", "Senior n°", "Détails"]


def _line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in cells])
    return buffer.getvalue()


def _csv_cells(event: AuditEvent, user_name: str | None, senior_id: int | None) -> list[str]:
    at = event.at.astimezone(PARIS)
    return [
        at.strftime("%d/%m/%Y"),
        at.strftime("%H:%M:%S"),
        user_name or "Système",
        action_label(event.action),
        ENTITY_LABELS.get(event.entity, event.entity),
        "" if event.entity_id is None else str(event.entity_id),
        "" if senior_id is None else str(senior_id),
        # The details in full: the file is for reading at leisure, not a table cell.
        summarise(event.details, limit=10_000),
    ]


def export_audit(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    organisation_ids: Iterable[int],
    user_id: int | None,
    filter_names: list[str],
) -> Iterator[str]:
    """Record the export, then return the CSV chunks of the events selected by ``stmt``.

    Exporting the trail is itself an access to it: one audit event per organisation, with
    the names of the filters (never their values) and the row count, written now in the
    caller's transaction, as ``roster.export.export_roster`` does.
    """
    sub = stmt.order_by(None).subquery()
    per_org: dict[int, int] = dict(
        session.execute(
            select(sub.c.organisation_id, func.count()).group_by(sub.c.organisation_id)
        ).all()
    )
    own = [
        record(
            session,
            action="export",
            entity="audit",
            organisation_id=org_id,
            user_id=user_id,
            details={"rows": per_org.get(org_id, 0), "filters": filter_names, "format": "csv"},
        )
        for org_id in organisation_ids
    ]
    session.flush()
    # The file is the trail as it was asked for: without the export's own events.
    return _csv_chunks(session, stmt.where(AuditEvent.id.not_in([e.id for e in own])))


def _csv_chunks(session: Session, stmt: Select[*tuple[Any, ...]]) -> Iterator[str]:
    yield BOM + _line(CSV_HEADERS)
    # Her id for an event on one of her calls, so that the file can be sorted by senior.
    attempt = aliased(Attempt)
    query = stmt.outerjoin(
        attempt, and_(AuditEvent.entity == "attempt", attempt.id == AuditEvent.entity_id)
    ).add_columns(attempt.senior_id)
    lines: list[str] = []
    for event, user_name, attempt_senior in session.execute(
        query.execution_options(yield_per=BATCH)
    ):
        senior_id = event.entity_id if event.entity == "senior" else attempt_senior
        lines.append(_line(_csv_cells(event, user_name, senior_id)))
        if len(lines) >= BATCH:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)
