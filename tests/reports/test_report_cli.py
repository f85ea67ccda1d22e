"""`outreach report`: the file of a period, and one French line with exit 2 for a mistake."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from openpyxl import load_workbook

from outreach.accounts.operations import create_organisation
from outreach.cli import cli
from outreach.reports.indicators import INDICATORS
from tests.factories import make_senior


@pytest.fixture
def orgs(session):
    association = create_organisation(session, "asso-centre", "Association Centre")
    a = create_organisation(session, "bailleur-a", "Bailleur A", "asso-centre")
    b = create_organisation(session, "bailleur-b", "Bailleur B", "asso-centre")
    for org, n in ((a, 6), (b, 2)):
        for _ in range(n):
            make_senior(session, org)
    session.commit()
    return association, a, b


def _run(app, *args: str):
    return CliRunner().invoke(cli, ["report", *args], obj=ScriptInfo(create_app=lambda: app))


PERIOD = ("--from", "2025-07-01", "--to", "2025-07-31")


def test_json_to_stdout_has_the_indicator_names(app, orgs):
    result = _run(app, "--org", "bailleur-a", *PERIOD)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["indicators"]) == list(INDICATORS)
    assert data["indicators"]["seniors_followed"] == 6
    assert data["period"] == {"from": "2025-07-01", "to": "2025-07-31"}
    assert "landlord" not in data["by"]


def test_an_association_reports_with_its_members(app, orgs, tmp_path):
    out = tmp_path / "centre.xlsx"
    result = _run(app, "--org", "asso-centre", *PERIOD, "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(out.read_bytes()))
    assert "Par bailleur" in book.sheetnames
    rows = {r[0]: r[1] for r in book["Indicateurs"].iter_rows(min_row=7, values_only=True)}
    assert rows["Personnes suivies"] == 8
    assert book["Indicateurs"]["B2"].data_type == "d"


def test_csv_and_the_funders_mode(app, orgs, tmp_path):
    out = tmp_path / "b.txt"
    result = _run(app, "--org", "bailleur-b", *PERIOD, "--format", "csv", "--out", str(out),
                  "--funder")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffOrganisation;Bailleur B\r\n")
    assert "Personnes suivies;< 5" in text  # two seniors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--org", "nulle-part", *PERIOD), "outreach : organisation inconnue : nulle-part"),
        (
            ("--org", "bailleur-a", "--from", "2025-07-31", "--to", "2025-07-01"),
            "outreach : la période se termine (01/07/2025) avant de commencer (31/07/2025)",
        ),
        (
            ("--org", "bailleur-a", "--from", "01/07/2025", "--to", "2025-07-31"),
            "outreach : --from '01/07/2025' : date attendue au format AAAA-MM-JJ "
            "(par exemple 2025-07-01)",
        ),
    ],
)
def test_mistakes_are_one_french_line_and_exit_2(app, orgs, args, message):
    result = _run(app, *args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [message]
    assert result.stdout == ""
