"""The numbers that failed in the last year, for the pre-season check (``check``).

A number failed when an attempt on it ended as a "wrong number", or when the gateway
refused it (``not_sent``) or reported the call or SMS failed or undelivered. A STOP reported
by the gateway (error 21610) is an opt-out, not a bad number.

Which number an attempt dialled is ``Attempt.phone`` when the model has it (number cycling
records it); otherwise an SMS went to the mobile and a call to one of her current numbers,
so the failure is put on each of them: the proximity staff checks them all. A later attempt
known to have reached her on a number clears that number's earlier failures. Calls to her
emergency contact say nothing of her own numbers and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, null, or_, select
from sqlalchemy.orm import Session

from outreach.calls.labels import ALL as CALL_LABELS
from outreach.calls.models import Attempt, AttemptChannel
from outreach.calls.outcomes import REACHED, Outcome
from outreach.calls.outcomes import label as outcome_label
from outreach.campaigns.schedule import add_months
from outreach.roster.export import export_phone
from outreach.roster.models import Senior
from outreach.telephony.gateway import ERROR_UNSUBSCRIBED
from outreach.telephony.status import NOT_SENT
from outreach.timezone import PARIS

LOOKBACK_MONTHS = 12
# What the gateway says of a number it could not call or text.
FAILED_STATUSES = (NOT_SENT, "failed", "undelivered")


@dataclass
class FailedNumber:
    number: str  # E.164
    on: date  # the last failure, Paris day
    why: str  # French, e.g. "mauvais numéro"

    def text(self) -> str:
        return f"{export_phone(self.number)} : {self.why} le {self.on:%d/%m/%Y}"


def failed_numbers(
    session: Session, organisation_ids: Sequence[int], seniors: Any, today: date
) -> dict[int, dict[str, FailedNumber]]:
    """Per senior of ``seniors`` (a select of ids), her numbers that failed in the 12 months
    up to ``today``."""
    lo = datetime.combine(add_months(today, -LOOKBACK_MONTHS), time(0), PARIS).astimezone(UTC)
    hi = datetime.combine(today + timedelta(days=1), time(0), PARIS).astimezone(UTC)
    dialled = getattr(Attempt, "phone", None)
    failed = or_(
        Attempt.outcome == Outcome.wrong_number,
        and_(
            Attempt.gateway_status.in_(FAILED_STATUSES),
            or_(Attempt.error_code.is_(None), Attempt.error_code != ERROR_UNSUBSCRIBED),
        ),
    )
    window = [
        Attempt.organisation_id.in_(list(organisation_ids)),
        Attempt.senior_id.in_(seniors),
        Attempt.started_at >= lo,
        Attempt.started_at < hi,
    ]
    if (to_contact := getattr(Attempt, "contact_id", None)) is not None:
        # A call to her emergency contact says nothing of her own numbers.
        window.append(to_contact.is_(None))
    failing = select(Attempt.senior_id).where(*window, failed)
    rows = session.execute(
        select(
            Attempt.senior_id,
            Attempt.channel,
            Attempt.started_at,
            Attempt.outcome,
            Attempt.gateway_status,
            failed.label("failed"),
            (dialled if dialled is not None else null()).label("phone"),
            Senior.phone_mobile,
            Senior.phone_landline,
        )
        .join(Senior, Senior.id == Attempt.senior_id)
        .where(
            *window,
            # Successes only matter after a failure: read them for those seniors only.
            or_(failed, and_(Attempt.outcome.in_(REACHED), Attempt.senior_id.in_(failing))),
        )
        .order_by(Attempt.started_at, Attempt.id)
    ).all()
    found: dict[int, dict[str, FailedNumber]] = defaultdict(dict)
    for row in rows:
        numbers = found[row.senior_id]
        if row.failed:
            on = row.started_at.astimezone(PARIS).date()
            for number in _dialled(row):
                numbers[number] = FailedNumber(number, on, _why(row))
        elif (known := _known(row)) is not None:
            numbers.pop(known, None)
    return {k: v for k, v in found.items() if v}


def _dialled(row: Any) -> tuple[str, ...]:
    """The number(s) a failed attempt is put on (see the module's docstring)."""
    if row.phone:
        return (row.phone,)
    if row.channel == AttemptChannel.sms:
        return (row.phone_mobile,) if row.phone_mobile else ()
    return tuple(n for n in (row.phone_mobile, row.phone_landline) if n)


def _known(row: Any) -> str | None:
    """The number an attempt certainly used, if known."""
    if row.phone:
        return str(row.phone)
    if row.channel == AttemptChannel.sms:
        return row.phone_mobile
    return None


def _why(row: Any) -> str:
    if row.outcome == Outcome.wrong_number:
        text = outcome_label(Outcome.wrong_number)
    else:
        status = CALL_LABELS["gateway"].get(row.gateway_status, row.gateway_status)
        text = f"opérateur : {status}"
    return text[:1].lower() + text[1:]
