"""CSV export of the roster: filters, format, formula injection, permission, re-import."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.roster.export import HEADERS, neutralise
from outreach.roster.importer import import_roster
from outreach.roster.models import (
    Area,
    ConsentStatus,
    EmergencyContact,
    HousingType,
    LeftReason,
    Senior,
    Sex,
)
from outreach.roster.readers import DEFAULT_HEADERS
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user


@pytest.fixture
def logged(client, session, manager):
    session.commit()
    login(client, manager.email)
    return client


def _searched(client, terms, **filters) -> str:
    """The export URL of the list after a search (the terms are posted, never in a URL)."""
    token = csrf_from(client.get("/seniors/").text)
    resp = client.post("/seniors/", data={"csrf_token": token, "q": terms, **filters})
    assert resp.status_code == 303 and terms not in resp.headers["Location"]
    return "/seniors/export.csv?" + resp.headers["Location"].split("?", 1)[1]


def _rows(resp) -> list[dict[str, str]]:
    text = resp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_file_format(session, org, logged):
    make_senior(session, org, last_name="Aubert", phone_landline="+33247123456")
    session.commit()
    resp = logged.get("/seniors/export.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    header = resp.data.decode("utf-8")[1:].split("\r\n", 1)[0]
    assert header.split(";") == HEADERS
    (row,) = _rows(resp)
    assert row["Nom"] == "Aubert"
    assert row["Téléphone portable"] == "06 12 34 56 78"
    assert row["Téléphone fixe"] == "02 47 12 34 56"
    assert row["Date de naissance"] == "12/03/1940"


def test_headers_are_the_import_headers():
    # The importer must recognise every exported column, or a round trip loses data.
    accepted = {h for spellings in DEFAULT_HEADERS.values() for h in spellings}
    assert set(HEADERS) <= accepted


def test_filters_apply(session, org, logged):
    make_senior(session, org, last_name="Indre", departement="37", lives_alone=True)
    make_senior(session, org, last_name="Loir", departement="41", lives_alone=True)
    make_senior(session, org, last_name="Couple", departement="41", lives_alone=False)
    make_senior(session, org, last_name="Partie", departement="41", lives_alone=True,
                active=False, left_reason=LeftReason.moved)  # fmt: skip
    session.commit()
    names = {r["Nom"] for r in _rows(logged.get("/seniors/export.csv?dep=41&alone=oui"))}
    assert names == {"Loir"}
    names = {r["Nom"] for r in _rows(logged.get(_searched(logged, "indre")))}
    assert names == {"Indre"}
    names = {r["Nom"] for r in _rows(logged.get("/seniors/export.csv?status=all&dep=41"))}
    assert names == {"Loir", "Couple", "Partie"}


def test_export_is_not_paginated(app, session, org, logged):
    app.config["OUTREACH"]["app"]["page_size"] = 2
    for n in range(5):
        make_senior(session, org, last_name=f"Page{n}")
    session.commit()
    assert len(_rows(logged.get("/seniors/export.csv"))) == 5


def test_formula_injection_is_neutralised(session, org, logged):
    make_senior(
        session, org, last_name='=HYPERLINK("http://evil.example","clic")', first_name="+1",
        address="-2+3", city="@SUM(A1)", residence="\tTab",
    )  # fmt: skip
    session.commit()
    (row,) = _rows(logged.get("/seniors/export.csv"))
    assert row["Nom"] == '\'=HYPERLINK("http://evil.example","clic")'
    assert row["Prénom"] == "'+1"
    assert row["Adresse"] == "'-2+3"
    assert row["Commune"] == "'@SUM(A1)"
    assert row["Résidence"] == "'\tTab"
    # Phones stay usable: national format, nothing to neutralise.
    assert row["Téléphone portable"] == "06 12 34 56 78"


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("Dupont") == "Dupont"
    assert neutralise("") == ""


def test_caller_cannot_export(client, session, org):
    caller = make_user(session, org, "caller")
    make_senior(session, org)
    session.commit()
    login(client, caller.email)
    resp = client.get("/seniors/export.csv")
    assert resp.status_code == 403
    assert "Exporter" not in client.get("/seniors/").text  # no link to a refused page


def test_export_link_keeps_the_filters(session, org, logged):
    session.commit()
    text = logged.get("/seniors/?dep=41&alone=oui").text
    assert "/seniors/export.csv?" in text
    link = text.split("/seniors/export.csv?", 1)[1].split('"', 1)[0]
    assert "dep=41" in link and "alone=oui" in link


def test_other_organisations_are_not_exported(session, org, logged):
    other = make_org(session)
    make_senior(session, org, last_name="Mienne")
    make_senior(session, other, last_name="Etrangere")
    session.commit()
    assert {r["Nom"] for r in _rows(logged.get("/seniors/export.csv?status=all"))} == {"Mienne"}


def test_export_is_audited_with_count_and_filter_names(session, org, manager, logged):
    make_senior(session, org, departement="41")
    make_senior(session, org, departement="41")
    make_senior(session, org, departement="37")
    session.commit()
    assert len(_rows(logged.get(_searched(logged, "jeanne", dep="41")))) == 2
    session.expire_all()
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.user_id, event.organisation_id) == (manager.id, org.id)
    assert event.details["rows"] == 2
    assert set(event.details["filters"]) == {"q", "departement", "status"}
    assert "jeanne" not in str(event.details)  # filter names, not what was searched


def test_export_reimports_unchanged(app, session, org, logged):
    worker = make_user(session, org, "social_worker")
    senior = make_senior(
        session, org, external_ref="RT-1", civility="M.", last_name="Ménard", first_name="René",
        sex=Sex.male, birth_date=date(1938, 7, 14), phone_mobile="+33781223344",
        phone_landline="+442079460958", address="3, rue des Tilleuls", postcode="20090",
        city="Ajaccio", departement="2A", residence="Les Pins", housing_type=HousingType.individuel,
        area=Area.rural, qpv=True, lives_alone=True, adapted_housing=True,
        canicule_register=True, consent_status=ConsentStatus.given,
        consent_date=date(2024, 6, 1), gir=3, referent_id=worker.id, consent_source="import",
    )  # fmt: skip
    senior.emergency_contacts.append(
        EmergencyContact(organisation_id=org.id, name="Paul Ménard", phone="+33699887766")
    )
    make_senior(session, org, external_ref="RT-2", last_name="Simple", consent_source="import")
    session.commit()
    resp = logged.get("/seniors/export.csv")
    rows = _rows(resp)
    assert rows[0]["Téléphone fixe"] == "00 44 20 7946 0958"  # no "+": safe and re-importable
    result = import_roster(
        session, org, io.BytesIO(resp.data), "export.csv", config=app.config["OUTREACH"]
    )
    assert result.rejected == [] and result.unknown_columns == []
    assert (result.imported, result.updated, result.unchanged) == (0, 0, 2)
    session.rollback()
    session.expire_all()
    again = session.scalar(select(Senior).where(Senior.external_ref == "RT-1"))
    assert again.phone_landline == "+442079460958"
