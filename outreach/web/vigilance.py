"""Vigilance pages: the banner of open proposals, a proposal with its one-click activation
(channel, count and ETA shown before confirming), refusal, lift, and the automatic
activation setting (admins).

Handlers parse, call ``vigilance.operations`` / ``vigilance.preview``, render. Proposals are
loaded with ``access.get_or_404`` and listed with ``access.scoped``; permission
``campaigns.manage`` (the people who activate a canicule).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import BooleanField, IntegerField, RadioField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from outreach.accounts import access
from outreach.accounts.models import Organisation, Role
from outreach.campaigns.models import ChannelPolicy
from outreach.db import get_session
from outreach.vigilance import operations, preview
from outreach.vigilance.models import (
    ProposalKind,
    ProposalState,
    VigilanceColour,
    VigilanceMap,
    VigilanceProposal,
)
from outreach.web.campaign_forms import CHANNEL_LABELS, LEVEL_LABELS
from outreach.web.canicule_board import eta_text
from outreach.web.roster_forms import options

bp = Blueprint("vigilance", __name__, url_prefix="/vigilance")
P = "campaigns.manage"
# An automatic activation stays in the banner until a manager has seen it, or this long.
AUTO_BANNER = timedelta(days=2)
COLOUR_LABELS = {1: _l("vert"), 2: _l("jaune"), 3: _l("orange"), 4: _l("rouge")}


class ChannelForm(FlaskForm):
    """The confirmation's choices: the channel, and who will call (for the ETA)."""

    channel = RadioField(_l("Canal des appels"), choices=options(CHANNEL_LABELS.items()))
    staff = IntegerField(
        _l("Personnes qui appelleront"), validators=[Optional(), NumberRange(0, 500)]
    )


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Raison (facultatif)"), validators=[Length(max=500)])


class AutoForm(FlaskForm):
    auto_activate = BooleanField(
        _l("Déclencher la canicule automatiquement dès la vigilance orange ou rouge")
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _channel(value: str | None, default: str) -> ChannelPolicy:
    return ChannelPolicy(value) if value in set(ChannelPolicy) else ChannelPolicy(default)


def banner_items() -> list[VigilanceProposal]:
    """Open proposals, and automatic activations nobody has seen yet, of my organisations."""
    if not access.can(P):
        return []
    stmt = access.scoped(select(VigilanceProposal), VigilanceProposal, P).where(
        or_(
            VigilanceProposal.state == ProposalState.open,
            (VigilanceProposal.state == ProposalState.auto_activated)
            & VigilanceProposal.decided_by_id.is_(None)
            & (VigilanceProposal.created_at >= _now() - AUTO_BANNER),
        )
    )
    return list(get_session().scalars(stmt.order_by(VigilanceProposal.id)))


STATE_TEXT = {
    "open": _l("en attente"),
    "accepted": _l("acceptée"),
    "refused": _l("refusée"),
    "superseded": _l("remplacée par une carte plus récente"),
    "auto_activated": _l("déclenchée automatiquement"),
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"STATE_TEXT": STATE_TEXT, "COLOUR_LABELS": COLOUR_LABELS}


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    # A function: only pages that show the banner (logged-in pages) run its indexed query.
    return {"vigilance_banner": banner_items, "VIGILANCE_LEVEL_LABELS": LEVEL_LABELS}


def confirm_context(
    organisation_id: int,
    deps: list[str],
    form: ChannelForm,
    recount_url: str,
    recount_method: str = "get",
) -> dict[str, Any]:
    """What templates/vigilance/_confirm.html needs: the count and ETA of activating
    ``deps`` on the form's channel (the configured one by default), with the form filled."""
    config = current_app.config["OUTREACH"]
    channel = _channel(form.channel.data, config["vigilance"]["channel"])
    shown = preview.activation_preview(
        get_session(), organisation_id, deps, channel, _now(), config["telephony"], form.staff.data
    )
    form.channel.data = shown.channel.value
    form.staff.data = shown.staff
    rates = config["telephony"]
    return {
        "preview": shown,
        "eta_text": eta_text(shown.eta),
        "form": form,
        "recount_url": recount_url,
        "recount_method": recount_method,
        "config_rate": {"calls": rates["calls_per_second"], "sms": rates["sms_per_second"]},
        "CHANNEL_LABELS": CHANNEL_LABELS,
    }


def _proposal_page(proposal: VigilanceProposal, form: ChannelForm, status: int = 200) -> Any:
    ctx: dict[str, Any] = {"form": form}
    if proposal.kind == ProposalKind.activate and proposal.state == ProposalState.open:
        url = url_for("vigilance.proposal", proposal_id=proposal.id)
        ctx = confirm_context(proposal.organisation_id, list(proposal.departements), form, url)
    org = get_session().get(Organisation, proposal.organisation_id)
    return render_template(
        "vigilance/proposal.html",
        proposal=proposal,
        org=org,
        refuse_form=RefuseForm(formdata=None),
        ack_form=FlaskForm(),
        **ctx,
    ), status


@bp.get("/propositions/<int:proposal_id>")
def proposal(proposal_id: int) -> ResponseReturnValue:
    access.require(P)
    p = access.get_or_404(get_session(), VigilanceProposal, proposal_id, P)
    # "Recalculer": the channel and staff of the query string; no change is made.
    form = ChannelForm(request.args, meta={"csrf": False})
    form.validate()
    return _proposal_page(p, form)


@bp.post("/propositions/<int:proposal_id>/declencher")
def accept(proposal_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    p = access.get_or_404(session, VigilanceProposal, proposal_id, P)
    form = ChannelForm()
    if not form.validate_on_submit():
        return _proposal_page(p, form, 400)
    channel = _channel(form.channel.data, current_app.config["OUTREACH"]["vigilance"]["channel"])
    try:
        operations.accept(session, p, _now(), user_id=current_user.id, channel=channel)
    except (operations.VigilanceError, ValueError) as exc:
        session.rollback()
        flash(str(exc)[:1].upper() + str(exc)[1:], "error")
        return redirect(url_for("vigilance.proposal", proposal_id=proposal_id))
    deps = ", ".join(p.departements)
    if p.kind == ProposalKind.activate:
        flash(_("Canicule déclenchée pour %(deps)s.", deps=deps), "success")
    else:
        flash(_("Alerte canicule levée pour %(deps)s.", deps=deps), "success")
    return redirect(url_for("campaigns.index"))


@bp.post("/propositions/<int:proposal_id>/refuser")
def refuse(proposal_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    p = access.get_or_404(session, VigilanceProposal, proposal_id, P)
    form = RefuseForm()
    if not form.validate_on_submit():
        return _proposal_page(p, ChannelForm(formdata=None), 400)
    try:
        reason = form.reason.data or ""
        operations.refuse(session, p, _now(), user_id=current_user.id, reason=reason)
    except operations.VigilanceError as exc:
        flash(str(exc)[:1].upper() + str(exc)[1:], "error")
        return redirect(url_for("vigilance.proposal", proposal_id=proposal_id))
    flash(_("Proposition refusée : rien n'est déclenché."), "success")
    return redirect(url_for("vigilance.index"))


@bp.post("/propositions/<int:proposal_id>/vu")
def seen(proposal_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    p = access.get_or_404(session, VigilanceProposal, proposal_id, P)
    if not FlaskForm().validate_on_submit():
        abort(400)
    operations.acknowledge(session, p, _now(), current_user.id)
    return redirect(url_for("campaigns.index"))


# ------------------------------------------------------------------ overview and setting


def _admin_org_ids() -> list[int]:
    # Turning automatic activation on is an organisation setting: admins only.
    return sorted({m.organisation_id for m in current_user.memberships if m.role == Role.admin})


@bp.get("/")
def index() -> ResponseReturnValue:
    ids = access.require(P)
    session = get_session()
    latest = session.scalar(select(VigilanceMap).order_by(VigilanceMap.id.desc()).limit(1))
    good = session.scalar(
        select(VigilanceMap)
        .where(VigilanceMap.error.is_(None))
        .order_by(VigilanceMap.id.desc())
        .limit(1)
    )
    colours = []
    if good is not None:
        colours = list(
            session.scalars(
                select(VigilanceColour)
                .where(VigilanceColour.map_id == good.id, VigilanceColour.colour > 1)
                .order_by(VigilanceColour.departement, VigilanceColour.day)
            )
        )
    proposals = list(
        session.scalars(
            access.scoped(select(VigilanceProposal), VigilanceProposal, P)
            .order_by(VigilanceProposal.id.desc())
            .limit(30)
        )
    )
    orgs = list(session.scalars(select(Organisation).where(Organisation.id.in_(ids))))
    admin = set(_admin_org_ids())
    settings = []
    for org in sorted(orgs, key=lambda o: o.name):
        form = AutoForm(prefix=f"org{org.id}", formdata=None)
        form.auto_activate.data = org.auto_activate
        settings.append({"org": org, "form": form, "editable": org.id in admin})
    return render_template(
        "vigilance/index.html",
        latest=latest,
        good=good,
        colours=colours,
        proposals=proposals,
        settings=settings,
        org_names={o.id: o.name for o in orgs},
        key_missing=not current_app.config["OUTREACH"]["vigilance"]["api_key"],
    )


@bp.post("/reglages/<int:organisation_id>")
def settings(organisation_id: int) -> ResponseReturnValue:
    access.require(P)
    if organisation_id not in _admin_org_ids():
        abort(404)
    session = get_session()
    org = session.get(Organisation, organisation_id)
    form = AutoForm(prefix=f"org{organisation_id}")
    if org is None or not form.validate_on_submit():
        abort(400)
    operations.set_auto_activate(session, org, bool(form.auto_activate.data), current_user.id)
    if org.auto_activate:
        flash(_("Déclenchement automatique activé pour %(o)s.", o=org.name), "success")
    else:
        flash(_("Déclenchement automatique désactivé pour %(o)s.", o=org.name), "success")
    return redirect(url_for("vigilance.index"))
