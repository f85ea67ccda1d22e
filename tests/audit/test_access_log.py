"""Opening a call screen is an access to a senior's record, logged like her page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from tests.conftest import login
from tests.factories import make_org, make_senior, make_user


@pytest.fixture
def day(session):
    org = make_org(session)
    caller = make_user(session, org, "caller")
    senior = make_senior(session, org)
    now = datetime.now(UTC)
    campaign = create_campaign(session, org.id, "Courtoisie", CampaignKind.custom)
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    task = session.scalar(select(Task).where(Task.senior_id == senior.id))
    assert task is not None and task.channel == "staff"
    session.commit()
    return caller, senior, task


def _views(session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "view")))


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_opening_a_queue_call_screen_logs_one_access(client, session, day):
    caller, senior, task = day
    login(client, caller.email)
    before = _count(session)
    assert client.get(f"/file/appel/{task.id}").status_code == 200
    assert _count(session) == before + 1
    (event,) = _views(session)
    assert (event.entity, event.entity_id) == ("senior", senior.id)
    assert event.user_id == caller.id
    assert event.organisation_id == senior.organisation_id
    assert event.details == {"screen": "call"}


def test_the_queue_page_itself_writes_nothing(client, session, day):
    caller, _senior, _task = day
    login(client, caller.email)
    before = _count(session)
    assert client.get("/file/").status_code == 200
    assert _count(session) == before


def test_opening_the_call_form_of_her_page_logs_one_access(client, session, day):
    caller, senior, _task = day
    login(client, caller.email)
    assert client.get(f"/seniors/{senior.id}/appel").status_code == 200
    (event,) = _views(session)
    assert (event.entity, event.entity_id, event.user_id) == ("senior", senior.id, caller.id)
    assert event.details == {"screen": "call"}


def test_a_refused_call_screen_logs_nothing(client, session, day):
    _caller, senior, task = day
    other = make_org(session)
    stranger = make_user(session, other, "admin")
    session.commit()
    login(client, stranger.email)
    assert client.get(f"/file/appel/{task.id}").status_code == 404
    assert client.get(f"/seniors/{senior.id}/appel").status_code == 404
    assert _views(session) == []
