"""Sessions end on the server; production adds HSTS and refuses a weak secret key."""

import pytest

from outreach.accounts.operations import set_active
from outreach.config import ConfigError, load_config
from tests.conftest import csrf_from, login, own_app
from tests.factories import make_org, make_user

HSTS = "max-age=31536000; includeSubDomains"
PRODUCTION = {
    "app": {"env": "production", "secret_key": "0123456789abcdef" * 3},
    "telephony": {
        "backend": "twilio",
        "caller_id": "+33970000000",
        "account_sid": "AC" + "7" * 32,
        "auth_token": "a-token-of-the-sessions-tests",
    },
}


@pytest.fixture
def user(session):
    u = make_user(session, make_org(session), "manager")
    session.commit()
    return u


def _logout(client):
    page = client.get("/")
    return client.post("/logout", data={"csrf_token": csrf_from(page.text)})


def _replay(app, cookie: str):
    """A client that has only the copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_copied_cookie_stops_working_at_logout(app, client, user):
    login(client, user.email)
    cookie = client.get_cookie("session").value
    assert _replay(app, cookie).get("/").status_code == 200  # the copy works while logged in
    assert _logout(client).status_code == 302
    resp = _replay(app, cookie).get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


def test_logout_ends_the_other_sessions_of_the_user_too(app, user):
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    login(second, user.email)
    _logout(first)
    assert second.get("/").status_code == 302
    # Logging in again opens a new session that works.
    login(second, user.email)
    assert second.get("/").status_code == 200


def test_deactivation_ends_the_session_for_good(app, client, session, user):
    login(client, user.email)
    cookie = client.get_cookie("session").value
    set_active(session, user, False)
    session.commit()
    assert _replay(app, cookie).get("/").status_code == 302
    # Reactivated, the old cookie still does not open a session: logging in again does.
    set_active(session, user, True)
    session.commit()
    assert _replay(app, cookie).get("/").status_code == 302
    login(client, user.email)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("user_id", ["1", "1.x", "x.0", "1.0.0", "99999999999999999999.0", ""])
def test_the_user_loader_refuses_malformed_ids(app, user_id):
    from outreach.web.auth import _load_user

    with app.test_request_context():
        assert _load_user(user_id) is None


def test_the_session_id_carries_the_version(app, user):
    from outreach.web.auth import _load_user

    with app.test_request_context():
        assert user.get_id() == f"{user.id}.{user.session_version}"
        assert _load_user(user.get_id()).id == user.id
        assert _load_user(f"{user.id}.{user.session_version + 1}") is None


def test_production_sends_hsts_on_every_response(database_url):
    with own_app(database_url, **PRODUCTION) as app:
        client = app.test_client()
        for path in ("/login", "/health", "/no-such-page", "/"):
            resp = client.get(path)
            assert resp.headers.get("Strict-Transport-Security") == HSTS, path
        # The other headers stay.
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("env", ["development", "testing"])
def test_no_hsts_outside_production(database_url, env):
    with own_app(database_url, app={"env": env}) as app:
        resp = app.test_client().get("/login")
        assert resp.status_code == 200
        assert "Strict-Transport-Security" not in resp.headers


@pytest.mark.parametrize(
    "key",
    [
        " " * 40,
        "\t" * 40,
        "  short-key-padded-with-spaces                    ",
        "a" * 64,
        "abababababababababababababababab",
    ],
)
def test_production_refuses_a_weak_secret_key(key):
    config = {**PRODUCTION, "app": {**PRODUCTION["app"], "secret_key": key}}
    with pytest.raises(ConfigError, match=r"^app\.secret_key"):
        load_config(config, environ={})


def test_production_refuses_a_secret_key_of_spaces_from_the_environment():
    with pytest.raises(ConfigError, match=r"^app\.secret_key"):
        load_config(
            {k: v for k, v in PRODUCTION.items() if k != "app"} | {"app": {"env": "production"}},
            environ={"SECRET_KEY": " " * 48},
        )


def test_a_generated_secret_key_is_accepted():
    config = load_config(PRODUCTION, environ={})
    assert config["app"]["secret_key"] == PRODUCTION["app"]["secret_key"]
