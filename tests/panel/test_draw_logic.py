"""The draw of one département without a database: the seed decides, the reserve matches."""

from __future__ import annotations

from collections import defaultdict

from outreach.panel.draw import draw_departement
from outreach.panel.generate import listing_rows
from outreach.panel.quotas import Profile, age_group, settings_from


def cells(count=500):
    rows = listing_rows(1, ["37"], count, seed=1) + listing_rows(2, ["37"], count // 2, seed=2)
    out: dict[Profile, list[tuple[str, int]]] = defaultdict(list)
    for i, r in enumerate(rows):
        age = age_group(r["age_band"])
        if age is None:
            continue
        v = [None if r[k] is None else str(r[k].value) for k in ("sex", "housing_type", "area")]
        profile = Profile(r["organisation_id"], age, v[0], v[1], r["qpv"], v[2],
                          r["lives_alone"], r["adapted"])  # fmt: skip
        out[profile].append((r["reference"], i))
    return out


def test_same_seed_same_draw_and_reserve_another_seed_another_draw():
    listing = cells()
    settings = settings_from({})
    first = draw_departement("37", listing, settings, 7, {1: "A", 2: "B"})
    again = draw_departement("37", listing, settings, 7, {1: "A", 2: "B"})
    other = draw_departement("37", listing, settings, 8, {1: "A", 2: "B"})
    assert first.report["met"] and other.report["met"]
    assert first.drawn == again.drawn and first.reserve == again.reserve
    assert {i for i, _ in first.drawn} != {i for i, _ in other.drawn}
    assert len(first.drawn) == 100


def test_reserve_follows_each_drawn_member_with_her_nearest_profile():
    listing = cells()
    result = draw_departement("37", listing, settings_from({}), 3, {1: "A", 2: "B"})
    drawn, reserve = result.drawn, result.reserve
    assert not {i for i, _ in drawn} & {i for i, _ in reserve}
    assert 100 < len(reserve) <= 200
    # Round one: member k's substitute is reserve k, of her landlord always, of her very
    # profile whenever her profile has a spare tenant left.
    spare = {p: len(rows) for p, rows in listing.items()}
    for _, p in drawn:
        spare[p] -= 1
    for (_, member), (_, substitute) in zip(drawn, reserve[:100], strict=True):
        assert substitute.organisation_id == member.organisation_id
        if spare[member] > 0:
            assert substitute == member
        spare[substitute] -= 1


def test_a_listing_that_gives_only_the_band_75_plus_is_drawn_in_the_75_plus_quota():
    # The listing import stores "75+" when the file has only the two bands of the quotas.
    assert age_group("75+") == age_group("75-84") == age_group("85+") == "75+"
    assert age_group("65-74") == "65-74"
    assert age_group("lt65") is None and age_group(None) is None


def test_a_tolerance_is_room_not_an_aim_the_draw_lands_on_the_targets_when_it_can():
    # The generated listing has more women than 57 % and no quota sits at its target by
    # chance; a draw that met them at the edges of their tolerances would pass "met" too.
    result = draw_departement("37", cells(), settings_from({}), 5, {1: "A", 2: "B"})
    assert result.report["met"]
    for line in result.report["quotas"]:
        if line["unit"] == "%":
            assert abs(line["achieved"] - line["target"]) <= 1, line
        else:
            assert abs(line["achieved"] - line["target"]) < 1, line
