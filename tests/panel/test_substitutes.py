"""The substitute proposed for a refusal keeps the profile, and its confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.panel import substitutes
from outreach.panel.models import DrawState, MemberRole, MemberStatus
from tests.panel.agreement_factory import PROFILE, add_member, make_panel

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _pair(org=1, rank=0, departement="37", **profile):
    member = SimpleNamespace(organisation_id=org, rank=rank, departement=departement)
    return member, SimpleNamespace(**(PROFILE | profile))


def test_the_same_landlord_and_profile_come_first_then_fewest_differences_then_rank():
    member, row = _pair()
    same = _pair(rank=9)
    one_off = _pair(rank=1, sex="H")
    two_off = _pair(rank=0, sex="H", qpv=True)
    other_landlord = _pair(org=2, rank=0)
    other_dept = _pair(rank=0, departement="41")
    assert (
        substitutes.best(member, row, [one_off, two_off, other_landlord, same, other_dept])
        is (same[0])
    )
    assert substitutes.best(member, row, [two_off, one_off, other_landlord]) is one_off[0]
    assert substitutes.best(member, row, [other_landlord, other_dept]) is other_landlord[0]
    assert substitutes.best(member, row, [other_dept]) is None
    # The age counts by the quota's groups: 85+ for 75-84 is the same group, 65-74 is not;
    # within the group the same band wins.
    older, younger = _pair(rank=0, age_band="85+"), _pair(rank=0, age_band="65-74")
    assert substitutes.best(member, row, [younger, older]) is older[0]
    exact = _pair(rank=5)
    assert substitutes.best(member, row, [older, exact]) is exact[0]


def _refusal(session):
    panel = make_panel(session)
    member = add_member(session, panel, panel.a, sex="H")
    member.status = MemberStatus.refused
    woman = add_member(session, panel, panel.a, role=MemberRole.reserve, rank=1)
    man = add_member(session, panel, panel.a, role=MemberRole.reserve, rank=2, sex="H")
    session.flush()
    return panel, member, woman, man


def test_each_reserve_is_proposed_once_and_the_confirmation_promotes_it(session):
    panel, member, woman, man = _refusal(session)
    second = add_member(session, panel, panel.a, sex="H")
    second.status = MemberStatus.unreachable
    session.flush()
    proposed = substitutes.proposals(session, panel.draw)
    assert proposed == {member.id: man, second.id: woman}
    promoted = substitutes.confirm(session, member, man.id, None, NOW)
    assert promoted is man
    assert (man.role, man.status, man.substitute_for_id) == (
        MemberRole.drawn,
        MemberStatus.to_contact,
        member.id,
    )
    assert member.status == MemberStatus.replaced
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "panel_substitute"))
    assert event.entity_id == member.id and event.details["substitute"] == man.id
    # Replaced: nothing more to propose for her, and the other keeps her proposal.
    assert substitutes.proposals(session, panel.draw) == {second.id: woman}


def test_a_stale_proposal_or_a_frozen_panel_refuses_the_substitution(session):
    panel, member, woman, man = _refusal(session)
    with pytest.raises(substitutes.SubstitutionError, match="proposition a changé"):
        substitutes.confirm(session, member, woman.id, None, NOW)
    panel.draw.state = DrawState.frozen
    with pytest.raises(substitutes.SubstitutionError, match="figé"):
        substitutes.confirm(session, member, man.id, None, NOW)
    assert member.status == MemberStatus.refused and man.status == MemberStatus.waiting
