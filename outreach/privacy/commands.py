"""`outreach senior export|erase`: the senior's rights from the command line (a DPO's request).

Errors a person makes (an unknown organisation or reference, a missing --yes) end with one
French line on stderr and exit code 2; nothing is changed then.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.db import get_engine, session_scope
from outreach.roster.models import Senior

# An AppGroup: each command runs in the application's context (database, secret key).
senior_group = AppGroup("senior", help="The rights of a senior: export her data, erase it.")


def _fail(message: str) -> NoReturn:
    click.echo(f"outreach : {message}", err=True)
    sys.exit(2)


def _find(session: Session, org_slug: str, ref: str) -> Senior:
    """Her record, or one French line and exit 2 (saying so when the reference was erased)."""
    from outreach.accounts.operations import get_organisation
    from outreach.privacy.erasure import erased_digests

    org = get_organisation(session, org_slug)
    if org is None:
        _fail(f"organisation inconnue : {org_slug}")
    senior = session.scalar(
        select(Senior).where(Senior.organisation_id == org.id, Senior.external_ref == ref)
    )
    if senior is None:
        erased = erased_digests(session, org.id, [ref]).get(ref)
        if erased is not None:
            day = erased.erased_at.strftime("%d/%m/%Y")
            _fail(f"la référence {ref} a été effacée le {day} : plus aucune donnée à son sujet")
        _fail(f"référence inconnue dans {org_slug} : {ref}")
    return senior


@senior_group.command("export", help="Everything held about a senior, as JSON or a document.")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.argument("ref")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "html"]),
    help="json (default) or html (a document for her); --out x.html picks html.",
)
def export_cmd(org_slug: str, ref: str, out: Path | None, fmt: str | None) -> None:
    from outreach.privacy.export import export_senior, to_json

    if fmt is None:
        fmt = "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "json"
    with session_scope() as session:
        senior = _find(session, org_slug, ref)
        data = export_senior(
            session, senior, fmt=fmt, user_id=None, via="cli", now=datetime.now(UTC)
        )
        if fmt == "html":
            from outreach.web.privacy import render_document

            # Templates take their locale from a request: a bare one suffices.
            with current_app.test_request_context():
                body = render_document(data)
        else:
            body = to_json(data)
        if out is not None:
            try:
                out.write_text(body, encoding="utf-8")
            except OSError as exc:
                # Nothing written: the export is not recorded as done either.
                session.rollback()
                _fail(f"impossible d'écrire {out} ({exc.strerror})")
    if out is None:
        click.echo(body, nl=False)
    else:
        click.echo(f"export écrit dans {out}", err=True)


def _held(session: Session, senior: Senior) -> list[str]:
    """What an erasure of her would delete, in counts (no personal value)."""
    from outreach.calls.models import Attempt

    attempts = session.scalar(select(func.count()).where(Attempt.senior_id == senior.id)) or 0
    notes = (
        session.scalar(
            select(func.count()).where(
                Attempt.senior_id == senior.id,
                (Attempt.notes.is_not(None)) | (Attempt.reply.is_not(None)),
            )
        )
        or 0
    )
    return [
        "nom, prénom, civilité, date de naissance (l'année est gardée), référence",
        "téléphones, adresse, code postal, commune, résidence",
        f"{len(senior.emergency_contacts)} contact(s) d'urgence",
        f"notes et textes de SMS de {notes} appel(s) ou SMS sur {attempts}",
        "notes des signaux, alertes et orientations ; messages de l'opérateur, "
        "notifications et détails du journal qui la nomment",
    ]


@senior_group.command("erase", help="Erase a senior's identity for good (needs --yes).")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.argument("ref")
@click.option("--yes", is_flag=True, help="Confirm: the erasure cannot be undone.")
def erase_cmd(org_slug: str, ref: str, yes: bool) -> None:
    from outreach.privacy import erasure

    with session_scope() as session:
        senior = _find(session, org_slug, ref)
        if not yes:
            lines = "\n".join(f"  - {line}" for line in _held(session, senior))
            _fail(
                f"rien n'a été effacé : ajoutez --yes pour effacer pour de bon la personne "
                f"de référence {ref}. Seraient effacés :\n{lines}\n"
                "Resteraient, sans la nommer : sexe, année de naissance, département, "
                "logement, dates et résultats des appels, causes et dates des alertes."
            )
        erasure.erase_senior(session, senior, reason="request", user_id=None, now=datetime.now(UTC))
        new_ref = senior.external_ref
        tables = erasure.erased_tables(session)
    compacted = erasure.compact(get_engine(), tables)
    click.echo(f"données effacées : la fiche anonyme restante a pour référence {new_ref}")
    if not compacted:
        click.echo(
            "attention : la base n'a pas pu être compactée (elle est occupée) ; "
            "relancez plus tard `outreach senior compact`",
            err=True,
        )


@senior_group.command("compact", help="Rewrite the database files (after an erasure).")
def compact_cmd() -> None:
    from outreach.privacy import erasure

    if not erasure.compact(get_engine(), erasure.TABLES):
        _fail("la base n'a pas pu être compactée (elle est occupée) ; réessayez plus tard")
    click.echo("base compactée")
