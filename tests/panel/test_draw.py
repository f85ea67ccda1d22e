"""The draw by quotas on generated listings: every quota met when the listing allows it,
the same draw for the same seed, the closest draw with its deviations when it does not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from outreach.panel.draw import DrawError, run_draw
from outreach.panel.models import (
    Draw,
    DrawState,
    ListingRow,
    MemberRole,
    MemberStatus,
    PanelMember,
    Quota,
)
from tests.panel.listing_factory import make_region

# Each yes/no quota as the issue states it: (attribute, value, default share %, tolerance).
SHARES = [
    ("housing_type", "collectif", 75, 3),
    ("qpv", True, 30, 3),
    ("area", "urbain", 50, 5),
    ("lives_alone", True, 50, 5),
    ("adapted", True, 50, 5),
    ("sex", "F", 57, 6),
]


def members(session, draw, role=MemberRole.drawn):
    return session.execute(
        select(PanelMember, ListingRow)
        .join(ListingRow, ListingRow.id == PanelMember.listing_row_id)
        .where(PanelMember.draw_id == draw.id, PanelMember.role == role)
        .order_by(PanelMember.departement, PanelMember.rank)
    ).all()


def value(row, attribute):
    v = getattr(row, attribute)
    return getattr(v, "value", v)


def check_every_quota(session, draw, region):
    """Recount each quota from the listing rows themselves, not from the draw's report."""
    drawn = members(session, draw)
    for dept in ("37", "45"):
        rows = [row for m, row in drawn if m.departement == dept]
        assert len(rows) == 100
        assert all(row.age_band in ("65-74", "75-84", "85+") for row in rows)
        young = sum(row.age_band == "65-74" for row in rows)
        assert 48 <= young <= 52 and 48 <= 100 - young <= 52
        for attribute, yes, target, tol in SHARES:
            n_yes = sum(value(r, attribute) == yes for r in rows)
            n_no = sum(value(r, attribute) not in (yes, None) for r in rows)
            assert abs(n_yes - target) <= tol, (dept, attribute, n_yes)
            assert abs(n_no - (100 - target)) <= tol, (dept, attribute, n_no)
        listing = session.scalars(select(ListingRow).where(ListingRow.departement == dept)).all()
        drawable = [r for r in listing if r.age_band != "lt65"]
        for landlord in region.landlords:
            weight = sum(r.organisation_id == landlord.id for r in drawable) / len(drawable)
            got = sum(r.organisation_id == landlord.id for r in rows)
            assert abs(got - 100 * weight) <= 3, (dept, landlord.name, got)


def test_feasible_quotas_are_all_met_and_the_seed_decides(session):
    region = make_region(session)
    draw = run_draw(session, region.association, seed=7)
    assert draw.feasible is True
    assert set(draw.report) == {"37", "45"}
    assert all(line["met"] for line in draw.report["37"]["quotas"])
    check_every_quota(session, draw, region)
    first = {m.listing_row_id for m, _ in members(session, draw)}
    first_reserve = [m.listing_row_id for m, _ in members(session, draw, MemberRole.reserve)]

    again = run_draw(session, region.association, seed=7)
    assert draw.state == DrawState.discarded and again.state == DrawState.drawn
    assert {m.listing_row_id for m, _ in members(session, again)} == first
    assert [m.listing_row_id for m, _ in members(session, again, MemberRole.reserve)] == (
        first_reserve
    )
    reserve = members(session, again, MemberRole.reserve)
    assert {m.status for m, _ in members(session, again)} == {MemberStatus.to_contact}
    assert {m.status for m, _ in reserve} == {MemberStatus.waiting}
    ranks = [m.rank for m, _ in reserve if m.departement == "37"]
    assert ranks == list(range(1, draw.report["37"]["reserve"] + 1))


def test_impossible_quotas_give_the_closest_draw_with_each_deviation(session):
    region = make_region(session, sizes=(200,), departements=("37",))
    session.add(Quota(association_id=region.association.id, departement="37",
                      settings={"qpv": {"target": 90, "tolerance": 3}}))  # fmt: skip
    session.flush()
    draw = run_draw(session, region.association, seed=1)
    assert draw.feasible is False
    lines = {line["key"]: line for line in draw.report["37"]["quotas"]}
    drawn = [row for _, row in members(session, draw)]
    assert len(drawn) == 100
    in_qpv = sum(row.qpv is True for row in drawn)
    qpv_in_listing = session.scalars(
        select(ListingRow).where(ListingRow.qpv.is_(True), ListingRow.age_band != "lt65")
    ).all()
    # The closest draw takes every drawable tenant in QPV the other quotas allow.
    assert in_qpv >= min(len(qpv_in_listing), 87) - 15
    assert lines["qpv"]["achieved"] == in_qpv
    assert lines["qpv"]["deviation"] == pytest.approx(90 - 3 - in_qpv)
    assert lines["qpv"]["met"] is False
    assert lines["size"]["met"] is True


def test_a_short_listing_is_reported_not_padded(session):
    region = make_region(session, sizes=(60,), departements=("18",))
    draw = run_draw(session, region.association, seed=1)
    report = draw.report["18"]
    assert draw.feasible is False
    assert report["size"] == report["available"] < 60
    [size] = [line for line in report["quotas"] if line["key"] == "size"]
    assert size["deviation"] == 100 - report["size"]


def test_refuses_to_replace_a_draw_with_agreements_and_bad_input(session):
    region = make_region(session, sizes=(300,), departements=("37",))
    draw = run_draw(session, region.association, seed=1)
    member = session.scalars(select(PanelMember).where(PanelMember.draw_id == draw.id)).first()
    member.status = MemberStatus.agreed
    session.flush()
    with pytest.raises(DrawError, match="accords de principe"):
        run_draw(session, region.association, seed=2)
    assert session.scalar(select(Draw.state).where(Draw.id == draw.id)) == DrawState.drawn

    empty = make_region(session, sizes=(), slug="vide")
    with pytest.raises(DrawError, match="Aucune liste"):
        run_draw(session, empty.association, seed=1)
    other = make_region(session, sizes=(50,), departements=("45",), slug="autre")
    session.add(Quota(association_id=other.association.id, departement="45",
                      settings={"size": "beaucoup"}))  # fmt: skip
    session.flush()
    with pytest.raises(DrawError, match="Quotas du département 45 : Taille du panel"):
        run_draw(session, other.association, seed=1)
