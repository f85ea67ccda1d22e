"""Asking the drawn members for their accord de principe, and what each contact says.

The identity of a drawn tenant stays with her landlord: the landlord imports the roster rows
of its drawn references through the ordinary roster import, and ``link_members`` ties each
member to her ``Senior`` by (landlord, reference). The ``agreement`` campaigns of a landlord
then call its linked members still ``to_contact`` in a draw being collected
(``to_contact_clause``, forced for that kind by campaigns.generation).

``after_contact`` is the one place where a contact moves a member: it is called when a task
of an agreement campaign closes (campaigns.lifecycle.close), and for the two SMS replies
that arrive after their task closed (telephony.sms). What it reads is the task's ending:

- ``reached_ok`` (staff "joint(e)" with the script's "accord obtenu", IVR 1, SMS OUI/OK):
  ``agreed``, dated;
- ``refused`` (staff "ne souhaite plus être appelé(e)", SMS STOP or NON), or the task
  cancelled because she opted out or refused her consent meanwhile: ``refused``;
- a cycle that ends unreached (the task failed or escalated after its retries, a wrong
  number, an SMS delivered but never answered): one more unreachable cycle, and at
  ``UNREACHABLE_CYCLES`` she is ``unreachable``. A refused or unreachable member gets a
  substitute proposed (panel.substitutes).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import CampaignKind, SkipReason, Task, TaskState
from outreach.campaigns.schedule import paris_today
from outreach.db import changed_rows
from outreach.panel.models import Draw, DrawState, ListingRow, MemberRole, MemberStatus, PanelMember
from outreach.roster.models import Senior

UNREACHABLE_CYCLES = 3
# Why an agreement task was cancelled that means "no": she opted out of the channel, or her
# consent was refused or withdrawn meanwhile (roster.eligibility's reasons).
REFUSING_CANCELS = frozenset({SkipReason.opted_out.value, SkipReason.no_consent.value})
# The task's disposition when a delivered SMS closed it (campaigns.lifecycle.DELIVERED):
# without a reply, the cycle ends unanswered.
DELIVERED = "sms_delivered"
# A reply that says no to the panel, and nothing else but thanks ("Non merci").
NO_WORDS = frozenset({"NON"})
NO_POLITE = frozenset({"NON", "MERCI", "BEAUCOUP"})
# Members a contact may still move: not yet answered, or given up on but not yet replaced
# (an answer that comes late still counts).
OPEN = (MemberStatus.to_contact, MemberStatus.unreachable)


def to_contact_clause() -> ColumnElement[bool]:
    """The SQL condition on ``Senior``: a drawn member still to contact in a draw whose
    agreements are being collected (the agreement campaigns' targeting)."""
    return Senior.id.in_(
        select(PanelMember.senior_id)
        .join(Draw, Draw.id == PanelMember.draw_id)
        .where(
            Draw.state == DrawState.drawn,
            PanelMember.role == MemberRole.drawn,
            PanelMember.status == MemberStatus.to_contact,
            PanelMember.senior_id.is_not(None),
        )
    )


def link_members(session: Session, organisation_id: int) -> int:
    """Tie the landlord's members (of draws not discarded) to the roster rows imported since,
    by reference; returns how many were linked. Called after each roster import and when the
    agreements page opens, so that a member shows "coordonnées à importer" until then."""
    senior = (
        select(Senior.id)
        .join(ListingRow, ListingRow.reference == Senior.external_ref)
        .where(
            ListingRow.id == PanelMember.listing_row_id,
            Senior.organisation_id == PanelMember.organisation_id,
        )
        .correlate(PanelMember)
    )
    live_draws = select(Draw.id).where(Draw.state != DrawState.discarded)
    return changed_rows(
        session,
        update(PanelMember)
        .where(
            PanelMember.organisation_id == organisation_id,
            PanelMember.senior_id.is_(None),
            PanelMember.draw_id.in_(live_draws),
            senior.exists(),
        )
        .values(senior_id=senior.scalar_subquery())
        .execution_options(synchronize_session=False),
    )


def verdict(state: TaskState, outcome: Outcome | None, disposition: str | None) -> str | None:
    """What a closed agreement task says: "agreed", "refused", "unreached", or None (nothing
    to record: a callback pending, a task cancelled for a pause...)."""
    if outcome == Outcome.refused:
        return "refused"
    if state == TaskState.cancelled:
        return "refused" if disposition in REFUSING_CANCELS else None
    if state == TaskState.done and outcome == Outcome.reached_ok:
        return "agreed"
    if state in (TaskState.failed, TaskState.escalated):
        return "unreached"
    if state == TaskState.done and (
        outcome == Outcome.wrong_number or (outcome is None and disposition == DELIVERED)
    ):
        return "unreached"
    return None


def _open_member(session: Session, senior_id: int) -> PanelMember | None:
    return session.scalar(
        select(PanelMember)
        .join(Draw, Draw.id == PanelMember.draw_id)
        .where(
            PanelMember.senior_id == senior_id,
            PanelMember.role == MemberRole.drawn,
            PanelMember.status.in_(OPEN),
            Draw.state == DrawState.drawn,
        )
        .order_by(PanelMember.id.desc())
        .limit(1)
    )


def asked(task: Task) -> bool:
    """Whether ``task`` is a closed agreement task (its contact may still be answered)."""
    return task.state == TaskState.done and task.campaign.kind == CampaignKind.agreement


def after_contact(session: Session, task: Task, now: datetime) -> None:
    """Move the member a closed agreement task was about (see the module's docstring)."""
    if task.campaign.kind != CampaignKind.agreement:
        return
    said = verdict(TaskState(task.state), task.outcome, task.disposition)
    if said is None:
        return
    member = _open_member(session, task.senior_id)
    if member is None:
        return
    if said == "agreed":
        member.status = MemberStatus.agreed
        member.agreement_date = paris_today(now)
    elif said == "refused":
        member.status = MemberStatus.refused
    elif member.status == MemberStatus.to_contact:
        member.unreachable_cycles += 1
        if member.unreachable_cycles >= UNREACHABLE_CYCLES:
            member.status = MemberStatus.unreachable
    session.flush()


def _words(body: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    return set(re.findall(r"[A-Z]+", plain))


def sms_declined(session: Session, reply: Attempt, body: str, now: datetime) -> bool:
    """A reply "NON" (or "Non merci") to an agreement SMS: the task ends ``refused`` and the
    member with it; returns whether it was one. Elsewhere NON is a reply for a person to
    read: only here does the question make it a plain no. It is no SMS opt-out (she said no
    to the panel, not to being written to)."""
    words = _words(body)
    if not (words & NO_WORDS) or not words <= NO_POLITE or reply.task_id is None:
        return False
    from outreach.campaigns import lifecycle

    task = session.get(Task, reply.task_id, populate_existing=True)
    if task is None or task.campaign.kind != CampaignKind.agreement:
        return False
    reply.outcome = Outcome.refused
    if task.state == TaskState.queued or (
        task.state == TaskState.pending and task.channel in lifecycle.AUTOMATED
    ):
        lifecycle.close(session, task, TaskState.done, now, outcome=Outcome.refused)
    elif task.state == TaskState.done and task.outcome is None:
        task.outcome = Outcome.refused  # the answer to the SMS delivered earlier
        after_contact(session, task, now)
    session.flush()
    return True
