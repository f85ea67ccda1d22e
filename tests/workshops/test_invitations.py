"""Invitations, answers, the waiting list and its promotions, attendance, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    SkipReason,
    Task,
)
from outreach.workshops import counts
from outreach.workshops.invitations import invite
from outreach.workshops.models import Invitation, InvitationStatus, WorkshopState
from outreach.workshops.operations import (
    WorkshopError,
    answer,
    cancel_workshop,
    record_attendance,
    update_workshop,
    withdraw,
)
from outreach.workshops.replies import sms_answer
from tests.factories import make_senior
from tests.workshops.conftest import NOW, STARTS, workshop_for


def _inv(session, workshop, senior):
    return session.scalar(
        select(Invitation).where(
            Invitation.workshop_id == workshop.id, Invitation.senior_id == senior.id
        )
    )


def test_the_targeted_group_is_invited_once_and_only_those_who_may_be(session, org, people):
    texted, landline, elsewhere = people
    make_senior(session, org, consent_sms=False)  # no consent to SMS
    make_senior(session, org, opted_out_sms_at=NOW - timedelta(days=3))  # said STOP
    workshop = workshop_for(session, org)
    result = invite(session, workshop, {"departements": ["37"]}, "sms", NOW, None)
    assert result.invited == 3
    # The landline-only senior cannot get an SMS; the 41 is not targeted at all.
    assert result.skipped == {
        SkipReason.no_phone: 1,
        SkipReason.no_consent: 1,
        SkipReason.opted_out: 1,
    }
    campaign = session.get(Campaign, workshop.campaign_id)
    assert (campaign.kind, campaign.state) == (CampaignKind.workshop, CampaignState.active)
    # Reminders are due the day before and the morning of, a Sunday or a holiday too.
    from outreach.campaigns.schedule import parse_window

    assert len(parse_window(campaign.call_window)) == 7 and not campaign.skip_holidays
    tasks = session.scalars(select(Task).where(Task.campaign_id == campaign.id)).all()
    assert sorted(t.senior_id for t in tasks) == sorted(s.id for s in texted)
    assert {t.channel for t in tasks} == {ChannelPolicy.sms}
    assert _inv(session, workshop, elsewhere) is None
    # Inviting again by automated call adds those who may be called (SMS refused or no
    # mobile: a call is still allowed), never the three invited already.
    again = invite(session, workshop, {"departements": ["37"]}, "ivr", NOW, None)
    assert (again.invited, again.already) == (3, 3)
    assert _inv(session, workshop, landline).channel == "ivr"


def test_sms_answers_are_read_as_yes_no_or_left_to_a_person():
    assert sms_answer("Oui merci") is True and sms_answer("1") is True
    assert sms_answer("non") is False and sms_answer(" 2 ") is False
    assert sms_answer("Je ne sais pas") is None and sms_answer("STOP") is None
    assert sms_answer("NON STOP") is None  # STOP wins: read as an opt-out


def test_past_capacity_a_yes_waits_and_a_freed_place_goes_to_the_first(session, org, people):
    texted, _, _ = people
    workshop = workshop_for(session, org, capacity=1)
    invite(session, workshop, {"residences": ["Les Tilleuls"]}, "sms", NOW, None)
    a, b, c = (_inv(session, workshop, s) for s in texted)
    answer(session, a, True, NOW)
    answer(session, b, True, NOW)
    answer(session, c, True, NOW)
    assert (a.status, b.status, c.status) == (
        InvitationStatus.registered,
        InvitationStatus.waiting,
        InvitationStatus.waiting,
    )
    assert (b.waiting_rank, c.waiting_rank) == (1, 2)
    # A day later she cannot come: b gets the place and is told (a task for that day).
    later = NOW + timedelta(days=1)
    promoted = answer(session, a, False, later)
    assert promoted == [b] and a.status == InvitationStatus.declined
    assert (b.status, b.waiting_rank, c.waiting_rank) == (InvitationStatus.registered, None, 1)
    notice = session.scalar(
        select(Task).where(Task.senior_id == texted[1].id, Task.due_date == later.date())
    )
    assert notice is not None and notice.channel == ChannelPolicy.sms
    # Taken off by the team: the place goes to c.
    withdraw(session, b, later, None)
    assert (b.status, c.status) == (InvitationStatus.cancelled, InvitationStatus.registered)
    # A larger capacity cannot go below the registered; a yes again changes nothing.
    with pytest.raises(WorkshopError):
        update_workshop(session, workshop, later, None, **_fields(workshop, capacity=0))
    assert answer(session, c, True, later) == []


def _fields(workshop, **changes):
    keys = (
        "theme",
        "starts_at",
        "ends_at",
        "place",
        "address",
        "postcode",
        "city",
        "accessibility",
        "capacity",
        "territory",
        "organiser",
        "partner_id",
    )
    return {k: getattr(workshop, k) for k in keys} | changes


def test_attendance_after_the_start_and_cancel(session, org, people):
    texted, _, _ = people
    workshop = workshop_for(session, org)
    invite(session, workshop, {"residences": ["Les Tilleuls"]}, "sms", NOW, None)
    a, b, c = (_inv(session, workshop, s) for s in texted)
    answer(session, a, True, NOW)
    answer(session, b, True, NOW)
    with pytest.raises(WorkshopError, match="pas encore commencé"):
        record_attendance(session, workshop, {a.id}, NOW, None)
    after = STARTS + timedelta(hours=3)
    assert record_attendance(session, workshop, {a.id, c.id}, after, None) == 1
    assert (a.attended, b.attended, c.attended) == (True, False, None)
    assert workshop.state == WorkshopState.held
    assert session.get(Campaign, workshop.campaign_id).state == CampaignState.closed
    other = workshop_for(session, org, theme="Mémoire")
    invite(session, other, {"residences": ["Les Tilleuls"]}, "staff", NOW, None)
    answer(session, _inv(session, other, texted[0]), True, NOW)
    assert cancel_workshop(session, other, NOW, None) == 1
    assert {
        i.status
        for i in session.scalars(select(Invitation).where(Invitation.workshop_id == other.id))
    } == {InvitationStatus.cancelled}


def test_counts_by_workshop_and_by_territory(session, org, people):
    texted, _, elsewhere = people
    first = workshop_for(session, org, capacity=1)
    second = workshop_for(session, org, territory="41", theme="Numérique")
    invite(session, first, {"residences": ["Les Tilleuls"]}, "sms", NOW, None)
    invite(session, second, {"departements": ["41"]}, "sms", NOW, None)
    a, b, _ = (_inv(session, first, s) for s in texted)
    answer(session, a, True, NOW)
    answer(session, b, True, NOW)
    answer(session, _inv(session, second, elsewhere), True, NOW)
    record_attendance(session, first, {a.id}, STARTS + timedelta(hours=3), None)
    section = counts.section(session, [org.id], STARTS.date(), STARTS.date())
    assert section["by_territory"]["37"] == {
        "workshops": 1,
        "capacity": 1,
        "invited": 3,
        "registered": 1,
        "waiting": 1,
        "declined": 0,
        "attended": 1,
    }
    assert section["by_territory"]["41"]["registered"] == 1
    assert section["total"]["invited"] == 4 and section["total"]["workshops"] == 2
    # Another period, another organisation: nothing.
    assert counts.section(session, [org.id], NOW.date(), NOW.date())["total"]["workshops"] == 0
    assert (
        counts.section(session, [org.id + 999], STARTS.date(), STARTS.date())["by_workshop"] == []
    )
