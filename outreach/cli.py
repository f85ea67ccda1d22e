"""The `outreach` command (also `flask --app wsgi outreach`).

Each command runs in an app context and one transaction (``session_scope``). Arguments
from outside are validated and reported with a clear message and a non-zero exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from outreach.config import ConfigError
from outreach.db import session_scope

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session


class OutreachGroup(AppGroup):
    """The `outreach` group. A database error ends any command, its own or a subgroup's,
    with one French line on stderr and exit code 2, never a traceback: an operator whose
    database is down needs to read that, not forty lines of driver internals."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        from outreach.db import OUTAGE_ERRORS

        try:
            return super().invoke(ctx)
        except (DBAPIError, *OUTAGE_ERRORS) as exc:  # type: ignore[misc]
            click.echo(database_error_line(exc), err=True)
            ctx.exit(2)


def database_error_line(exc: BaseException) -> str:
    """The French line that replaces a database error's traceback. The driver's words are
    shown only for a connection failure (host, port, reason): another error's message may
    quote a value of the row (a name, a phone number)."""
    from outreach.db import is_outage, outage_reason

    if is_outage(exc):
        return (
            f"outreach : base de données injoignable ({outage_reason(exc)}) ; rien n'a été "
            "fait. Vérifiez database.url (ou DATABASE_URL) et que le serveur fonctionne."
        )
    return (
        f"outreach : erreur de la base de données ({type(exc).__name__}) ; rien n'a été "
        "enregistré. La base est-elle à jour ? (outreach db upgrade)"
    )


cli = OutreachGroup("outreach", help="Outreach: calls and SMS for isolated seniors.")
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # "%" is interpolation syntax for configparser; escape it in passwords.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Apply the Alembic migrations to ``url`` (used by the CLI and the test suite).

    "heads": every branch of the migration graph, so that parts built side by side (each
    with its own migration off the same parent) all apply before a merge revision joins
    them."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


@cli.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply the migrations up to REVISION (default: heads).")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    url = current_app.extensions["outreach.engine"].url.render_as_string(hide_password=False)
    upgrade_database(url, revision)
    click.echo(f"database at {revision}")


@cli.command("create-org", help="Create an organisation.")
@click.argument("slug")
@click.argument("name")
@click.option("--parent", help="Slug of the parent organisation (a regional association).")
def create_org(slug: str, name: str, parent: str | None) -> None:
    from outreach.accounts.operations import AccountError, create_organisation

    try:
        with session_scope() as session:
            org = create_organisation(session, slug, name, parent)
            click.echo(f"created organisation {org.slug} (id {org.id})")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_password() -> str:
    # Never an argument: it would sit in the shell history and in `ps` for everyone to read.
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


ROLE_CHOICES = ["caller", "volunteer", "social_worker", "manager", "admin", "proximity"]


@cli.command("create-user", help="Create a user; the password is read from a prompt or stdin.")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--org", "orgs", multiple=True, required=True, help="Organisation slug.")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True)
@click.option("--phone", default=None, help="Phone for urgent notifications.")
@click.option(
    "--residence",
    "residences",
    multiple=True,
    help="A residence a proximity member covers (as written in the roster); repeatable.",
)
def create_user_cmd(
    email: str,
    name: str,
    orgs: tuple[str, ...],
    role: str,
    phone: str | None,
    residences: tuple[str, ...],
) -> None:
    from outreach.accounts.models import Role
    from outreach.accounts.operations import AccountError, create_user, get_organisation
    from outreach.roster.phones import InvalidPhone, normalise_phone

    password = _read_password()
    try:
        with session_scope() as session:
            memberships = []
            for slug in orgs:
                org = get_organisation(session, slug)
                if org is None:
                    raise AccountError(f"unknown organisation {slug!r}")
                memberships.append((org, Role(role)))
            if residences and Role(role) != Role.proximity:
                raise AccountError("--residence is for the proximity role only")
            user = create_user(
                session, email, name, password, memberships, phone=normalise_phone(phone)
            )
            if residences:
                from outreach.doorknock.operations import set_residences

                for org, _role in memberships:
                    set_residences(session, user, org.id, list(residences))
            click.echo(f"created user {user.email} (id {user.id}) as {role}")
    except (AccountError, InvalidPhone) as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("set-residences", help="Set the residences a proximity member covers.")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--residence", "residences", multiple=True, help="A residence; repeatable.")
def set_residences_cmd(email: str, org_slug: str, residences: tuple[str, ...]) -> None:
    from outreach.accounts.models import Role
    from outreach.accounts.operations import AccountError, find_user, get_organisation
    from outreach.doorknock.operations import set_residences

    try:
        with session_scope() as session:
            user, org = find_user(session, email), get_organisation(session, org_slug)
            if user is None or org is None:
                raise AccountError(f"unknown user {email!r} or organisation {org_slug!r}")
            roles = {m.role for m in user.memberships if m.organisation_id == org.id}
            if roles != {Role.proximity}:
                raise AccountError(f"{email} is not proximity staff of {org_slug}")
            kept = set_residences(session, user, org.id, list(residences))
            click.echo(f"{email} covers {len(kept)} residence(s) in {org_slug}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("set-password", help="Change a user's password (read from a prompt or stdin).")
@click.argument("email")
def set_password_cmd(email: str) -> None:
    from outreach.accounts.operations import AccountError, find_user, set_password

    password = _read_password()
    try:
        with session_scope() as session:
            user = find_user(session, email)
            if user is None:
                raise AccountError(f"unknown user {email!r}")
            set_password(session, user, password)
            click.echo(f"password changed for {user.email}; their open sessions are ended")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command("import-roster", help="Import a roster file (CSV or XLSX) into an organisation.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--dry-run", is_flag=True, help="Check and report; change nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the rejected rows (line, reference, reason) to this CSV file.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a tty).")
def import_roster_cmd(
    file: Path, org_slug: str, dry_run: bool, report: Path | None, progress: bool | None
) -> None:
    from outreach.roster.importer import run_import_command

    show_progress = sys.stderr.isatty() if progress is None else progress
    code = run_import_command(file, org_slug, dry_run, report, show_progress, echo=click.echo)
    sys.exit(code)


@cli.command("demo", help="Load the demo data (only into an empty database unless --force).")
@click.option("--force", is_flag=True, help="Load even if the database already has users.")
def demo_cmd(force: bool) -> None:
    from outreach.demo import load_demo

    if current_app.config["OUTREACH"]["app"]["env"] == "production":
        click.echo(
            'outreach demo : refusé en production (app.env = "production") : des '
            "personnes fictives, dont les numéros peuvent être ceux de vraies personnes, "
            "n'ont rien à faire dans une base réelle.",
            err=True,
        )
        sys.exit(2)
    with session_scope() as session:
        if force and _holds_real_seniors(session):
            click.echo(
                "outreach demo : refusé, même avec --force : la base contient des seniors "
                "d'organisations qui ne sont pas celles de la démonstration.",
                err=True,
            )
            sys.exit(2)
        logins = load_demo(session, force=force)
    if logins is None:
        click.echo("the database already has data: demo not loaded")
        return
    click.echo("demo data loaded; logins (password for all: see below)")
    for line in logins:
        click.echo(f"  {line}")


def _holds_real_seniors(session: Session) -> bool:
    """Whether a senior belongs to an organisation other than the demo's."""
    from sqlalchemy import select

    from outreach.accounts.models import Organisation
    from outreach.demo import ASSOCIATION, LANDLORDS
    from outreach.roster.models import Senior

    demo_slugs = [ASSOCIATION[0], *(slug for slug, _, _ in LANDLORDS)]
    stmt = (
        select(Senior.id)
        .join(Organisation, Organisation.id == Senior.organisation_id)
        .where(Organisation.slug.not_in(demo_slugs))
        .limit(1)
    )
    return session.scalar(stmt) is not None


@cli.command("serve", help="Serve the web application (development server).")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    from outreach.demo import DEMO_LOGINS_HINT

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["OUTREACH"]["app"]["env"] == "production":
        click.echo("production: serve with gunicorn 'wsgi:app' instead", err=True)
    if app.config["OUTREACH"]["scheduler"]["run_in_serve"]:
        from outreach.scheduling.runner import start_background_scheduler

        start_background_scheduler(
            app, app.config["OUTREACH"]["scheduler"]["standby_poll_seconds"], _start_simulator
        )
    click.echo(f"serving on http://{host}:{port}")
    click.echo(DEMO_LOGINS_HINT)
    app.run(host=host, port=port, debug=False, use_reloader=False)


def _start_simulator(app: Flask) -> None:
    """With the simulator backend, the scheduler that leads (and so dispatches) also runs
    the simulator; its webhooks go to telephony.public_base_url. Called on taking the lead,
    so that a standby scheduler does not compete for the simulator's port."""
    config = app.config["OUTREACH"]
    if config["telephony"]["backend"] != "simulator":
        return
    from outreach.telephony.simulator.server import start_for_app

    try:
        server = start_for_app(app)
    except OSError as exc:
        click.echo(
            f"telephony simulator: cannot listen on port {config['simulator']['port']} "
            f"({exc.strerror}); automated calls will fail until simulator.port is free",
            err=True,
        )
        return
    click.echo(f"telephony simulator on {server.base_url} (calls and SMS are not real)")


@cli.command("scheduler", help="Run the job scheduler (one leader; others wait as standby).")
def scheduler_cmd() -> None:
    from outreach.scheduling.runner import run_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_scheduler(
        app, app.config["OUTREACH"]["scheduler"]["standby_poll_seconds"], _start_simulator
    )


@cli.command("run-job", help="Run one job once and print its summary line.")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the jobs.")
def run_job_cmd(name: str | None, list_: bool) -> None:
    from outreach.scheduling.registry import load_jobs
    from outreach.scheduling.runner import run_job

    jobs = load_jobs()
    if list_ or not name:
        for job in jobs.values():
            click.echo(f"{job.name:20} {job.description}")
        return
    if name not in jobs:
        raise click.ClickException(f"unknown job {name!r}; see `outreach run-job --list`")
    click.echo(run_job(current_app._get_current_object(), name))  # type: ignore[attr-defined]


@cli.command("retention", help="Apply the retention periods now; print what went.")
@click.option("--dry-run", is_flag=True, help="Tell what would go; change nothing.")
def retention_cmd(dry_run: bool) -> None:
    from datetime import UTC, datetime

    from outreach.privacy import erasure, retention
    from outreach.privacy.jobs import LABELS

    settings = current_app.config["OUTREACH"]["retention"]
    with session_scope() as session:
        counts = retention.apply(session, now=datetime.now(UTC), settings=settings, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            erasure.compact_after_commit(session)
    click.echo("would go:" if dry_run else "went:")
    for key, count in counts.items():
        click.echo(f"  {count:>8}  {LABELS[key]}")
    if dry_run:
        click.echo("dry run: nothing was changed")


@cli.command("on-duty", help="Set an organisation's on-duty social worker and alert phone.")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--user", "email", help="E-mail of the on-duty social worker or manager.")
@click.option("--phone", help="Number that receives urgent alerts by SMS ('' to clear).")
def on_duty(org_slug: str, email: str | None, phone: str | None) -> None:
    from outreach.accounts.operations import (
        AccountError,
        find_user,
        get_organisation,
        set_on_duty,
    )

    try:
        with session_scope() as session:
            org = get_organisation(session, org_slug)
            if org is None:
                raise AccountError(f"unknown organisation {org_slug!r}")
            user = None
            if email:
                user = find_user(session, email)
                if user is None:
                    raise AccountError(f"unknown user {email!r}")
            set_on_duty(session, org, user, phone, via="cli")
            click.echo(f"{org.slug}: on duty {email or '(unchanged)'}, phone {org.on_duty_phone}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group("org", help="An organisation's settings.")
def org_group() -> None:
    pass


@org_group.command("gateway", help="Set the caller ID, SMS sender and Twilio account of SLUG.")
@click.argument("slug")
@click.option("--caller-id", help="Number shown on automated calls, not an 06/07 ('' to clear).")
@click.option("--sms-sender", help="Alphanumeric sender (11 characters) or two-way number.")
@click.option("--account", help="A [telephony.accounts] name ('' for the default account).")
def org_gateway(
    slug: str, caller_id: str | None, sms_sender: str | None, account: str | None
) -> None:
    from outreach.accounts.operations import AccountError, get_organisation, set_gateway_settings

    config = current_app.config["OUTREACH"]
    try:
        with session_scope() as session:
            org = get_organisation(session, slug)
            if org is None:
                raise AccountError(f"unknown organisation {slug!r}")
            set_gateway_settings(
                session,
                org,
                config,
                caller_id=caller_id,
                sms_sender=sms_sender,
                account=account,
                via="cli",
            )
            tel = config["telephony"]
            click.echo(
                f"{org.slug}: caller ID {org.caller_id or tel['caller_id'] or '(default)'}, "
                f"SMS sender {org.sms_sender or tel['sms_sender']}, "
                f"account {org.gateway_account or '(default)'}"
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group("canicule", help="Activate or end a heatwave campaign for some départements.")
def canicule_group() -> None:
    pass


def _departements(value: str) -> list[str]:
    return [d for d in (p.strip() for p in value.split(",")) if d]


@canicule_group.command("activate")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--departments", required=True, help="Comma-separated codes, e.g. 37,41.")
@click.option("--level", type=click.Choice(["jaune", "orange", "rouge"]), default="orange")
@click.option(
    "--channel",
    type=click.Choice(["staff", "ivr", "sms", "ivr_then_staff"]),
    default="staff",
    help="Channel policy of a new canicule campaign.",
)
def canicule_activate(org_slug: str, departments: str, level: str, channel: str) -> None:
    from datetime import UTC, datetime

    from outreach.accounts.operations import get_organisation
    from outreach.campaigns.models import ChannelPolicy
    from outreach.campaigns.operations import CampaignError, activate_canicule
    from outreach.campaigns.schedule import paris_today

    now = datetime.now(UTC)
    try:
        with session_scope() as session:
            org = get_organisation(session, org_slug)
            if org is None:
                raise CampaignError(f"unknown organisation {org_slug!r}")
            campaign, result = activate_canicule(
                session,
                org.id,
                _departements(departments),
                level,
                paris_today(now),
                now,
                channel_policy=ChannelPolicy(channel),
                via="cli",
            )
            deps = ",".join(campaign.targeting.get("departements", []))
            click.echo(f"canicule {level} active for {deps}: {result.summary()}")
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from exc


@canicule_group.command("deactivate")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--departments", required=True, help="Comma-separated codes, e.g. 37.")
def canicule_deactivate(org_slug: str, departments: str) -> None:
    from datetime import UTC, datetime

    from outreach.accounts.operations import get_organisation
    from outreach.campaigns.operations import CampaignError, deactivate_canicule

    try:
        with session_scope() as session:
            org = get_organisation(session, org_slug)
            if org is None:
                raise CampaignError(f"unknown organisation {org_slug!r}")
            campaign = deactivate_canicule(
                session, org.id, _departements(departments), datetime.now(UTC), via="cli"
            )
            if campaign is not None and campaign.state == "closed":
                click.echo("canicule ended: campaign closed")
            else:
                deps = ",".join(campaign.targeting.get("departements", [])) if campaign else ""
                click.echo(f"canicule still active for {deps}")
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group("privacy", help="RGPD documents: the record of processing and the notice.")
def privacy_group() -> None:
    pass


def _write_privacy_document(kind: str, org_slug: str, out: Path | None) -> None:
    """Write one RGPD document of an organisation as a standalone HTML file (or stdout)."""
    from outreach.accounts.operations import get_organisation
    from outreach.web.privacy_docs import register_for, render_document

    with session_scope() as session:
        org = get_organisation(session, org_slug)
        if org is None:
            raise click.ClickException(f"unknown organisation {org_slug!r}")
        # Templates need a request context for url_for and the locale: a bare one suffices.
        with current_app.test_request_context():
            html = render_document(kind, register_for(org), standalone=True)  # type: ignore[arg-type]
    if out is None:
        click.echo(html)
        return
    out.write_text(html, encoding="utf-8")
    click.echo(f"written {out}")


@privacy_group.command("register", help="Write the record of processing (article 30), HTML.")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
def privacy_register(org_slug: str, out: Path | None) -> None:
    _write_privacy_document("register", org_slug, out)


@privacy_group.command("notice", help="Write the notice given to seniors, HTML.")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
def privacy_notice(org_slug: str, out: Path | None) -> None:
    _write_privacy_document("notice", org_slug, out)


# The senior's rights (issue 10): `outreach senior export|erase|compact`.
from outreach.privacy.commands import senior_group  # noqa: E402

cli.add_command(senior_group)

# Figures of a period (issue 11): `outreach report`.
from outreach.reports.commands import report_cmd  # noqa: E402

cli.add_command(report_cmd)

# The pre-season check (issue 12): `outreach canicule check --org SLUG`.
from outreach.readiness.commands import check_cmd  # noqa: E402

canicule_group.add_command(check_cmd)

# The rehearsal (issue 12): `outreach canicule rehearse --org SLUG`.
from outreach.rehearsal.commands import rehearse_cmd  # noqa: E402

canicule_group.add_command(rehearse_cmd)


@cli.group("panel", help="The regional panel: listings, the draw by quotas (issue 13).")
def panel_group() -> None:
    pass


# The landlords' anonymised listings (issue 13): `outreach panel import-listing FILE --org SLUG`.
from outreach.panel.listing_command import import_listing_cmd  # noqa: E402

panel_group.add_command(import_listing_cmd)

# The draw by quotas (issue 13): `outreach panel draw --association SLUG --seed N`.
from outreach.panel.draw_command import draw_cmd  # noqa: E402

panel_group.add_command(draw_cmd)


def register_flask_cli(app: Flask) -> None:
    """Expose the same commands as `flask --app wsgi outreach ...`."""
    if "outreach" not in app.cli.commands:
        app.cli.add_command(cli)


def _create_app_for_cli() -> Flask:
    from outreach import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)


def main() -> None:
    """Console script entry point."""
    cli.main(prog_name="outreach", obj=ScriptInfo(create_app=_create_app_for_cli))
