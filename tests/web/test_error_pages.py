"""Error pages: in French, in the site's layout, with a link home and the right status code;
the Twilio webhooks keep their own plain answers."""

from __future__ import annotations

from html import unescape
from io import BytesIO

import pytest
from sqlalchemy.exc import IntegrityError

from outreach.accounts.models import Organisation
from outreach.db import get_engine, get_session
from outreach.web import errors
from tests.conftest import TEST_PASSWORD, csrf_from, login, make_app
from tests.factories import make_user

SECRET = "Zéphyrine Secret-Senior"


def _is_error_page(resp, code: int, title: str) -> str:
    text = unescape(resp.get_data(as_text=True))
    assert resp.status_code == code, text[:500]
    assert resp.mimetype == "text/html"
    assert '<html lang="fr">' in text or '<html lang="fr' in text
    assert f"Erreur {code}" in text and title in text
    assert 'class="site-header"' in text  # the application's layout
    assert '<a class="button primary" href="/">Revenir à l\'accueil</a>' in text
    return text


@pytest.fixture
def other_app(database_url, app):
    """Another app on the same (emptied) database, built by a test to tweak its settings."""
    made = []

    def build(**overrides):
        new = make_app(database_url, **overrides)
        made.append(new)
        return new

    yield build
    for new in made:
        with new.app_context():
            get_engine().dispose()


def test_404_for_a_logged_in_user_keeps_the_navigation(client, session, caller):
    session.commit()
    login(client, caller.email)
    text = _is_error_page(client.get("/nulle-part"), 404, "Page introuvable")
    assert "Ma file du jour" in text  # the nav is there: the way back is one click


def test_404_for_an_anonymous_visitor(client):
    text = _is_error_page(client.get("/nulle-part"), 404, "Page introuvable")
    assert "Se déconnecter" not in text


def test_another_landlords_record_is_the_same_404(client, session, org, caller):
    session.commit()
    login(client, caller.email)
    _is_error_page(client.get("/seniors/999999"), 404, "Page introuvable")


def test_403_in_french(client, session, org):
    volunteer = make_user(session, org, "volunteer")
    session.commit()
    login(client, volunteer.email)
    text = _is_error_page(client.get("/alertes/"), 403, "Accès refusé")
    assert "demandez-le à votre responsable" in text


def test_405_keeps_the_allow_header(client, session, caller):
    session.commit()
    login(client, caller.email)
    resp = client.get("/logout")
    _is_error_page(resp, 405, "Action impossible depuis cette adresse")
    assert "POST" in resp.headers["Allow"]


def test_400_for_an_expired_form(client, session, caller):
    session.commit()
    login(client, caller.email)
    resp = client.post("/logout", data={"csrf_token": "périmé"})
    _is_error_page(resp, 400, "Le formulaire a expiré")


def test_413_for_an_oversized_post(other_app, session, caller):
    session.commit()
    app = other_app(roster={"max_upload_mb": 1})
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    client = app.test_client()
    login(client, caller.email)
    token = csrf_from(client.get("/").text)
    resp = client.post("/logout", data={"csrf_token": token, "x": "a" * (1024 * 1024 + 1)})
    text = _is_error_page(resp, 413, "Fichier trop volumineux")
    assert "dépasse 1 Mo" in text


def test_429_from_the_login_rate_limit(other_app, session, caller):
    session.commit()
    app = other_app(app={"login_rate_limit": "2 per minute"})
    client = app.test_client()

    def attempt():
        page = client.get("/login")
        return client.post(
            "/login",
            data={"email": caller.email, "password": "faux", "csrf_token": csrf_from(page.text)},
        )

    assert [attempt().status_code for _ in range(2)] == [400, 400]
    text = _is_error_page(attempt(), 429, "Trop de tentatives")
    assert "Attendez une minute" in text
    assert TEST_PASSWORD not in text


def _app_with_a_failing_route(other_app):
    app = other_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not a raise

    @app.get("/essai-erreur")
    def _boom():  # type: ignore[no-untyped-def]
        session = get_session()
        first = Organisation(slug="doublon", name=SECRET)
        session.add(first)
        session.flush()
        # A failed flush leaves the session unusable until it is rolled back.
        session.add(Organisation(slug="doublon", name=SECRET))
        try:
            session.flush()
        except IntegrityError:
            pass
        raise RuntimeError(f"the senior {SECRET} broke everything")

    return app


def test_500_renders_with_a_broken_session_and_no_personal_data(other_app, session, caller):
    session.commit()
    app = _app_with_a_failing_route(other_app)
    client = app.test_client()
    login(client, caller.email)
    resp = client.get("/essai-erreur")
    text = _is_error_page(resp, 500, "Une erreur est survenue")
    assert "appelez le\xa015" in text  # no line break before the number
    assert SECRET not in text and "RuntimeError" not in text and "Traceback" not in text
    # Neither the user's name nor the navigation (which queries the database).
    assert caller.name not in text and "Se déconnecter" not in text
    # Nothing of the failed request was kept, and the next request works.
    session.expire_all()
    assert session.query(Organisation).filter_by(slug="doublon").count() == 0
    assert client.get("/").status_code == 200


def test_500_falls_back_to_a_fixed_page_when_the_layout_fails(
    other_app, session, caller, monkeypatch
):
    session.commit()
    app = _app_with_a_failing_route(other_app)
    client = app.test_client()
    login(client, caller.email)

    def broken(*args, **kwargs):
        raise RuntimeError("template broken")

    monkeypatch.setattr(errors, "_render", broken)
    resp = client.get("/essai-erreur")
    assert resp.status_code == 500
    assert "Une erreur est survenue" in resp.text and "appelez le&nbsp;15" in resp.text
    assert SECRET not in resp.text


def test_the_roster_import_keeps_its_own_413(other_app, session, manager):
    session.commit()
    client = other_app(roster={"max_upload_mb": 1}).test_client()
    login(client, manager.email)
    page = client.get("/seniors/import")
    big = ("x" * (1024 * 1024 + 1)).encode()
    resp = client.post(
        "/seniors/import",
        data={"csrf_token": csrf_from(page.text), "file": (BytesIO(big), "liste.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413
    assert "Importer un fichier de seniors" in resp.text and "trop volumineux" in resp.text


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/twilio/voice/answer", 405),
        ("POST", "/twilio/voice/answer", 403),
        ("POST", "/twilio/nulle-part", 404),
    ],
)
def test_twilio_webhooks_keep_their_plain_answers(client, method, path, code):
    resp = client.open(path, method=method)
    assert resp.status_code == code
    assert "Revenir à l'accueil" not in resp.text and "site-header" not in resp.text
    assert "Content-Security-Policy" not in resp.headers  # not the pages app at all
