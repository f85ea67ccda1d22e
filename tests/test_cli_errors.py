"""The CLI with its database down: one French line, exit code 2, no traceback; and
`outreach demo` refuses a production database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from outreach.cli import cli
from outreach.roster.models import Senior
from tests.conftest import own_app
from tests.factories import make_org, make_senior, make_user
from tests.test_outages import closed_port, down_url  # noqa: F401 - a fixture
from tests.web.test_sessions import PRODUCTION

COMMANDS = [
    ("db", "upgrade"),
    ("create-org", "vth", "Val Touraine Habitat"),
    ("create-user", "a@example.org", "--org", "vth", "--role", "caller"),
    ("set-password", "a@example.org"),
    ("import-roster", "{csv}", "--org", "vth"),
    ("demo",),
    ("run-job", "process-webhooks"),
    ("on-duty", "--org", "vth", "--phone", "0247000000"),
    ("canicule", "activate", "--org", "vth", "--departments", "37"),
    ("canicule", "deactivate", "--org", "vth", "--departments", "37"),
]


def invoke(app, *args: str, input: str | None = None):
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, obj=ScriptInfo(create_app=lambda: app))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_says_the_database_is_down_in_one_line(down_url, tmp_path, args):  # noqa: F811
    csv = tmp_path / "roster.csv"
    csv.write_text("Référence;Nom;Prénom;Téléphone\nR1;Martin;Jeanne;0612345678\n")
    args = tuple(str(csv) if a == "{csv}" else a for a in args)
    with own_app(down_url) as app:
        result = invoke(app, *args, input="une phrase assez longue\n")
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("outreach : base de données injoignable")
    assert "Traceback" not in result.output


def test_the_console_script_prints_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OUTREACH_CONFIG", "SECRET_KEY")}
    env["DATABASE_URL"] = f"postgresql://outreach@127.0.0.1:{closed_port()}/outreach"
    proc = subprocess.run(
        [sys.executable, "-c", "from outreach.cli import main; main()", "create-org", "x1", "X"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "base de données injoignable" in proc.stderr
    assert "Connection refused" in proc.stderr or "connection" in proc.stderr.lower()


def test_a_database_not_upgraded_is_one_line_too(database_url, tmp_path):
    # Tables that are not there are not an outage: the line names the error's kind and
    # points at `db upgrade`, still without a traceback. (PostgreSQL: a search path to a
    # schema that does not exist; SQLite: a new empty file.)
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = database_url + "?options=-csearch_path%3Dno_such_schema"
    with own_app(url) as app:
        result = invoke(app, "create-org", "vth", "Val Touraine Habitat")
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("outreach : erreur de la base de données (")
    assert "db upgrade" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_demo_refuses_a_production_database(database_url, session):
    with own_app(database_url, **PRODUCTION) as app:
        result = invoke(app, "demo")
    assert result.exit_code == 2
    assert "refusé en production" in result.stderr
    assert session.scalar(select(func.count(Senior.id))) == 0


def test_demo_force_refuses_a_database_with_real_seniors(app, session):
    org = make_org(session, "bailleur-reel")
    make_senior(session, org)
    session.commit()
    result = invoke(app, "demo", "--force")
    assert result.exit_code == 2
    assert "même avec --force" in result.stderr
    assert session.scalar(select(func.count(Senior.id))) == 1


def test_demo_force_loads_beside_a_user_alone(app, session):
    # A developer's own account, no senior: --force still loads the demo.
    make_user(session, make_org(session, "mon-asso"))
    session.commit()
    result = invoke(app, "demo", "--force")
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count(Senior.id))) == 300
