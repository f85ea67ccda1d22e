"""The README's behaviour tables (outcomes, IVR keys, SMS words) say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from outreach.calls.outcomes import LABELS, Outcome
from outreach.telephony.ivr import DIGIT_RESULTS
from outreach.telephony.sms import STOP_WORDS, classify

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## What a contact establishes")[1].split("\n## ")[0]


def _rows(title: str) -> list[list[str]]:
    """The body rows of the first table after ``title`` in the section."""
    lines = SECTION.split(title, 1)[1].splitlines()
    start = next(i for i, ln in enumerate(lines) if re.fullmatch(r"\|[-| ]+\|", ln))
    table = []
    for ln in lines[start + 1 :]:
        if not ln.startswith("|"):
            break
        table.append([c.strip() for c in ln.strip("|").split("|")])
    return table


def test_every_outcome_is_in_the_readme_with_its_label():
    rows = {r[0].strip("`"): r[1] for r in _rows("| outcome | French label")}
    assert rows == {o.value: LABELS[o] for o in Outcome}


def test_the_ivr_keys_table_is_the_code():
    rows = {r[0]: r[1].strip("`") for r in _rows("**Keys on an automated call**") if r[0].isdigit()}
    assert rows == {k: v.value for k, v in DIGIT_RESULTS.items()}


def test_every_word_of_the_sms_table_gives_its_outcome():
    for words, outcome in _rows("**SMS replies**"):
        expected = Outcome(re.search(r"`(\w+)`", outcome).group(1))
        if "opt-out word" in words:
            continue
        for word in re.findall(r"[A-ZÀ-Ü][A-ZÀ-Ü.\-]+(?: [A-Z]+)?", words):
            assert classify(word) == expected, word
        for quoted in re.findall(r'"([^"]+)"', words):
            assert classify(quoted.rstrip(".")) == expected, quoted


def test_every_opt_out_word_of_the_readme_is_a_refusal_and_the_code_has_no_other():
    part = SECTION.split("**Opt-out words**:")[1].split("Twilio's error")[0]
    words = re.findall(r"[A-ZÀ-Ü][A-ZÀ-Ü.]+", part)
    assert len(words) > 10
    for word in words:
        assert classify(word) == Outcome.refused, word
    documented = {re.sub(r"[^A-Z]", "", w.replace("Ê", "E").replace("É", "E")) for w in words}
    assert STOP_WORDS - {"STOPPEZ", "STOPSMS", "ARRETE", "DESINSCRIVEZ", "DESABONNEMENT"} <= (
        documented
    )
