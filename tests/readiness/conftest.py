"""A hand-built canicule list: one senior per problem, one with nothing missing, and seniors
the check must not count (not on the list, gone, another landlord's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from outreach.accounts.models import Organisation, User
from outreach.calls.models import Attempt, AttemptChannel
from outreach.roster.models import ConsentStatus, EmergencyContact, Senior
from tests.factories import make_org, make_senior, make_user

TODAY = date(2027, 5, 15)
# Two months before TODAY: within the year the check looks at.
RECENT = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


@dataclass
class Roster:
    org: Organisation
    other: Organisation
    manager: User
    referent: User
    fine: Senior
    no_number: Senior
    no_consent: Senior
    no_contact: Senior
    no_referent: Senior
    failed: Senior
    outside: Senior
    gone: Senior
    foreign: Senior


def contact(session, senior, phone="+33611223344"):
    session.add(EmergencyContact(organisation_id=senior.organisation_id, senior_id=senior.id,
                                 name="Luc Proche", relation="fils", phone=phone))  # fmt: skip


def attempt(session, senior, at, channel=AttemptChannel.sms, **fields):
    a = Attempt(organisation_id=senior.organisation_id, senior_id=senior.id, channel=channel,
                started_at=at, ended_at=at, **fields)  # fmt: skip
    session.add(a)
    session.flush()
    return a


def followed(session, org, referent, **fields):
    """A senior on the canicule register with nothing missing, unless ``fields`` says so."""
    values = {"canicule_register": True, "referent_id": referent.id, "residence": "Les Tilleuls"}
    senior = make_senior(session, org, **{**values, **fields})
    contact(session, senior)
    return senior


@pytest.fixture
def roster(session) -> Roster:
    org = make_org(session, "touraine", "Touraine Habitat")
    other = make_org(session, "ailleurs", "Autre Bailleur")
    manager = make_user(session, org, "manager", email="cheffe@example.org")
    referent = make_user(session, org, "social_worker")
    fine = followed(session, org, referent, last_name="Aubert", phone_landline="+33247000001")
    no_number = followed(session, org, referent, last_name="Bernard", phone_mobile=None)
    no_consent = followed(session, org, referent, last_name="Carpentier",
                          consent_status=ConsentStatus.unknown)  # fmt: skip
    no_contact = make_senior(session, org, last_name="Dupuis", canicule_register=True,
                             referent_id=referent.id)  # fmt: skip
    no_referent = followed(session, org, referent, last_name="Etienne", referent_id=None)
    failed = followed(session, org, referent, last_name="Fabre", phone_landline="+33247000002")
    attempt(session, failed, RECENT, gateway_status="undelivered", error_code=30005)
    # Not on the list: 62, not on the register, not alone; everything missing.
    outside = make_senior(session, org, last_name="Garnier", birth_date=date(1965, 1, 1),
                          phone_mobile=None, consent_status=ConsentStatus.unknown)  # fmt: skip
    gone = make_senior(session, org, last_name="Henry", canicule_register=True, active=False,
                       phone_mobile=None)  # fmt: skip
    foreign = make_senior(session, other, last_name="Intrus", canicule_register=True)
    session.commit()
    return Roster(org, other, manager, referent, fine, no_number, no_consent, no_contact,
                  no_referent, failed, outside, gone, foreign)  # fmt: skip


def xlsx_table(body: bytes):
    """The proximity list's header and rows (after the title block), and its worksheet."""
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(body))["À compléter"]
    values = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(values) if row[:2] == ("Référence", "Nom") or
                 row[:3] == ("Organisation", "Référence", "Nom"))  # fmt: skip
    return list(values[start]), [list(r) for r in values[start + 1 :]], sheet
