"""Login, logout, CSRF, rate limiting and cookie settings."""

import pytest

from tests.conftest import TEST_PASSWORD, csrf_from, login, own_app
from tests.factories import make_org, make_user


@pytest.fixture
def user(session):
    org = make_org(session)
    u = make_user(session, org, "caller")
    session.commit()
    return u


def _post_login(client, email, password, next_=None):
    page = client.get("/login")
    url = "/login" + (f"?next={next_}" if next_ else "")
    return client.post(
        url, data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )


def test_pages_redirect_to_login_when_anonymous(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


def test_wrong_password_is_refused(client, user):
    resp = _post_login(client, user.email, "wrong password!")
    assert resp.status_code == 400
    assert "incorrect" in resp.text
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_message(client, user):
    resp = _post_login(client, "nobody@example.org", TEST_PASSWORD)
    assert resp.status_code == 400
    assert "Adresse e-mail ou mot de passe incorrect" in resp.text


def test_email_is_case_insensitive(client, user):
    assert _post_login(client, user.email.upper(), TEST_PASSWORD).status_code == 302


def test_inactive_user_cannot_log_in(client, session, user):
    user.active = False
    session.commit()
    assert _post_login(client, user.email, TEST_PASSWORD).status_code == 400


def test_deactivated_user_loses_session(client, session, user):
    login(client, user.email)
    assert client.get("/").status_code == 200
    user.active = False
    session.commit()
    assert client.get("/").status_code == 302


def test_password_is_hashed(user):
    assert TEST_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_login_without_csrf_token_is_refused(client, user):
    resp = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_next_only_redirects_locally(client, user):
    resp = _post_login(client, user.email, TEST_PASSWORD, next_="https://evil.example/")
    assert resp.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    resp = _post_login(client, user.email, TEST_PASSWORD, next_="/seniors/")
    assert resp.headers["Location"] == "/seniors/"


def test_logout_needs_post_and_csrf(client, user):
    login(client, user.email)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited(database_url, session, user):
    with own_app(database_url, app={"login_rate_limit": "3 per minute"}) as app:
        client = app.test_client()
        codes = [_post_login(client, user.email, "wrong password!").status_code for _ in range(4)]
        assert codes[:3] == [400, 400, 400]
        assert codes[3] == 429
        # Even the right password is refused while limited: guessing stays slow.
        assert _post_login(client, user.email, TEST_PASSWORD).status_code == 429


def test_production_cookies_are_secure(database_url):
    with own_app(
        database_url,
        app={"env": "production", "secret_key": "0123456789abcdef" * 3},
        # Production refuses the simulator: a Twilio configuration (never called here).
        telephony={
            "backend": "twilio",
            "caller_id": "+33970000000",
            "account_sid": "AC" + "1" * 32,
            "auth_token": "a-token-of-this-test-only",
        },
    ) as app:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
