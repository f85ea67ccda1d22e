"""`outreach canicule check --org SLUG`: the pre-season check of a canicule list.

Prints the count of each problem in French (or JSON, with the seniors of each), and can
write the list for the proximity staff as XLSX. Exit code 0 when nothing is missing, 1 when
something is, 2 for a mistake in the arguments (one French line on stderr, as
`outreach report` does).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext

from outreach.db import session_scope


def _fail(message: str) -> NoReturn:
    click.echo(f"outreach : {message}", err=True)
    sys.exit(2)


def _day(value: str | None, now: datetime) -> date:
    from outreach.campaigns.schedule import paris_today

    if not value:
        return paris_today(now)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"--day {value!r} : date attendue au format AAAA-MM-JJ (par exemple 2027-06-01)")


@click.command("check", help="Pre-season check of the canicule list (exit 1 if something lacks).")
@click.option("--org", "org_slug", required=True, help="Organisation (or association) slug.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the list for the proximity staff to this .xlsx file.",
)
@click.option("--day", help="The day of the list (ages), YYYY-MM-DD; default today.")
@with_appcontext
def check_cmd(org_slug: str, fmt: str, out: Path | None, day: str | None) -> None:
    from outreach.accounts.operations import get_organisation
    from outreach.readiness.check import check
    from outreach.readiness.export import organisation_names
    from outreach.readiness.operations import export_proximity_list
    from outreach.reports.indicators import organisation_ids_for

    now = datetime.now(UTC)
    today = _day(day, now)
    if out is not None and out.suffix.lower() != ".xlsx":
        _fail(f"--out {out} : un fichier .xlsx est attendu")
    with session_scope() as session:
        org = get_organisation(session, org_slug)
        if org is None:
            _fail(f"organisation inconnue : {org_slug}")
        ids = organisation_ids_for(session, org)
        slug, name = org.slug, org.name
        result = check(session, ids, today)
        names = organisation_names(session, ids)
        if out is not None:
            body = export_proximity_list(session, result, names, now, via="cli")
            try:
                out.write_bytes(body)
            except OSError as exc:
                _fail(f"--out {out} : écriture impossible ({exc.strerror or exc})")
    if fmt == "json":
        click.echo(json.dumps(as_dict(result, slug, names, out), ensure_ascii=False, indent=2))
    else:
        for line in text_lines(result, name, slug):
            click.echo(line)
        if out is not None:
            click.echo(f"Liste pour les équipes de proximité : {out}")
    sys.exit(0 if result.complete else 1)


def text_lines(result: Any, name: str, slug: str) -> list[str]:
    """The French lines of the check: the list's size, then one count per problem."""
    from outreach.readiness.check import LABELS

    lines = [
        f"Vérification avant l'été : {name} ({slug}), liste canicule du {result.today:%d/%m/%Y}",
        f"Seniors sur la liste canicule : {result.on_list}",
    ]
    lines += [f"{LABELS[p]} : {n}" for p, n in result.counts.items()]
    lines.append(f"Seniors à compléter : {len(result.entries)}")
    return lines


def as_dict(result: Any, slug: str, names: dict[int, str], out: Path | None) -> dict[str, Any]:
    """The check as JSON: counts and, per problem, its seniors and what is missing."""
    from outreach.readiness.check import LABELS, Problem

    def senior(entry: Any, problem: Problem) -> dict[str, Any]:
        return {
            "id": entry.senior_id,
            "reference": entry.reference,
            "name": entry.name,
            "organisation": names.get(entry.organisation_id, ""),
            "residence": entry.residence,
            "missing": entry.problems[problem],
        }

    data: dict[str, Any] = {
        "organisation": slug,
        "day": result.today.isoformat(),
        "on_list": result.on_list,
        "complete": result.complete,
        "counts": {str(p): n for p, n in result.counts.items()},
        "labels": {str(p): text for p, text in LABELS.items()},
        "seniors": {str(p): [senior(e, p) for e in result.seniors(p)] for p in Problem},
    }
    if out is not None:
        data["out"] = str(out)
    return data
