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


@click.command("report", help="An organisation's figures over a period (JSON, CSV or XLSX).")
@click.option("--org", "org_slug", required=True, help="Organisation (or association) slug.")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (Paris).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx"]),
    help="json (default), csv or xlsx; --out report.xlsx picks xlsx.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--funder", is_flag=True, help="Funder's report: counts under 5 hidden.")
@with_appcontext
def report_cmd(
    org_slug: str, start: str, end: str, fmt: str | None, out: Path | None, funder: bool
) -> None:
    from outreach.accounts.operations import get_organisation
    from outreach.reports.export import FORMATS, render
    from outreach.reports.indicators import Period, compute, organisation_ids_for

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
