"""Roster pages: list (search, filters, pagination), senior page, edit form, import page."""

from __future__ import annotations

import html
import io
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.roster.models import ConsentStatus, EmergencyContact, LeftReason, Senior
from outreach.roster.queries import years_before
from tests.conftest import csrf_from, login
from tests.factories import make_senior, make_user


def paris_today() -> date:
    return datetime.now(ZoneInfo("Europe/Paris")).date()


@pytest.fixture
def logged(client, session, caller):
    session.commit()
    login(client, caller.email)
    return client


def _search(client, terms, **filters):
    """The list after typing ``terms`` in the search box: posted, never in the URL."""
    token = csrf_from(client.get("/seniors/").text)
    resp = client.post("/seniors/", data={"csrf_token": token, "q": terms, **filters})
    assert resp.status_code == 303 and terms not in resp.headers["Location"]
    return client.get(resp.headers["Location"])


def _audit(session, action):
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ------------------------------------------------------------------ list: search


def test_search_by_name_ignores_case_and_accents(session, org, logged):
    make_senior(session, org, last_name="Dupré", first_name="Élise")
    make_senior(session, org, last_name="Lenoir", first_name="Paulette")
    session.commit()
    for query in ("dupre", "DUPRÉ", "elise", "Élise Dupré"):
        text = _search(logged, query).text
        assert "Dupré" in text, query
        assert "Lenoir" not in text, query
    text = _search(logged, "paul").text
    assert "Lenoir" in text and "Dupré" not in text


def test_search_by_reference(session, org, logged):
    make_senior(session, org, external_ref="LOC-4711", last_name="Quintard")
    make_senior(session, org, external_ref="LOC-9000", last_name="Rabier")
    session.commit()
    text = _search(logged, "loc-4711").text
    assert "Quintard" in text and "Rabier" not in text


@pytest.mark.parametrize(
    "typed",
    ["06 12 34 56 78", "0612345678", "06.12.34.56.78", "+33 6 12 34 56 78", "+33612345678",
     "33612345678", "06 12 34"],
)  # fmt: skip
def test_search_by_phone_in_any_format(session, org, logged, typed):
    make_senior(session, org, last_name="Sauvage", phone_mobile="+33612345678")
    make_senior(session, org, last_name="Tessier", phone_mobile="+33698765432")
    session.commit()
    text = _search(logged, typed).text
    assert "Sauvage" in text
    assert "Tessier" not in text


def test_search_finds_landline(session, org, logged):
    make_senior(session, org, last_name="Vallet", phone_mobile=None, phone_landline="+33247123456")
    make_senior(session, org, last_name="Weber")
    session.commit()
    text = _search(logged, "02 47 12 34 56").text
    assert "Vallet" in text and "Weber" not in text
    assert "02 47 12 34 56" in text  # shown in the national format


# ------------------------------------------------------------------ list: filters


def test_filter_departement(session, org, logged):
    make_senior(session, org, last_name="Abadie", postcode="37000", departement="37")
    make_senior(session, org, last_name="Bernier", postcode="41000", departement="41")
    session.commit()
    text = logged.get("/seniors/", query_string={"dep": "41"}).text
    assert "Bernier" in text and "Abadie" not in text


def test_filter_age_bands(session, org, logged):
    today = paris_today()
    ages = {"Agesoixante": 60, "Agesoixantecinq": 65, "Agesoixantedix": 72, "Agequatrevingt": 80}
    ages["Agequatrevingtdix"] = 91
    for name, age in ages.items():
        born = years_before(today, age) - timedelta(days=0 if age == 65 else 40)
        make_senior(session, org, last_name=name, birth_date=born)
    make_senior(session, org, last_name="Sansdate", birth_date=None)
    session.commit()
    expected = {
        "lt65": {"Agesoixante"},
        "65-74": {"Agesoixantecinq", "Agesoixantedix"},  # 65 today is in the 65-74 band
        "75-84": {"Agequatrevingt"},
        "85+": {"Agequatrevingtdix"},
    }
    for band, names in expected.items():
        text = logged.get("/seniors/", query_string={"age": band}).text
        shown = {n for n in [*ages, "Sansdate"] if f">{n} " in text}
        assert shown == names, band


def test_filter_lives_alone_canicule_consent(session, org, logged):
    make_senior(session, org, last_name="Seule", lives_alone=True)
    make_senior(session, org, last_name="Canicule", canicule_register=True)
    make_senior(session, org, last_name="Refus", consent_status=ConsentStatus.refused)
    session.commit()

    def shown(**args):
        text = logged.get("/seniors/", query_string=args).text
        return {n for n in ("Seule", "Canicule", "Refus") if f">{n} " in text}

    assert shown(alone="oui") == {"Seule"}
    assert shown(alone="non") == {"Canicule", "Refus"}
    assert shown(canicule="oui") == {"Canicule"}
    assert shown(consent="refused") == {"Refus"}
    assert shown(consent="given") == {"Seule", "Canicule"}
    assert shown(alone="non", canicule="non") == {"Refus"}


def test_filter_active_and_left(session, org, logged):
    make_senior(session, org, last_name="Presente")
    make_senior(session, org, last_name="Partie", active=False, left_reason=LeftReason.moved)
    session.commit()
    assert "Partie" not in logged.get("/seniors/").text  # the default: followed seniors
    text = logged.get("/seniors/", query_string={"status": "left"}).text
    assert "Partie" in text and "Presente" not in text
    text = logged.get("/seniors/", query_string={"status": "all"}).text
    assert "Partie" in text and "Presente" in text


def test_bad_filter_values_are_ignored_not_errors(session, org, logged):
    make_senior(session, org, last_name="Robuste")
    session.commit()
    resp = logged.get("/seniors/", query_string={"age": "x", "consent": "?", "page": "abc"})
    assert resp.status_code == 200
    assert "Robuste" in resp.text


# ------------------------------------------------------------------ list: pagination


def test_pagination_sorted_by_name(app, session, org, logged):
    app.config["OUTREACH"]["app"]["page_size"] = 2
    for name in ("Eloi", "Carre", "Albert", "Dumas", "Bastide"):
        make_senior(session, org, last_name=name)
    session.commit()
    first = logged.get("/seniors/").text
    assert "5 seniors" in first
    assert "page 1 sur 3" in first
    assert first.index(">Albert ") < first.index(">Bastide ")
    assert "Carre" not in first
    third = logged.get("/seniors/", query_string={"page": 3}).text
    assert ">Eloi " in third and "Albert" not in third
    assert "page 3 sur 3" in third
    # Past the end: the last page rather than an empty one.
    assert ">Eloi " in logged.get("/seniors/", query_string={"page": 99}).text


def test_pagination_links_keep_the_filters(app, session, org, logged):
    app.config["OUTREACH"]["app"]["page_size"] = 1
    make_senior(session, org, last_name="Alpha", lives_alone=True)
    make_senior(session, org, last_name="Beta", lives_alone=True)
    session.commit()
    text = logged.get("/seniors/", query_string={"alone": "oui"}).text
    assert "alone=oui" in text.split("Page suivante")[0].rsplit("href=", 1)[1]


# ------------------------------------------------------------------ access


def test_other_organisation_is_invisible(session, org, other_org, logged):
    mine = make_senior(session, org, last_name="Mienne")
    theirs = make_senior(session, other_org, last_name="Etrangere", phone_mobile="+33611111111")
    session.commit()
    text = logged.get("/seniors/", query_string={"status": "all"}).text
    assert "Mienne" in text and "Etrangere" not in text
    assert "Etrangere" not in _search(logged, "06 11 11 11 11").text
    assert logged.get(f"/seniors/{theirs.id}").status_code == 404
    assert logged.get(f"/seniors/{theirs.id}/modifier").status_code == 404
    page = logged.get(f"/seniors/{mine.id}/modifier").text
    resp = logged.post(
        f"/seniors/{theirs.id}/modifier",
        data={"csrf_token": csrf_from(page), "last_name": "Pirate", "first_name": "X"},
    )
    assert resp.status_code == 404
    session.expire_all()
    assert session.get(Senior, theirs.id).last_name == "Etrangere"


def test_volunteer_gets_403(client, session, org):
    volunteer = make_user(session, org, "volunteer")
    senior = make_senior(session, org)
    session.commit()
    login(client, volunteer.email)
    for url in ("/seniors/", f"/seniors/{senior.id}", f"/seniors/{senior.id}/modifier",
                "/seniors/export.csv", "/seniors/import"):  # fmt: skip
        assert client.get(url).status_code == 403, url


def test_organisation_column_only_with_several_organisations(
    client, session, org, other_org, caller
):
    make_senior(session, org, last_name="Premiere")
    make_senior(session, other_org, last_name="Seconde")
    session.commit()
    login(client, caller.email)
    assert "Touraine Logement" not in client.get("/seniors/").text
    from outreach.accounts.operations import add_membership

    add_membership(session, caller, other_org, "caller")
    session.commit()
    text = client.get("/seniors/").text
    assert "Touraine Logement" in text and "Autre Bailleur" in text
    assert "Premiere" in text and "Seconde" in text


# ------------------------------------------------------------------ senior page


def test_senior_page_shows_details_and_records_a_view(session, org, caller, logged):
    senior = make_senior(
        session, org, last_name="Girard", phone_landline="+33247123456", lives_alone=True,
        canicule_register=True, consent_date=date(2024, 5, 2), consent_source="visite",
    )  # fmt: skip
    senior.emergency_contacts.append(
        EmergencyContact(organisation_id=org.id, name="Luc Girard", relation="fils",
                         phone="+33699887766")
    )  # fmt: skip
    session.commit()
    resp = logged.get(f"/seniors/{senior.id}")
    assert resp.status_code == 200
    text = resp.text
    assert 'href="tel:+33612345678"' in text and "06 12 34 56 78" in text
    assert 'href="tel:+33247123456"' in text
    assert "Luc Girard" in text and "06 99 88 77 66" in text
    assert "02/05/2024" in text and "visite" in text
    assert "Historique" in text
    assert "Aucun appel enregistré pour l'instant." in html.unescape(text)
    events = _audit(session, "view")
    assert [(e.entity, e.entity_id, e.user_id) for e in events] == [
        ("senior", senior.id, caller.id)
    ]
    assert not events[0].details  # no personal value in the trail
    logged.get(f"/seniors/{senior.id}")
    assert len(_audit(session, "view")) == 2


def test_unknown_senior_is_404(logged):
    assert logged.get("/seniors/999999").status_code == 404


# ------------------------------------------------------------------ edit


class _FormReader(HTMLParser):
    """Collects what a browser would submit for the page's form as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "y"
            elif a.get("type") != "file":
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first_option = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self.values.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _form_values(page_html: str, **changes) -> dict:
    """The values the edit page pre-fills, as a browser would submit them, with changes."""
    reader = _FormReader()
    reader.feed(page_html)
    data = {k: v for k, v in reader.values.items() if k != "q"}
    data.update(changes)
    return data


def test_edit_page_is_prefilled(session, org, logged):
    senior = make_senior(session, org, last_name="Hamon", gir=4, lives_alone=True)
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    values = _form_values(page)
    assert values["last_name"] == "Hamon"
    assert values["phone_mobile"] == "06 12 34 56 78"
    assert values["gir"] == "4"
    assert values["lives_alone"] == "y"
    assert values["consent_status"] == "given"
    for label in ("Nom", "Téléphone portable", "Code postal", "GIR (si connu)"):
        assert f">{label}</label>" in page
    # Python's None must never leak into ARIA attributes (read as "invalid" by screen readers).
    assert '="None"' not in page


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"phone_mobile": "06 12"}, "Numéro de téléphone invalide"),
        ({"phone_mobile": "02 47 12 34 56"}, "pas un portable"),
        ({"birth_date": "2999-01-01"}, "ne peut pas être dans le futur"),
        ({"birth_date": "1850-01-01"}, "après 1900"),
        ({"gir": "9"}, "Le GIR est un chiffre de 1 à 6."),
        ({"postcode": "370"}, "Le code postal doit comporter 5 chiffres"),
        ({"last_name": ""}, "Le nom est obligatoire."),
        ({"status": "left", "left_reason": ""}, "Indiquez le motif du départ."),
        ({"ec_phone": "06 11 22 33 44", "ec_name": ""}, "Indiquez le nom du contact"),
        ({"referent_id": "987654"}, "choix valide"),
    ],
)
def test_edit_validation_errors_change_nothing(session, org, logged, changes, message):
    senior = make_senior(session, org, last_name="Inchange", postcode="37000", gir=2)
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    data = _form_values(page, first_name="Autre", **changes)
    resp = logged.post(f"/seniors/{senior.id}/modifier", data=data)
    assert resp.status_code == 400
    assert message in resp.text
    assert "La fiche n'a pas été enregistrée" in html.unescape(resp.text)
    assert 'aria-invalid="true"' in resp.text
    session.expire_all()
    again = session.get(Senior, senior.id)
    assert (again.first_name, again.last_name, again.gir) == ("Jeanne", "Inchange", 2)
    assert again.phone_mobile == "+33612345678"
    assert _audit(session, "update") == []


def test_successful_edit_normalises_and_audits_field_names(session, org, caller, logged):
    worker = make_user(session, org, "social_worker")
    senior = make_senior(session, org, last_name="Jourdan", postcode="37000", departement="37")
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    data = _form_values(
        page, phone_mobile="07 81 22 33 44", postcode="41000", city="Blois",
        referent_id=str(worker.id), ec_name="Marc Jourdan", ec_relation="fils",
        ec_phone="06.99.88.77.66",
    )  # fmt: skip
    resp = logged.post(f"/seniors/{senior.id}/modifier", data=data)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/seniors/{senior.id}")
    shown = logged.get(resp.headers["Location"]).text
    assert "Modifications enregistrées." in shown
    assert "07 81 22 33 44" in shown
    session.expire_all()
    again = session.get(Senior, senior.id)
    assert again.phone_mobile == "+33781223344"
    assert (again.postcode, again.departement, again.city) == ("41000", "41", "Blois")
    assert again.referent_id == worker.id
    contact = again.emergency_contacts[0]
    assert (contact.name, contact.phone) == ("Marc Jourdan", "+33699887766")
    (event,) = _audit(session, "update")
    assert (event.entity, event.entity_id, event.user_id) == ("senior", senior.id, caller.id)
    fields = event.details["fields"]
    assert {"phone_mobile", "postcode", "departement", "city", "referent_id"} <= set(fields)
    assert "emergency_contact.phone" in fields
    # Field names only: no value of the senior in the trail.
    assert "33781223344" not in str(event.details) and "Blois" not in str(event.details)


def test_edit_without_changes_writes_no_audit(session, org, logged):
    senior = make_senior(session, org)
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    resp = logged.post(f"/seniors/{senior.id}/modifier", data=_form_values(page))
    assert resp.status_code == 302
    assert "Aucune modification" in logged.get(resp.headers["Location"]).text
    assert _audit(session, "update") == []


def test_marking_a_departure(session, org, logged):
    senior = make_senior(session, org)
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    data = _form_values(page, status="left", left_reason="ehpad", left_on="2025-01-15")
    assert logged.post(f"/seniors/{senior.id}/modifier", data=data).status_code == 302
    session.expire_all()
    again = session.get(Senior, senior.id)
    assert (again.active, again.left_reason, again.left_on) == (
        False, LeftReason.ehpad, date(2025, 1, 15)
    )  # fmt: skip


def test_post_without_csrf_token_is_refused(session, org, logged):
    senior = make_senior(session, org, last_name="Kervella")
    session.commit()
    page = logged.get(f"/seniors/{senior.id}/modifier").text
    data = _form_values(page, last_name="Pirate")
    del data["csrf_token"]
    resp = logged.post(f"/seniors/{senior.id}/modifier", data=data)
    assert resp.status_code == 400
    session.expire_all()
    assert session.get(Senior, senior.id).last_name == "Kervella"
    assert _audit(session, "update") == []


# ------------------------------------------------------------------ import page


@pytest.fixture
def manager_client(client, session, org):
    manager = make_user(session, org, "manager")
    session.commit()
    login(client, manager.email)
    return client


CSV_OK = (
    "Référence;Nom;Prénom;Téléphone portable;Code postal\n"
    "IMP-1;Lambert;Odette;06 12 34 56 78;37000\n"
    "IMP-2;Moreau;Rene;06 12;37000\n"
).encode()


def _upload(client, content: bytes, filename: str, dry_run: bool = False):
    page = client.get("/seniors/import").text
    data = {"csrf_token": csrf_from(page), "file": (io.BytesIO(content), filename)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/seniors/import", data=data, content_type="multipart/form-data")


def _refs(session):
    session.expire_all()
    return set(session.scalars(select(Senior.external_ref)))


def test_import_page_needs_permission(logged):
    assert logged.get("/seniors/import").status_code == 403  # a caller cannot import


def test_import_dry_run_changes_nothing(session, manager_client):
    resp = _upload(manager_client, CSV_OK, "locataires.csv", dry_run=True)
    assert resp.status_code == 200
    assert "Résultat de la simulation" in resp.text
    assert "IMP-2" in resp.text and "téléphone portable invalide" in resp.text
    assert _refs(session) == set()


def test_import_real_run_reports_rejected_rows(session, manager_client):
    resp = _upload(manager_client, CSV_OK, "locataires.csv")
    assert resp.status_code == 200
    assert "Résultat de l'import" in html.unescape(resp.text)
    assert '<th scope="row">3</th>' in resp.text  # line 3 of the file is refused
    assert _refs(session) == {"IMP-1"}


def test_import_reports_unknown_columns(session, manager_client):
    content = "Référence;Nom;Couleur préférée\nIMP-9;Noel;bleu\n".encode()
    resp = _upload(manager_client, content, "x.csv")
    assert resp.status_code == 200
    assert "Colonnes non reconnues" in resp.text and "Couleur préférée" in resp.text


def test_import_fatal_error_is_400_and_changes_nothing(session, manager_client):
    resp = _upload(manager_client, "Nom;Prénom\nDurand;Anne\n".encode(), "sans-ref.csv")
    assert resp.status_code == 400
    assert "aucune colonne « Référence »" in resp.text
    assert _refs(session) == set()


def test_import_refuses_other_formats(session, manager_client):
    resp = _upload(manager_client, b"%PDF-1.4", "roster.pdf")
    assert resp.status_code == 400
    assert "CSV ou XLSX" in resp.text


def test_import_too_large_gets_a_friendly_message(app, session, manager_client):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    resp = _upload(manager_client, b"x" * 5000, "gros.csv")
    assert resp.status_code == 413
    assert "trop volumineux" in resp.text
    assert _refs(session) == set()


def test_import_into_a_chosen_organisation(session, org, other_org, client):
    manager = make_user(session, org, "manager")
    from outreach.accounts.operations import add_membership

    add_membership(session, manager, other_org, "manager")
    session.commit()
    login(client, manager.email)
    page = client.get("/seniors/import").text
    assert "Autre Bailleur" in page  # a choice appears with several organisations
    data = {
        "csrf_token": csrf_from(page),
        "organisation": str(other_org.id),
        "file": (io.BytesIO(CSV_OK), "l.csv"),
    }
    resp = client.post("/seniors/import", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200
    session.expire_all()
    assert session.scalar(select(Senior.organisation_id)) == other_org.id


def test_import_cannot_target_a_foreign_organisation(session, other_org, manager_client):
    page = manager_client.get("/seniors/import").text
    data = {
        "csrf_token": csrf_from(page),
        "organisation": str(other_org.id),
        "file": (io.BytesIO(CSV_OK), "l.csv"),
    }
    resp = manager_client.post("/seniors/import", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert _refs(session) == set()


def test_history_shows_entries_from_providers(monkeypatch, session, org, logged):
    from outreach.web import roster

    senior = make_senior(session, org)
    session.commit()
    at = datetime(2025, 7, 1, 8, 30, tzinfo=ZoneInfo("UTC"))

    def calls(_session, s):
        return [roster.HistoryEntry(at=at, label="Appel de courtoisie", detail=f"fiche {s.id}")]

    monkeypatch.setattr(roster, "HISTORY_PROVIDERS", [calls])
    text = logged.get(f"/seniors/{senior.id}").text
    assert "Appel de courtoisie" in text and f"fiche {senior.id}" in text
    assert "01/07/2025 10:30" in text  # shown in Europe/Paris time
    assert "Aucun appel enregistré" not in text
