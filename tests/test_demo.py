"""The demo data: what `make run` shows a first visitor (runs on SQLite and PostgreSQL)."""

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from outreach.accounts.models import Membership, Organisation, Role, User
from outreach.campaigns.schedule import paris_today
from outreach.cli import cli
from outreach.demo import DEMO_LOGINS_HINT, DEMO_PASSWORD, load_demo
from outreach.roster.models import ConsentStatus, EmergencyContact, LeftReason, Senior, Sex
from outreach.roster.phones import is_mobile, normalise_phone
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_user

DEPARTEMENTS = {"18", "28", "36", "37", "41", "45"}


@pytest.fixture
def demo(session):
    lines = load_demo(session)
    assert lines is not None
    return lines


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_organisations_users_and_roles(session, demo):
    orgs = {o.slug: o for o in session.scalars(select(Organisation))}
    assert set(orgs) == {"arhs-cvl", "vth", "lhs"}
    assert orgs["arhs-cvl"].parent_id is None
    assert orgs["vth"].parent_id == orgs["lhs"].parent_id == orgs["arhs-cvl"].id

    for slug in ("vth", "lhs"):
        roles = set(
            session.scalars(
                select(Membership.role).where(Membership.organisation_id == orgs[slug].id)
            )
        )
        assert roles == set(Role), slug
    regional = session.scalar(select(User).where(User.email == "admin@arhs-cvl.demo"))
    assert {(m.organisation.slug, m.role) for m in regional.memberships} == {
        ("arhs-cvl", Role.admin),
        ("vth", Role.admin),
        ("lhs", Role.admin),
    }

    # Every login the CLI prints exists, and the password is printed once.
    printed = {m for line in demo for m in re.findall(r"[\w.-]+@[\w.-]+\.demo", line)}
    assert printed == set(session.scalars(select(User.email)))
    assert sum(DEMO_PASSWORD in line for line in demo) == 1
    hinted = set(re.findall(r"[\w.-]+@[\w.-]+\.demo", DEMO_LOGINS_HINT))
    assert hinted and hinted <= printed
    assert DEMO_PASSWORD in DEMO_LOGINS_HINT


def test_seniors_are_plausible(session, demo):
    seniors = session.scalars(select(Senior)).all()
    assert len(seniors) == 300
    assert {s.departement for s in seniors} == DEPARTEMENTS
    per_org = Counter(s.organisation_id for s in seniors)
    assert sorted(per_org.values()) == [150, 150]

    # The demo's day is Paris's (load_demo), not the server's: they differ around midnight.
    today = paris_today(datetime.now(UTC))
    ages = [s.age_on(today) for s in seniors]
    assert min(ages) >= 62 and max(ages) <= 98
    assert max(ages) - min(ages) >= 25  # a spread, not one cohort

    for s in seniors:
        assert s.civility == ("Mme" if s.sex is Sex.female else "M."), s.external_ref
        assert s.postcode.startswith(s.departement) and s.city and s.address
        referent = session.get(User, s.referent_id)
        assert {(m.organisation_id, m.role) for m in referent.memberships} == {
            (s.organisation_id, Role.social_worker)
        }
        if s.consent_status is ConsentStatus.given:
            assert s.consent_date is not None and s.consent_source

    assert any(s.phone_landline and not s.phone_mobile for s in seniors)
    assert any(s.phone_mobile and not s.phone_landline for s in seniors)
    assert any(not s.phone_mobile and not s.phone_landline for s in seniors)
    consent = Counter(s.consent_status for s in seniors)
    assert consent[ConsentStatus.given] > 250
    assert consent[ConsentStatus.unknown] and consent[ConsentStatus.refused]
    assert any(s.opted_out_sms_at is not None and not s.consent_sms for s in seniors)
    assert any(s.paused_until and s.paused_until > today for s in seniors)
    assert {s.left_reason for s in seniors if not s.active} == {
        LeftReason.moved,
        LeftReason.deceased,
    }
    for attribute, low, high in [
        ("lives_alone", 25, 55),
        ("canicule_register", 15, 35),
        ("qpv", 15, 45),
    ]:
        share = 100 * sum(getattr(s, attribute) for s in seniors) / len(seniors)
        assert low <= share <= high, attribute
    collectif = sum(s.housing_type.value == "collectif" for s in seniors) / len(seniors)
    assert 0.6 <= collectif <= 0.9
    assert {s.area.value for s in seniors} == {"urbain", "rural"}
    assert any(s.gir for s in seniors) and any(s.gir is None for s in seniors)
    contacts = Counter(len(s.emergency_contacts) for s in seniors)
    assert contacts[1] and contacts[2] and contacts[0]


def test_every_phone_is_valid_e164(session, demo):
    seniors = session.scalars(select(Senior)).all()
    for s in seniors:
        for number, mobile in ((s.phone_mobile, True), (s.phone_landline, False)):
            if number:
                assert normalise_phone(number) == number
                assert is_mobile(number) is mobile, number
                if not mobile:
                    assert number.startswith("+332")  # Centre-Val de Loire landlines
    others = [c.phone for c in session.scalars(select(EmergencyContact))]
    others += [u.phone for u in session.scalars(select(User)) if u.phone]
    assert others
    for number in others:
        assert normalise_phone(number) == number
    all_numbers = [n for s in seniors for n in (s.phone_mobile, s.phone_landline) if n] + others
    assert len(all_numbers) == len(set(all_numbers))


def test_same_people_every_run(session):
    def snapshot():
        rows = session.execute(
            select(
                Senior.external_ref, Senior.first_name, Senior.last_name, Senior.phone_mobile
            ).order_by(Senior.external_ref)
        ).all()
        return [tuple(r) for r in rows]

    load_demo(session)
    first = snapshot()
    session.rollback()  # load_demo only flushed: this removes everything it created
    assert _count(session, Senior) == 0
    load_demo(session)
    assert snapshot() == first


def test_second_call_adds_nothing(session, demo):
    before = (_count(session, User), _count(session, Senior), _count(session, Organisation))
    assert load_demo(session) is None
    # Even forced, the demo organisations are not created twice.
    assert load_demo(session, force=True) is None
    assert (_count(session, User), _count(session, Senior), _count(session, Organisation)) == before


def test_not_loaded_over_real_data_unless_forced(session):
    make_user(session, make_org(session, "bailleur"), Role.manager)
    assert load_demo(session) is None
    assert _count(session, Senior) == 0
    assert load_demo(session, force=True) is not None
    assert _count(session, Senior) == 300


def test_demo_password_logs_in(session, demo, client):
    session.commit()
    # A wrong password is refused: the demo accounts are ordinary accounts.
    page = client.get("/login")
    data = {"email": "manager@vth.demo", "password": "not the password"}
    wrong = client.post("/login", data={**data, "csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 400
    login(client, "manager@vth.demo", DEMO_PASSWORD)
    assert client.get("/").status_code == 200


def test_cli_demo_command(app, session):
    runner = CliRunner()
    run = lambda: runner.invoke(cli, ["demo"], obj=ScriptInfo(create_app=lambda: app))  # noqa: E731
    first = run()
    assert first.exit_code == 0, first.output
    assert "manager@vth.demo" in first.output and DEMO_PASSWORD in first.output
    assert _count(session, Senior) == 300  # committed by the command
    second = run()
    assert second.exit_code == 0
    assert "already has data" in second.output
    assert _count(session, Senior) == 300
