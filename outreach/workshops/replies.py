"""A senior's answer to a workshop message, from whichever channel it came.

The answer rides on the usual outcome paths: the key pressed on an automated call
(telephony.ivr), the SMS reply (telephony.sms), and the team on the workshop page. For the
contact itself the outcome table of DESIGN.md holds: she answered, so "1" and "2" are
``reached_ok`` (the task is done); STOP is still a refusal and an opt-out, AIDE and the key
3 still a request for help. What she answered is then applied to her invitation here:
"1" / OUI comes (registered, or waiting past capacity), "2" / NON does not (declined, her
place going to the first one waiting).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, Outcome
from outreach.campaigns.models import Task
from outreach.workshops.models import Invitation, InvitationStatus, Workshop
from outreach.workshops.operations import answer

DIGITS = {"1": True, "2": False}
YES = frozenset({"1", "OUI"})
NO = frozenset({"2", "NON"})
# Words that may stand beside the answer without changing it ("oui merci", "2 non").
POLITE = frozenset({"MERCI", "BEAUCOUP", "JE", "VIENS", "VIENDRAI", "BIEN", "SUR", "PAS"})
# What the automated call says after the answer, by the invitation's status (ivr.txt).
SPOKEN = {
    InvitationStatus.registered: "registered",
    InvitationStatus.waiting: "waiting",
    InvitationStatus.declined: "declined",
}


def sms_answer(body: str) -> bool | None:
    """True for "1" / OUI, False for "2" / NON, None for anything else (read as usual)."""
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    words = set(re.findall(r"[A-Z0-9]+", plain)) - POLITE
    if words and words <= YES:
        return True
    if words and words <= NO:
        return False
    return None


def invitation_of(session: Session, task_id: int | None) -> Invitation | None:
    """The invitation a task of a workshop's campaign is about (None for any other task)."""
    if task_id is None:
        return None
    task = session.get(Task, task_id)
    if task is None:
        return None
    return session.scalar(
        select(Invitation)
        .join(Workshop, Workshop.id == Invitation.workshop_id)
        .where(Workshop.campaign_id == task.campaign_id, Invitation.senior_id == task.senior_id)
    )


def on_digit(session: Session, attempt: Attempt, digit: str, now: datetime) -> Outcome | None:
    """A key pressed on a workshop call: the outcome it establishes (she answered), or
    None when the key keeps its usual meaning (3: help) or the call is not about one."""
    if digit not in DIGITS or attempt.contact_id is not None:
        return None
    invitation = invitation_of(session, attempt.task_id)
    if invitation is None:
        return None
    answer(session, invitation, DIGITS[digit], now)
    return Outcome.reached_ok


def spoken_after(session: Session, attempt: Attempt) -> str | None:
    """The ivr.txt section to say after the key, from where her answer put her."""
    if attempt.digits not in DIGITS:
        return None
    invitation = invitation_of(session, attempt.task_id)
    return SPOKEN.get(invitation.status) if invitation is not None else None


def on_sms(session: Session, reply: Attempt, body: str, now: datetime) -> bool:
    """An SMS reply to a workshop message; True when it was an answer to the invitation
    (then it counts as ``reached_ok``: she answered)."""
    comes = sms_answer(body)
    if comes is None:
        return False
    invitation = invitation_of(session, reply.task_id)
    if invitation is None:
        return False
    answer(session, invitation, comes, now)
    return True
