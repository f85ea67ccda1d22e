"""Fixtures shared by the page tests: one landlord, another one, and its staff."""

import pytest

from tests.factories import make_org, make_user


@pytest.fixture
def org(session):
    return make_org(session, name="Touraine Logement")


@pytest.fixture
def other_org(session):
    return make_org(session, name="Autre Bailleur")


@pytest.fixture
def caller(session, org):
    return make_user(session, org, "caller")


@pytest.fixture
def manager(session, org):
    return make_user(session, org, "manager")
