"""`outreach panel draw --association SLUG --seed N [--out FILE]`: the draw by quotas.

Prints the quota table per département (target, achieved, deviation beyond the tolerance).
Exit 0 when every quota is met, 1 when the quotas could not all be met (the closest draw is
stored and each deviation printed: never a silent miss), 2 for bad input (unknown
association, no listing, invalid quotas, a draw that already has agreements), with one
French line on stderr as the other commands do.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext

from outreach.db import session_scope


def _fail(message: str) -> NoReturn:
    click.echo(f"outreach : {message}", err=True)
    sys.exit(2)


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def quota_lines(report: dict[str, Any]) -> list[str]:
    """The French quota table of a draw's report, one block per département."""
    lines: list[str] = []
    for dept in sorted(report):
        part = report[dept]
        lines.append(
            f"Département {dept} : {part['size']} tirés sur {part['target_size']}, "
            f"{part.get('reserve', 0)} en réserve"
        )
        for q in part["quotas"]:
            unit = " %" if q["unit"] == "%" else ""
            verdict = "ok" if q["met"] else f"ÉCART {_number(q['deviation'])}{unit}"
            lines.append(
                f"  {q['label']:<32} cible {_number(q['target'])}{unit} "
                f"± {_number(q['tolerance'])}  atteint {_number(q['achieved'])}{unit}  {verdict}"
            )
    return lines


@click.command("draw", help="Draw the panel by quotas (exit 1 if a quota is missed).")
@click.option("--association", "slug", required=True, help="The association's slug.")
@click.option("--seed", type=int, required=True, help="The draw's seed (same seed, same draw).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the draw as .xlsx."
)
@with_appcontext
def draw_cmd(slug: str, seed: int, out: Path | None) -> None:
    from outreach.accounts.operations import get_organisation
    from outreach.panel.draw import DrawError, member_organisations, run_draw
    from outreach.panel.export import draw_workbook

    if out is not None and out.suffix.lower() != ".xlsx":
        _fail(f"--out {out} : un fichier .xlsx est attendu")
    with session_scope() as session:
        association = get_organisation(session, slug)
        if association is None:
            _fail(f"association inconnue : {slug}")
        try:
            draw = run_draw(session, association, seed)
        except DrawError as exc:
            _fail(str(exc))
        report, feasible = dict(draw.report), draw.feasible
        if out is not None:
            names = member_organisations(session, association)
            title = [("Association", association.name), ("Tirage n°", draw.id), ("Graine", seed)]
            try:
                out.write_bytes(draw_workbook(session, draw, names, title))
            except OSError as exc:
                _fail(f"--out {out} : écriture impossible ({exc.strerror or exc})")
        draw_id, name = draw.id, association.name
    click.echo(f"Tirage n° {draw_id} de {name} (graine {seed})")
    for line in quota_lines(report):
        click.echo(line)
    if feasible:
        click.echo("Tous les quotas sont respectés.")
    else:
        click.echo("Quotas non tous atteints : voici le tirage le plus proche, écarts ci-dessus.")
    if out is not None:
        click.echo(f"Fichier : {out}")
    sys.exit(0 if feasible else 1)
