"""SMS texts: GSM-7/UCS-2 analysis, sender and STOP rules, and the shipped sms.txt scripts."""

from __future__ import annotations

from datetime import date

import pytest

from outreach.accounts.models import Organisation
from outreach.calls.scripts import (
    ScriptNotFound,
    available_scripts,
    render_staff_html,
    script_context,
)
from outreach.campaigns.models import Campaign, CampaignKind
from outreach.roster.models import Senior
from outreach.telephony.sms_text import (
    GSM7,
    STOP_FOOTER,
    UCS2,
    analyse,
    describe_char,
    ensure_compliant,
    problems,
    render_sms,
)

TODAY = date(2025, 7, 15)


# ------------------------------------------------------------------ encoding and segments


@pytest.mark.parametrize("char", list("éèùìòàÉÇ"))
def test_french_letters_in_gsm7(char):
    info = analyse(f"Bonjour {char}")
    assert (info.encoding, info.ucs2_characters) == (GSM7, ())


@pytest.mark.parametrize("char", list("êâîôûçœ") + ["\u2019", "\u00a0", "È"])
def test_letters_outside_gsm7_force_ucs2(char):
    info = analyse(f"Bonjour {char}")
    assert info.encoding == UCS2
    assert info.ucs2_characters == (char,)


def test_uppercase_c_cedilla_is_gsm7_but_not_lowercase():
    assert analyse("Ça va").encoding == GSM7
    assert analyse("ça va").encoding == UCS2


def test_forcing_characters_listed_once_in_order():
    assert analyse("Vous êtes à la fenêtre, ça va ? ç").ucs2_characters == ("ê", "ç")


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
)
def test_gsm7_segments(length, segments):
    info = analyse("a" * length)
    assert (info.encoding, info.characters, info.units, info.segments) == (
        GSM7,
        length,
        length,
        segments,
    )


def test_extension_characters_count_two_septets():
    info = analyse("Prix : 5 €")
    assert (info.encoding, info.characters, info.units) == (GSM7, 10, 11)
    assert analyse("{" * 80).segments == 1
    assert analyse("{" * 81).segments == 2
    for char in "^{}\\[~]|€":
        assert analyse(char).units == 2


def test_escaped_character_never_split_between_segments():
    # 306 septets would fit 2 segments of 153, but the "{" at septets 153-154 moves whole.
    info = analyse("a" * 152 + "{" + "a" * 152)
    assert info.units == 306
    assert info.segments == 3


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segments(length, segments):
    info = analyse("ê" * length)
    assert (info.encoding, info.units, info.segments) == (UCS2, length, segments)


def test_ucs2_counts_utf16_code_units():
    info = analyse("Merci 🌞")
    assert (info.encoding, info.characters, info.units) == (UCS2, 7, 8)
    assert analyse("🌞" * 35).segments == 1
    assert analyse("🌞" * 36).segments == 2


def test_capacity():
    assert analyse("a" * 10).capacity == 160
    assert analyse("a" * 200).capacity == 306
    assert analyse("ê").capacity == 70
    assert analyse("ê" * 100).capacity == 134


def test_describe_char_names_invisible_characters():
    assert describe_char("ê") == "ê"
    assert describe_char("\u00a0") == "espace insécable"
    assert describe_char("\u200b") == "U+200B"


# ------------------------------------------------------------------ sender and STOP

GOOD = "Bonjour, ici Touraine Logement. Tout va bien ? Répondez STOP pour ne plus recevoir de SMS"


def test_compliant_text_has_no_problem():
    assert problems(GOOD, ["Touraine Logement"]) == []
    assert problems(GOOD.upper(), ["touraine logement"]) == []
    assert problems(GOOD.replace("STOP", "stop"), ["Touraine Logement"]) == []


def test_any_sender_name_will_do():
    assert (
        problems("OUTREACH : tout va bien ? STOP au 0600", ["Touraine Logement", "OUTREACH"]) == []
    )


def test_missing_sender_reported():
    found = problems("Bonjour, tout va bien ? STOP pour arrêter", ["Touraine Logement"])
    assert len(found) == 1
    assert "expéditeur" in found[0] and "Touraine Logement" in found[0]


def test_missing_stop_reported():
    found = problems(
        "Touraine Logement : pour stopper les SMS, appelez-nous", ["Touraine Logement"]
    )
    assert len(found) == 1
    assert "STOP" in found[0]


def test_both_missing():
    assert len(problems("Bonjour", ["Touraine Logement"])) == 2


def test_ensure_compliant_adds_both():
    text = ensure_compliant("Bonjour, tout va bien ?\n", "Touraine Logement")
    assert text == f"Bonjour, tout va bien ?\nTouraine Logement - {STOP_FOOTER}"
    assert problems(text, ["Touraine Logement"]) == []


def test_ensure_compliant_adds_only_what_is_missing():
    assert ensure_compliant("Touraine Logement : bonjour", "Touraine Logement") == (
        f"Touraine Logement : bonjour\n{STOP_FOOTER}"
    )
    assert ensure_compliant("Bonjour. STOP au 0600", "Touraine Logement") == (
        "Bonjour. STOP au 0600\nTouraine Logement"
    )


def test_ensure_compliant_leaves_compliant_text_alone_and_is_idempotent():
    assert ensure_compliant(GOOD, "Touraine Logement") == GOOD
    once = ensure_compliant("Bonjour", "Touraine Logement")
    assert ensure_compliant(once, "Touraine Logement") == once


# ------------------------------------------------------------------ the shipped scripts

PEOPLE = [
    ("Mme", "Martin", "Touraine Logement"),
    ("M.", "Dupont-Lefebvre", "Val de Loire Habitat"),
    (None, "Nguyen", "Tours Habitat"),
]


def _context(civility, last_name, org_name, kind=CampaignKind.courtesy, name="Courtoisie"):
    senior = Senior(
        civility=civility,
        first_name="Jeanne",
        last_name=last_name,
        birth_date=date(1943, 3, 12),
        lives_alone=True,
        city="Tours",
    )
    campaign = Campaign(name=name, kind=kind, vigilance_level="orange")
    return script_context(senior, Organisation(name=org_name), campaign, "", TODAY)


@pytest.mark.parametrize("script", ["courtesy", "canicule", "reminder"])
@pytest.mark.parametrize(("civility", "last_name", "org_name"), PEOPLE)
def test_script_is_compliant_gsm7_within_two_sms(script, civility, last_name, org_name):
    kind = CampaignKind(script)
    text = render_sms(script, _context(civility, last_name, org_name, kind, "Réunion le 12 mai"))
    assert problems(text, [org_name]) == []
    info = analyse(text)
    assert info.encoding == GSM7, info.ucs2_characters
    assert info.segments <= 2
    assert f" {last_name}," in text
    assert "  " not in text and text == text.strip()
    assert "{" not in text


def test_courtesy_asks_ok_or_aide():
    text = render_sms("courtesy", _context("Mme", "Martin", "Touraine Logement"))
    assert text.startswith("Bonjour Mme Martin, ici Touraine Logement.")
    assert "Répondez OK" in text and "Répondez AIDE" in text


def test_canicule_gives_the_advice_and_the_emergency_number():
    text = render_sms(
        "canicule", _context("Mme", "Martin", "Touraine Logement", CampaignKind.canicule)
    )
    for words in ("eau", "volets", "aérez la nuit", "pièce", "OK", "AIDE", "15"):
        assert words in text


def test_reminder_names_the_campaign():
    ctx = _context(
        "Mme", "Martin", "Touraine Logement", CampaignKind.reminder, "Réunion des locataires"
    )
    assert "Réunion des locataires" in render_sms("reminder", ctx)


def test_missing_sms_script():
    with pytest.raises(ScriptNotFound):
        render_sms("nope", _context("Mme", "Martin", "Touraine Logement"))


def test_reminder_staff_script_renders():
    assert "reminder" in available_scripts()
    html = render_staff_html(
        "reminder", _context("Mme", "Martin", "Touraine Logement", CampaignKind.reminder, "Réunion")
    )
    assert "Réunion" in html and "Touraine Logement" in html and "15" in html
