"""Importing a landlord's anonymised listing, and `outreach panel import-listing`
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.cli import cli
from outreach.panel.listing import import_listing
from outreach.panel.listing_summary import listing_summary
from outreach.panel.models import Draw, ListingRow, MemberRole, MemberStatus, PanelMember
from outreach.roster.importer import RejectedRow
from outreach.roster.models import HousingType, Sex
from tests.factories import make_org
from tests.panel.listing_files import HEADER, ROWS, csv_bytes, xlsx_bytes

NOW = datetime(2026, 6, 15, 10, tzinfo=UTC)


@pytest.fixture
def org(app, session):
    org = make_org(session, "bailleur-liste", "Bailleur Liste")
    session.commit()
    with app.app_context():
        yield org


def run(session, org, data: bytes, name: str = "liste.csv", **kwargs: Any):
    from flask import current_app

    return import_listing(session, org, io.BytesIO(data), name,
                          config=current_app.config["OUTREACH"], now=NOW, **kwargs)  # fmt: skip


def stored(session, org) -> dict[str, ListingRow]:
    rows = session.scalars(select(ListingRow).where(ListingRow.organisation_id == org.id))
    return {row.reference: row for row in rows}


def test_awkward_csv_files_import_every_column(session, org):
    # Excel's "CSV UTF-8": a BOM, semicolons, a title line above the header.
    result = run(session, org, csv_bytes(title="Liste des locataires au 01/06/2026"))
    assert (result.imported, result.rejected) == (3, [])
    rows = stored(session, org)
    first = rows["L1"]
    assert (first.age_band, first.sex, first.departement) == ("75-84", Sex.female, "37")
    assert (first.qpv, first.lives_alone, first.adapted) == (True, True, False)
    assert (rows["L2"].departement, rows["L2"].housing_type) == ("2A", HousingType.individuel)
    assert (rows["L3"].departement, rows["L3"].age_band, rows["L3"].qpv) == ("974", "85+", None)
    # The same listing from an older Excel: Windows-1252, commas, headers in capitals.
    cp1252 = csv_bytes(header=[h.upper() for h in HEADER], sep=",", encoding="cp1252")
    result = run(session, org, cp1252)
    assert (result.imported, result.unchanged, result.rejected) == (0, 3, [])


def test_the_summary_counts_each_departement_and_landlord(session, org):
    other = make_org(session, "bailleur-deux", "Bailleur Deux")
    run(session, org, csv_bytes())
    rows = [["M1", "1963", "H", "37000", "", "", "", "", ""],
            ["M2", "1955", "F", "37000", "", "", "Non", "Non", ""]]  # fmt: skip
    run(session, other, csv_bytes(rows))
    summary = {d.departement: d for d in listing_summary(session, [org.id, other.id])}
    assert sorted(summary) == ["2A", "37", "974"]
    tours = summary["37"]
    assert [(line.label, line.total) for line in tours.landlords] == [
        ("Bailleur Deux", 2), ("Bailleur Liste", 1)
    ]  # fmt: skip
    assert tours.total.total == 3
    assert {k: tours.total.counts[k] for k in ("65-74", "75+", "lt65", "female", "qpv")} == {
        "65-74": 1, "75+": 1, "lt65": 1, "female": 2, "qpv": 1
    }  # fmt: skip
    assert tours.total.share("female") == 67
    assert listing_summary(session, [other.id])[0].total.total == 2  # scoped by the caller


def test_xlsx_with_birth_dates_and_age_bands(session, org):
    header = ["Réf", "Date de naissance", "Tranche d'âge", "Sexe", "CP", "Situation",
              "Bâtiment accessible", "Commune"]  # fmt: skip
    data = xlsx_bytes([
        ["X1", datetime(1951, 4, 2), None, "H", 37100, "seule", "oui", "Tours"],
        [1002, None, "75 ans et plus", "F", "06000", "En couple", "non", "Nice"],
        ["X3", None, None, "F", "75011", None, None, None],
    ], header)  # fmt: skip
    result = run(session, org, data, "liste.xlsx")
    assert (result.imported, result.dates_cut, result.unknown_columns) == (2, 1, ["Commune"])
    assert result.rejected == [
        RejectedRow(4, "X3", "année de naissance ou tranche d'âge manquante")
    ]
    rows = stored(session, org)
    assert (rows["X1"].birth_year, rows["X1"].age_band, rows["X1"].postcode) == (
        1951,
        "75-84",
        "37100",
    )
    assert (rows["X1"].lives_alone, rows["X1"].adapted) == (True, True)
    assert (rows["1002"].age_band, rows["1002"].lives_alone, rows["1002"].birth_year) == (
        "75+",
        False,
        None,
    )


def test_rejected_rows_have_their_line_and_reason_and_a_dry_run_changes_nothing(session, org):
    rows = [*ROWS, ["L1", "1950", "F", "37000", "", "", "", "", ""],
            ["", "1950", "F", "37000", "", "", "", "", ""],
            ["L5", "1950", "Z", "37000", "", "", "", "", ""]]  # fmt: skip
    result = run(session, org, csv_bytes(rows), dry_run=True)
    assert result.imported == 3
    assert result.rejected == [
        RejectedRow(5, "L1", "référence en double (déjà présente ligne 2)"),
        RejectedRow(6, None, "référence manquante"),
        RejectedRow(7, "L5", "sexe non reconnu : Z (F ou H attendu)"),
    ]
    session.rollback()
    assert stored(session, org) == {}
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def _draw(session, org, row: ListingRow) -> None:
    draw = Draw(organisation_id=org.id, seed=1)
    session.add(draw)
    session.flush()
    session.add(PanelMember(draw_id=draw.id, organisation_id=org.id, listing_row_id=row.id,
                            departement=row.departement, role=MemberRole.drawn,
                            status=MemberStatus.to_contact))  # fmt: skip
    session.flush()


def test_a_new_listing_replaces_the_old_one_except_drawn_and_rejected_rows(session, org):
    first = [*ROWS, ["L4", "1945", "F", "37000", "", "", "", "", ""]]
    run(session, org, csv_bytes(first))
    _draw(session, org, stored(session, org)["L3"])
    second = [
        ["L1", "1950", "F", "37000", "Individuel", "Urbain", "Oui", "Oui", "Non"],  # changed
        ["L2", "1958", "H", "999", "", "", "", "", ""],  # rejected: keeps its stored version
        ["L5", "1955", "H", "37000", "", "", "", "", ""],  # new
    ]
    result = run(session, org, csv_bytes(second), user_id=None)
    assert (result.imported, result.updated, result.unchanged) == (1, 1, 0)
    assert (result.removed, result.kept, len(result.rejected)) == (1, 1, 1)
    rows = stored(session, org)
    assert sorted(rows) == ["L1", "L2", "L3", "L5"]  # L4 removed, L3 drawn: kept
    assert rows["L1"].housing_type == HousingType.individuel
    assert rows["L2"].postcode == "20167"
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.entity, event.organisation_id) == ("panel_listing", org.id)
    assert event.details == {"imported": 1, "updated": 1, "unchanged": 0, "rejected": 1,
                             "removed": 1, "kept": 1}  # fmt: skip
    # A file of which no row could be taken in removes nothing.
    result = run(session, org, csv_bytes([["L1", "1950", "F", "", "", "", "", "", ""]]))
    assert (result.removed, len(stored(session, org))) == (0, 4)


# --- the command ---------------------------------------------------------------------


def invoke(app, *args: str):
    result = CliRunner().invoke(
        cli, ["panel", "import-listing", *args], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_command_exit_codes(app, session, org, tmp_path):
    good = tmp_path / "liste.csv"
    good.write_bytes(csv_bytes())
    result = invoke(app, str(good), "--org", "bailleur-liste", "--dry-run")
    assert result.exit_code == 0 and "dry run: nothing was changed" in result.stdout
    assert session.scalar(select(func.count()).select_from(ListingRow)) == 0
    result = invoke(app, str(good), "--org", "bailleur-liste")
    assert result.exit_code == 0
    assert result.stdout.strip() == "imported 3, updated 0, unchanged 0, rejected 0, removed 0"
    bad = tmp_path / "liste-2.csv"
    bad.write_bytes(csv_bytes([*ROWS, ["L9", "1950", "F", "", "", "", "", "", ""]]))
    report = tmp_path / "rapport.csv"
    result = invoke(app, str(bad), "--org", "bailleur-liste", "--report", str(report))
    assert result.exit_code == 1
    assert "line 5: L9: code postal manquant" in result.stdout
    assert report.read_text("utf-8-sig").splitlines()[1] == "5;L9;code postal manquant"
    # Names, phones, e-mails: the file is refused whole, each column named.
    named = tmp_path / "liste-nominative.csv"
    header = [*HEADER, "Nom", "Tél. portable", "Courriel"]
    named.write_bytes(csv_bytes([["L8", *ROWS[0][1:], "Dupont", "0612345678", "a@b.fr"]], header))
    result = invoke(app, str(named), "--org", "bailleur-liste")
    assert result.exit_code == 2
    assert (
        "colonnes refusées : « Nom » (un nom) ; « Tél. portable » (un téléphone) ; "
        "« Courriel » (une adresse e-mail)" in result.stdout
    )
    assert "nothing was changed" in result.stdout and "Dupont" not in result.stdout
    session.rollback()
    assert sorted(stored(session, org)) == ["L1", "L2", "L3"]
    result = invoke(app, str(good), "--org", "inconnu")
    assert result.exit_code == 2
