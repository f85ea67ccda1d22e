"""`outreach canicule check`: French counts or JSON, the XLSX list, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.cli import cli
from tests.factories import make_org
from tests.readiness.conftest import TODAY, xlsx_table

DAY = ("--day", TODAY.isoformat())


def _run(app, *args: str):
    return CliRunner().invoke(
        cli, ["canicule", "check", *args], obj=ScriptInfo(create_app=lambda: app)
    )


def test_french_counts_and_exit_1_when_something_is_missing(app, roster):
    result = _run(app, "--org", "touraine", *DAY)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "Vérification avant l'été : Touraine Habitat (touraine), liste canicule du 15/05/2027",
        "Seniors sur la liste canicule : 6",
        "Sans numéro valide : 1",
        "Sans consentement, ou opposé(e) aux appels ou aux SMS : 1",
        "Sans contact d'urgence avec un téléphone : 1",
        "Sans référent(e) : 1",
        "Numéros en échec depuis un an : 1",
        "Seniors à compléter : 5",
    ]


def test_json_lists_the_seniors_of_each_problem(app, roster):
    result = _run(app, "--org", "touraine", "--format", "json", *DAY)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["complete"] is False
    assert data["on_list"] == 6
    assert data["counts"]["no_referent"] == 1
    [senior] = data["seniors"]["no_referent"]
    assert senior["reference"] == roster.no_referent.external_ref
    assert senior["missing"] == "aucun(e) référent(e)"
    assert senior["residence"] == "Les Tilleuls"
    assert [s["reference"] for s in data["seniors"]["no_valid_number"]] == [
        roster.no_number.external_ref
    ]


def test_exit_0_when_nothing_is_missing(app, session):
    make_org(session, "vide", "Bailleur sans liste")
    session.commit()
    result = _run(app, "--org", "vide", "--format", "json", *DAY)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["complete"] is True


def test_the_list_for_the_proximity_staff_is_written_and_audited(app, roster, session, tmp_path):
    out = tmp_path / "liste.xlsx"
    result = _run(app, "--org", "touraine", "--out", str(out), *DAY)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == f"Liste pour les équipes de proximité : {out}"
    header, rows, _sheet = xlsx_table(out.read_bytes())
    assert [r[header.index("Référence")] for r in rows] == [
        s.external_ref for s in (roster.no_number, roster.no_consent, roster.no_contact,
                                 roster.no_referent, roster.failed)
    ]  # fmt: skip
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.organisation_id == roster.org.id
    assert event.details == {"rows": 5, "filters": ["canicule_readiness"], "via": "cli"}


def test_a_mistake_is_one_french_line_and_exit_2(app, roster):
    for args, message in (
        (("--org", "nulle-part"), "outreach : organisation inconnue : nulle-part"),
        (("--org", "touraine", "--day", "15/05/2027"),
         "outreach : --day '15/05/2027' : date attendue au format AAAA-MM-JJ "
         "(par exemple 2027-06-01)"),
        (("--org", "touraine", "--out", "liste.csv"),
         "outreach : --out liste.csv : un fichier .xlsx est attendu"),
    ):  # fmt: skip
        result = _run(app, *args)
        assert result.exit_code == 2, args
        assert result.stderr.strip() == message
        assert result.stdout == ""
    assert _run(app, "--org", "touraine", "--format", "csv").exit_code == 2  # click's choice
