"""`outreach report`: an organisation's (or an association's) figures over a period, as a file.

Errors a person makes (an unknown organisation, a date that is not one, a period that ends
before it starts) end with one French line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from outreach.db import session_scope


def _fail(message: str) -> NoReturn:
    click.echo(f"outreach : {message}", err=True)
    sys.exit(2)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option} {value!r} : date attendue au format AAAA-MM-JJ (par exemple 2025-07-01)")


@click.group(
    "report",
    invoke_without_command=True,
    help="An organisation's figures over a period (JSON, CSV or XLSX); "
    "`report rollup` builds the rollups of the closed months.",
)
@click.option("--org", "org_slug", help="Organisation (or association) slug.")
@click.option("--from", "start", help="First day, YYYY-MM-DD (Paris).")
@click.option("--to", "end", help="Last day, YYYY-MM-DD, included.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx"]),
    help="json (default), csv or xlsx; --out report.xlsx picks xlsx.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--funder", is_flag=True, help="Funder's report: counts under 5 hidden.")
@click.pass_context
@with_appcontext
def report_cmd(
    ctx: click.Context,
    org_slug: str | None,
    start: str | None,
    end: str | None,
    fmt: str | None,
    out: Path | None,
    funder: bool,
) -> None:
    from outreach.accounts.operations import get_organisation
    from outreach.reports.export import FORMATS, render
    from outreach.reports.indicators import Period, compute, organisation_ids_for

    if ctx.invoked_subcommand is not None:
        return
    # Required unless a subcommand is named (a group cannot say "required" itself).
    for value, option in ((org_slug, "--org"), (start, "--from"), (end, "--to")):
        if value is None:
            raise click.UsageError(f"Missing option '{option}'.", ctx)
    assert org_slug is not None and start is not None and end is not None
    first, last = _day(start, "--from"), _day(end, "--to")
    if first > last:
        _fail(f"la période se termine ({last:%d/%m/%Y}) avant de commencer ({first:%d/%m/%Y})")
    if fmt is None:
        suffix = out.suffix.lower().lstrip(".") if out is not None else ""
        fmt = suffix if suffix in FORMATS else "json"
    if fmt != "json" and out is None and sys.stdout.isatty():
        _fail(f"un fichier {fmt.upper()} ne s'affiche pas dans un terminal : précisez --out")
    with session_scope() as session:
        org = get_organisation(session, org_slug)
        if org is None:
            _fail(f"organisation inconnue : {org_slug}")
        ids = organisation_ids_for(session, org)
        report = compute(session, ids, Period(first, last), now=datetime.now(UTC))
    body = render(report, fmt, funder=funder)
    if out is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    out.write_bytes(body)
    click.echo(f"written {out}")


@report_cmd.command("rollup", help="Build the rollups of the closed months that need it.")
@click.option("--rebuild", is_flag=True, help="Rebuild every closed month.")
@with_appcontext
def rollup_cmd(rebuild: bool) -> None:
    from flask import current_app

    from outreach.reports import rollups

    settle_days = current_app.config["OUTREACH"]["reports"]["rollup_settle_days"]
    with session_scope() as session:
        built = rollups.run(session, datetime.now(UTC), settle_days, rebuild=rebuild)
    click.echo(
        f"{len(built)} month(s) built" + (f": {built[0]:%Y-%m}..{built[-1]:%Y-%m}" if built else "")
    )
