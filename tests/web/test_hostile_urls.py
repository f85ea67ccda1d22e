"""Ids above PostgreSQL's integer answer 404, NUL bytes answer 400 with the French page
(issue 10: both answered 500, the login form included)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from outreach.web.converters import MAX_ID
from tests.conftest import TEST_PASSWORD, csrf_from, login
from tests.factories import make_org, make_senior, make_user

SHOTS = Path("/tmp/shots")
TOO_BIG = [str(MAX_ID + 1), "9" * 30]
ID_ROUTES = [
    "/seniors/{}",
    "/seniors/{}/modifier",
    "/seniors/{}/appel",
    "/file/appel/{}",
    "/alertes/{}",
    "/campagnes/{}",
    "/partenaires/{}/modifier",
    "/appels/{}/corriger",
]


@pytest.fixture
def admin(session):
    org = make_org(session, "hostile", "Bailleur Hostile")
    user = make_user(session, org, "admin")
    make_senior(session, org)
    session.commit()
    return user


def _french_400(resp) -> str:
    text = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400, text[:300]
    assert "Erreur 400" in text and "Caractère non autorisé" in text
    return text


@pytest.mark.parametrize("route", ID_ROUTES)
def test_an_id_above_the_database_integer_is_a_404(client, admin, route):
    login(client, admin.email)
    for value in TOO_BIG:
        resp = client.get(route.format(value))
        assert resp.status_code == 404, (route, value, resp.status_code)
        assert "Page introuvable" in unescape(resp.text)
    # The largest integer is still an id like any other: it names nothing, hence 404 too.
    assert client.get(route.format(MAX_ID)).status_code == 404


def test_no_route_matches_an_id_above_the_database_integer(app):
    """Every ``<int:...>`` of every rule stops at 2**31 - 1, whatever its handler does."""
    from werkzeug.exceptions import NotFound
    from werkzeug.routing import IntegerConverter

    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        if not ints:
            continue
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
        others = {n: 1 for n in rule.arguments}
        assert adapter.match(rule.build(others)[1], method=method)[0] == rule.endpoint
        for name in ints:
            path = rule.build({**others, name: MAX_ID + 1}, append_unknown=False)[1]
            with pytest.raises(NotFound):
                adapter.match(path, method=method)
            checked += 1
    assert checked >= 10


def test_a_post_to_an_id_above_the_integer_is_a_404(client, admin):
    login(client, admin.email)
    token = csrf_from(client.get("/").text)
    # /file/appel/<id> has a GET and a POST rule: still a 404, not a 405.
    for url in (
        f"/file/appel/{MAX_ID + 1}",
        f"/file/appel/{MAX_ID + 1}/prendre",
        f"/alertes/{MAX_ID + 1}/cloture",
        f"/seniors/{MAX_ID + 1}/modifier",
    ):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url


def test_huge_numbers_in_query_strings_do_not_break_pages(client, admin):
    login(client, admin.email)
    for url in (
        f"/file/?campagne={MAX_ID + 1}",
        "/file/?campagne=" + "9" * 30,
        f"/seniors/?page={MAX_ID + 1}",
        f"/seniors/?org={MAX_ID + 1}",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    ["/login?next=%00", "/seniors/?dep=3%007", "/file/?dep=%00", "/alertes/?qui=%00", "/x%00y"],
)
def test_a_nul_byte_in_the_url_is_a_400(client, admin, url):
    login(client, admin.email)
    _french_400(client.get(url))


def test_a_nul_byte_in_the_login_form_is_a_400_for_an_anonymous_visitor(client, admin):
    token = csrf_from(client.get("/login").text)
    for data in (
        {"email": "a\x00@example.org", "password": TEST_PASSWORD},
        {"email": admin.email, "password": "x\x00"},
        {"email": admin.email, "password": TEST_PASSWORD, "ex\x00tra": "1"},
    ):
        _french_400(client.post("/login", data={**data, "csrf_token": token}))
    # Without the NUL the same form logs in: the check refuses nothing else.
    resp = client.post(
        "/login", data={"email": admin.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 302


def test_a_nul_byte_in_an_anonymous_url_is_a_400_not_a_redirect_to_login(client, admin):
    _french_400(client.get("/seniors/?dep=%00"))


def test_a_nul_byte_in_a_form_field_is_a_400_and_changes_nothing(client, session, admin):
    from outreach.roster.models import Senior

    senior = session.query(Senior).one()
    login(client, admin.email)
    page = client.get(f"/seniors/{senior.id}/modifier")
    token = csrf_from(page.text)
    resp = client.post(
        f"/seniors/{senior.id}/modifier",
        data={
            "csrf_token": token,
            "last_name": "Dupont\x00",
            "first_name": "Jeanne",
            "consent_status": "given",
            "preferred_channel": "phone",
            "status": "active",
        },
    )
    _french_400(resp)
    session.expire_all()
    assert session.get(Senior, senior.id).last_name == senior.last_name


def test_a_nul_byte_in_an_uploaded_file_name_is_a_400(client, admin):
    from io import BytesIO

    login(client, admin.email)
    token = csrf_from(client.get("/seniors/import").text)
    resp = client.post(
        "/seniors/import",
        data={"csrf_token": token, "file": (BytesIO(b"Nom;Prenom\n"), "a\x00.csv")},
        content_type="multipart/form-data",
    )
    _french_400(resp)


# ---------------------------------------------------------------- search terms stay out of URLs


def _search(client, terms: str, **filters: str):
    token = csrf_from(client.get("/seniors/").text)
    return client.post("/seniors/", data={"csrf_token": token, "q": terms, **filters})


def _hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'(?:href|action)="([^"]*)"', html)]


@pytest.fixture
def roster(app, session):
    app.config["OUTREACH"]["app"]["page_size"] = 2
    org = make_org(session, "recherche", "Bailleur Recherche")
    manager = make_user(session, org, "manager")
    for first in ("Alice", "Berthe", "Colette"):
        make_senior(session, org, last_name="Zanzibar", first_name=first, departement="41")
    make_senior(session, org, last_name="Zanzibar", first_name="Denise", departement="37")
    make_senior(session, org, last_name="Autre", first_name="Eve", departement="41",
                phone_mobile="+33698765432")  # fmt: skip
    session.commit()
    return manager


def test_a_search_is_posted_and_no_url_of_the_page_holds_the_terms(client, roster):
    login(client, roster.email)
    resp = _search(client, "zanzibar", dep="41", alone="", age="nimporte")
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert "zanzibar" not in location.lower() and "q=" not in location
    assert "dep=41" in location and "age=" not in location  # a forged option stays out
    page = client.get(location)
    text = unescape(page.text)
    assert "3 seniors" in text and "page 1 sur 2" in text
    assert 'value="zanzibar"' in page.text  # the box still shows what was typed
    links = _hrefs(page.text)
    assert not [h for h in links if "zanzibar" in h.lower()]
    # Page 2 and the export keep the search through its id.
    (second,) = [h for h in links if "page=2" in h]
    assert "Colette" in client.get(second).text
    (export,) = [h for h in links if "export.csv" in h]
    rows = client.get(export).get_data(as_text=True)
    assert rows.count("Zanzibar") == 3 and "Autre" not in rows


def test_a_phone_number_searched_is_not_in_the_url_either(client, roster):
    login(client, roster.email)
    resp = _search(client, "06 98 76 54 32")
    assert not re.search(r"\d{2}", resp.headers["Location"].split("recherche=")[0])
    assert ">Autre " in client.get(resp.headers["Location"]).text


def test_the_search_needs_the_csrf_token(client, roster):
    login(client, roster.email)
    assert client.post("/seniors/", data={"q": "zanzibar"}).status_code == 400


def test_terms_in_an_old_bookmark_are_not_searched(client, roster):
    login(client, roster.email)
    text = unescape(client.get("/seniors/?q=zanzibar").text)
    assert "5 seniors" in text and 'value="zanzibar"' not in text


def test_a_search_id_from_another_session_finds_nothing_and_says_so(app, client, roster):
    login(client, roster.email)
    location = _search(client, "zanzibar").headers["Location"]
    other = app.test_client()
    login(other, roster.email)
    text = unescape(other.get(location).text)
    assert "Cette recherche n'est plus disponible" in text
    assert "5 seniors" in text  # the whole list, not someone else's search
    assert "recherche=" not in "".join(_hrefs(other.get(location).text))


def test_each_tab_keeps_its_own_search(client, roster):
    login(client, roster.email)
    first = _search(client, "zanzibar").headers["Location"]
    second = _search(client, "autre").headers["Location"]
    assert "3 seniors" not in client.get(second).text
    assert "4 seniors" in unescape(client.get(first).text)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
def test_the_search_by_keyboard_keeps_the_terms_out_of_the_address_bar(
    page, session, roster, database_url, width
):
    from playwright.sync_api import expect

    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(roster.email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/seniors/")
    page.get_by_label("Département").select_option("41")
    search = page.get_by_label("Rechercher", exact=True)
    search.fill("zanzibar")
    search.press("Enter")  # Enter submits the posted form, as it did the GET one
    expect(page.get_by_text("3 seniors")).to_be_visible()
    assert "zanzibar" not in page.url.lower() and "dep=41" in page.url
    expect(page.get_by_label("Rechercher", exact=True)).to_have_value("zanzibar")
    expect(page.get_by_label("Département")).to_have_value("41")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"roster-search-{width}-{backend}.png"), full_page=True)
    page.get_by_role("link", name="Page suivante →").click()
    expect(page.get_by_role("link", name="Zanzibar Colette")).to_be_visible()
    assert "zanzibar" not in page.url.lower()
    expect(page.get_by_label("Rechercher", exact=True)).to_have_value("zanzibar")
