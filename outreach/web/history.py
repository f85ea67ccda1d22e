"""A senior's history on her page: what happened (when it happened, on which channel, who
called), and apart from it what is planned and why she was not called."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as clock
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from outreach.accounts import access
from outreach.accounts.models import User
from outreach.calls.models import Attempt, Severity, Signal
from outreach.campaigns.lifecycle import CLOSED, SETTLED
from outreach.campaigns.models import Campaign, CampaignState, Skip, Task, TaskState
from outreach.campaigns.schedule import PARIS, paris_today
from outreach.campaigns.why_not import why_not_today
from outreach.roster.models import Senior
from outreach.web.corrections import correctable
from outreach.web.queue_forms import LABELS
from outreach.web.roster import HistoryEntry, history_provider


def attempt_text(a: Attempt, may_notes: bool, who: str | None) -> tuple[str, str]:
    """Label and detail of one attempt: staff call (and who), automated call, SMS."""
    if a.direction == "inbound" and a.channel == "ivr":
        label = _("Appel reçu")  # she called the number back (telephony.inbound)
        parts = []
    elif a.direction == "inbound":
        label = _("SMS reçu")
        # The senior's own words may be personal: shown to those who read social notes.
        parts = [f"« {a.reply} »" if may_notes and a.reply else ""]
    else:
        label = LABELS["channel"].get(a.channel, a.channel)
        if a.contact_id is not None:
            label = _("%(what)s à son proche", what=label)
        if who:
            label = _("%(what)s par %(who)s", what=label, who=who)
        parts = []
        if a.gateway_status:
            parts.append(LABELS["gateway"].get(a.gateway_status, a.gateway_status))
        if a.answered_by and a.answered_by != "human":
            parts.append(_("répondeur"))
        if a.digits:
            # A contact's keys are not hers: "1" means news of her, not "all is well".
            keys = LABELS["contact_digits" if a.contact_id is not None else "digits"]
            parts.append(keys.get(a.digits, a.digits))
    if a.outcome:
        parts.append(LABELS["outcome"].get(a.outcome, a.outcome))
    if a.disposition and a.disposition in ("no_answer", "busy", "voicemail"):
        parts.append(LABELS["disposition"][a.disposition].lower())
    if a.user_id and a.direction == "inbound":
        parts.append(_("lu par %(who)s", who=who or ""))
    if may_notes and a.notes:
        parts.append(a.notes)
    return label, " — ".join(p for p in parts if p)


@history_provider
def calls_history(session: Any, senior: Senior) -> list[HistoryEntry]:
    """Attempts, signals, tasks and skips of a senior for her page."""
    entries: list[HistoryEntry] = []
    may_notes = access.can("notes.view", senior.organisation_id)
    attempts = session.scalars(
        select(Attempt).where(Attempt.senior_id == senior.id).order_by(Attempt.started_at.desc())
    ).all()
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_({a.user_id for a in attempts}))
        ).all()
    )
    for a in attempts:
        entry = HistoryEntry(a.started_at, *attempt_text(a, may_notes, names.get(a.user_id)))
        if correctable(a):
            entry.action_url = url_for("corrections.correct", attempt_id=a.id)
            entry.action_label = _("Corriger")
        entries.append(entry)
    for s in session.scalars(select(Signal).where(Signal.senior_id == senior.id)).all():
        if s.severity == Severity.info and not may_notes:
            continue
        label = _("Signal : %(k)s", k=LABELS["signal"].get(s.kind, s.kind))
        entries.append(HistoryEntry(s.created_at, label, LABELS["severity"].get(s.severity, "")))
    entries.extend(_tasks(session, senior))
    entries.extend(_skips(session, senior))
    return entries


def _tasks(session: Any, senior: Senior) -> list[HistoryEntry]:
    """Open tasks are planned; closed ones appear only when their reason is not already
    told by an attempt (settled by another campaign, cancelled, unreached)."""
    rows = session.execute(
        select(Task, Campaign.name)
        .join(Campaign, Campaign.id == Task.campaign_id)
        .where(Task.senior_id == senior.id)
    ).all()
    names = {t.id: name for t, name in rows}
    out = []
    for task, name in rows:
        if task.state not in CLOSED:
            out.append(_planned(task, name, names))
            continue
        at = task.completed_at or datetime.combine(task.due_date, clock(8), PARIS)
        if task.disposition == SETTLED and task.settled_by_id:
            by = names.get(task.settled_by_id, "")
            detail = _("joint(e) par la campagne %(c)s", c=by)
            if task.state != TaskState.done:
                detail = _("déjà essayé(e) par la campagne %(c)s", c=by)
            out.append(HistoryEntry(at, _("%(c)s : réglé", c=name), detail))
        elif task.state in (TaskState.cancelled, TaskState.failed, TaskState.escalated):
            reason = LABELS["skip"].get(task.disposition or "", "")
            state = LABELS["task"].get(task.state, task.state)
            out.append(HistoryEntry(at, _("%(c)s : %(s)s", c=name, s=state), reason))
    return out


def _planned(task: Task, name: str, names: dict[int, str]) -> HistoryEntry:
    if task.callback_at is not None:
        return HistoryEntry(task.callback_at, _("Rappel prévu : %(c)s", c=name), "", planned=True)
    at = datetime.combine(task.due_date, clock(9), PARIS)
    detail = ""
    if task.lead_id:
        detail = _("un seul appel ce jour-là : avec la campagne %(c)s", c=names.get(task.lead_id))
    state = LABELS["task"].get(task.state, task.state)
    return HistoryEntry(
        at, _("Appel prévu : %(c)s", c=name), f"{state} {detail}".strip(), planned=True
    )


def _skips(session: Any, senior: Senior) -> list[HistoryEntry]:
    rows = session.execute(
        select(Skip, Campaign.name)
        .join(Campaign, Campaign.id == Skip.campaign_id)
        .where(Skip.senior_id == senior.id)
        .order_by(Skip.day.desc())
        .limit(20)
    ).all()
    out = []
    for skip, name in rows:
        reason = LABELS["skip"].get(skip.reason, skip.reason)
        if skip.detail:
            reason = f"{reason} ({_('par %(c)s', c=skip.detail)})"
        at = datetime.combine(skip.day, clock(6), PARIS)
        out.append(HistoryEntry(at, _("Pas d'appel : %(c)s", c=name), reason))
    return out


@history_provider
def why_not_called(session: Any, senior: Senior) -> list[HistoryEntry]:
    """For each running campaign that targets her and has no task for her today, why."""
    today = paris_today(datetime.now(UTC))
    campaigns = session.scalars(
        select(Campaign).where(
            Campaign.organisation_id == senior.organisation_id,
            Campaign.state == CampaignState.active,
        )
    ).all()
    stored = set(
        session.scalars(
            select(Skip.campaign_id).where(Skip.senior_id == senior.id, Skip.day == today)
        )
    )
    out = []
    for campaign in campaigns:
        if campaign.id in stored:
            continue  # said by the stored skip
        why = why_not_today(session, campaign, senior.id, today)
        if why is None:
            continue
        reason = LABELS["skip"].get(why.reason, why.reason)
        if why.next_date is not None:
            reason = _(
                "pas encore dû(e) (prochain appel le %(d)s)", d=why.next_date.strftime("%d/%m")
            )
        elif why.detail:
            reason = f"{reason} ({_('par %(c)s', c=why.detail)})"
        at = datetime.combine(today, clock(6), PARIS)
        out.append(
            HistoryEntry(
                at, _("Pas d'appel aujourd'hui : %(c)s", c=campaign.name), reason, planned=True
            )
        )
    return out


def register() -> None:
    """Importing this module registers its history providers (``history_provider``); the app
    factory calls this so that the import is not an unused one."""
