"""The listing's rows and columns, without a database: age bands, identities, one row."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from outreach.panel.listing_rows import (
    age_band_of,
    identity_kind,
    parse_age_band,
    parse_listing_row,
)
from outreach.roster.importer import RowError
from outreach.roster.models import Area, HousingType, Sex

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("65-74", "65-74"),
        ("65 à 74 ans", "65-74"),
        ("65–75", "65-74"),
        ("75-84 ans", "75-84"),
        ("85 ans et plus", "85+"),
        ("85+", "85+"),
        ("75 ans et +", "75+"),
        ("Moins de 65 ans", "lt65"),
        ("60-64", "lt65"),
        ("78", "75-84"),
        (78.0, "75-84"),
        ("", None),
    ],
)
def test_age_bands_as_landlords_write_them(text, band):
    assert parse_age_band(text) == band


@pytest.mark.parametrize("text", ["70-80", "65 et plus", "vieux", "1948-1950"])
def test_an_age_band_across_the_quotas_is_refused(text):
    with pytest.raises(RowError, match="tranche d'âge non reconnue"):
        parse_age_band(text)


def test_age_band_of_an_age():
    assert [age_band_of(a) for a in (64, 65, 74, 75, 84, 85)] == [
        "lt65", "65-74", "65-74", "75-84", "75-84", "85+"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Nom", "un nom"),
        ("NOM DE FAMILLE", "un nom"),
        ("Prénom", "un prénom"),
        ("Nom et prénom", "un nom"),
        ("Téléphone portable", "un téléphone"),
        ("Tél. domicile", "un téléphone"),
        ("Téléphone", "un téléphone"),
        ("GSM", "un téléphone"),
        ("Courriel", "une adresse e-mail"),
        ("Adresse e-mail", "une adresse e-mail"),
        ("E-mail", "une adresse e-mail"),
        ("Adresse", "une adresse"),
        ("Rue", "une adresse"),
        ("Nom de la résidence", None),
        ("Nom du bailleur", None),
        ("Nombre de pièces", None),
        ("Commentaire", None),
        ("Type de logement", None),
    ],
)
def test_columns_that_carry_an_identity(header, kind):
    assert identity_kind(header) == kind


def test_a_configured_spelling_of_a_name_is_an_identity():
    assert identity_kind("Patronyme locataire") == "un nom"
    assert identity_kind("Ident", {"last_name": ["Ident"]}) == "un nom"


RAW = {
    "external_ref": "L1",
    "birth_year": "1950",
    "sex": "F",
    "postcode": "2000",  # the leading 0 eaten by a spreadsheet
    "housing_type": "Collectif",
    "area": "Urbain",
    "qpv": "Oui",
    "situation": "en couple",
    "adapted_housing": "",
    "accessible": "oui",
}


def test_one_row_becomes_its_attributes():
    row = parse_listing_row(2, "L1", RAW, TODAY)
    assert row.values == {
        "birth_year": 1950, "age_band": "75-84", "sex": Sex.female, "postcode": "02000",
        "departement": "02", "housing_type": HousingType.collectif, "area": Area.urbain,
        "qpv": True, "lives_alone": False, "adapted": True,
    }  # fmt: skip
    assert not row.date_cut


def test_a_birth_date_keeps_only_its_year_and_empty_means_unknown():
    raw = {"birth_date": datetime(1962, 3, 1), "postcode": "20167", "qpv": "", "sex": ""}
    row = parse_listing_row(3, "L2", raw, TODAY)
    assert row.date_cut and row.values["birth_year"] == 1962
    assert row.values["age_band"] == "lt65" and row.values["departement"] == "2A"
    assert row.values["qpv"] is None and row.values["sex"] is None
    overseas = parse_listing_row(4, "L3", {"age_band": "85+", "postcode": "97400"}, TODAY)
    assert overseas.values["departement"] == "974" and overseas.values["birth_year"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"birth_year": "", "age_band": ""}, "année de naissance ou tranche d'âge manquante"),
        ({"birth_year": "2030"}, "année de naissance impossible : 2030"),
        ({"postcode": ""}, "code postal manquant"),
        ({"postcode": "98000"}, "code postal hors des départements français : 98000"),
        ({"postcode": "ABCDE"}, "code postal invalide : ABCDE"),
        ({"sex": "X"}, "sexe non reconnu : X (F ou H attendu)"),
        ({"situation": "veuve"}, "situation non reconnue : veuve"),
        ({"lives_alone": "oui"}, "« vit seul(e) » et « situation » se contredisent"),
        ({"qpv": "peut-être"}, "QPV : valeur non reconnue"),
    ],
)
def test_a_row_error_says_why(change, reason):
    with pytest.raises(RowError) as exc:
        parse_listing_row(2, "L1", RAW | change, TODAY)
    assert str(exc.value).startswith(reason)


def test_a_reference_with_a_control_character_is_refused():
    with pytest.raises(RowError, match="référence"):
        parse_listing_row(2, "L\x1b1", RAW, TODAY)


@pytest.mark.parametrize(
    ("field", "text", "key", "value"),
    [
        ("qpv", "Hors QPV", "qpv", False),
        ("qpv", "QPV", "qpv", True),
        ("lives_alone", "Seule", "lives_alone", True),
        ("lives_alone", "En couple", "lives_alone", False),
        ("area", "R", "area", Area.rural),
        ("birth_year", "1950.0", "birth_year", 1950),
    ],
)
def test_the_category_written_in_its_own_column_is_understood(field, text, key, value):
    # Exports write "Hors QPV" under QPV, "Seule" under "Vit seul(e)", a year as a number.
    row = parse_listing_row(2, "L1", {**RAW, "situation": "", field: text}, TODAY)
    assert row.values[key] == value
