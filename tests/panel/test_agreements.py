"""The recueil d'accord: linking identities, who the campaign may call, and what a staff
call or a cycle without answer does to the member."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from outreach.calls.outcomes import Disposition
from outreach.campaigns import lifecycle
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import CampaignKind, ChannelPolicy, Skip, SkipReason, Task, TaskState
from outreach.panel.agreements import link_members
from outreach.panel.models import MemberStatus
from outreach.queue.operations import claim_task
from outreach.queue.recording import Outcome, record_outcome
from outreach.roster.eligibility import ineligible
from outreach.roster.importer import import_roster
from outreach.roster.models import ConsentStatus, Senior
from tests.factories import make_senior, make_user
from tests.panel.agreement_factory import (
    add_member,
    agreement_campaign,
    linked_senior,
    make_panel,
    reference_of,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
TODAY = date(2026, 3, 10)


# -- the one eligibility rule and its exception (no database) ---------------------------


def _senior(**fields):
    values = {
        "active": True,
        "consent_status": "unknown",
        "consent_phone": False,
        "consent_sms": False,
        "opted_out_phone_at": None,
        "opted_out_sms_at": None,
        "paused_until": None,
        "phone_mobile": "+33612345678",
        "phone_landline": None,
    }
    return SimpleNamespace(**(values | fields))


@pytest.mark.parametrize("channel", [ChannelPolicy.staff, ChannelPolicy.ivr, ChannelPolicy.sms])
def test_an_agreement_campaign_may_ask_a_senior_not_yet_asked(channel):
    assert ineligible(_senior(), channel, TODAY, CampaignKind.agreement) is None
    # Any other campaign still needs her consent.
    assert ineligible(_senior(), channel, TODAY, CampaignKind.courtesy) == SkipReason.no_consent
    assert ineligible(_senior(), channel, TODAY) == SkipReason.no_consent


@pytest.mark.parametrize(
    ("fields", "channel", "reason"),
    [
        ({"consent_status": "refused"}, ChannelPolicy.staff, SkipReason.no_consent),
        ({"consent_status": "withdrawn"}, ChannelPolicy.sms, SkipReason.no_consent),
        ({"opted_out_phone_at": NOW}, ChannelPolicy.staff, SkipReason.opted_out),
        ({"opted_out_sms_at": NOW}, ChannelPolicy.sms, SkipReason.opted_out),
        ({"active": False}, ChannelPolicy.staff, SkipReason.left),
        ({"paused_until": TODAY}, ChannelPolicy.ivr, SkipReason.paused),
        ({"phone_mobile": None}, ChannelPolicy.staff, SkipReason.no_phone),
    ],
)
def test_the_exception_never_calls_who_refused_opted_out_left_or_has_no_phone(
    fields, channel, reason
):
    assert ineligible(_senior(**fields), channel, TODAY, CampaignKind.agreement) == reason


# -- linking -----------------------------------------------------------------------------


def test_a_member_is_linked_to_her_roster_row_by_landlord_and_reference(app, session):
    panel = make_panel(session)
    member = add_member(session, panel, panel.a, reference="VTH-0042")
    # The same reference at another landlord is another person.
    make_senior(session, panel.b, external_ref="VTH-0042")
    assert link_members(session, panel.a.id) == 0
    data = "Référence;Nom;Prénom;Téléphone mobile\nVTH-0042;Durand;Odette;06 12 34 56 78\n"
    with app.app_context():
        config = app.config["OUTREACH"]
    result = import_roster(
        session, panel.a, io.BytesIO(data.encode("utf-8")), "drawn.csv", config=config
    )
    assert result.imported == 1
    session.refresh(member)
    senior = session.get(Senior, member.senior_id)
    assert senior is not None and senior.organisation_id == panel.a.id
    assert senior.last_name == "Durand"
    assert link_members(session, panel.a.id) == 0  # nothing twice


# -- generation ---------------------------------------------------------------------------


def test_the_campaign_calls_the_landlords_members_still_to_contact_and_no_one_else(session):
    panel = make_panel(session)
    to_ask = linked_senior(session, add_member(session, panel, panel.a))
    agreed = add_member(session, panel, panel.a)
    linked_senior(session, agreed)
    agreed.status = MemberStatus.agreed
    refused_consent = linked_senior(
        session, add_member(session, panel, panel.a), consent_status=ConsentStatus.refused
    )
    opted_out = linked_senior(
        session, add_member(session, panel, panel.a), opted_out_phone_at=NOW - timedelta(days=2)
    )
    make_senior(session, panel.a, consent_status=ConsentStatus.unknown)  # not drawn
    add_member(session, panel, panel.a)  # drawn, roster row not imported yet
    campaign = agreement_campaign(session, panel.a, NOW)
    generate_day(session, TODAY, NOW, campaign_ids=[campaign.id])
    tasks = session.scalars(select(Task).where(Task.campaign_id == campaign.id)).all()
    assert [t.senior_id for t in tasks] == [to_ask.id]
    skips = {
        s.senior_id: s.reason
        for s in session.scalars(select(Skip).where(Skip.campaign_id == campaign.id))
    }
    assert skips == {
        refused_consent.id: SkipReason.no_consent,
        opted_out.id: SkipReason.opted_out,
    }


# -- a staff call ---------------------------------------------------------------------------


def _staff_task(session, panel):
    member = add_member(session, panel, panel.a)
    senior = linked_senior(session, member)
    campaign = agreement_campaign(session, panel.a, NOW)
    generate_day(session, TODAY, NOW, campaign_ids=[campaign.id])
    task = session.scalar(select(Task).where(Task.campaign_id == campaign.id))
    caller = make_user(session, panel.a)
    assert claim_task(session, task, caller.id, NOW, 20)  # the claim checks eligibility too
    return member, senior, task, caller


def test_a_caller_records_the_accord_and_its_date(session):
    panel = make_panel(session)
    member, _, task, caller = _staff_task(session, panel)
    later = NOW + timedelta(minutes=5)
    record_outcome(session, task, caller.id, Outcome(Disposition.reached_ok), later, True)
    session.refresh(member)
    assert member.status == MemberStatus.agreed
    assert member.agreement_date == TODAY


def test_a_refusal_on_the_phone_makes_her_refused_and_never_called_again(session):
    panel = make_panel(session)
    member, senior, task, caller = _staff_task(session, panel)
    later = NOW + timedelta(minutes=5)
    record_outcome(session, task, caller.id, Outcome(Disposition.refused), later, True)
    session.refresh(member)
    assert member.status == MemberStatus.refused
    assert senior.opted_out_phone_at is not None


def test_three_unreached_cycles_make_her_unreachable(session):
    panel = make_panel(session)
    member = add_member(session, panel, panel.a)
    linked_senior(session, member)
    campaign = agreement_campaign(session, panel.a, NOW)
    for day in range(4):
        now = NOW + timedelta(days=day)
        today = TODAY + timedelta(days=day)
        generate_day(session, today, now, campaign_ids=[campaign.id])
        task = session.scalar(
            select(Task).where(Task.campaign_id == campaign.id, Task.due_date == today)
        )
        if day == 3:
            assert task is None  # unreachable: no longer asked, a substitute is proposed
            break
        assert task is not None
        lifecycle.close(session, task, TaskState.failed, now, outcome=None)
        session.refresh(member)
        assert member.unreachable_cycles == day + 1
    assert member.status == MemberStatus.unreachable
    assert reference_of(session, member)
