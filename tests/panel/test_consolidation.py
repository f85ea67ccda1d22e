"""Freezing the panel: the agreed seniors become followed, with their consent's source and
date, and the frozen draw accepts no more changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, CampaignState, Task, TaskState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.panel import consolidation
from outreach.panel.models import DrawState, MemberStatus
from outreach.roster.consent import history
from outreach.roster.models import ConsentSource, ConsentStatus
from tests.panel.agreement_factory import (
    ALWAYS_OPEN,
    add_member,
    agreement_campaign,
    linked_senior,
    make_panel,
)

NOW = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # a Tuesday
AGREED_ON = date(2026, 3, 12)


def _agreed(session, panel, org, **fields):
    member = add_member(session, panel, org)
    senior = linked_senior(session, member, **fields)
    member.status = MemberStatus.agreed
    member.agreement_date = AGREED_ON
    return member, senior


def test_freezing_gives_consent_from_the_accord_and_the_courtesy_campaign_follows_her(session):
    panel = make_panel(session)
    _, agreed = _agreed(session, panel, panel.a)
    _, said_no_since = _agreed(session, panel, panel.b, consent_status=ConsentStatus.withdrawn)
    waiting = linked_senior(session, add_member(session, panel, panel.a))
    agreement = agreement_campaign(session, panel.a, NOW)
    generate_day(session, NOW.date(), NOW, campaign_ids=[agreement.id])
    open_task = session.scalar(select(Task).where(Task.senior_id == waiting.id))
    assert open_task is not None

    progress = {p.name: (p.agreed, p.to_reach) for p in consolidation.progress(
        session, panel.draw, [panel.a.id, panel.b.id])}  # fmt: skip
    assert progress == {"Bailleur A": (1, 2), "Bailleur B": (1, 1)}
    assert consolidation.freeze(session, panel.draw, None, NOW) == 1

    assert (agreed.consent_status, agreed.consent_date) == (ConsentStatus.given, AGREED_ON)
    assert agreed.consent_source == "accord de principe"
    assert agreed.consent_phone and agreed.consent_sms
    [(event, _)] = history(session, agreed.id)
    assert event.source == ConsentSource.agreement and event.stated_on == AGREED_ON
    # Never re-enrolled by the panel: she withdrew meanwhile.
    assert said_no_since.consent_status == ConsentStatus.withdrawn
    assert panel.draw.state == DrawState.frozen and panel.draw.frozen_at == NOW
    session.refresh(open_task)  # closed in one UPDATE
    assert open_task.state == TaskState.cancelled
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "panel_freeze"))
    assert event.details == {"agreed": 2, "enrolled": 1}

    courtesy = create_campaign(
        session, panel.a.id, "Courtoisie", CampaignKind.courtesy,
        call_window=ALWAYS_OPEN, skip_holidays=False,
    )  # fmt: skip
    set_state(session, courtesy, CampaignState.active, NOW)
    generate_day(session, NOW.date(), NOW, campaign_ids=[courtesy.id])
    called = session.scalars(select(Task.senior_id).where(Task.campaign_id == courtesy.id))
    assert set(called) == {agreed.id}
    with pytest.raises(consolidation.FreezeError):
        consolidation.freeze(session, panel.draw, None, NOW)
