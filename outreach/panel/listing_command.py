"""`outreach panel import-listing FILE --org SLUG [--dry-run] [--report FILE]`.

The roster import's command (``roster.importer.run_import_command``) run with the listing's
importer: the same one transaction, printed report and exit codes (0 every row in, 1 some
rows rejected, 2 nothing changed: an unreadable file, a column carrying an identity...).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("import-listing", help="Import a landlord's anonymised listing (CSV or XLSX).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", "org_slug", required=True, help="The landlord's organisation slug.")
@click.option("--dry-run", is_flag=True, help="Check and report; change nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the rejected rows (line, reference, reason) to this CSV file.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a tty).")
@with_appcontext
def import_listing_cmd(
    file: Path, org_slug: str, dry_run: bool, report: Path | None, progress: bool | None
) -> None:
    from outreach.panel.listing import import_listing
    from outreach.roster.importer import run_import_command

    show_progress = sys.stderr.isatty() if progress is None else progress
    code = run_import_command(
        file, org_slug, dry_run, report, show_progress, echo=click.echo, importer=import_listing
    )
    sys.exit(code)
