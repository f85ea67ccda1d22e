"""Writes of the vigilance: store a fetched map, turn it into proposals, accept or refuse.

A proposal is per organisation and kind (activate, lift): at most one is open at a time. A
new map that asks for the same thing keeps it (no second e-mail); one that asks for
something else supersedes it; one that no longer asks for anything supersedes it too. A
refused proposal is not made again for the same départements, level and day. With
``organisation.auto_activate`` an activation is made at once (``via="vigilance"``) and
the managers are told. Every step is audited; operations flush, the job or request commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.audit.operations import record
from outreach.campaigns import targeting
from outreach.campaigns.models import Campaign, ChannelPolicy
from outreach.campaigns.operations import (
    activate_canicule,
    active_canicule,
    deactivate_canicule,
)
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import Senior
from outreach.vigilance.client import MalformedMap, ParsedMap, parse
from outreach.vigilance.models import (
    COLOUR_NAMES,
    ProposalKind,
    ProposalState,
    VigilanceColour,
    VigilanceMap,
    VigilanceProposal,
)
from outreach.vigilance.notify import tell_managers

log = logging.getLogger("outreach.vigilance")
LEVELS = {2: "jaune", 3: "orange", 4: "rouge"}
RANK = {"jaune": 2, "orange": 3, "rouge": 4}


class VigilanceError(ValueError):
    """A decision that cannot be made; the message is in French for the manager."""


@dataclass
class Summary:
    proposed: int = 0
    kept: int = 0
    superseded: int = 0
    auto_activated: int = 0
    orgs: list[int] = field(default_factory=list)


def record_failure(session: Session, reason: str, now: datetime) -> VigilanceMap:
    """A fetch that returned nothing usable: a row with the reason, nothing else changes."""
    log.warning("vigilance: map not read (%s)", reason)
    row = VigilanceMap(fetched_at=now, last_fetched_at=now, error=reason[:200])
    session.add(row)
    session.flush()
    return row


def record_map(
    session: Session, document: Any, now: datetime
) -> tuple[VigilanceMap, ParsedMap | None]:
    """Store a fetched document; (row, parsed) or (error row, None) when it is malformed."""
    try:
        parsed = parse(document)
    except MalformedMap as exc:
        return record_failure(session, f"malformed: {exc}", now), None
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    latest = session.scalar(
        select(VigilanceMap)
        .where(VigilanceMap.digest.is_not(None))
        .order_by(VigilanceMap.id.desc())
        .limit(1)
    )
    if latest is not None and latest.digest == digest:
        latest.last_fetched_at = now
        session.flush()
        return latest, parsed
    row = VigilanceMap(
        fetched_at=now,
        last_fetched_at=now,
        update_time=parsed.update_time,
        digest=digest,
        raw=document,
    )
    session.add(row)
    session.flush()
    session.add_all(
        VigilanceColour(map_id=row.id, departement=dep, day=day, colour=colour)
        for (dep, day), colour in sorted(parsed.colours.items())
    )
    session.flush()
    return row, parsed


def prune(session: Session, now: datetime, keep_days: int) -> int:
    """Delete the maps fetched more than ``keep_days`` ago (their colours go with them), but
    never the latest one, which the next poll compares with; the number deleted."""
    latest = session.scalar(select(func.max(VigilanceMap.id)))
    old = select(VigilanceMap.id).where(
        VigilanceMap.last_fetched_at < now - timedelta(days=keep_days), VigilanceMap.id != latest
    )
    ids = list(session.scalars(old))
    if not ids:
        return 0
    # Explicit: SQLite does not enforce the ON DELETE CASCADE without its pragma.
    session.execute(delete(VigilanceColour).where(VigilanceColour.map_id.in_(ids)))
    session.execute(
        update(VigilanceProposal).where(VigilanceProposal.map_id.in_(ids)).values(map_id=None)
    )
    session.execute(delete(VigilanceMap).where(VigilanceMap.id.in_(ids)))
    return len(ids)


def canicule_departements(session: Session, now: datetime) -> dict[int, set[str]]:
    """Per organisation, the départements of its active seniors on the canicule list (the
    default canicule targeting: register, 75 and over, or living alone)."""
    rule = targeting.clause({"any_of": targeting.CANICULE_DEFAULT_ANY_OF}, paris_today(now))
    rows = session.execute(
        select(Senior.organisation_id, Senior.departement)
        .where(Senior.active.is_(True), Senior.departement.is_not(None), rule)
        .distinct()
    )
    found: dict[int, set[str]] = {}
    for org_id, dep in rows:
        if dep:
            found.setdefault(org_id, set()).add(dep)
    return found


def evaluate(
    session: Session,
    vmap: VigilanceMap,
    parsed: ParsedMap,
    config: dict[str, dict[str, Any]],
    now: datetime,
) -> Summary:
    """Bring every organisation's proposals in line with this map."""
    threshold = config["vigilance"]["threshold"]
    today = paris_today(now)
    days = (today, today + timedelta(days=1))
    known = {dep for dep, _day in parsed.colours}
    worst = {dep: max(parsed.colours.get((dep, d), 1) for d in days) for dep in known}
    listed = canicule_departements(session, now)
    active_orgs = set(
        session.scalars(select(Campaign.organisation_id).where(_active_canicule_clause()))
    )
    summary = Summary()
    for org_id in sorted(set(listed) | active_orgs):
        org = session.get(Organisation, org_id)
        if org is None:
            continue
        active = active_canicule(session, org_id)
        on_alert = set((active.targeting or {}).get("departements", [])) if active else set()
        hot = {d for d in listed.get(org_id, set()) if worst.get(d, 1) >= threshold}
        wanted = None
        if hot:
            colour = max(worst[d] for d in hot)
            level = LEVELS[colour]
            rises = active is not None and RANK[level] > RANK.get(active.vigilance_level or "", 0)
            deps = sorted(hot - on_alert) or (sorted(hot) if rises else [])
            first = next(
                d for d in days if any(parsed.colours.get((x, d), 1) >= threshold for x in hot)
            )
            wanted = (deps, level, colour, first) if deps else None
        _sync(session, org, ProposalKind.activate, wanted, vmap, config, now, summary)
        cool = sorted(d for d in on_alert if d in known and worst[d] < threshold)
        lift = None
        if cool:
            colour = max(worst[d] for d in cool)
            lift = (cool, COLOUR_NAMES[colour], colour, today)
        _sync(session, org, ProposalKind.lift, lift, vmap, config, now, summary)
    session.flush()
    return summary


def _active_canicule_clause() -> Any:
    from outreach.campaigns.models import CampaignKind, CampaignState

    return (Campaign.kind == CampaignKind.canicule) & (Campaign.state == CampaignState.active)


def _audit(
    session: Session, action: str, p: VigilanceProposal, user_id: int | None = None, **more: Any
) -> None:
    details = {"kind": p.kind.value, "departements": p.departements, "level": p.level, **more}
    record(
        session,
        action=action,
        entity="vigilance_proposal",
        entity_id=p.id,
        organisation_id=p.organisation_id,
        user_id=user_id,
        details=details,
    )


def _supersede(session: Session, p: VigilanceProposal, now: datetime) -> None:
    p.state = ProposalState.superseded
    p.updated_at = now
    _audit(session, "vigilance.supersede", p)


def _sync(
    session: Session,
    org: Organisation,
    kind: ProposalKind,
    wanted: tuple[list[str], str, int, Any] | None,
    vmap: VigilanceMap,
    config: dict[str, dict[str, Any]],
    now: datetime,
    summary: Summary,
) -> None:
    current = session.scalar(
        select(VigilanceProposal).where(
            VigilanceProposal.organisation_id == org.id,
            VigilanceProposal.kind == kind,
            VigilanceProposal.state == ProposalState.open,
        )
    )
    if wanted is None:
        if current is not None:
            _supersede(session, current, now)
            summary.superseded += 1
        return
    deps, level, colour, for_day = wanted
    if current is not None and list(current.departements) == deps and current.level == level:
        current.map_id, current.colour, current.updated_at = vmap.id, colour, now
        summary.kept += 1
        return
    refused = session.scalars(
        select(VigilanceProposal).where(
            VigilanceProposal.organisation_id == org.id,
            VigilanceProposal.kind == kind,
            VigilanceProposal.state == ProposalState.refused,
            VigilanceProposal.for_day == for_day,
        )
    ).all()
    if current is not None:
        _supersede(session, current, now)
        summary.superseded += 1
    if any(list(r.departements) == deps and r.level == level for r in refused):
        return  # the managers said no to exactly this today: do not ask again
    auto = kind == ProposalKind.activate and org.auto_activate
    proposal = VigilanceProposal(
        organisation_id=org.id,
        kind=kind,
        departements=deps,
        level=level,
        colour=colour,
        for_day=for_day,
        state=ProposalState.auto_activated if auto else ProposalState.open,
        map_id=vmap.id,
        created_at=now,
        updated_at=now,
    )
    session.add(proposal)
    session.flush()
    if auto:
        channel = ChannelPolicy(config["vigilance"]["channel"])
        campaign, _result = activate_canicule(
            session, org.id, deps, level, paris_today(now), now, None, channel, via="vigilance"
        )
        proposal.campaign_id, proposal.decided_at = campaign.id, now
        _audit(session, "vigilance.auto", proposal, campaign_id=campaign.id)
        summary.auto_activated += 1
    else:
        _audit(session, "vigilance.proposal", proposal)
        summary.proposed += 1
    summary.orgs.append(org.id)
    tell_managers(session, org, proposal, config, now)


def accept(
    session: Session,
    proposal: VigilanceProposal,
    now: datetime,
    *,
    user_id: int | None,
    channel: ChannelPolicy = ChannelPolicy.staff,
) -> Campaign | None:
    """Do what an open proposal proposes (activate or lift, ``via="vigilance"``)."""
    if proposal.state != ProposalState.open:
        raise VigilanceError("cette proposition n'est plus ouverte")
    org_id = proposal.organisation_id
    if proposal.kind == ProposalKind.activate:
        campaign: Campaign | None
        campaign, _result = activate_canicule(
            session,
            org_id,
            list(proposal.departements),
            proposal.level,
            paris_today(now),
            now,
            user_id,
            channel,
            via="vigilance",
        )
    else:
        active = active_canicule(session, org_id)
        on_alert = set((active.targeting or {}).get("departements", [])) if active else set()
        deps = [d for d in proposal.departements if d in on_alert]
        if not deps:
            raise VigilanceError("ces départements ne sont plus en alerte canicule")
        campaign = deactivate_canicule(session, org_id, deps, now, user_id=user_id, via="vigilance")
    proposal.state = ProposalState.accepted
    proposal.decided_by_id, proposal.decided_at, proposal.updated_at = user_id, now, now
    proposal.campaign_id = campaign.id if campaign else None
    _audit(session, "vigilance.accept", proposal, user_id, channel=channel.value)
    session.flush()
    return campaign


def refuse(
    session: Session, proposal: VigilanceProposal, now: datetime, *, user_id: int, reason: str
) -> None:
    """Record a manager's refusal (and its optional reason); nothing else changes."""
    if proposal.state != ProposalState.open:
        raise VigilanceError("cette proposition n'est plus ouverte")
    proposal.state = ProposalState.refused
    proposal.decided_by_id, proposal.decided_at, proposal.updated_at = user_id, now, now
    proposal.reason = reason.strip()[:500] or None
    # The reason stays on the proposal: the audit says only that there was one.
    _audit(session, "vigilance.refuse", proposal, user_id, with_reason=bool(proposal.reason))
    session.flush()


def acknowledge(session: Session, proposal: VigilanceProposal, now: datetime, user_id: int) -> None:
    """A manager has seen an automatic activation: its banner goes."""
    if proposal.state == ProposalState.auto_activated and proposal.decided_by_id is None:
        proposal.decided_by_id, proposal.updated_at = user_id, now
        _audit(session, "vigilance.seen", proposal, user_id)
        session.flush()


def set_auto_activate(session: Session, org: Organisation, on: bool, user_id: int) -> None:
    """An admin turns the organisation's automatic activation on or off (audited)."""
    if org.auto_activate == on:
        return
    org.auto_activate = on
    record(
        session,
        action="vigilance.auto_set",
        entity="organisation",
        entity_id=org.id,
        organisation_id=org.id,
        user_id=user_id,
        details={"auto_activate": on},
    )
    session.flush()
