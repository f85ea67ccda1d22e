"""The agreements page: scoping per landlord and association, names only for the landlord,
the substitute's confirmation and the freezing, each with its permission."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outreach.accounts.models import Role
from outreach.panel.models import Draw, DrawState, MemberRole, MemberStatus, PanelMember
from tests.conftest import csrf_from, login
from tests.factories import make_user
from tests.panel.agreement_factory import add_member, linked_senior, make_panel

URL = "/panel/accords"


@pytest.fixture
def landscape(session):
    panel = make_panel(session)
    refused = add_member(session, panel, panel.a, reference="A-REFUS")
    linked_senior(session, refused, last_name="Zéphyrine")
    refused.status = MemberStatus.refused
    add_member(session, panel, panel.a, reference="A-RESERVE", role=MemberRole.reserve, rank=1)
    linked_senior(session, add_member(session, panel, panel.b, reference="B-0001"),
                  last_name="Bérénice")  # fmt: skip
    users = {
        "a_manager": make_user(session, panel.a, Role.manager),
        "a_caller": make_user(session, panel.a, Role.caller),
        "b_manager": make_user(session, panel.b, Role.manager),
        "asso": make_user(session, panel.association, Role.manager),
    }
    session.commit()
    return panel, refused, users


def _replace(client, refused_id: int, reserve_id: int):
    token = csrf_from(client.get(URL).get_data(as_text=True))
    data = {"csrf_token": token, "member": refused_id, "reserve": reserve_id}
    return client.post(URL + "/remplacer", data=data)


def _reserve_id(session) -> int:
    return session.scalar(select(PanelMember.id).where(PanelMember.role == MemberRole.reserve))


def test_a_landlord_sees_its_members_with_names_and_the_association_all_without(client, landscape):
    _, _, users = landscape
    login(client, users["a_manager"].email)
    body = client.get(URL).get_data(as_text=True)
    assert "A-REFUS" in body and "Zéphyrine" in body and "Remplacer par A-RESERVE" in body
    assert "B-0001" not in body and "Bérénice" not in body
    assert "Figer le panel" not in body
    assert "0 / 1" in body  # no accord yet out of one to reach
    client.post("/logout", data={"csrf_token": csrf_from(body)})
    login(client, users["asso"].email)
    body = client.get(URL).get_data(as_text=True)
    assert "A-REFUS" in body and "B-0001" in body
    assert "Zéphyrine" not in body and "Bérénice" not in body
    assert "Figer le panel" in body


def test_only_a_manager_of_the_landlord_confirms_a_substitute(client, session, landscape):
    _, refused, users = landscape
    reserve_id = _reserve_id(session)
    login(client, users["b_manager"].email)
    assert _replace(client, refused.id, reserve_id).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get(URL).get_data(as_text=True))})
    login(client, users["a_caller"].email)
    assert _replace(client, refused.id, reserve_id).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get(URL).get_data(as_text=True))})
    login(client, users["a_manager"].email)
    resp = _replace(client, refused.id, reserve_id)
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(PanelMember, refused.id).status == MemberStatus.replaced
    assert session.get(PanelMember, reserve_id).substitute_for_id == refused.id
    body = client.get(URL).get_data(as_text=True)
    assert "remplace A-REFUS" in body


def test_only_the_association_freezes_after_a_confirmation(client, session, landscape):
    panel, _, users = landscape
    draw_id = panel.draw.id
    login(client, users["a_manager"].email)
    assert client.get(f"{URL}/figer?draw={draw_id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get(URL).get_data(as_text=True))})
    login(client, users["asso"].email)
    page = client.get(f"{URL}/figer?draw={draw_id}")
    assert page.status_code == 200 and "Bailleur A" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    unconfirmed = client.post(f"{URL}/figer", data={"csrf_token": token, "draw": draw_id})
    assert unconfirmed.status_code == 302
    session.expire_all()
    assert session.get(Draw, draw_id).state == DrawState.drawn
    data = {"csrf_token": token, "draw": draw_id, "confirm": "oui"}
    assert client.post(f"{URL}/figer", data=data).status_code == 302
    session.expire_all()
    assert session.get(Draw, draw_id).state == DrawState.frozen
    body = client.get(URL).get_data(as_text=True)
    assert "Panel figé" in body and "Remplacer par" not in body
