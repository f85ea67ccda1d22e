"""The columns of a landlord's anonymised listing and the reading of one of its rows.

The listing is read by the roster's readers (``open_roster``) with its own header table,
built on the roster's spellings. Columns that would carry an identity (a name, a phone, an
e-mail, a street address) are never part of that table: they come back as unknown headers
and ``identity_columns`` names them, so that the import refuses the file as a whole. They
are recognised by the roster's spellings (and the configured ones), and by the words of
the header ("Tél. domicile", "Nom et prénom", "Courriel"), since a listing that should not
carry them has no agreed spelling for them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from outreach.roster.guards import bad_text
from outreach.roster.importer import (
    AREAS,
    HOUSING,
    SEXES,
    RowError,
    cell_text,
    parse_choice,
    parse_date,
    parse_postcode,
    parse_yes_no,
)
from outreach.roster.models import Area, HousingType, Sex
from outreach.roster.phones import departement_of
from outreach.roster.readers import DEFAULT_HEADERS, header_key

# Roster fields that identify a person: their columns refuse the file.
IDENTITY_FIELDS = {
    "last_name": "un nom",
    "first_name": "un prénom",
    "emergency_name": "un nom",
    "phone_landline": "un téléphone",
    "phone_mobile": "un téléphone",
    "emergency_phone": "un téléphone",
    "address": "une adresse",
    "referent": "une adresse e-mail",
}
# Roster fields the listing does not use: reported as ignored, like an unknown column.
IGNORED_FIELDS = ("civility", "city", "residence", "floor", "door_code", "access_notes",
                  "canicule_register", "consent", "consent_date", "gir")  # fmt: skip
LISTING_HEADERS: dict[str, tuple[str, ...]] = {
    "external_ref": (
        *DEFAULT_HEADERS["external_ref"],
        "Référence anonymisée",
        "Identifiant anonyme",
        "Pseudonyme",
    ),
    "birth_year": ("Année de naissance", "Année naissance", "Né(e) en", "Année"),
    "birth_date": DEFAULT_HEADERS["birth_date"],
    "age_band": ("Tranche d'âge", "Tranche âge", "Classe d'âge", "Âge"),
    "sex": DEFAULT_HEADERS["sex"],
    "postcode": DEFAULT_HEADERS["postcode"],
    "housing_type": DEFAULT_HEADERS["housing_type"],
    "area": DEFAULT_HEADERS["area"],
    "qpv": DEFAULT_HEADERS["qpv"],
    "lives_alone": DEFAULT_HEADERS["lives_alone"],
    "situation": ("Situation", "Situation familiale", "Composition du foyer", "Seul ou en couple"),
    "adapted_housing": DEFAULT_HEADERS["adapted_housing"],
    "accessible": ("Bâtiment accessible", "Immeuble accessible", "Accessibilité"),
    **{name: DEFAULT_HEADERS[name] for name in IGNORED_FIELDS},
}
AGE_FIELDS = ("birth_year", "birth_date", "age_band")

# The words of a header that say it carries an identity (accents and case removed).
NAME_WORDS = {"nom", "noms", "prenom", "prenoms", "patronyme"}
# "Nom de la résidence", "Nom du bailleur": the name of a place or an organisation.
NOT_A_PERSON = {"residence", "bailleur", "organisme", "programme", "groupe", "agence",
                "commune", "ville", "batiment", "immeuble", "site", "quartier", "operation",
                "ensemble"}  # fmt: skip
PHONE_WORDS = {"portable", "mobile", "gsm", "fixe", "phone"}
MAIL_WORDS = {"mail", "email", "courriel", "mel"}
ADDRESS_WORDS = {"adresse", "adresses", "address", "rue", "voie"}

# Départements of France: metropolitan 01-95 (Corsica 2A/2B), overseas 971-976.
DEPARTEMENTS = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
DEPARTEMENTS |= {str(n) for n in range(971, 977)}

# The age band of a file that gives only "75 ans et plus": the draw's default quotas
# (65-74 / 75+) need no more, and it cannot be split into 75-84 and 85+.
BAND_75_PLUS = "75+"
SITUATIONS = {"seul": True, "seule": True, "personneseule": True, "isole": True, "isolee": True}
SITUATIONS |= {"couple": False, "encouple": False}
# Landlords' exports also write the category itself in a yes/no column ("QPV", "Hors QPV";
# "Seule", "Couple" under "Vit seul(e)") and the zone as one letter.
QPV_WORDS = {"qpv": True, "enqpv": True, "horsqpv": False, "nonqpv": False}
LISTING_AREAS = {**AREAS, "u": Area.urbain, "r": Area.rural}
HOUSING_WORDS = {
    **HOUSING,
    "collective": HousingType.collectif,
    "appartement": HousingType.collectif,
    "individuelle": HousingType.individuel,
    "maison": HousingType.individuel,
}


def identity_kind(header: str, extra: Mapping[str, list[str]] | None = None) -> str | None:
    """What identity a column of this header carries ("un nom"...), or None."""
    key = header_key(header)
    for name, kind in IDENTITY_FIELDS.items():
        spellings = (*DEFAULT_HEADERS[name], *(extra or {}).get(name, ()))
        if key in {header_key(s) for s in spellings}:
            return kind
    words = set(re.findall(r"[a-z0-9]+", header_key_words(header)))
    if words & MAIL_WORDS or any(w.endswith("mail") for w in words):
        return "une adresse e-mail"
    if words & PHONE_WORDS or any(w.startswith("tel") for w in words):
        return "un téléphone"
    if words & NAME_WORDS and not words & NOT_A_PERSON:
        return "un nom"
    if words & ADDRESS_WORDS:
        return "une adresse"
    return None


def header_key_words(text: str) -> str:
    """The header without accents nor case, its words kept apart ("tél. fixe" -> "tel fixe")."""
    return " ".join(header_key(word) for word in re.split(r"[\s'’\-_./()]+", text))


def identity_columns(
    unknown: list[str], extra: Mapping[str, list[str]] | None = None
) -> list[tuple[str, str]]:
    """The headers among ``unknown`` that carry an identity, with what they carry."""
    found = ((name, identity_kind(name, extra)) for name in unknown)
    return [(name, kind) for name, kind in found if kind is not None]


@dataclass
class ListingValues:
    """One valid row: the attributes of its ``ListingRow``."""

    line: int
    reference: str
    values: dict[str, Any]
    date_cut: bool  # a full birth date was given: only its year is kept


def age_band_of(age: int) -> str:
    if age < 65:
        return "lt65"
    if age < 75:
        return "65-74"
    return "75-84" if age < 85 else "85+"


def parse_age_band(value: Any) -> str | None:
    """An age band as landlords write it: "65-74", "65 à 74 ans", "75 ans et plus",
    "85+", "moins de 65 ans", or an age ("78")."""
    text = cell_text(value)
    if not text:
        return None
    numbers = [int(n) for n in re.findall(r"\d+", text)][:3]
    key = header_key(text)
    if len(numbers) == 1 and numbers[0] <= 120:
        n = numbers[0]
        if "moins" in key or "<" in text:
            if n <= 65:
                return "lt65"
        elif "plus" in key or "+" in text or ">" in text:
            if n >= 85:
                return "85+"
            if n >= 75:
                return BAND_75_PLUS
        elif key.isdigit() or key.endswith("ans"):
            return age_band_of(n)
    elif len(numbers) == 2 and numbers[0] < numbers[1] <= 120:
        low, high = numbers
        if high < 65:
            return "lt65"
        for band_low, band_high in ((65, 75), (75, 85)):
            if band_low <= low and high <= band_high:
                return f"{band_low}-{band_high - 1}"
        if low >= 85:
            return "85+"
    raise RowError(
        f"tranche d'âge non reconnue : {text} (65-74, 75-84, 85+, 75+ ou moins de 65 attendu)"
    )


def parse_birth_year(raw: dict[str, Any], this_year: int) -> tuple[int | None, bool]:
    """The birth year of the row and whether it came from a full date."""
    year_text = cell_text(raw.get("birth_year"))
    if year_text:
        # "1950.0": a number column saved from a spreadsheet.
        if (
            not re.fullmatch(r"\d{4}(\.0+)?", year_text)
            or not 1900 <= int(year_text[:4]) <= this_year
        ):
            raise RowError(f"année de naissance impossible : {year_text}")
        return int(year_text[:4]), False
    value = raw.get("birth_date")
    if isinstance(value, str | int | float) and re.fullmatch(r"\d{4}", cell_text(value)):
        raw = {**raw, "birth_year": value, "birth_date": None}  # a year in the date column
        return parse_birth_year(raw, this_year)[0], False
    if isinstance(value, datetime | date) or cell_text(value):
        born = parse_date(value, "date de naissance")
        return (born.year, True) if born else (None, False)
    return None, False


def _yes_no_or(value: Any, label: str, words: Mapping[str, bool]) -> bool | None:
    """Oui/Non, or one of the column's own words ("Hors QPV", "En couple")."""
    key = header_key(cell_text(value))
    return words[key] if key in words else parse_yes_no(value, label)


def parse_listing_row(line: int, ref: str, raw: dict[str, Any], today: date) -> ListingValues:
    """Validate one row; raise RowError with the reason (in French) when it cannot be taken."""
    if reason := bad_text(ref, "référence"):
        raise RowError(reason)
    year, date_cut = parse_birth_year(raw, today.year)
    band = parse_age_band(raw.get("age_band"))
    if year is not None:
        band = age_band_of(today.year - year)  # the age reached this year, as INSEE counts
    if band is None:
        raise RowError("année de naissance ou tranche d'âge manquante")
    postcode = parse_postcode(raw.get("postcode"))
    if postcode is None:
        raise RowError("code postal manquant")
    departement = departement_of(postcode)
    if departement not in DEPARTEMENTS:
        raise RowError(f"code postal hors des départements français : {postcode}")
    sex: Sex | None = parse_choice(raw.get("sex"), SEXES, "sexe non reconnu", "F ou H")
    housing: HousingType | None = parse_choice(
        raw.get("housing_type"), HOUSING_WORDS, "type de logement non reconnu",
        "Collectif ou Individuel",
    )  # fmt: skip
    area: Area | None = parse_choice(
        raw.get("area"), LISTING_AREAS, "zone non reconnue", "Urbain ou Rural"
    )
    alone = _yes_no_or(raw.get("lives_alone"), "vit seul(e)", SITUATIONS)
    situation = parse_choice(
        raw.get("situation"), SITUATIONS, "situation non reconnue", "Seul(e) ou En couple"
    )
    if alone is not None and situation is not None and alone != situation:
        raise RowError("« vit seul(e) » et « situation » se contredisent")
    adapted = [
        parse_yes_no(raw.get("adapted_housing"), "logement adapté"),
        parse_yes_no(raw.get("accessible"), "bâtiment accessible"),
    ]
    values = {
        "birth_year": year,
        "age_band": band,
        "sex": sex,
        "postcode": postcode,
        "departement": departement,
        "housing_type": housing,
        "area": area,
        "qpv": _yes_no_or(raw.get("qpv"), "QPV", QPV_WORDS),
        "lives_alone": alone if alone is not None else situation,
        # Adapted housing or an accessible building: either one counts.
        "adapted": True if True in adapted else (False if False in adapted else None),
    }
    return ListingValues(line, ref, values, date_cut)
