"""/panel/quotas and /panel/tirage: the association's managers set quotas and draw; a
landlord's manager downloads only her own references; others get nothing."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from outreach.accounts.models import Role
from outreach.panel.models import Draw, Quota
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_user
from tests.panel.listing_factory import make_region


def test_manager_sets_quotas_draws_and_downloads(app, session, client):
    region = make_region(session, sizes=(120, 60), departements=("37",))
    manager = make_user(session, region.association, Role.manager)
    session.commit()
    login(client, manager.email)
    page = client.get("/panel/quotas")
    assert page.status_code == 200 and "Département 37" in page.text
    form = {"csrf_token": csrf_from(page.text), "association": region.association.id,
            "departement": "37", "size": "40", "landlord_tolerance": "3",
            f"landlord_{region.landlords[0].id}": "25"}  # fmt: skip
    for key, target, tol in (("age", 50, 2), ("women", 57, 6), ("collectif", 75, 3),
                             ("qpv", 30, 3), ("urban", 50, 5), ("alone", 50, 5),
                             ("adapted", 50, 5)):  # fmt: skip
        form[f"{key}_target"], form[f"{key}_tolerance"] = str(target), str(tol)
    bad = client.post("/panel/quotas", data={**form, "qpv_target": "140"})
    assert bad.status_code == 400 and "entre 0 et 100" in bad.text
    assert session.scalar(select(Quota)) is None
    assert client.post("/panel/quotas", data=form).status_code == 302
    session.expire_all()
    quota = session.scalar(select(Quota))
    assert quota.settings["size"] == 40
    assert quota.settings["landlords"] == {str(region.landlords[0].id): 25}

    page = client.get("/panel/tirage")
    done = client.post("/panel/tirage", data={"csrf_token": csrf_from(page.text),
                                             "association": region.association.id,
                                             "seed": "11"})  # fmt: skip
    assert done.status_code == 302
    draw = session.scalar(select(Draw))
    assert draw.seed == 11 and draw.report["37"]["size"] == 40
    page = client.get("/panel/tirage")
    assert 'data-departement="37"' in page.text and "40 tirés sur 40" in page.text
    xlsx = client.get(f"/panel/tirage/xlsx?draw={draw.id}&landlord={region.landlords[0].id}")
    assert xlsx.status_code == 200
    book = load_workbook(BytesIO(xlsx.data))
    assert book.sheetnames == ["Tirés Bailleur 1", "Réserve Bailleur 1", "Quotas"]
    rows = list(book["Tirés Bailleur 1"].iter_rows(min_row=8, values_only=True))
    assert 22 <= len(rows) <= 28 and all(isinstance(r[1], int) for r in rows)


def test_missed_quotas_are_highlighted(app, session, client):
    region = make_region(session, sizes=(120,), departements=("45",))
    session.add(Quota(association_id=region.association.id, departement="45",
                      settings={"adapted": {"target": 95, "tolerance": 1}}))  # fmt: skip
    manager = make_user(session, region.association, Role.manager)
    session.commit()
    login(client, manager.email)
    page = client.get("/panel/tirage")
    client.post("/panel/tirage", data={"csrf_token": csrf_from(page.text), "seed": "3"})
    page = client.get("/panel/tirage")
    assert "le tirage le plus proche" in page.text
    assert 'class="missed" data-quota="adapted"' in page.text
    assert 'class="" data-quota="size"' in page.text


def test_landlord_sees_only_her_references_and_strangers_nothing(app, session, client):
    region = make_region(session, sizes=(60, 30), departements=("37",))
    session.add(Quota(association_id=region.association.id, departement="37",
                      settings={"size": 20}))  # fmt: skip
    from outreach.panel.draw import run_draw

    draw = run_draw(session, region.association, seed=2)
    own, other = region.landlords
    landlord_manager = make_user(session, own, Role.manager)
    stranger = make_user(session, make_org(session, "ailleurs"), Role.manager)
    caller = make_user(session, region.association, Role.caller)
    session.commit()

    login(client, landlord_manager.email)
    page = client.get("/panel/tirage")
    assert f"landlord={own.id}" in page.text and f"landlord={other.id}" not in page.text
    assert "Tirer le panel" not in page.text
    assert client.get(f"/panel/tirage/xlsx?draw={draw.id}&landlord={own.id}").status_code == 200
    assert client.get(f"/panel/tirage/xlsx?draw={draw.id}&landlord={other.id}").status_code == 404
    assert client.get("/panel/quotas").status_code == 403
    assert client.post("/panel/tirage", data={"csrf_token": csrf_from(page.text),
                                              "seed": "1"}).status_code == 403  # fmt: skip

    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    login(client, stranger.email)
    assert "Tirage n°" not in client.get("/panel/tirage").text
    assert client.get(f"/panel/tirage/xlsx?draw={draw.id}&landlord={own.id}").status_code == 404
    page = client.get("/panel/tirage")
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    login(client, caller.email)
    assert client.get("/panel/tirage").status_code == 403
