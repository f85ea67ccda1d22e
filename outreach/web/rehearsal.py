"""The rehearsal's page (``/canicule/repetition``): ask for a heatwave day played on a
throw-away copy, follow it, read its verdict.

A rehearsal takes seconds to minutes: the form only queues it
(``rehearsal.operations.request``); the scheduler's ``rehearsals`` job plays it and writes
each hourly line as it comes, and the run's page reloads itself until the verdict. Managers
and admins only ("campaigns.manage"), their organisations only.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from outreach.accounts import access
from outreach.accounts.models import Organisation
from outreach.campaigns.models import ChannelPolicy
from outreach.campaigns.schedule import paris_today
from outreach.db import get_session
from outreach.rehearsal import operations
from outreach.rehearsal.models import BUSY, RehearsalRun, RunState
from outreach.rehearsal.run import Settings
from outreach.web.campaign_forms import CHANNEL_LABELS
from outreach.web.roster_forms import DATE_FORMATS, options

bp = Blueprint("rehearsal", __name__, url_prefix="/canicule/repetition")
P = "campaigns.manage"
# A larger day belongs on the command line: the scheduler plays one rehearsal at a time.
MAX_SENIORS = 20_000
RUNS_SHOWN = 20
COPY, GENERATED = "copie", "generes"
STATE_LABELS = {
    RunState.pending: _l("En attente"),
    RunState.running: _l("En cours"),
    RunState.done: _l("Terminée"),
    RunState.failed: _l("Échec"),
}
# run.hour_line's format: "10:00  first attempts  12  reached  3  unreached ..."
HOUR_LINE = re.compile(
    r"^(\d\d:\d\d)  first attempts +(\d+)  reached +(\d+)  unreached +(-?\d+)  "
    r"alerts +(\d+)  staff backlog +(\d+)$"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _raw(field: Any) -> str:
    """A typed number as Python reads it: "2,5" is 2.5, "1 000" is 1000."""
    return str(field.data or "").strip().replace(",", ".").replace(" ", "").replace("\u202f", "")


def _number(field: Any, low: float, high: float, message: Any, integer: bool) -> float | None:
    raw = _raw(field)
    if not raw:
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValidationError(message) from None
    if not low <= value <= high or (not integer and value <= 0):
        raise ValidationError(message)
    return value


class RehearsalForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    source = RadioField(
        _l("Seniors de la répétition"),
        choices=options(
            [
                (
                    COPY,
                    _l("Une copie de la liste canicule (anonymisée, rien de réel n'est modifié)"),
                ),
                (GENERATED, _l("Des seniors générés")),
            ]
        ),
        default=COPY,
    )
    seniors = StringField(_l("Nombre de seniors générés"))
    cps = StringField(_l("Appels par seconde"), default="1", validators=[InputRequired(
        _l("Indiquez un nombre d'appels par seconde."))])  # fmt: skip
    staff = StringField(_l("Appelants simulés"), default="5", validators=[InputRequired(
        _l("Indiquez un nombre d'appelants."))])  # fmt: skip
    channel = SelectField(
        _l("Canal"),
        choices=options((c.value, CHANNEL_LABELS[c]) for c in ChannelPolicy),
        default=ChannelPolicy.ivr_then_staff.value,
    )
    day = DateField(
        _l("Jour simulé"), format=DATE_FORMATS,
        validators=[InputRequired(_l("Indiquez une date (JJ/MM/AAAA)."))],
    )  # fmt: skip
    quick = BooleanField(_l("Mode rapide (tâches et appelants avancent minute par minute)"))

    def validate_organisation(self, field: Any) -> None:
        if field.data not in {str(choice.value) for choice in field.choices}:
            raise ValidationError(_l("Choisissez une organisation."))

    def validate_seniors(self, field: Any) -> None:
        message = _l(
            "Un nombre de seniors entre 1 et %(max)s.", max=f"{MAX_SENIORS:,}".replace(",", " ")
        )
        value = _number(field, 1, MAX_SENIORS, message, integer=True)
        if self.source.data == GENERATED and value is None:
            raise ValidationError(message)

    def validate_cps(self, field: Any) -> None:
        _number(field, 0, 100, _l("Un nombre d'appels par seconde entre 0 (exclu) et 100."), False)

    def validate_staff(self, field: Any) -> None:
        _number(field, 0, 500, _l("Un nombre d'appelants entre 0 et 500."), integer=True)

    def settings(self) -> Settings:
        """The validated form as the rehearsal's settings."""
        generated = self.source.data == GENERATED
        assert self.day.data is not None  # InputRequired
        return Settings(
            seniors=int(_raw(self.seniors)) if generated else None,
            cps=float(_raw(self.cps)),
            staff=int(_raw(self.staff)),
            channel=ChannelPolicy(self.channel.data),
            day=self.day.data,
            quick=bool(self.quick.data),
        )


def _org_names(ids: list[int]) -> dict[int, str]:
    rows = get_session().execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    )
    return {org_id: name for org_id, name in rows.all()}


def _form(names: dict[int, str]) -> RehearsalForm:
    form = RehearsalForm()
    form.organisation.choices = options(
        (str(i), n) for i, n in sorted(names.items(), key=lambda kv: kv[1])
    )
    if len(names) == 1:
        form.organisation.data = str(next(iter(names)))
    if form.day.data is None and not form.is_submitted():
        form.day.data = paris_today(_now())
    return form


def _render_index(form: RehearsalForm, names: dict[int, str], status: int = 200) -> Any:
    runs = (
        get_session()
        .scalars(
            access.scoped(select(RehearsalRun), RehearsalRun, P)
            .order_by(RehearsalRun.requested_at.desc(), RehearsalRun.id.desc())
            .limit(RUNS_SHOWN)
        )
        .all()
    )
    return render_template(
        "rehearsal/index.html",
        form=form,
        names=names,
        runs=runs,
        busy=BUSY,
        states=STATE_LABELS,
        channels=CHANNEL_LABELS,
    ), status


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """The form, and the organisations' latest runs."""
    ids = access.require(P)
    names = _org_names(ids)
    form = _form(names)
    if not form.is_submitted():
        return _render_index(form, names)
    if not form.validate():
        return _render_index(form, names, 400)
    org_id = int(form.organisation.data)
    if not access.can(P, org_id):  # validate_organisation checked the choices; belt and braces
        return _render_index(form, names, 400)
    try:
        run = operations.request(get_session(), org_id, current_user.id, form.settings(), _now())
    except operations.RehearsalError as exc:
        form.organisation.errors = [str(exc)] if len(names) > 1 else []
        if len(names) == 1:
            form.source.errors = [str(exc)]
        return _render_index(form, names, 400)
    flash(_("Répétition demandée : cette page suit son avancement."), "success")
    return redirect(url_for("rehearsal.show", id=run.id))


def hour_rows(lines: list[str]) -> list[dict[str, Any]]:
    """The hourly lines of a run, as table rows (other lines are left to the raw output)."""
    rows = []
    for line in lines:
        m = HOUR_LINE.match(line)
        if m:
            hour, first, reached, unreached, alerts, backlog = m.groups()
            rows.append({"hour": hour, "first": int(first), "reached": int(reached),
                         "unreached": int(unreached), "alerts": int(alerts),
                         "backlog": int(backlog)})  # fmt: skip
    return rows


# "id", a name tests/test_isolation.py knows: another landlord's run must be a 404 there too.
@bp.get("/<int:id>")
def show(id: int) -> ResponseReturnValue:  # noqa: A002 - the URL's name
    """A run: its state, its hours as a table and its verdict in words."""
    access.require(P)
    session = get_session()
    run = access.get_or_404(session, RehearsalRun, id, P)
    lines = run.lines
    org = session.get(Organisation, run.organisation_id)
    return render_template(
        "rehearsal/show.html",
        run=run,
        org_name=org.name if org else "",
        lines=lines,
        rows=hour_rows(lines),
        busy=run.state in BUSY,
        day=date.fromisoformat(run.settings["day"]),
        ratio=f"{run.ratio:.2f}".replace(".", ",") if run.ratio is not None else "",
        states=STATE_LABELS,
        channels=CHANNEL_LABELS,
    )
