"""Fixtures of the workshops tests: a landlord, a workshop and a few seniors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from outreach.campaigns.schedule import PARIS
from outreach.workshops.operations import create_workshop
from tests.factories import make_org, make_senior

# A fixed clock: a Monday morning; the workshop is on the Thursday at 14 h 30.
NOW = datetime(2030, 3, 4, 9, 0, tzinfo=PARIS)
STARTS = datetime(2030, 3, 7, 14, 30, tzinfo=PARIS)


def workshop_for(session, org, capacity=2, starts=STARTS, territory="37", now=NOW, **fields):
    values = {
        "theme": "Bien vivre l'été",
        "place": "Salle des Tilleuls",
        "address": "3 rue des Lilas",
        "city": "Tours",
        "territory": territory,
        "capacity": capacity,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        **fields,
    }
    return create_workshop(session, org.id, now, None, **values)


@pytest.fixture
def org(session):
    org = make_org(session, "vth", "Val Touraine Habitat")
    session.commit()
    return org


@pytest.fixture
def people(session, org):
    """Three seniors of the 37 who may be texted, one by phone only, one of the 41."""
    texted = [
        make_senior(session, org, phone_mobile=f"+3361000000{i}", residence="Les Tilleuls")
        for i in range(3)
    ]
    landline = make_senior(session, org, phone_mobile=None, phone_landline="+33247000001")
    elsewhere = make_senior(session, org, departement="41", phone_mobile="+33610000099")
    session.commit()
    return texted, landline, elsewhere
