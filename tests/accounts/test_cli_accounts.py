"""`outreach create-org` and `outreach create-user` (password from stdin, never an argument)."""

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.accounts.models import Membership, Organisation, Role, User
from outreach.audit.models import AuditEvent
from outreach.cli import cli
from tests.conftest import login


@pytest.fixture
def run(app):
    runner = CliRunner()

    def _run(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, obj=ScriptInfo(create_app=lambda: app))

    return _run


def test_create_org_and_user_then_log_in(run, app, session, client):
    assert run("create-org", "vth", "Val Touraine Habitat").exit_code == 0
    result = run(
        "create-user",
        "Claire@VTH.example",
        "--name",
        "Claire",
        "--org",
        "vth",
        "--role",
        "social_worker",
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "claire@vth.example"))
    assert user is not None
    membership = session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.role is Role.social_worker
    assert "a long enough secret" not in result.output
    login(client, "claire@vth.example", "a long enough secret")


def test_password_is_not_an_option(run):
    run("create-org", "vth", "Val Touraine Habitat")
    result = run("create-user", "a@b.fr", "--org", "vth", "--role", "caller", "--password", "x")
    assert result.exit_code != 0
    assert "No such option" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create-org", "Bad Slug!", "X"), "invalid slug"),
        (("create-org", "child", "X", "--parent", "nope"), "unknown parent"),
        (("create-user", "not-an-email", "--org", "vth", "--role", "caller"), "invalid e-mail"),
        (("create-user", "a@b.fr", "--org", "nope", "--role", "caller"), "unknown organisation"),
        (
            ("create-user", "a@b.fr", "--org", "vth", "--role", "caller", "--phone", "0612"),
            "invalide",
        ),
        (
            ("create-user", "a@b.fr", "--org", "vth", "--role", "caller", "--phone", "3949"),
            "surtaxé ou spécial",
        ),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(run, session, args, message):
    run("create-org", "vth", "Val Touraine Habitat")
    result = run(*args, input="a long enough secret\n")
    assert result.exit_code == 1
    assert message in result.output
    assert session.scalar(select(User)) is None
    assert len(session.scalars(select(Organisation)).all()) == 1


def test_short_password_refused(run, session):
    run("create-org", "vth", "Val Touraine Habitat")
    result = run("create-user", "a@b.fr", "--org", "vth", "--role", "caller", input="short\n")
    assert result.exit_code == 1
    assert "au moins 12 caractères" in result.output
    assert session.scalar(select(User)) is None


def test_duplicate_org_refused(run):
    assert run("create-org", "vth", "A").exit_code == 0
    result = run("create-org", "vth", "B")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_on_duty_names_a_social_worker_and_a_phone(run, session):
    assert run("create-org", "vth", "Val Touraine Habitat").exit_code == 0
    for email, role in (
        ("claire@vth.example", "social_worker"),
        ("lucas@vth.example", "volunteer"),
    ):
        result = run(
            "create-user", email, "--org", "vth", "--role", role, input="a long enough secret\n"
        )
        assert result.exit_code == 0, result.output
    ok = run("on-duty", "--org", "vth", "--user", "claire@vth.example", "--phone", "06 12 34 56 78")
    assert ok.exit_code == 0, ok.output
    org = session.scalar(select(Organisation).where(Organisation.slug == "vth"))
    claire = session.scalar(select(User).where(User.email == "claire@vth.example"))
    assert (org.on_duty_user_id, org.on_duty_phone) == (claire.id, "+33612345678")
    # A volunteer cannot be on duty; a bad number is refused; nothing changes.
    refused = run("on-duty", "--org", "vth", "--user", "lucas@vth.example")
    assert refused.exit_code == 1 and "not a social worker" in refused.output
    bad = run("on-duty", "--org", "vth", "--phone", "12")
    assert bad.exit_code == 1 and "on-duty phone" in bad.output
    session.expire_all()
    org = session.get(Organisation, org.id)
    assert (org.on_duty_user_id, org.on_duty_phone) == (claire.id, "+33612345678")


def test_on_duty_from_the_cli_is_audited_as_from_the_page(run, session):
    assert run("create-org", "vth", "Val Touraine Habitat").exit_code == 0
    assert run("on-duty", "--org", "vth", "--phone", "06 12 34 56 78").exit_code == 0
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "on_duty"))
    assert (event.entity, event.user_id) == ("organisation", None)
    # Whether someone and a phone are on duty, never who or which number.
    assert event.details == {"user": False, "phone": True, "via": "cli"}
