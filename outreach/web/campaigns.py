"""Campaign pages for managers: the list with the canicule panel, the campaign form with a
live count of matching seniors, one campaign's page (state, counters, skips), canicule.

Handlers parse, call ``campaigns.operations`` / ``campaigns.stats``, render. Campaigns are
loaded through ``access.scoped()`` / ``access.get_or_404()``; an organisation id taken from
a URL or a form is checked with ``access.can()`` before any use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.calls.outcomes import LABELS as OUTCOME_LABELS
from outreach.campaigns import operations, stats
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import Campaign, CampaignKind, CampaignState, ChannelPolicy
from outreach.campaigns.schedule import paris_today
from outreach.campaigns.targeting import TargetingError
from outreach.db import get_session
from outreach.roster.models import Senior
from outreach.telephony.health import failing_since
from outreach.web import campaign_forms as forms
from outreach.web.sms_preview import sms_preview

bp = Blueprint("campaigns", __name__, url_prefix="/campagnes")
P = "campaigns.manage"
STATE_ORDER = [
    CampaignState.active,
    CampaignState.paused,
    CampaignState.draft,
    CampaignState.closed,
]


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "KIND_LABELS": forms.KIND_LABELS,
        "STATE_LABELS": forms.STATE_LABELS,
        "CHANNEL_LABELS": forms.CHANNEL_LABELS,
        "TASK_STATE_LABELS": forms.TASK_STATE_LABELS,
        "SKIP_LABELS": forms.SKIP_LABELS,
        "LEVEL_LABELS": forms.LEVEL_LABELS,
        "WEEKDAY_LABELS": forms.WEEKDAY_LABELS,
        "SCRIPT_LABELS": forms.SCRIPT_LABELS,
        "CONSENT_LABELS": forms.CONSENT_LABELS,
        "describe_targeting": forms.describe_targeting,
        "describe_window": forms.describe_window,
    }


def _now_today() -> tuple[datetime, Any]:
    now = datetime.now(UTC)
    return now, paris_today(now)


def _org_names() -> dict[int, str]:
    ids = access.org_ids(P)
    return {
        m.organisation_id: m.organisation.name
        for m in current_user.memberships
        if m.organisation_id in ids
    }


def _org_or_404(organisation_id: int | None) -> int:
    if organisation_id is None or not access.can(P, organisation_id):
        abort(404)
    return organisation_id


def _seniors_of(organisation_id: int) -> Any:
    """Seniors of one organisation the user manages (scoped, then narrowed)."""
    return access.scoped(select(Senior), Senior, P).where(Senior.organisation_id == organisation_id)


def _calls(n: int) -> str:
    return ngettext("%(num)s appel créé", "%(num)s appels créés", n)


def _skips(n: int) -> str:
    return ngettext("%(num)s senior écarté", "%(num)s seniors écartés", n)


def _message(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------ list and canicule panel


def _canicule_panels(
    session: Any, today: Any, bound: dict[int, forms.CaniculeForm]
) -> list[dict[str, Any]]:
    panels = []
    for org_id, org_name in sorted(_org_names().items(), key=lambda kv: kv[1]):
        active = operations.active_canicule(session, org_id)
        on_alert = list((active.targeting or {}).get("departements", [])) if active else []
        deps = sorted(set(stats.departements(session, _seniors_of(org_id))) | set(on_alert))
        form = bound.get(org_id) or forms.CaniculeForm(prefix=f"o{org_id}", formdata=None)
        form.departements.choices = forms.options((d, d) for d in deps)
        if active is not None and org_id not in bound and active.vigilance_level:
            form.level.data = active.vigilance_level
        panels.append(
            {
                "org_id": org_id,
                "org_name": org_name,
                "active": active,
                "on_alert": on_alert,
                "counts": stats.day_counts(session, [active.id], today)[active.id]
                if active
                else None,
                "form": form,
            }
        )
    return panels


def _render_index(bound: dict[int, forms.CaniculeForm] | None = None, status: int = 200) -> Any:
    session = get_session()
    _now, today = _now_today()
    campaigns = list(session.scalars(access.scoped(select(Campaign), Campaign, P)))
    campaigns.sort(key=lambda c: (STATE_ORDER.index(c.state), c.name.lower(), c.id))
    names = _org_names()
    return render_template(
        "campaigns/index.html",
        campaigns=campaigns,
        counts=stats.day_counts(session, [c.id for c in campaigns], today),
        panels=_canicule_panels(session, today, bound or {}),
        org_names=names if len(names) > 1 else None,
        today=today,
        gateway_failing_since=failing_since(session),
    ), status


@bp.get("/")
def index() -> ResponseReturnValue:
    access.require(P)
    return _render_index()


def _bound_canicule_form(session: Any, org_id: int) -> forms.CaniculeForm:
    form = forms.CaniculeForm(prefix=f"o{org_id}")
    # Any département of the organisation's seniors, plus those already on alert.
    active = operations.active_canicule(session, org_id)
    known = set(stats.departements(session, _seniors_of(org_id)))
    known |= set((active.targeting or {}).get("departements", [])) if active else set()
    form.departements.choices = forms.options((d, d) for d in sorted(known))
    return form


@bp.post("/canicule/<int:organisation_id>/confirmer")
def canicule_confirm(organisation_id: int) -> ResponseReturnValue:
    """Click 2 of the panel: the confirmation (channel, how many seniors, ETA), then the
    POST to ``canicule_activate``; "Recalculer" posts here again."""
    access.require(P)
    org_id = _org_or_404(organisation_id)
    form = _bound_canicule_form(get_session(), org_id)
    if not form.validate_on_submit():
        return _render_index({org_id: form}, 400)
    from outreach.web.vigilance import ChannelForm, confirm_context

    deps = sorted(form.departements.data or [])
    url = url_for("campaigns.canicule_confirm", organisation_id=org_id)
    return render_template(
        "vigilance/confirm_manual.html",
        org_id=org_id,
        org_name=_org_names().get(org_id, ""),
        deps=deps,
        level=form.level.data,
        level_label=forms.LEVEL_LABELS.get(form.level.data or "", form.level.data),
        **confirm_context(org_id, deps, ChannelForm(), url, "post"),
    )


@bp.post("/canicule/<int:organisation_id>/declencher")
def canicule_activate(organisation_id: int) -> ResponseReturnValue:
    access.require(P)
    org_id = _org_or_404(organisation_id)
    session = get_session()
    form = _bound_canicule_form(session, org_id)
    if not form.validate_on_submit():
        return _render_index({org_id: form}, 400)
    now, today = _now_today()
    deps = sorted(form.departements.data or [])
    # The channel chosen on the confirmation page; staff when none was (the former form).
    channel = request.form.get("channel", "")
    policy = ChannelPolicy(channel) if channel in set(ChannelPolicy) else ChannelPolicy.staff
    try:
        campaign, result = operations.activate_canicule(
            session, org_id, deps, form.level.data, today, now, current_user.id, policy
        )
    except operations.CampaignError as exc:
        form.departements.errors = [_message(exc)]
        return _render_index({org_id: form}, 400)
    created, skipped = result.by_campaign.get(campaign.id, (0, 0))
    message = _(
        "Canicule déclenchée pour %(deps)s : %(calls)s.",
        deps=", ".join(deps),
        calls=_calls(created),
    )
    if skipped:
        message += " " + _(
            "%(skips)s (voir pourquoi sur la page de la campagne).", skips=_skips(skipped)
        )
    flash(message, "success")
    _flash_overlaps(campaign, today)
    return redirect(url_for("campaigns.index"))


def _flash_overlaps(campaign: Campaign, today: Any) -> None:
    """Tell the manager which running campaigns share seniors with the one activated."""
    for name, n in stats.overlaps(get_session(), campaign, today):
        flash(
            ngettext(
                "%(num)d senior est aussi dans la campagne « %(c)s » : il ne sera appelé "
                "qu'une fois par jour, par la campagne la plus urgente.",
                "%(num)d seniors sont aussi dans la campagne « %(c)s » : ils ne seront "
                "appelés qu'une fois par jour, par la campagne la plus urgente.",
                n,
                c=name,
            ),
            "info",
        )


@bp.post("/canicule/<int:organisation_id>/lever")
def canicule_deactivate(organisation_id: int) -> ResponseReturnValue:
    access.require(P)
    org_id = _org_or_404(organisation_id)
    deps = [d for d in request.form.getlist("departement") if d]
    session = get_session()
    now, _today = _now_today()
    try:
        campaign = operations.deactivate_canicule(
            session, org_id, deps, now, user_id=current_user.id
        )
    except operations.CampaignError as exc:
        flash(_message(exc), "error")
        return redirect(url_for("campaigns.index"))
    if campaign is not None and campaign.state == CampaignState.closed:
        flash(
            _(
                "Alerte levée pour %(deps)s : la campagne canicule est clôturée "
                "et ses appels restants annulés.",
                deps=", ".join(sorted(deps)),
            ),
            "success",
        )
    else:
        flash(
            _(
                "Alerte levée pour %(deps)s : les appels restants de ce département sont annulés.",
                deps=", ".join(sorted(deps)),
            ),
            "success",
        )
    return redirect(url_for("campaigns.index"))


# ------------------------------------------------------------------ create and edit


def _count_text(n: int) -> str:
    if n == 0:
        return _("Aucun senior ne correspond")
    if n == 1:
        return _("1 senior correspond")
    return _("%(n)s seniors correspondent", n=n)


def _count(form: Any, organisation_id: int, kept: dict[str, Any] | None) -> int:
    _now, today = _now_today()
    return stats.count_matching(
        get_session(), _seniors_of(organisation_id), form.targeting_rules(kept), today
    )


def _valid_targeting(form: Any) -> bool:
    """Validate only what the count needs, so that "Compter" works on a half-filled form."""
    ok = True
    for name in (*sorted(forms.FORM_RULE_KEYS), "organisation"):
        inline = getattr(type(form), f"validate_{name}", None)
        ok = form[name].validate(form, [inline] if inline else []) and ok
    return ok


def _campaign_form(campaign: Campaign | None) -> tuple[Any, int]:
    """Handle the form for a new (campaign None) or existing campaign: (response, status)."""
    session = get_session()
    names = _org_names()
    form = forms.CampaignForm()
    form.setup(names, campaign.script if campaign else None)
    action = request.form.get("action", "save")
    count_text = None
    errors: list[str] = []
    if request.method == "GET":
        if campaign is not None:
            form.fill_from(campaign)
        else:
            kind = request.args.get("kind", CampaignKind.courtesy)
            form.kind.data = kind if kind in set(CampaignKind) else CampaignKind.courtesy.value
            form.fill_defaults(CampaignKind(form.kind.data))
        return _render_form(form, campaign, count_text, errors), 200
    if campaign is not None:
        # Kind and organisation are fixed once created (tasks and skips hang on them).
        form.kind.data = campaign.kind.value
        form.organisation.data = campaign.organisation_id
    if action == "prefill" and campaign is None and form.kind.data in set(CampaignKind):
        form.fill_defaults(CampaignKind(form.kind.data))
        return _render_form(form, campaign, count_text, errors), 200
    kept = campaign.targeting if campaign else None
    if action == "count":
        ok = _valid_targeting(form) and access.can(P, form.organisation.data)
        if ok:
            try:
                count_text = _count_text(_count(form, form.organisation.data, kept))
            except TargetingError as exc:
                errors.append(_message(exc))
                ok = False
        return _render_form(form, campaign, count_text, errors), 200 if ok else 400
    if form.validate_on_submit():
        org_id = _org_or_404(form.organisation.data)
        kind = CampaignKind(form.kind.data)
        try:
            fields = form.campaign_fields(kind, kept)
            if campaign is None:
                campaign = operations.create_campaign(
                    session,
                    org_id,
                    form.name.data or "",
                    kind,
                    created_by_id=current_user.id,
                    **fields,
                )
                flash(
                    _("Campagne créée en brouillon. Activez-la pour créer les appels."), "success"
                )
            else:
                operations.update_campaign(
                    session, campaign, name=(form.name.data or "").strip(), **fields
                )
                flash(_("Modifications enregistrées."), "success")
            return redirect(url_for("campaigns.show", campaign_id=campaign.id)), 302
        except (operations.CampaignError, TargetingError) as exc:
            session.rollback()
            errors.append(_message(exc))
    return _render_form(form, campaign, count_text, errors), 400


def _render_form(
    form: Any, campaign: Campaign | None, count_text: str | None, errors: list[str]
) -> str:
    defaults = {
        k.value: {
            "window": d["call_window"],
            "skip_holidays": d["skip_holidays"],
            "retry_delay_minutes": d["retry_delay_minutes"],
            "max_attempts_per_day": d["max_attempts_per_day"],
            "max_attempts": d["max_attempts"],
            "script": d["script"],
        }
        for k, d in operations.KIND_DEFAULTS.items()
    }
    kept = campaign.targeting if campaign else {}
    custom_any_of = (kept or {}).get("any_of") not in (
        None,
        operations.targeting.CANICULE_DEFAULT_ANY_OF,
    )
    return render_template(
        "campaigns/form.html",
        form=form,
        campaign=campaign,
        count_text=count_text,
        errors=errors,
        kind_defaults=defaults,
        several_orgs=len(form.organisation.choices) > 1,
        custom_any_of=custom_any_of,
    )


@bp.route("/nouvelle", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    access.require(P)
    return _campaign_form(None)


@bp.route("/<int:campaign_id>/modifier", methods=["GET", "POST"])
def edit(campaign_id: int) -> ResponseReturnValue:
    access.require(P)
    campaign = access.get_or_404(get_session(), Campaign, campaign_id, P)
    if campaign.state == CampaignState.closed:
        flash(_("Une campagne clôturée ne se modifie plus."), "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    return _campaign_form(campaign)


@bp.get("/compte")
def count() -> ResponseReturnValue:
    """The live count of the campaign form: {"count": N}, or {"error": "..."} with 400."""
    access.require(P)
    session = get_session()
    form = forms.CountForm(request.args)
    kept = None
    org_id = form.organisation.data
    if form.campaign_id.data is not None:
        campaign = access.get_or_404(session, Campaign, form.campaign_id.data, P)
        org_id, kept = campaign.organisation_id, campaign.targeting
    elif org_id is None and len(ids := access.org_ids(P)) == 1:
        org_id = ids[0]
    org_id = _org_or_404(org_id)
    if not form.validate():
        first = next(error for field in form for error in field.errors)
        return jsonify({"error": str(first)}), 400
    try:
        n = _count(form, org_id, kept)
    except TargetingError as exc:
        return jsonify({"error": _message(exc)}), 400
    return jsonify({"count": n, "text": _count_text(n)})


# ------------------------------------------------------------------ one campaign


@bp.get("/<int:campaign_id>")
def show(campaign_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    campaign = access.get_or_404(session, Campaign, campaign_id, P)
    _now, today = _now_today()
    day = forms.parse_day(request.args.get("jour"), today)
    # The table of days ends today, or on the day shown when that is further back.
    recent = (today - day).days < stats.DAYS_SHOWN
    days = stats.campaign_days(session, campaign, max(day, today) if recent else day)
    preview = None
    if campaign.channel_policy == ChannelPolicy.sms:
        org = session.get(Organisation, campaign.organisation_id)
        preview = sms_preview(session, campaign, org, today) if org else None
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        sms=preview,
        organisation=_org_names().get(campaign.organisation_id, ""),
        counts=stats.day_counts(session, [campaign.id], day)[campaign.id],
        skip_groups=stats.skips_by_reason(session, campaign.id, day),
        done_outcomes=stats.done_by_outcome(session, campaign.id, day),
        campaign_days=days,
        # The outcomes the table has a column for: those that happened (in LABELS order).
        day_outcomes=[o for o in OUTCOME_LABELS if any(d.done.get(o) for d in days)],
        day_unsettled=any(d.done.get(None) for d in days),
        days_shown=stats.DAYS_SHOWN,
        OUTCOME_LABELS=OUTCOME_LABELS,
        moves=sorted(operations.ALLOWED_MOVES[campaign.state], key=STATE_ORDER.index),
        state_form=forms.StateForm(),
        day=day,
        today=today,
    )


@bp.post("/<int:campaign_id>/etat")
def set_state(campaign_id: int) -> ResponseReturnValue:
    access.require(P)
    session = get_session()
    campaign = access.get_or_404(session, Campaign, campaign_id, P)
    form = forms.StateForm()
    if not form.validate_on_submit() or form.state.data not in set(CampaignState):
        abort(400)
    target = CampaignState(form.state.data)
    if target == CampaignState.closed and not form.confirm.data:
        flash(_("Cochez la case de confirmation pour clôturer la campagne."), "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id, _anchor="etat"))
    now, today = _now_today()
    try:
        operations.set_state(session, campaign, target, now, user_id=current_user.id)
    except operations.CampaignError as exc:
        flash(_message(exc), "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    if target == CampaignState.active:
        # Activating creates today's calls at once, as the morning job would have.
        result = generate_day(session, today, now, campaign_ids=[campaign.id])
        created, skipped = result.by_campaign.get(campaign.id, (0, 0))
        flash(
            _(
                "Campagne active : %(calls)s aujourd'hui, %(skips)s.",
                calls=_calls(created),
                skips=_skips(skipped),
            ),
            "success",
        )
        _flash_overlaps(campaign, today)
    elif target == CampaignState.paused:
        flash(_("Campagne en pause : ses appels restants sont retirés de la file."), "success")
    else:
        flash(_("Campagne clôturée : ses appels restants sont annulés."), "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))
