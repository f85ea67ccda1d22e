"""Passages à domicile: the proximity staff's phone-sized page of door-knocks.

A gardien or an agent de proximité sees only the knocks of the residences they cover
(``access.scoped_doorknocks``): the address, floor, door code and instructions, what to
check, and three big outcome buttons. Nothing else about the senior (no social notes, no
history). Managers and social workers see every residence of their organisations.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from outreach.accounts import access
from outreach.accounts.models import Organisation, User
from outreach.audit.operations import record
from outreach.db import get_session
from outreach.doorknock import labels
from outreach.doorknock import operations as ops
from outreach.doorknock.models import DoorKnock, KnockOutcome, KnockState
from outreach.escalation.models import Alert
from outreach.roster.models import Senior

bp = Blueprint("doorknock", __name__, url_prefix="/passages")
P = "doorknock.work"
# How long a knock done stays on the page, so that the one who knocked sees it recorded.
RECENT = timedelta(hours=12)


class KnockForm(FlaskForm):
    # Set by the button pressed (name="outcome"): one form, three answers.
    outcome = HiddenField(
        validators=[
            DataRequired(_l("Choisissez ce que vous avez constaté.")),
            AnyOf([o.value for o in KnockOutcome], _l("Choisissez ce que vous avez constaté.")),
        ]
    )
    note = TextAreaField(
        _l("Note (facultative)"),
        validators=[
            Optional(),
            Length(max=ops.NOTE_MAX, message=_l("La note tient en 500 caractères au plus.")),
        ],
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _visible(now: datetime) -> Any:
    """The knocks the user may work: open ones, and those closed in the last hours."""
    stmt = select(DoorKnock).where(
        or_(
            DoorKnock.state == KnockState.open,
            DoorKnock.done_at >= now - RECENT,
        )
    )
    return access.scoped_doorknocks(stmt)


def _one(knock_id: int) -> DoorKnock:
    """One knock the user may work, or 404 (another residence's is never told apart)."""
    if not 0 < knock_id <= access.MAX_ID:
        abort(404)
    stmt = access.scoped_doorknocks(select(DoorKnock).where(DoorKnock.id == knock_id))
    knock = get_session().scalar(stmt)
    if knock is None:
        abort(404)
    return knock


def _residences(knocks: list[DoorKnock]) -> list[dict[str, Any]]:
    open_by: dict[str, int] = defaultdict(int)
    for k in knocks:
        open_by.setdefault(k.residence or "", 0)
        open_by[k.residence or ""] += k.state == KnockState.open
    return [{"name": name, "open": n} for name, n in sorted(open_by.items())]


def _cards(session: Any, knocks: list[DoorKnock]) -> list[dict[str, Any]]:
    """What the page shows of each knock: her door, and whom to tell when nobody answers."""
    cards = []
    for knock in sorted(knocks, key=lambda k: (k.state != KnockState.open, k.due_at)):
        senior = session.get(Senior, knock.senior_id)
        alert = session.get(Alert, knock.alert_id) if knock.alert_id else None
        referent = session.get(User, alert.referent_id) if alert and alert.referent_id else None
        cards.append(
            {
                "knock": knock,
                "senior": senior,
                "referent": referent,
                "org": session.get(Organisation, knock.organisation_id),
            }
        )
    return cards


def _render(residence: str | None, failed: dict[int, KnockForm] | None = None, status: int = 200):
    session = get_session()
    now = _now()
    knocks = list(session.scalars(_visible(now)))
    residences = _residences(knocks)
    if residence is None and len(residences) == 1:
        residence = residences[0]["name"]  # one residence: straight to its doors
    if residence is None:
        return render_template("doorknock/index.html", residences=residences), status
    mine = [k for k in knocks if (k.residence or "") == residence]
    cards = _cards(session, mine)
    for card in cards:
        # Her address and door code were shown: part of the trail of who opened her record.
        record(
            session,
            action="view",
            entity="senior",
            entity_id=card["knock"].senior_id,
            organisation_id=card["knock"].organisation_id,
            user_id=current_user.id,
            details={"screen": "doorknock"},
        )
    forms = failed or {}
    for card in cards:
        knock_id = card["knock"].id
        card["form"] = forms.get(knock_id) or KnockForm(prefix=f"k{knock_id}", formdata=None)
    return (
        render_template(
            "doorknock/residence.html",
            residence=residence,
            cards=cards,
            several=len(residences) > 1,
            now=now,
            OUTCOMES=labels.OUTCOME_LABELS,
            CHECKS=labels.CANICULE_CHECKS,
            KnockState=KnockState,
            KnockOutcome=KnockOutcome,
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    access.require(P)
    residence = request.args.get("residence")
    return _render(" ".join(residence.split()) if residence is not None else None)


@bp.post("/<int:knock_id>")
def record_outcome(knock_id: int) -> ResponseReturnValue:
    access.require(P)
    knock = _one(knock_id)
    residence = knock.residence or ""
    form = KnockForm(prefix=f"k{knock.id}")
    if not form.validate_on_submit():
        # The page again, her note kept, the error next to the buttons.
        return _render(residence, failed={knock.id: form}, status=400)
    if knock.state != KnockState.open:
        flash(_("Ce passage est déjà clos."), "error")
        return redirect(url_for("doorknock.index", residence=residence))
    outcome = KnockOutcome(form.outcome.data or "")
    ops.record(get_session(), knock, outcome, current_user, form.note.data, _now())
    flash(_("Enregistré : %(o)s.", o=labels.OUTCOME_LABELS[outcome]), "success")
    return redirect(url_for("doorknock.index", residence=residence, _anchor=f"k{knock.id}"))
