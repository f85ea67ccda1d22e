"""No premium number is ever dialled: premium-rate, shared-cost and short numbers are refused
by the normalisation that the importer and the forms share; free numbers stay accepted."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from outreach.roster.importer import import_roster
from outreach.roster.models import Senior
from outreach.roster.phones import InvalidPhone, SpecialPhone, is_special, normalise_phone
from tests.factories import make_org


@pytest.mark.parametrize(
    "raw",
    [
        "08 99 12 34 56",  # premium rate (089x)
        "0891 12 34 56",
        "+33 8 92 12 34 56",
        "33892123456",  # its "+" lost in a spreadsheet
        "08 36 12 34 56",
        "08 20 12 34 56",  # shared cost, "tarif majoré" (081x, 082x)
        "0810 12 34 56",
        "3646",  # 3xxx service numbers
        "39 49",
        "3237",
        "118 218",  # directory enquiries
        "15",  # emergency and social lines
        "115",
        "+44 909 879 0000",  # premium abroad too
    ],
)
def test_premium_and_special_numbers_are_refused_with_their_reason(raw):
    with pytest.raises(SpecialPhone) as refused:
        normalise_phone(raw)
    assert str(refused.value) == f"numéro surtaxé ou spécial refusé : {raw}"
    assert isinstance(refused.value, InvalidPhone)  # every caller already handles it


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0 800 12 34 56", "+33800123456"),  # free for the caller
        ("0806 12 34 56", "+33806123456"),  # ordinary rate, non-geographic
        ("09 70 00 00 00", "+33970000000"),
        ("06 12 34 56 78", "+33612345678"),
        ("02 47 12 34 56", "+33247123456"),
        ("612345678", "+33612345678"),
    ],
)
def test_ordinary_and_free_numbers_are_accepted(raw, e164):
    assert normalise_phone(raw) == e164
    assert not is_special(e164)


def test_stored_premium_numbers_are_recognised():
    assert is_special("+33899123456") and is_special("+33820123456")
    assert not is_special(None) and not is_special("not a number")


def test_the_import_rejects_a_premium_number_with_its_line(app, session):
    org = make_org(session, "bailleur-surtaxe")
    data = (
        "Référence;Nom;Téléphone fixe;Téléphone portable\n"
        "P001;Valide;02 47 12 34 56;06 12 34 56 78\n"
        "P002;Surtaxé;08 99 12 34 56;\n"
        "P003;Court;;3646\n"
        "P004;Majoré;08 20 12 34 56;06 12 34 56 79\n"
        "P005;Gratuit;0 800 12 34 56;\n"
    ).encode()
    with app.app_context():
        result = import_roster(
            session, org, io.BytesIO(data), "premium.csv", config=app.config["OUTREACH"]
        )
    rejected = [(r.line, r.reference) for r in result.rejected]
    assert rejected == [(3, "P002"), (4, "P003"), (5, "P004")]
    reasons = [r.reason for r in result.rejected]
    assert reasons[0].startswith("téléphone fixe") and "08 99 12 34 56" in reasons[0]
    assert reasons[1].startswith("téléphone portable") and "3646" in reasons[1]
    assert reasons[2].startswith("téléphone fixe") and "08 20 12 34 56" in reasons[2]
    stored = {
        s.external_ref: s.phone_landline
        for s in session.scalars(select(Senior).where(Senior.organisation_id == org.id))
    }
    assert stored == {"P001": "+33247123456", "P005": "+33800123456"}
