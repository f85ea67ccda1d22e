"""`outreach canicule rehearse`: a heatwave day played before summer (see ``run``).

Errors a person makes (an unknown organisation, a rate that is not one) end with one French
line on stderr and exit code 2; a rehearsal that leaves a senior unaccounted exits 1.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from outreach.campaigns.models import ChannelPolicy
from outreach.db import session_scope


def _fail(message: str) -> NoReturn:
    click.echo(f"outreach : {message}", err=True)
    sys.exit(2)


@click.command(
    "rehearse",
    help="Play a heatwave day on a throw-away copy of SLUG's canicule list (or N generated "
    "seniors) through the simulator, time compressed; prints each hour and a verdict line.",
)
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--seniors", type=int, help="Generated seniors instead of the copy of the list.")
@click.option("--cps", type=float, default=1.0, show_default=True, help="Calls per second.")
@click.option("--staff", type=int, default=5, show_default=True, help="Simulated callers.")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in ChannelPolicy]),
    default=ChannelPolicy.ivr_then_staff.value,
    show_default=True,
)
@click.option("--seed", type=int, default=1, show_default=True, help="Replays the same day.")
@click.option("--day", help="The simulated day, YYYY-MM-DD (default: today).")
@click.option("--quick", is_flag=True, help="Jobs and callers step once a simulated minute.")
@with_appcontext
def rehearse_cmd(
    org_slug: str,
    seniors: int | None,
    cps: float,
    staff: int,
    channel: str,
    seed: int,
    day: str | None,
    quick: bool,
) -> None:
    from outreach.accounts.operations import get_organisation
    from outreach.rehearsal.run import Settings, rehearse

    if seniors is not None and not 1 <= seniors <= 200_000:
        _fail(f"--seniors {seniors} : entre 1 et 200 000")
    if not 0 < cps <= 100:
        _fail(f"--cps {cps} : un nombre d'appels par seconde entre 0 et 100")
    if not 0 <= staff <= 500:
        _fail(f"--staff {staff} : entre 0 et 500 appelants")
    try:
        the_day = date.fromisoformat(day) if day else datetime.now(UTC).date()
    except ValueError:
        _fail(f"--day {day!r} : date attendue au format AAAA-MM-JJ")
    settings = Settings(
        seniors=seniors, cps=cps, staff=staff, seed=seed,
        channel=ChannelPolicy(channel), day=the_day, quick=quick,
    )  # fmt: skip
    config = current_app.config["OUTREACH"]
    with session_scope() as session:
        org = get_organisation(session, org_slug)
        if org is None:
            _fail(f"organisation inconnue : {org_slug!r}")
        source = None if seniors is not None else (session, org.id)
        result = rehearse(settings, config, source=source, out=click.echo)
        session.rollback()  # the real database is only read
    sys.exit(1 if result.final.unaccounted else 0)
