"""Quota settings and what a set of rows achieves: pure logic, no database."""

from __future__ import annotations

import pytest

from outreach.panel.quotas import (
    Profile,
    QuotaError,
    achieved,
    landlord_targets,
    settings_from,
    share_bounds,
)


def test_defaults_are_the_issues():
    s = settings_from(None)
    assert s.size == 100 and s.landlord_tolerance == 3 and s.landlords == {}
    assert s.shares == {"age": (50, 2), "women": (57, 6), "collectif": (75, 3), "qpv": (30, 3),
                        "urban": (50, 5), "alone": (50, 5), "adapted": (50, 5)}  # fmt: skip
    assert settings_from(s.as_json()) == s


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"size": 0}, "Taille du panel : un nombre entier entre 1"),
        ({"size": "cent"}, "« cent » n'est pas un nombre"),
        ({"qpv": {"target": 130}}, "En QPV : la cible doit être entre 0 et 100 %"),
        ({"women": {"tolerance": -1}}, "Femmes : la tolérance"),
        ({"landlords": {"7": 80, "8": 30}}, "110 seniors fixés à la main"),
        ({"colour": 1}, "réglage inconnu : colour"),
    ],
)
def test_invalid_settings_say_why_in_french(raw, message):
    with pytest.raises(QuotaError, match=message):
        settings_from(raw)


def test_landlords_follow_their_weight_unless_set_by_hand():
    s = settings_from({"landlords": {"2": 10}})
    assert landlord_targets(settings_from({}), {1: 300, 2: 100}) == {1: 75.0, 2: 25.0}
    assert landlord_targets(s, {1: 300, 2: 100, 3: 100}) == {2: 10.0, 1: 67.5, 3: 22.5}
    assert share_bounds(57, 6, 100) == (51, 63)
    assert share_bounds(30, 3, 40) == (11, 13)  # 27 % to 33 % of 40


def test_achieved_counts_unknown_attributes_on_neither_side():
    rows = [Profile(1, "65-74", "F", "collectif", True, "urbain", True, True)] * 50 + [
        Profile(1, "75+", None, "collectif", False, "rural", False, False)
    ] * 50
    report = achieved(settings_from({}), rows, {1: 100}, {1: "Bailleur"})
    lines = {line["key"]: line for line in report["quotas"]}
    assert lines["women"]["achieved"] == 50 and lines["women"]["deviation"] == 1
    assert lines["women_other"]["achieved"] == 0
    assert lines["women_other"]["deviation"] == 43 - 6
    assert lines["collectif"]["deviation"] == 100 - 75 - 3
    assert lines["age"]["met"] and lines["landlord:1"]["met"]
    assert report["met"] is False and report["size"] == 100
