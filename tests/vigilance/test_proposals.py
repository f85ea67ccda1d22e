"""From a stored map to proposals: one per organisation whose canicule-list seniors live
where it turns orange, never twice, superseded or lifted by later maps, red by SMS to the
on-duty phone, auto_activate at once; every step audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.campaigns.models import Campaign, CampaignState, ChannelPolicy, Task
from outreach.notifications.models import Notification
from outreach.vigilance import operations
from outreach.vigilance.models import ProposalKind, ProposalState, VigilanceProposal
from tests.factories import make_org, make_senior, make_user
from tests.vigilance.conftest import NOW, apply


def _proposals(session, **where):
    stmt = select(VigilanceProposal).order_by(VigilanceProposal.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(VigilanceProposal, key) == value)
    return list(session.scalars(stmt))


def _young(session, org, dep):
    # Not on the canicule list: under 75, not alone, not on the register.
    return make_senior(session, org, departement=dep, birth_date=date(1962, 1, 1))


def _arrange(session):
    tours = make_org(session, name="Touraine")
    make_user(session, tours, "manager", email="m.tours@example.org")
    make_senior(session, tours, departement="37")
    make_senior(session, tours, departement="37", birth_date=date(1960, 1, 1), lives_alone=True)
    orleans = make_org(session, name="Orléans")
    make_user(session, orleans, "manager", email="m.orleans@example.org")
    make_senior(session, orleans, departement="45", canicule_register=True,
                birth_date=date(1961, 1, 1))  # fmt: skip
    blois = make_org(session, name="Blois")  # jaune only: nothing
    make_senior(session, blois, departement="41")
    nobody = make_org(session, name="Sans liste")  # 37 but nobody on the canicule list
    _young(session, nobody, "37")
    session.commit()
    return tours, orleans, blois, nobody


def test_orange_map_proposes_to_each_organisation_concerned(app, session):
    tours, orleans, blois, nobody = _arrange(session)
    summary = apply(session, app, "orange")
    assert summary.proposed == 2
    by_org = {p.organisation_id: p for p in _proposals(session)}
    assert set(by_org) == {tours.id, orleans.id}
    assert by_org[tours.id].departements == ["37"] and by_org[tours.id].level == "orange"
    assert by_org[tours.id].for_day == date(2026, 7, 20)
    # 45 is jaune today, orange tomorrow: proposed for tomorrow.
    assert by_org[orleans.id].for_day == date(2026, 7, 21)
    assert {p.state for p in by_org.values()} == {ProposalState.open}
    mails = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(m.channel, m.recipient) for m in mails] == [
        ("email", "m.tours@example.org"),
        ("email", "m.orleans@example.org"),
    ]
    assert (
        "vigilance canicule orange" in mails[0].body and "/vigilance/propositions/" in mails[0].body
    )
    # Nothing activated by a proposal.
    assert session.scalar(select(Campaign)) is None
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("vigilance.proposal") == 2


def test_the_threshold_is_configurable(app, session):
    tours, orleans, blois, nobody = _arrange(session)
    apply(session, app, "orange", threshold=2)
    assert {p.organisation_id for p in _proposals(session)} == {tours.id, orleans.id, blois.id}
    assert _proposals(session, organisation_id=blois.id)[0].level == "jaune"


def test_a_second_identical_map_changes_nothing(app, session):
    _arrange(session)
    apply(session, app, "orange")
    summary = apply(session, app, "orange")
    assert (summary.proposed, summary.kept) == (0, 2)
    assert len(_proposals(session)) == 2
    assert session.query(Notification).count() == 2


def test_red_supersedes_and_texts_the_on_duty_phone(app, session):
    tours, *_ = _arrange(session)
    tours.on_duty_phone = "+33612000001"
    session.commit()
    apply(session, app, "orange")
    apply(session, app, "red")
    mine = _proposals(session, organisation_id=tours.id)
    assert [(p.state, p.level) for p in mine] == [
        (ProposalState.superseded, "orange"),
        (ProposalState.open, "rouge"),
    ]
    sms = session.scalars(select(Notification).where(Notification.channel == "sms")).all()
    assert [(s.recipient, "ROUGE" in s.body) for s in sms] == [("+33612000001", True)]


def test_accept_activates_then_green_proposes_to_lift(app, session):
    tours, *_ = _arrange(session)
    manager = make_user(session, tours, "manager")
    session.commit()
    apply(session, app, "orange")
    proposal = _proposals(session, organisation_id=tours.id)[0]
    campaign = operations.accept(session, proposal, NOW, user_id=manager.id,
                                 channel=ChannelPolicy.ivr_then_staff)  # fmt: skip
    session.commit()
    assert campaign is not None and campaign.state == CampaignState.active
    assert campaign.channel_policy == ChannelPolicy.ivr_then_staff
    assert session.query(Task).filter(Task.campaign_id == campaign.id).count() == 2
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "canicule.activate"))
    assert event.details["via"] == "vigilance" and event.user_id == manager.id
    # The same orange map again: 37 is on alert, nothing more to propose.
    assert apply(session, app, "orange").proposed == 0
    apply(session, app, "green-again")
    lift = _proposals(session, organisation_id=tours.id, kind=ProposalKind.lift)
    assert [(p.state, p.departements) for p in lift] == [(ProposalState.open, ["37"])]
    operations.accept(session, lift[0], NOW, user_id=manager.id)
    session.commit()
    session.refresh(campaign)
    assert campaign.state == CampaignState.closed


def test_a_refused_proposal_is_not_made_again(app, session):
    tours, *_ = _arrange(session)
    manager = make_user(session, tours, "manager")
    session.commit()
    apply(session, app, "orange")
    proposal = _proposals(session, organisation_id=tours.id)[0]
    operations.refuse(session, proposal, NOW, user_id=manager.id, reason="Déjà géré par le CCAS")
    session.commit()
    summary = apply(session, app, "orange")
    assert (summary.proposed, summary.kept) == (0, 1)  # Orléans' is still open: kept
    assert [p.state for p in _proposals(session, organisation_id=tours.id)] == [
        ProposalState.refused
    ]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "vigilance.refuse"))
    assert event.user_id == manager.id and event.details["with_reason"] is True
    assert "CCAS" not in str(event.details)


def test_auto_activate_activates_at_once_and_says_so(app, session):
    tours, orleans, *_ = _arrange(session)
    tours.auto_activate = True
    session.commit()
    summary = apply(session, app, "orange")
    assert (summary.auto_activated, summary.proposed) == (1, 1)
    auto = _proposals(session, organisation_id=tours.id)[0]
    assert auto.state == ProposalState.auto_activated and auto.campaign_id is not None
    campaign = session.get(Campaign, auto.campaign_id)
    assert campaign.state == CampaignState.active
    assert campaign.channel_policy == ChannelPolicy(app.config["OUTREACH"]["vigilance"]["channel"])
    assert session.query(Task).filter(Task.campaign_id == campaign.id).count() == 2
    mail = session.scalar(
        select(Notification).where(Notification.recipient == "m.tours@example.org")
    )
    assert "automatiquement" in mail.subject
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"vigilance.auto", "canicule.activate", "vigilance.proposal"} <= actions
    # Orléans (auto_activate off) only got a proposal.
    assert _proposals(session, organisation_id=orleans.id)[0].state == ProposalState.open
