"""Which of her numbers an automated call dials: every number, before the retry delay.

The order of her numbers (``call_order``): the last number on which she was reached (from
the attempts, which record the number used), else her preferred one (the landline, or the
mobile when she prefers SMS), else the other. A number flagged wrong is skipped: its last
word was a "wrong number" outcome or a gateway error saying the number is invalid (a later
reach on it clears the flag; a number changed in the roster is a new number).

Rounds: within a day, a task's calls go through her numbers in that order; a *round* ends
when every number of the order has been tried. An unreached call with a number not yet
tried in the round is retried at once on it (``campaigns.retries.schedule_retry`` with
``another_number``); only when the round is over does the campaign's retry delay apply.
A round counts as one try: ``max_attempts_per_day`` and ``max_attempts`` bound rounds, so a
senior with two numbers gets at most twice as many calls as one with a single number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.calls.models import Attempt, AttemptChannel
from outreach.calls.outcomes import REACHED, Outcome
from outreach.roster.models import Channel, Senior
from outreach.roster.phones import is_special
from outreach.timezone import PARIS

# Gateway errors that mean "this number does not exist" (Twilio: invalid 'To', not
# reachable, not a valid phone or mobile number, Dial: invalid number).
INVALID_NUMBER_CODES = frozenset({13224, 21211, 21214, 21217, 21401, 21614})
# How many of her latest attempts are read for the last word on each number.
HISTORY = 50


@dataclass(frozen=True)
class Target:
    """Whom an outgoing call or SMS of a task goes to, and with which script."""

    phone: str
    contact_id: int | None = None
    script: str | None = None  # None: the campaign's script
    context: dict[str, Any] = field(default_factory=dict)  # added to the script's context


def her_numbers(senior: Senior) -> list[str]:
    """Her dialable numbers, preferred first (the landline unless she prefers SMS)."""
    mobile, landline = senior.phone_mobile, senior.phone_landline
    order = [mobile, landline] if senior.preferred_channel == Channel.sms else [landline, mobile]
    return [n for n in dict.fromkeys(order) if n and not is_special(n)]


def _history(session: Session, senior_id: int) -> list[Any]:
    return list(
        session.execute(
            select(Attempt.phone, Attempt.outcome, Attempt.error_code)
            .where(
                Attempt.senior_id == senior_id,
                Attempt.phone.is_not(None),
                Attempt.contact_id.is_(None),
            )
            .order_by(Attempt.started_at.desc(), Attempt.id.desc())
            .limit(HISTORY)
        )
    )


def is_wrong(outcome: Outcome | str | None, error_code: int | None) -> bool:
    """Whether an attempt says its number is wrong."""
    return outcome == Outcome.wrong_number or error_code in INVALID_NUMBER_CODES


def call_order(session: Session, senior: Senior) -> list[str]:
    """Her numbers in the order to call them, wrong ones left out."""
    numbers = her_numbers(senior)
    last_reached: str | None = None
    last_word: dict[str, bool] = {}  # number -> wrong? (newest word only)
    for phone, outcome, error_code in _history(session, senior.id):
        if outcome in REACHED:
            last_reached = last_reached or phone
            last_word.setdefault(phone, False)
        elif is_wrong(outcome, error_code):
            last_word.setdefault(phone, True)
    if last_reached in numbers:
        numbers = [last_reached, *(n for n in numbers if n != last_reached)]
    return [n for n in numbers if not last_word.get(n, False)]


def _day_calls(session: Session, task_id: int, today: date) -> list[str]:
    start = datetime.combine(today, time(), PARIS)
    return list(
        session.scalars(
            select(Attempt.phone)
            .where(
                Attempt.task_id == task_id,
                Attempt.channel == AttemptChannel.ivr,
                Attempt.direction == "outbound",
                Attempt.contact_id.is_(None),
                Attempt.phone.is_not(None),
                Attempt.started_at >= start,
            )
            .order_by(Attempt.started_at, Attempt.id)
        )
    )


def rounds(session: Session, task_id: int, order: list[str], today: date) -> tuple[int, set[str]]:
    """(rounds completed today, numbers tried in the round under way) for a task's calls."""
    done, tried = 0, set[str]()
    wanted = set(order)
    for phone in _day_calls(session, task_id, today):
        tried.add(phone)
        if wanted <= tried:
            done, tried = done + 1, set()
    return done, tried


def next_number(session: Session, senior: Senior, task_id: int, today: date) -> str | None:
    """The number the task's next call dials, or None when every number is wrong."""
    order = call_order(session, senior)
    _, tried = rounds(session, task_id, order, today)
    return next((n for n in order if n not in tried), None)


def after_unreached(
    session: Session, senior: Senior, task_id: int, today: date
) -> tuple[bool, int]:
    """After an unreached call: (another number is left in this round, rounds done today)."""
    order = call_order(session, senior)
    done, tried = rounds(session, task_id, order, today)
    return bool(tried) and any(n not in tried for n in order), done
