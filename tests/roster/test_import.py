"""Roster import: validation, upsert by reference, batches, audit (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.roster.importer import FatalImportError, RejectedRow, import_roster
from outreach.roster.models import ConsentStatus, EmergencyContact, Senior
from tests.factories import make_org, make_senior, make_user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


@pytest.fixture(autouse=True)
def _app_context(app):
    # The importer reads nothing from Flask, but run() below takes the configuration from
    # current_app; these tests make no HTTP request, so one context for the test is fine.
    with app.app_context():
        yield


@pytest.fixture
def org(session):
    return make_org(session, "bailleur-test")


@pytest.fixture
def referent(session, org):
    return make_user(session, org, "social_worker", email="referente@example.org")


def run(session, org, name: str, data: bytes | None = None, **kwargs: Any):
    from flask import current_app

    config = kwargs.pop("config", current_app.config["OUTREACH"])
    stream = io.BytesIO(data) if data is not None else (FIXTURES / name).open("rb")
    with stream:
        return import_roster(session, org, stream, name, config=config, **kwargs)


def seniors(session, org) -> dict[str, Senior]:
    rows = session.scalars(select(Senior).where(Senior.organisation_id == org.id))
    return {s.external_ref: s for s in rows}


FIELDS = (
    "civility", "last_name", "first_name", "birth_date", "sex", "phone_landline",
    "phone_mobile", "address", "postcode", "city", "departement", "residence", "housing_type",
    "area", "qpv", "lives_alone", "adapted_housing", "canicule_register", "consent_status",
    "consent_phone", "consent_sms", "consent_source", "consent_date", "gir", "referent_id",
)  # fmt: skip


def snapshot(session, org) -> dict[str, dict[str, Any]]:
    out = {}
    for ref, s in seniors(session, org).items():
        values = {f: getattr(s, f) for f in FIELDS}
        values["contacts"] = [(c.name, c.phone) for c in s.emergency_contacts]
        out[ref] = values
    return out


def expected(referent_id: int) -> dict[str, dict[str, Any]]:
    return {
        "T001": dict(
            civility="Mme", last_name="Lefèvre", first_name="Hélène",
            birth_date=date(1941, 3, 12), sex="F", phone_landline="+33247123456",
            phone_mobile="+33612345678", address="12, rue de l’Église", postcode="37000",
            city="Tours", departement="37", residence="Les Rives du Cher",
            housing_type="collectif", area="urbain", qpv=True, lives_alone=True,
            adapted_housing=False, canicule_register=True, consent_status="given",
            consent_phone=True, consent_sms=True, consent_source="import",
            consent_date=date(2024, 1, 5), gir=4, referent_id=referent_id,
            contacts=[("Bernard Lefèvre", "+33698765432")],
        ),
        "T002": dict(
            civility="M.", last_name="Dupré", first_name="François",
            birth_date=date(1938, 11, 30), sex="H", phone_landline=None,
            phone_mobile="+33755443322", address="3 allée des Sèvres", postcode="20090",
            city="Ajaccio", departement="2A", residence=None, housing_type="individuel",
            area="rural", qpv=False, lives_alone=False, adapted_housing=True,
            canicule_register=False, consent_status="refused", consent_phone=False,
            consent_sms=False, consent_source="import", consent_date=None, gir=None,
            referent_id=None, contacts=[],
        ),
        "T003": dict(
            civility="Mme", last_name="Cœur", first_name="Agnès", birth_date=date(1935, 7, 1),
            sex="F", phone_landline="+33145678910", phone_mobile=None,
            address="Résidence Bellevue, bât. B", postcode="97400", city="Saint-Denis",
            departement="974", residence="Bellevue", housing_type="collectif", area="urbain",
            qpv=True, lives_alone=True, adapted_housing=False, canicule_register=False,
            consent_status="unknown", consent_phone=False, consent_sms=False,
            consent_source=None, consent_date=None, gir=6, referent_id=None, contacts=[],
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "name", ["utf8.csv", "utf8_bom.csv", "cp1252.csv", "comma.csv", "roster.xlsx"]
)
def test_every_format_imports_every_field(session, org, referent, name):
    result = run(session, org, name)
    assert result.summary() == "imported 3, updated 0, unchanged 0, rejected 0"
    assert result.rejected == [] and result.unknown_columns == []
    session.expire_all()
    assert snapshot(session, org) == expected(referent.id)


def test_second_import_changes_nothing(session, org, referent):
    run(session, org, "utf8.csv")
    session.expire_all()
    before = {ref: s.updated_at for ref, s in seniors(session, org).items()}
    result = run(session, org, "utf8.csv")
    assert result.summary() == "imported 0, updated 0, unchanged 3, rejected 0"
    session.expire_all()
    assert {ref: s.updated_at for ref, s in seniors(session, org).items()} == before
    assert session.scalar(select(func.count()).select_from(EmergencyContact)) == 1


def test_xlsx_then_csv_of_the_same_roster_is_unchanged(session, org, referent):
    run(session, org, "roster.xlsx")
    result = run(session, org, "cp1252.csv")
    assert (result.imported, result.updated, result.unchanged) == (0, 0, 3)


def test_a_changed_value_updates_only_that_senior(session, org, referent):
    run(session, org, "utf8.csv")
    data = (FIXTURES / "utf8.csv").read_bytes().replace(b"06 12 34 56 78", b"06 00 00 00 01")
    result = run(session, org, "changed.csv", data)
    assert (result.imported, result.updated, result.unchanged) == (0, 1, 2)
    session.expire_all()
    assert seniors(session, org)["T001"].phone_mobile == "+33600000001"


def test_empty_cells_keep_stored_values_and_missing_seniors_stay(session, org, referent):
    kept = make_senior(session, org, external_ref="GONE")
    # Staff recorded a mobile and a consent that the landlord's file does not carry.
    make_senior(session, org, external_ref="T003", last_name="Cœur", gir=3,
                phone_mobile="+33611111111", consent_status=ConsentStatus.given)  # fmt: skip
    run(session, org, "utf8.csv")
    session.expire_all()
    rows = seniors(session, org)
    assert rows["GONE"].id == kept.id and rows["GONE"].active
    t003 = rows["T003"]
    assert t003.phone_mobile == "+33611111111"
    assert t003.consent_status == ConsentStatus.given
    assert t003.gir == 6  # a value in the file does replace the stored one
    # Yes/no columns: an empty cell means "Non".
    assert t003.adapted_housing is False


CONSENT_FILE = "Référence;Nom;Consentement\nC1;Un;{}\nC2;Deux;{}\nC3;Trois;{}\nC4;Quatre;{}\n"


def consent_of(session, org) -> dict[str, tuple]:
    session.expire_all()
    return {
        ref: (s.consent_status.value, s.consent_phone, s.consent_sms, s.consent_source)
        for ref, s in seniors(session, org).items()
    }


def test_consent_from_the_file_never_overrides_a_stop_recorded_in_the_application(session, org):
    stored = {
        "C1": (ConsentStatus.given, "appel"),  # a file "Non" is a refusal: applied at once
        "C2": (ConsentStatus.withdrawn, "sms STOP"),  # sticky against "Oui" ...
        "C3": (ConsentStatus.withdrawn, "appel"),  # ... and against "Non"
        "C4": (ConsentStatus.refused, "appel"),  # refused on a call: a file cannot re-grant
    }
    for ref, (status, source) in stored.items():
        given = status == ConsentStatus.given
        make_senior(session, org, external_ref=ref, last_name="X", consent_status=status,
                    consent_source=source, consent_phone=given, consent_sms=given)  # fmt: skip
    data = CONSENT_FILE.format("Non", "Oui", "Non", "Oui").encode()
    result = run(session, org, "c.csv", data)
    assert (result.updated, result.unchanged) == (4, 0)  # the names changed in every row
    assert consent_of(session, org) == {
        "C1": ("refused", False, False, "import"),
        "C2": ("withdrawn", False, False, "sms STOP"),
        "C3": ("withdrawn", False, False, "appel"),
        "C4": ("refused", False, False, "appel"),
    }


def test_consent_from_the_file_updates_what_an_import_set(session, org):
    run(session, org, "c.csv", CONSENT_FILE.format("Non", "Non", "", "Oui").encode())
    assert consent_of(session, org) == {
        "C1": ("refused", False, False, "import"),
        "C2": ("refused", False, False, "import"),
        "C3": ("unknown", False, False, None),
        "C4": ("given", True, True, "import"),
    }
    # Staff turned SMS off for C4 who still agrees to calls: "Oui" again keeps that.
    seniors(session, org)["C4"].consent_sms = False
    session.flush()
    result = run(session, org, "c.csv", CONSENT_FILE.format("Oui", "", "Oui", "Oui").encode())
    assert (result.updated, result.unchanged) == (2, 2)
    assert consent_of(session, org) == {
        "C1": ("given", True, True, "import"),  # an earlier file's refusal, now agreed
        "C2": ("refused", False, False, "import"),  # empty changes nothing
        "C3": ("given", True, True, "import"),
        "C4": ("given", True, False, "import"),
    }


def test_emergency_contact_updates_the_first_one_only(session, org, referent):
    senior = make_senior(session, org, external_ref="T001", last_name="Lefèvre")
    for name in ("Ancien contact", "Voisine"):
        session.add(EmergencyContact(organisation_id=org.id, senior_id=senior.id, name=name))
    session.flush()
    run(session, org, "utf8.csv")
    session.expire_all()
    contacts = seniors(session, org)["T001"].emergency_contacts
    assert [(c.name, c.phone) for c in contacts] == [
        ("Bernard Lefèvre", "+33698765432"),
        ("Voisine", None),
    ]


def test_every_phone_format(session, org):
    result = run(session, org, "phones.csv")
    assert result.rejected == []
    rows = seniors(session, org)
    assert {ref: (s.phone_mobile, s.phone_landline) for ref, s in rows.items()} == {
        "P001": ("+33612345678", "+33123456789"),
        "P002": ("+33612345679", "+33123456788"),
        "P003": ("+33612345680", "+33123456787"),
        "P004": ("+33612345681", "+33123456786"),
        "P005": ("+33612345682", "+33123456785"),
        "P006": ("+33612345683", "+33123456784"),
        "P007": ("+32470123456", "+442079460958"),
    }


def test_both_date_formats(session, org):
    result = run(session, org, "dates.csv")
    assert result.rejected == []
    for senior in seniors(session, org).values():
        assert (senior.birth_date, senior.consent_date) == (date(1941, 3, 12), date(2024, 1, 5))


def test_bad_rows_are_rejected_with_line_and_reason(session, org, referent):
    result = run(session, org, "bad_rows.csv")
    assert result.rejected == [
        RejectedRow(4, None, "référence manquante"),
        RejectedRow(5, "B003", "nom manquant"),
        RejectedRow(6, "B004", "date de naissance impossible : 31/02/1941"),
        RejectedRow(8, "B005", "téléphone portable invalide : 06 12 34"),
        RejectedRow(9, "B001", "référence en double (déjà présente ligne 2)"),
        RejectedRow(10, "B007", "GIR invalide : 9 (1 à 6 attendu)"),
        RejectedRow(
            11, "B008", "référent inconnu : inconnu@example.org (pas membre de l'organisation)"
        ),
    ]
    assert (result.imported, result.updated, result.unchanged) == (2, 0, 0)
    rows = seniors(session, org)
    assert set(rows) == {"B001", "B009"}
    # The first occurrence of the duplicated reference is the one kept.
    assert rows["B001"].last_name == "Valide"
    assert rows["B001"].address == "Résidence Les Tilleuls Escalier B"


def test_referent_of_another_organisation_is_unknown(session, org):
    make_user(session, make_org(session), "social_worker", email="referente@example.org")
    result = run(session, org, "utf8.csv")
    assert [r.reference for r in result.rejected] == ["T001"]
    assert result.rejected[0].reason.startswith("référent inconnu")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Sexe", "X", "sexe non reconnu : X (F ou H attendu)"),
        ("Zone", "Montagne", "zone non reconnue : Montagne (Urbain ou Rural attendu)"),
        ("QPV", "Peut-être", "QPV : valeur non reconnue « Peut-être » (Oui ou Non attendu)"),
        ("Date de naissance", "1941/03/12", "date de naissance illisible : 1941/03/12"),
        ("Date de naissance", "12/03/2999", "date de naissance impossible : 12/03/2999"),
        ("Code postal", "ABC", "code postal invalide : ABC"),
        ("Téléphone contact d'urgence", "0612345678", "contact d'urgence : nom manquant"),
        ("Prénom", "x" * 121, "prénom trop long (120 caractères au plus)"),
        ("Téléphone fixe", "0612", "téléphone fixe invalide : 0612"),
        ("Téléphone fixe", "3949", "téléphone fixe : numéro surtaxé ou spécial refusé : 3949"),
        ("Adresse", "x" * 251, "adresse trop longue (250 caractères au plus)"),
        ("Type de logement", "Pavillon", "type de logement non reconnu : Pavillon"),
    ],
)
def test_other_reasons(session, org, column, value, reason):
    data = f"Référence;Nom;{column}\nZ1;Martin;{value}\n".encode()
    result = run(session, org, "z.csv", data)
    assert [(r.line, r.reference) for r in result.rejected] == [(2, "Z1")]
    assert result.rejected[0].reason.startswith(reason)
    assert seniors(session, org) == {}


def test_four_digit_postcode_gets_its_leading_zero(session, org):
    run(session, org, "z.csv", "Référence;Nom;CP\nZ1;Martin;1000\n".encode())
    senior = seniors(session, org)["Z1"]
    assert (senior.postcode, senior.departement) == ("01000", "01")


def test_odd_headers(session, org):
    result = run(session, org, "odd_headers.csv")
    assert result.rejected == [] and result.unknown_columns == []
    s = seniors(session, org)["H001"]
    assert (s.last_name, s.first_name, s.birth_date) == ("Moreau", "Éliane", date(1944, 4, 3))
    assert (s.phone_mobile, s.phone_landline) == ("+33611223344", "+33247001122")
    assert (s.postcode, s.city, s.lives_alone, s.canicule_register) == (
        "37100",
        "Tours",
        True,
        True,
    )
    assert s.consent_status == ConsentStatus.given
    assert [(c.name, c.phone) for c in s.emergency_contacts] == [("Paul Moreau", "+33611223345")]


def test_unknown_columns_are_reported_and_ignored(session, org):
    result = run(session, org, "unknown_columns.csv")
    assert result.unknown_columns == ["Observations", "Bâtiment", "Nom du gardien"]
    assert result.imported == 2


def test_configured_header(session, org, app):
    config = {**app.config["OUTREACH"]}
    config["roster"] = {**config["roster"], "headers": {"phone_mobile": ["Tél. perso"]}}
    data = "Référence;Nom;Tél. perso\nZ1;Martin;0612345678\n".encode()
    run(session, org, "z.csv", data, config=config)
    assert seniors(session, org)["Z1"].phone_mobile == "+33612345678"
    config["roster"]["headers"] = {"portable": ["Tél. perso"]}
    with pytest.raises(FatalImportError, match="champ inconnu « portable »"):
        run(session, org, "z.csv", data, config=config)


def test_the_same_senior_reference_in_another_organisation_is_untouched(session, org, referent):
    other = make_org(session)
    theirs = make_senior(session, other, external_ref="T001", last_name="Autre")
    run(session, org, "utf8.csv")
    session.expire_all()
    assert session.get(Senior, theirs.id).last_name == "Autre"
    assert seniors(session, org)["T001"].last_name == "Lefèvre"


def test_small_batches_give_the_same_result_and_release_objects(session, org, referent, app):
    config = {**app.config["OUTREACH"]}
    config["roster"] = {**config["roster"], "import_batch_size": 2}
    calls: list[int] = []
    run(session, org, "utf8.csv")  # existing rows exercise the update path too
    data = (FIXTURES / "utf8.csv").read_bytes().replace(b"Tours", b"Joue-les-Tours")
    result = run(session, org, "z.csv", data, config=config, progress=calls.append)
    assert (result.imported, result.updated, result.unchanged) == (0, 1, 2)
    assert calls == [2, 1]
    # Nothing of the import stays in the identity map, whatever the file size.
    assert not [
        o for o in session.identity_map.values() if isinstance(o, Senior | EmergencyContact)
    ]
    assert org in session  # the caller's objects are left alone
    assert seniors(session, org)["T001"].city == "Joue-les-Tours"


def test_one_audit_event_with_counts_only(session, org, referent):
    run(session, org, "bad_rows.csv", user_id=referent.id)
    events = session.scalars(select(AuditEvent)).all()
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.entity, event.organisation_id) == ("import", "roster", org.id)
    assert event.user_id == referent.id
    assert event.details == {"imported": 2, "updated": 0, "unchanged": 0, "rejected": 7}


def test_dry_run_counts_but_writes_nothing(session, org, referent):
    make_senior(session, org, external_ref="T001", last_name="Ancien")
    result = run(session, org, "bad_rows.csv", dry_run=True)
    assert (result.imported, len(result.rejected)) == (2, 7)
    result = run(session, org, "utf8.csv", dry_run=True)
    assert (result.imported, result.updated, result.unchanged) == (2, 1, 0)
    session.flush()
    session.expire_all()
    assert list(seniors(session, org)) == ["T001"]
    assert seniors(session, org)["T001"].last_name == "Ancien"
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_fatal_error_after_a_flushed_batch_raises(session, org, app):
    config = {**app.config["OUTREACH"]}
    config["roster"] = {**config["roster"], "import_batch_size": 1}
    data = "Référence;Nom\nZ1;Martin\nZ2;Durand\nZ3;" + "x" * 200_000 + "\n"
    with pytest.raises(FatalImportError, match="ligne"):
        run(session, org, "z.csv", data.encode(), config=config)
