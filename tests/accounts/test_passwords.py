"""Passwords: 12 characters at least and none of the commonest, wherever one is set."""

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.accounts.models import User
from outreach.accounts.operations import AccountError, create_user, set_password
from outreach.accounts.passwords import MIN_LENGTH, common_passwords, password_problem
from outreach.cli import cli
from outreach.demo import DEMO_PASSWORD
from tests.conftest import TEST_PASSWORD, login
from tests.factories import make_org, make_user

REFUSED = [
    "short",
    "elevenchars",  # 11
    "qwerty123456",  # in the list as it is
    "1q2w3e4r5t6y",
    "Password1234",  # a common word, capitals and digits around it
    "Marseille2024!",
    "azertyuiop123",  # the French keyboard row
    "mot de passe 123",  # spaces removed
    "azertyazerty",  # a repetition
    "123456789012",  # digits only
    "!!!!!!!!!!!!!",
    "aaaaaaaaaaaaaaa",
    "abababababab",
]
ACCEPTED = [
    TEST_PASSWORD,
    DEMO_PASSWORD,
    "a long enough secret",
    "Ma grand-mère fait du vélo",
    "tortue-bleue-sous-la-pluie",
]


@pytest.mark.parametrize("password", REFUSED)
def test_weak_passwords_are_refused_in_french(password):
    problem = password_problem(password)
    assert problem is not None
    assert "mot de passe" in problem.lower()


@pytest.mark.parametrize("password", ACCEPTED)
def test_the_passwords_in_use_are_accepted(password):
    # The demo's and the test suite's passwords must pass the rules they test.
    assert password_problem(password) is None


def test_the_lists_are_loaded():
    common = common_passwords()
    assert len(common) > 19_000  # Django's 20,000 (deduplicated) and the French ones
    assert {"password", "azertyuiop", "motdepasse", "soleil"} <= common
    assert all(word == word.lower() for word in common)


def test_the_length_is_counted_in_characters():
    assert password_problem("é" * 3 + "tortue-b") is not None  # 11 characters
    assert len("è" * 4 + "tortue-b") == MIN_LENGTH
    assert password_problem("è" * 4 + "tortue-b") is None


def test_a_password_built_on_the_email_is_refused():
    problem = password_problem("claire-vth-2024", "claire@vth.example")
    assert problem is not None and "adresse e-mail" in problem
    assert password_problem("claire-vth-2024", "someone@else.example") is None


@pytest.mark.parametrize("password", ["elevenchars", "qwerty123456", "Marseille2024!"])
def test_create_user_refuses_them(app, session, password):
    org = make_org(session)
    with pytest.raises(AccountError, match="mot de passe"):
        create_user(session, "a@example.org", "A", password, [(org, "caller")])
    assert session.scalar(select(User)) is None


@pytest.mark.parametrize("password", ["elevenchars", "Marseille2024!"])
def test_create_user_command_refuses_them(app, session, password):
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(cli, list(args), input=input, obj=ScriptInfo(create_app=lambda: app))

    assert run("create-org", "vth", "Val Touraine Habitat").exit_code == 0
    result = run("create-user", "a@b.fr", "--org", "vth", "--role", "caller", input=password)
    assert result.exit_code == 1
    assert "Le mot de passe" in result.output or "Ce mot de passe" in result.output
    assert session.scalar(select(User)) is None


def test_set_password_checks_and_ends_the_sessions(app, session, client):
    user = make_user(session, make_org(session))
    session.commit()
    login(client, user.email)
    assert client.get("/").status_code == 200
    with pytest.raises(AccountError, match="plus courants"):
        set_password(session, user, "password1234")
    set_password(session, user, "une toute autre phrase")
    session.commit()
    # The session opened with the old password is over; the new one logs in.
    assert client.get("/").status_code == 302
    login(client, user.email, "une toute autre phrase")
    assert client.get("/").status_code == 200


def test_set_password_command(app, session, client):
    user = make_user(session, make_org(session))
    session.commit()
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(cli, list(args), input=input, obj=ScriptInfo(create_app=lambda: app))

    refused = run("set-password", user.email, input="azertyuiop123\n")
    assert refused.exit_code == 1 and "plus courants" in refused.output
    ok = run("set-password", user.email, input="une toute autre phrase\n")
    assert ok.exit_code == 0, ok.output
    login(client, user.email, "une toute autre phrase")
    unknown = run("set-password", "nobody@example.org", input="une toute autre phrase\n")
    assert unknown.exit_code == 1 and "unknown user" in unknown.output
