"""`outreach run-job` and `outreach canicule activate|deactivate` from the command line."""

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.campaigns.models import Task, TaskState
from outreach.cli import cli
from tests.factories import make_org, make_senior


@pytest.fixture
def run(app):
    runner = CliRunner()

    def _run(*args):
        return runner.invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))

    return _run


def test_run_job_lists_and_runs(run):
    listing = run("run-job", "--list")
    assert listing.exit_code == 0
    assert "generate-tasks" in listing.output and "expire-claims" in listing.output
    result = run("run-job", "generate-tasks")
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "generate-tasks: created 0, skipped 0"
    unknown = run("run-job", "nope")
    assert unknown.exit_code == 1 and "unknown job" in unknown.output


def test_canicule_activate_then_deactivate(run, session):
    org = make_org(session, "vth")
    hot = make_senior(session, org, canicule_register=True, departement="37")
    cool = make_senior(session, org, canicule_register=True, departement="41")
    make_senior(session, org, canicule_register=True, departement="45")
    session.commit()

    result = run("canicule", "activate", "--org", "vth", "--departments", "37,41",
                 "--level", "orange")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    tasks = {t.senior_id: t.state for t in session.scalars(select(Task))}
    assert tasks == {hot.id: TaskState.pending, cool.id: TaskState.pending}

    result = run("canicule", "deactivate", "--org", "vth", "--departments", "37")
    assert result.exit_code == 0 and "still active for 41" in result.output
    session.expire_all()
    tasks = {t.senior_id: t.state for t in session.scalars(select(Task))}
    assert tasks == {hot.id: TaskState.cancelled, cool.id: TaskState.pending}


@pytest.mark.parametrize(
    "args",
    [
        ("canicule", "activate", "--org", "nope", "--departments", "37"),
        ("canicule", "activate", "--org", "vth", "--departments", "3x"),
        ("canicule", "deactivate", "--org", "vth", "--departments", "37"),
    ],
)
def test_canicule_bad_input_is_refused(run, session, args):
    make_org(session, "vth")
    session.commit()
    result = run(*args)
    assert result.exit_code == 1
    assert session.scalar(select(Task)) is None
