"""`outreach panel draw`: the quota table, exit 0 / 1 / 2, the XLSX with real numbers."""

from __future__ import annotations

from io import BytesIO

from click.testing import CliRunner
from flask.cli import ScriptInfo
from openpyxl import load_workbook

from outreach.cli import cli
from outreach.panel.models import Quota
from tests.panel.listing_factory import make_region


def _run(app, *args: str):
    return CliRunner().invoke(cli, ["panel", "draw", *args], obj=ScriptInfo(create_app=lambda: app))


def test_met_quotas_exit_0_and_the_xlsx_holds_numbers(app, session, tmp_path):
    make_region(session, sizes=(300, 150), departements=("37",))
    session.commit()
    out = tmp_path / "tirage.xlsx"
    result = _run(app, "--association", "region", "--seed", "5", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Département 37 : 100 tirés sur 100" in result.stdout
    assert "Tous les quotas sont respectés." in result.stdout
    assert "ÉCART" not in result.stdout
    book = load_workbook(BytesIO(out.read_bytes()))
    drawn = book["Tirés Bailleur 1"]
    header = [c.value for c in drawn[5]]
    assert header[:3] == ["Département", "Rang", "Référence"]
    refs = [r for r in drawn.iter_rows(min_row=6, values_only=True)]
    reserve = list(book["Réserve Bailleur 2"].iter_rows(min_row=6, values_only=True))
    assert refs and reserve and all(isinstance(r[1], int) for r in refs + reserve)
    assert all(r[2].startswith("L") for r in refs)
    quotas = list(book["Quotas"].iter_rows(min_row=6, values_only=True))
    women = next(r for r in quotas if r[1] == "Femmes")
    assert women[3] == 57 and isinstance(women[5], (int, float)) and women[7] is True


def test_missed_quotas_exit_1_with_each_deviation_and_bad_input_exit_2(app, session):
    region = make_region(session, sizes=(150,), departements=("37",))
    session.add(Quota(association_id=region.association.id, departement="37",
                      settings={"collectif": {"target": 10, "tolerance": 1}}))  # fmt: skip
    session.commit()
    result = _run(app, "--association", "region", "--seed", "5")
    assert result.exit_code == 1, result.output
    [line] = [x for x in result.stdout.splitlines() if x.strip().startswith("Logement collectif")]
    assert "cible 10 %" in line and "ÉCART" in line
    assert "tirage le plus proche" in result.stdout

    assert _run(app, "--association", "inconnue", "--seed", "1").exit_code == 2
    bad = Quota(association_id=region.association.id, departement="37", settings={"size": 0})
    session.query(Quota).delete()
    session.add(bad)
    session.commit()
    result = _run(app, "--association", "region", "--seed", "1")
    assert result.exit_code == 2
    assert "Taille du panel" in result.stderr
