"""The end-of-heatwave report (bilan canicule) for the ARS and the prefecture.

For a canicule campaign, or a period: per département and per day, the board's counts
(reports.canicule, same definitions), the alerts opened by cause and severity with what
became of them, and the time it took to reach everyone: from the start of the day (the
later of the first task's creation, i.e. the activation, and the opening of the call
window) to the last senior's first attempt and to the last senior's reach. Only aggregates:
no names, suitable to send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign, CampaignKind, Task
from outreach.escalation.models import Alert, AlertStatus, Resolution
from outreach.reports import canicule
from outreach.reports.writers import Sheet
from outreach.roster.models import Senior
from outreach.timezone import PARIS

COLUMN_LABELS = {
    "registered": "Inscrits au registre",
    "to_call": "À appeler",
    "attempted": "Appelés",
    "reached": "Joints",
    "reached_ok": "Joints, tout va bien",
    "concern": "Inquiétude",
    "help": "Demande d'aide",
    "unreached": "Injoignables après le dernier essai",
    "refused": "Refus",
}


@dataclass
class DayRow:
    day: date
    departement: str
    counts: canicule.Counts
    started_at: datetime | None = None
    last_first_attempt: datetime | None = None
    last_reach: datetime | None = None

    @staticmethod
    def _minutes(a: datetime | None, b: datetime | None) -> float | None:
        if a is None or b is None:
            return None
        return round(max((b - a).total_seconds(), 0) / 60, 1)

    @property
    def minutes_to_first_attempts(self) -> float | None:
        return self._minutes(self.started_at, self.last_first_attempt)

    @property
    def minutes_to_reach(self) -> float | None:
        """None unless every senior of the day was reached (a time to reach "everyone")."""
        if self.counts.reached < self.counts.to_call:
            return None
        return self._minutes(self.started_at, self.last_reach)


@dataclass
class AlertRow:
    day: date
    departement: str
    cause: str
    severity: str
    opened: int = 0
    still_open: int = 0
    resolutions: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Bilan:
    start: date
    end: date
    days: list[DayRow]
    alerts: list[AlertRow]
    campaign: Campaign | None = None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite gives naive UTC back.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def period_of(session: Session, campaign: Campaign) -> tuple[date, date]:
    """The days of a campaign: its first and last task's days (else its dates)."""
    first, last = session.execute(
        select(func.min(Task.due_date), func.max(Task.due_date)).where(
            Task.campaign_id == campaign.id
        )
    ).one()
    start = first or campaign.starts_on or campaign.created_at.astimezone(PARIS).date()
    return start, last or campaign.ends_on or start


def compute(
    session: Session,
    org_ids: Sequence[int],
    start: date,
    end: date,
    campaign: Campaign | None = None,
) -> Bilan:
    """The bilan of ``start``..``end`` (inclusive Paris days), of one campaign if given."""
    campaign_id = campaign.id if campaign is not None else None
    registered = canicule.registered(session, org_ids)
    rows: dict[tuple[date, str], DayRow] = {}
    windows = dict(
        session.execute(
            select(Campaign.id, Campaign.call_window).where(
                Campaign.organisation_id.in_(list(org_ids)),
                Campaign.kind == CampaignKind.canicule,
            )
        ).all()
    )
    for task in canicule.task_rows(session, org_ids, start, end, campaign_id):
        dep = task.departement or canicule.UNKNOWN
        row = rows.get((task.due_date, dep))
        if row is None:
            row = rows[(task.due_date, dep)] = DayRow(task.due_date, dep, canicule.Counts())
            row.counts.registered = registered.get(dep, 0)
        canicule.fill(row.counts, task)
        spans = canicule.window_spans([windows.get(task.campaign_id) or {}], task.due_date)
        begin = max(filter(None, [_aware(task.created_at), spans[0][0] if spans else None]))
        row.started_at = min(filter(None, [row.started_at, begin]))
        first, reach = _aware(task.first_attempt), _aware(task.first_reach)
        row.last_first_attempt = max(filter(None, [row.last_first_attempt, first]), default=None)
        row.last_reach = max(filter(None, [row.last_reach, reach]), default=None)
    return Bilan(
        start, end, [rows[k] for k in sorted(rows)], _alerts(session, org_ids, start, end), campaign
    )


def _alerts(session: Session, org_ids: Sequence[int], start: date, end: date) -> list[AlertRow]:
    since = datetime.combine(start, time(0), PARIS)
    until = datetime.combine(end + timedelta(days=1), time(0), PARIS)
    found: dict[tuple[date, str, str, str], AlertRow] = {}
    for opened_at, dep, cause, severity, status, resolution in session.execute(
        select(
            Alert.opened_at,
            Senior.departement,
            Alert.cause,
            Alert.severity,
            Alert.status,
            Alert.resolution,
        )
        .join(Senior, Senior.id == Alert.senior_id)
        .where(
            Alert.organisation_id.in_(list(org_ids)),
            Alert.opened_at >= since,
            Alert.opened_at < until,
        )
    ):
        day = _aware(opened_at).astimezone(PARIS).date()  # type: ignore[union-attr]
        key = (day, dep or canicule.UNKNOWN, str(cause), str(severity))
        row = found.get(key) or found.setdefault(key, AlertRow(*key))
        row.opened += 1
        if status != AlertStatus.resolved:
            row.still_open += 1
        elif resolution is not None:
            row.resolutions[str(resolution)] += 1
    return [found[k] for k in sorted(found)]


def sheets(bilan: Bilan, labels: dict[str, dict[str, str]]) -> list[Sheet]:
    """The bilan as two tables (days, alerts) for writers.to_csv / to_xlsx; ``labels``
    holds the French labels of causes, severities and resolutions."""
    days = Sheet(
        "Jours",
        [
            "Jour",
            "Département",
            *COLUMN_LABELS.values(),
            "Début de journée",
            "Dernier premier appel",
            "Dernier senior joint",
            "Minutes jusqu'au dernier premier appel",
            "Minutes pour joindre tout le monde",
        ],
    )
    for row in bilan.days:
        days.rows.append(
            [
                row.day,
                row.departement,
                *row.counts.as_dict().values(),
                row.started_at,
                row.last_first_attempt,
                row.last_reach,
                row.minutes_to_first_attempts,
                row.minutes_to_reach,
            ]
        )
    resolutions = [r.value for r in Resolution]
    alerts = Sheet(
        "Alertes",
        [
            "Jour",
            "Département",
            "Cause",
            "Gravité",
            "Ouvertes",
            "Encore ouvertes",
            *(labels["resolution"].get(r, r) for r in resolutions),
        ],
    )
    for a in bilan.alerts:
        alerts.rows.append(
            [
                a.day,
                a.departement,
                labels["cause"].get(a.cause, a.cause),
                labels["severity"].get(a.severity, a.severity),
                a.opened,
                a.still_open,
                *(a.resolutions.get(r, 0) for r in resolutions),
            ]
        )
    return [days, alerts]
