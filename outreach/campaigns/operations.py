"""Writes on campaigns: create with per-kind defaults, change state, activate a canicule.

Operations flush, never commit: the request or job that calls them owns the transaction.
They write their own audit events, so that a page and a CLI command doing the same thing
leave the same trail; ``user_id`` is the person acting (None from the command line, where
``via="cli"`` says so in the event).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.campaigns import lifecycle, targeting
from outreach.campaigns.generation import GenerationResult, generate_day
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.schedule import EVERY_DAY_WINDOW, WORKING_DAYS_WINDOW, parse_window
from outreach.roster.models import Senior

VIGILANCE_LEVELS = ("jaune", "orange", "rouge")

# Defaults per kind, from DOMAIN.md: courtesy on working days within the consumer hours,
# canicule every day 9h-19h with more same-day attempts (the CCAS practice).
KIND_DEFAULTS: dict[CampaignKind, dict[str, Any]] = {
    CampaignKind.courtesy: {
        "call_window": WORKING_DAYS_WINDOW,
        "skip_holidays": True,
        "retry_delay_minutes": 120,
        "max_attempts_per_day": 2,
        "max_attempts": 4,
        "script": "courtesy",
        "cadence": [
            {"when": {"min_age": 75, "lives_alone": True}, "every_days": 7},
            {"every_days": 14},
        ],
        "own_message": False,
        "requires_human": False,
    },
    CampaignKind.canicule: {
        "call_window": EVERY_DAY_WINDOW,
        "skip_holidays": False,
        "retry_delay_minutes": 60,
        "max_attempts_per_day": 3,
        "max_attempts": 3,
        "script": "canicule",
        "cadence": [{"every_days": 1}],
        # A heat check is settled by a person's call, not by another campaign's key press.
        "own_message": False,
        "requires_human": True,
    },
    CampaignKind.reminder: {
        "call_window": WORKING_DAYS_WINDOW,
        "skip_holidays": True,
        "retry_delay_minutes": 120,
        "max_attempts_per_day": 2,
        "max_attempts": 2,
        "script": "reminder",
        "cadence": [],
        # A workshop reminder carries its own message: another call does not replace it.
        "own_message": True,
        "requires_human": False,
    },
    CampaignKind.custom: {
        "call_window": WORKING_DAYS_WINDOW,
        "skip_holidays": True,
        "retry_delay_minutes": 120,
        "max_attempts_per_day": 2,
        "max_attempts": 3,
        "script": "courtesy",
        "cadence": [],
        "own_message": False,
        "requires_human": False,
    },
    # A workshop's invitation, confirmation and reminders (outreach.workshops): its tasks
    # carry their own message, and a call that fails goes to a person.
    CampaignKind.workshop: {
        # Every day, as for a canicule: a Monday workshop is reminded on Sunday, a Saturday
        # one on Saturday morning, and a reminder the dispatcher may not send is no reminder.
        "call_window": EVERY_DAY_WINDOW,
        "skip_holidays": False,
        "retry_delay_minutes": 120,
        "max_attempts_per_day": 2,
        "max_attempts": 2,
        "script": "workshop",
        "channel_policy": ChannelPolicy.ivr_then_staff,
        "cadence": [],
        "own_message": True,
        "requires_human": False,
    },
    # The regional panel's recueil d'accord (outreach.panel.agreements): the landlord's drawn
    # members still to contact, asked once per cycle until they answer. Its question is its
    # own: a courtesy contact the same day does not settle it.
    CampaignKind.agreement: {
        "call_window": WORKING_DAYS_WINDOW,
        "skip_holidays": True,
        "retry_delay_minutes": 120,
        "max_attempts_per_day": 2,
        "max_attempts": 3,
        "script": "agreement",
        "cadence": [{"every_days": 7}],
        "own_message": True,
        "requires_human": False,
    },
}


class CampaignError(ValueError):
    """Invalid campaign input; the message is in French for the manager."""


def create_campaign(
    session: Session,
    organisation_id: int,
    name: str,
    kind: CampaignKind | str,
    *,
    created_by_id: int | None = None,
    **fields: Any,
) -> Campaign:
    """A new campaign in draft, with the defaults of its kind for what is not given."""
    kind = CampaignKind(kind)
    values = {**KIND_DEFAULTS[kind], **fields}
    _check(values)
    campaign = Campaign(
        organisation_id=organisation_id,
        name=name.strip(),
        kind=kind,
        created_by_id=created_by_id,
        **values,
    )
    if not campaign.name:
        raise CampaignError("la campagne doit avoir un nom")
    session.add(campaign)
    session.flush()
    return campaign


def _check(values: dict[str, Any]) -> None:
    try:
        if "targeting" in values:
            values["targeting"] = targeting.validate(values["targeting"] or {})
        if "call_window" in values:
            parse_window(values["call_window"])
    except ValueError as exc:
        raise CampaignError(str(exc)) from exc
    for key in ("retry_delay_minutes", "max_attempts_per_day", "max_attempts"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise CampaignError(f"{key} : un nombre entier positif est attendu")
    if "channel_policy" in values:
        values["channel_policy"] = ChannelPolicy(values["channel_policy"])


def update_campaign(session: Session, campaign: Campaign, **fields: Any) -> Campaign:
    _check(fields)
    for key, value in fields.items():
        setattr(campaign, key, value)
    session.flush()
    return campaign


ALLOWED_MOVES = {
    CampaignState.draft: {CampaignState.active, CampaignState.closed},
    CampaignState.active: {CampaignState.paused, CampaignState.closed},
    CampaignState.paused: {CampaignState.active, CampaignState.closed},
    CampaignState.closed: set(),
}


def _via(via: str | None) -> dict[str, Any]:
    return {"via": via} if via else {}


def set_state(
    session: Session,
    campaign: Campaign,
    state: CampaignState,
    now: datetime,
    *,
    user_id: int | None = None,
    via: str | None = None,
) -> None:
    """Move a campaign forward; audit event ``campaign.<state>``.

    Pausing keeps the day's tasks but the queue and the dispatcher ignore them until the
    campaign resumes (a pause at 11h and a resume at 14h must not lose the afternoon);
    closing cancels the open tasks for good.
    """
    state = CampaignState(state)
    if state not in ALLOWED_MOVES[campaign.state]:
        raise CampaignError(f"impossible de passer de {campaign.state} à {state}")
    if state == CampaignState.active and campaign.kind == CampaignKind.canicule:
        other = active_canicule(session, campaign.organisation_id)
        if other is not None and other.id != campaign.id:
            raise CampaignError(
                "une canicule est déjà active pour cette organisation : "
                "ajoutez-y des départements plutôt que d'en ouvrir une seconde"
            )
    campaign.state = state
    if state == CampaignState.closed:
        _cancel_open_tasks(session, campaign.id, now)
    record(
        session,
        action=f"campaign.{state.value}",
        entity="campaign",
        entity_id=campaign.id,
        organisation_id=campaign.organisation_id,
        user_id=user_id,
        details=_via(via) or None,
    )
    session.flush()


def _cancel_open_tasks(
    session: Session, campaign_id: int, now: datetime, departements: list[str] | None = None
) -> None:
    # Calls already at the gateway (queued) finish; their result is still recorded.
    where = [
        Task.campaign_id == campaign_id,
        Task.state.in_([TaskState.pending, TaskState.claimed]),
    ]
    if departements is not None:
        ids = select(Senior.id).where(Senior.departement.in_(departements))
        where.append(Task.senior_id.in_(ids))
    lifecycle.close_where(session, where, TaskState.cancelled, now, "campaign_closed")


def active_canicule(session: Session, organisation_id: int) -> Campaign | None:
    return session.scalar(
        select(Campaign).where(
            Campaign.organisation_id == organisation_id,
            Campaign.kind == CampaignKind.canicule,
            Campaign.state == CampaignState.active,
        )
    )


def _clean_departements(departements: list[str]) -> list[str]:
    clean = sorted({d.strip().upper() for d in departements if d.strip()})
    if not clean:
        raise CampaignError("choisissez au moins un département")
    for d in clean:
        if not (d.isdigit() and len(d) in (2, 3)) and d not in ("2A", "2B"):
            raise CampaignError(f"département invalide : {d}")
    return clean


def activate_canicule(
    session: Session,
    organisation_id: int,
    departements: list[str],
    level: str,
    today: date,
    now: datetime,
    user_id: int | None = None,
    channel_policy: ChannelPolicy = ChannelPolicy.staff,
    *,
    via: str | None = None,
) -> tuple[Campaign, GenerationResult]:
    """Start (or extend) the organisation's canicule campaign and create today's tasks now;
    audit event ``canicule.activate``.

    One active canicule campaign per organisation holds the départements on alert, so that
    adding a département the next day extends the same campaign and its counters.
    """
    if level not in VIGILANCE_LEVELS:
        raise CampaignError(f"niveau de vigilance inconnu : {level}")
    deps = _clean_departements(departements)
    campaign = active_canicule(session, organisation_id)
    if campaign is None:
        campaign = create_campaign(
            session,
            organisation_id,
            f"Canicule {today.strftime('%d/%m/%Y')}",
            CampaignKind.canicule,
            created_by_id=user_id,
            channel_policy=channel_policy,
            targeting={"any_of": targeting.CANICULE_DEFAULT_ANY_OF, "departements": deps},
        )
        campaign.state = CampaignState.active
    else:
        rules = dict(campaign.targeting or {})
        rules["departements"] = sorted(set(rules.get("departements", [])) | set(deps))
        campaign.targeting = rules
    campaign.vigilance_level = level
    session.flush()
    result = generate_day(session, today, now, campaign_ids=[campaign.id])
    created, _skipped = result.by_campaign.get(campaign.id, (0, 0))
    record(
        session,
        action="canicule.activate",
        entity="campaign",
        entity_id=campaign.id,
        organisation_id=organisation_id,
        user_id=user_id,
        details={"departements": deps, "level": level, "tasks_created": created, **_via(via)},
    )
    session.flush()
    return campaign, result


def deactivate_canicule(
    session: Session,
    organisation_id: int,
    departements: list[str],
    now: datetime,
    *,
    user_id: int | None = None,
    via: str | None = None,
) -> Campaign | None:
    """End the alert for some départements; the campaign closes when none is left.

    Audit event ``canicule.deactivate``.
    """
    deps = _clean_departements(departements)
    campaign = active_canicule(session, organisation_id)
    if campaign is None:
        raise CampaignError("aucune canicule active pour cette organisation")
    rules = dict(campaign.targeting or {})
    remaining = sorted(set(rules.get("departements", [])) - set(deps))
    _cancel_open_tasks(session, campaign.id, now, deps)
    if remaining:
        rules["departements"] = remaining
        campaign.targeting = rules
    else:
        campaign.state = CampaignState.closed
    record(
        session,
        action="canicule.deactivate",
        entity="campaign",
        entity_id=campaign.id,
        organisation_id=organisation_id,
        user_id=user_id,
        details={"departements": deps, **_via(via)},
    )
    session.flush()
    return campaign
