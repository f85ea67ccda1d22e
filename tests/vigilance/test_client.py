"""Reading recorded DPVigilance maps: canicule colours per département and day, coast
domains ignored, malformed documents refused whole."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from outreach.vigilance.client import MalformedMap, parse
from outreach.vigilance.standin import redate
from tests.vigilance.conftest import DAY, load

TOMORROW = date(2026, 7, 21)


def test_orange_map_gives_the_canicule_colour_per_departement_and_day():
    parsed = parse(load("orange"))
    assert parsed.update_time is not None and parsed.update_time.isoformat().startswith(
        "2026-07-20"
    )
    assert parsed.colours[("37", DAY)] == 3 and parsed.colours[("37", TOMORROW)] == 3
    assert parsed.colours[("45", DAY)] == 2 and parsed.colours[("45", TOMORROW)] == 3
    assert parsed.colours[("2A", DAY)] == 1 and parsed.colours[("971", DAY)] == 1
    # Coast domains ("3010") and "99" are not départements.
    assert {dep for dep, _ in parsed.colours} == {
        "18", "28", "36", "37", "41", "45", "75", "13", "2A", "971",
    }  # fmt: skip


def test_only_phenomenon_6_counts():
    doc = load("green")
    # A red storm (phenomenon 3) in 37 is not a canicule.
    items = doc["product"]["periods"][0]["timelaps"]["domain_ids"][3]["phenomenon_items"]
    next(i for i in items if i["phenomenon_id"] == "3")["phenomenon_max_color_id"] = 4
    assert parse(doc).colours[("37", DAY)] == 1


def test_red_and_back_to_green():
    assert parse(load("red")).colours[("37", DAY)] == 4
    assert max(parse(load("green-again")).colours.values()) == 2


def _items(doc):
    return doc["product"]["periods"][0]["timelaps"]["domain_ids"][0]["phenomenon_items"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("product"),
        lambda d: d["product"].update(periods="none"),
        lambda d: d["product"].update(periods=d["product"]["periods"][1:]),
        lambda d: d["product"]["periods"][0].update(timelaps=[]),
        lambda d: d["product"]["periods"][0].update(begin_validity_time="demain"),
        lambda d: _items(d)[5].update(phenomenon_max_color_id=7),
    ],
)  # fmt: skip
def test_malformed_maps_are_refused_whole(breakage):
    doc = copy.deepcopy(load("orange"))
    breakage(doc)
    with pytest.raises(MalformedMap):
        parse(doc)


def test_the_recorded_malformed_map_is_refused():
    with pytest.raises(MalformedMap, match="1..4"):
        parse(load("malformed-colour"))


def test_a_day_is_taken_from_the_update_time_when_periods_have_none():
    doc = load("orange")
    for period in doc["product"]["periods"]:
        del period["begin_validity_time"]
    assert parse(doc).colours[("45", TOMORROW)] == 3


def test_the_standin_moves_a_recorded_map_to_the_day_asked():
    moved = parse(redate(load("orange"), date(2026, 8, 3)))
    assert moved.colours[("37", date(2026, 8, 3))] == 3
    assert moved.colours[("45", date(2026, 8, 4))] == 3


def test_tomorrow_stays_tomorrow_in_winter_time():
    # Recorded in summer (J1 from 22:00Z); moved to November, 22:00Z is 23:00 in Paris.
    moved = parse(redate(load("orange"), date(2026, 11, 28)))
    assert moved.colours[("45", date(2026, 11, 28))] == 2
    assert moved.colours[("45", date(2026, 11, 29))] == 3
