"""Call scripts agree with the senior: « fatiguée » to a woman, « fatigué » to a man, and
« fatigué(e) » only when neither her civility nor her sex is known."""

from __future__ import annotations

import re
from datetime import date

import pytest

from outreach.accounts.models import Organisation
from outreach.calls.scripts import (
    SCRIPTS_DIR,
    agree,
    available_scripts,
    grammatical_gender,
    render_staff_html,
    render_text,
    script_context,
)
from outreach.campaigns.models import Campaign, CampaignKind
from outreach.roster.models import Senior, Sex

TODAY = date(2025, 7, 1)


def _context(civility=None, sex=None, kind=CampaignKind.courtesy):
    senior = Senior(
        civility=civility,
        sex=sex,
        first_name="Odette",
        last_name="Bernard",
        birth_date=date(1941, 5, 2),
        lives_alone=True,
        city="Tours",
    )
    campaign = Campaign(name="Courtoisie", kind=kind, vigilance_level="orange")
    return script_context(senior, Organisation(name="Touraine Logement"), campaign, "Anne", TODAY)


def _words(html: str, stem: str) -> set[str]:
    return set(re.findall(rf"\b{stem}\w*(?:\(e\))?", html))


@pytest.mark.parametrize(
    ("civility", "sex", "expected"),
    [
        ("Mme", None, {"fatiguée"}),
        ("Madame", None, {"fatiguée"}),
        (None, Sex.female, {"fatiguée"}),
        ("M.", None, {"fatigué"}),
        ("Monsieur", None, {"fatigué"}),
        (None, Sex.male, {"fatigué"}),
        (None, None, {"fatigué(e)"}),
        ("", None, {"fatigué(e)"}),
    ],
)
def test_courtesy_staff_script_agrees_with_the_senior(civility, sex, expected):
    html = render_staff_html("courtesy", _context(civility, sex))
    assert _words(html, "fatigu") == expected


def test_a_womans_scripts_say_fatiguee_seule_tombee():
    courtesy = render_staff_html("courtesy", _context("Mme"))
    assert "plus fatiguée que d'habitude" in courtesy
    assert "Êtes-vous tombée ?" in courtesy
    assert "vous sentir seule ?" in courtesy and "mise à l'écart" in courtesy
    assert "Mme Bernard vit seule : prenez le temps." in courtesy
    # The canicule questions are the form's one checklist, agreeing with her too.
    from outreach.web.queue_forms import canicule_choices

    woman = Senior(civility="Mme", first_name="Odette", last_name="Bernard")
    canicule = " ".join(str(c.label) for c in canicule_choices(woman))
    assert "très fatiguée ?" in canicule and "être accompagnée dans un lieu frais" in canicule


def test_a_mans_scripts_say_fatigue_seul_tombe():
    courtesy = render_staff_html("courtesy", _context("M."))
    assert "plus fatigué que d'habitude" in courtesy
    assert "Êtes-vous tombé ?" in courtesy
    assert "vous sentir seul ?" in courtesy and "mis à l'écart" in courtesy
    assert "M. Bernard vit seul : prenez le temps." in courtesy
    assert "(e)" not in courtesy


def test_unknown_keeps_both_forms():
    courtesy = render_staff_html("courtesy", _context())
    assert "plus fatigué(e) que d'habitude" in courtesy
    assert "Êtes-vous tombé(e) ?" in courtesy and "mis(e) à l'écart" in courtesy


def test_the_civility_wins_over_the_sex_field():
    # She is addressed as « Madame »: the words agree with how she is addressed.
    html = render_staff_html("courtesy", _context("Mme", Sex.male))
    assert "plus fatiguée que" in html


def test_spoken_ivr_never_says_parentheses():
    woman = render_text("canicule", "ivr.txt", _context("Mme", kind=CampaignKind.canicule))
    assert "souhaitez être rappelée, appuyez" in woman
    unknown = render_text("canicule", "ivr.txt", _context(kind=CampaignKind.canicule))
    assert "souhaitez être rappelé, appuyez" in unknown


@pytest.mark.parametrize("script", ["courtesy", "canicule", "reminder"])
@pytest.mark.parametrize("civility", ["Mme", "M."])
def test_no_parenthesised_agreement_left_when_the_civility_is_known(script, civility):
    ctx = _context(civility, kind=CampaignKind(script))
    for kind in ("staff.md", "ivr.txt", "sms.txt"):
        assert "(e)" not in render_text(script, kind, ctx), f"{script}/{kind}"


def test_no_script_writes_parenthesised_agreement_by_hand():
    assert available_scripts()
    for path in sorted(SCRIPTS_DIR.glob("*/*")):
        if path.suffix not in (".md", ".txt"):
            continue
        # Outside {{ ... }} expressions (where accord() may spell the unknown form).
        text = re.sub(r"\{\{.*?\}\}", "", path.read_text(encoding="utf-8"))
        assert not re.search(r"\w\((?:e|es|le|s)\)", text), path


def test_agree_and_gender_helpers():
    assert grammatical_gender("Mme") == "f" and grammatical_gender("mademoiselle") == "f"
    assert grammatical_gender("M") == "m" and grammatical_gender(" Mr. ") == "m"
    assert grammatical_gender("Dr", "F") == "f" and grammatical_gender("Dr") is None
    assert agree(None, "seul", "seule") == "seul(e)"
    assert agree(None, "le", "la") == "le/la"
    assert agree(None, "rappelé", "rappelée", "rappelé") == "rappelé"
    assert agree("f", "seul", "seule") == "seule" and agree("m", "seul", "seule") == "seul"
