"""`outreach import-roster`: exit codes, printed report, dry run and fatal errors change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.cli import cli
from outreach.roster.models import Senior
from tests.factories import make_org, make_senior, make_user

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


@pytest.fixture
def org(session):
    org = make_org(session, "bailleur-test")
    make_user(session, org, "social_worker", email="referente@example.org")
    session.commit()
    return org


def invoke(app, *args: str):
    result = CliRunner().invoke(
        cli, ["import-roster", *args], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def lines(result) -> list[str]:
    return result.stdout.strip().splitlines()


def state(session) -> dict[str, str]:
    session.rollback()  # see what the command committed
    return dict(session.execute(select(Senior.external_ref, Senior.last_name)).all())


def audit_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEvent))


def test_clean_file_exits_0_and_second_run_is_unchanged(app, session, org):
    path = str(FIXTURES / "utf8.csv")
    result = invoke(app, path, "--org", "bailleur-test")
    assert result.exit_code == 0
    assert lines(result) == ["imported 3, updated 0, unchanged 0, rejected 0"]
    assert state(session) == {"T001": "Lefèvre", "T002": "Dupré", "T003": "Cœur"}
    result = invoke(app, path, "--org", "bailleur-test")
    assert result.exit_code == 0
    assert lines(result)[-1] == "imported 0, updated 0, unchanged 3, rejected 0"
    assert audit_count(session) == 2


def test_rejected_rows_exit_1_are_printed_and_written_to_the_report(app, session, org, tmp_path):
    report = tmp_path / "rejets.csv"
    result = invoke(
        app, str(FIXTURES / "bad_rows.csv"), "--org", "bailleur-test", "--report", str(report)
    )
    assert result.exit_code == 1
    out = lines(result)
    assert out[-1] == "imported 2, updated 0, unchanged 0, rejected 7"
    assert out[:-1] == [
        "line 4: référence manquante",
        "line 5: B003: nom manquant",
        "line 6: B004: date de naissance impossible : 31/02/1941",
        "line 8: B005: téléphone portable invalide : 06 12 34",
        "line 9: B001: référence en double (déjà présente ligne 2)",
        "line 10: B007: GIR invalide : 9 (1 à 6 attendu)",
        "line 11: B008: référent inconnu : inconnu@example.org (pas membre de l'organisation)",
    ]
    assert set(state(session)) == {"B001", "B009"}
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so that Excel reads UTF-8
    report_lines = raw.decode("utf-8-sig").splitlines()
    assert report_lines[0] == "line;reference;reason"
    assert report_lines[1] == "4;;référence manquante"
    assert report_lines[3] == "6;B004;date de naissance impossible : 31/02/1941"
    assert len(report_lines) == 8


def test_progress_bar_goes_to_stderr(app, session, org):
    result = invoke(app, str(FIXTURES / "utf8.csv"), "--org", "bailleur-test", "--progress")
    assert result.exit_code == 0
    assert "lignes" in result.stderr
    assert lines(result) == ["imported 3, updated 0, unchanged 0, rejected 0"]


def test_unknown_columns_are_named_before_the_summary(app, session, org):
    result = invoke(app, str(FIXTURES / "unknown_columns.csv"), "--org", "bailleur-test")
    assert result.exit_code == 0
    assert lines(result) == [
        "unknown columns (ignored): Observations, Bâtiment, Nom du gardien",
        "imported 2, updated 0, unchanged 0, rejected 0",
    ]


def test_xlsx_through_the_command(app, session, org):
    result = invoke(app, str(FIXTURES / "roster.xlsx"), "--org", "bailleur-test")
    assert result.exit_code == 0, result.output
    assert set(state(session)) == {"T001", "T002", "T003"}


@pytest.mark.parametrize(("name", "code"), [("utf8.csv", 0), ("bad_rows.csv", 1)])
def test_dry_run_prints_the_same_and_changes_nothing(app, session, org, tmp_path, name, code):
    make_senior(session, org, external_ref="T001", last_name="Ancien")
    session.commit()
    report = tmp_path / "r.csv"
    args = [str(FIXTURES / name), "--org", "bailleur-test", "--report", str(report)]
    result = invoke(app, *args, "--dry-run")
    assert result.exit_code == code
    assert state(session) == {"T001": "Ancien"}
    assert audit_count(session) == 0
    assert report.exists()  # the report is the point of a dry run
    dry = lines(result)
    assert dry[0] == "dry run: nothing was changed"
    real = invoke(app, *args)
    assert lines(real) == dry[1:]


def test_fatal_error_exits_2_and_changes_nothing(app, session, org, tmp_path):
    # Batches of one: the first rows are flushed before line 4 turns out unreadable.
    app.config["OUTREACH"]["roster"]["import_batch_size"] = 1
    make_senior(session, org, external_ref="Z1", last_name="Ancien")
    session.commit()
    path = tmp_path / "cassé.csv"
    path.write_text("Référence;Nom\nZ1;Nouveau\nZ2;Durand\nZ3;" + "x" * 200_000 + "\n")
    result = invoke(app, str(path), "--org", "bailleur-test")
    assert result.exit_code == 2
    # Refused by the line-length cap (max_columns × max_cell_chars), before the csv module.
    assert lines(result)[0].startswith("error: ligne 4 : ligne de plus de 100302 caractères")
    assert lines(result)[-1] == "nothing was changed"
    assert state(session) == {"Z1": "Ancien"}
    assert audit_count(session) == 0


@pytest.mark.parametrize(
    ("name", "org_slug", "message"),
    [
        ("utf8.csv", "inconnue", "error: organisation inconnue : inconnue"),
        ("no_reference.csv", "bailleur-test", "error: aucune colonne « Référence »"),
        ("undecodable.csv", "bailleur-test", "error: encodage du fichier non reconnu"),
        ("absent.csv", "bailleur-test", "error: fichier illisible"),
        ("roster.ods", "bailleur-test", "error: format .ods non pris en charge"),
    ],
)
def test_fatal_cases(app, session, org, tmp_path, name, org_slug, message):
    path = tmp_path / name
    if (FIXTURES / name).exists():
        shutil.copy(FIXTURES / name, path)
    elif name.endswith(".ods"):
        path.write_bytes(b"PK\x03\x04")
    result = invoke(app, str(path), "--org", org_slug)
    assert result.exit_code == 2
    assert lines(result)[0].startswith(message)
    assert state(session) == {}


def test_unwritable_report_is_fatal_and_changes_nothing(app, session, org, tmp_path):
    report = tmp_path / "absent-dir" / "r.csv"
    result = invoke(
        app, str(FIXTURES / "utf8.csv"), "--org", "bailleur-test", "--report", str(report)
    )
    assert result.exit_code == 2
    assert lines(result)[0].startswith("error: impossible d'écrire le rapport")
    assert state(session) == {}
