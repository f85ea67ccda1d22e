"""What an SMS text costs and whether it may leave: encoding, segments, sender and STOP.

A text is sent in GSM-7 (160 septets in one SMS) only if every character is in the GSM
03.38 alphabet; one character outside it (ê, ç, œ, a curly quote, a non-breaking space)
switches the whole message to UCS-2, 70 characters a segment instead of 160. Long
messages are cut into segments of 153 septets (GSM-7) or 67 UTF-16 code units (UCS-2),
the rest of each segment being the concatenation header.

DOMAIN.md: "Every SMS names the sender and offers a free way to stop". ``problems`` says
what a text misses; ``ensure_compliant`` adds a footer so that no SMS leaves without them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from outreach.calls.scripts import render_text

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (ESC, 0x1B, left out: it only introduces the extension).
# It has uppercase Ç but no lowercase ç, é but no other accented capital: easy to get wrong.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as ESC + code, so it costs 2 septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {GSM7: 160, UCS2: 70}
MULTI = {GSM7: 153, UCS2: 67}

STOP_RE = re.compile(r"\bSTOP\b", re.IGNORECASE)
STOP_FOOTER = "Répondez STOP pour ne plus recevoir de SMS"

# Invisible or look-alike characters, named so that a manager can find them in the script.
_CHAR_NAMES = {
    "\u00a0": "espace insécable",
    "\u202f": "espace fine insécable",
    "\u2009": "espace fine",
    "\t": "tabulation",
    "\u2019": "apostrophe courbe ’",
    "\u2018": "apostrophe courbe ‘",
    "\u201c": "guillemet courbe “",
    "\u201d": "guillemet courbe ”",
    "\u2026": "points de suspension …",
    "\u2013": "tiret demi-cadratin –",
    "\u2014": "tiret cadratin —",
}


@dataclass(frozen=True)
class SmsInfo:
    """The analysis of one text: ``units`` are septets (GSM-7) or UTF-16 code units (UCS-2)."""

    encoding: str
    characters: int
    units: int
    segments: int
    # The characters outside GSM-7, each once, in order of first appearance.
    ucs2_characters: tuple[str, ...] = ()

    @property
    def capacity(self) -> int:
        """How many units fit in this number of segments (160 for one GSM-7 SMS)."""
        if self.segments <= 1:
            return SINGLE[self.encoding]
        return self.segments * MULTI[self.encoding]


def _gsm_cost(char: str) -> int | None:
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENSION:
        return 2
    return None


def _segments(costs: Sequence[int], single: int, multi: int) -> int:
    """Segments for characters of these costs.

    An escaped GSM-7 character or a UTF-16 surrogate pair is never split between two
    segments (Twilio and handsets move it whole to the next one), so a segment may hold
    one unit less than ``multi``: packing greedily gives the real count, which is
    ceil(units / multi) in all but those boundary cases.
    """
    total = sum(costs)
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def analyse(text: str) -> SmsInfo:
    """Encoding, length and number of segments of ``text`` as a gateway would send it."""
    gsm_costs = [_gsm_cost(c) for c in text]
    if all(cost is not None for cost in gsm_costs):
        costs = [c for c in gsm_costs if c is not None]
        return SmsInfo(GSM7, len(text), sum(costs), _segments(costs, SINGLE[GSM7], MULTI[GSM7]))
    forcing = tuple(
        dict.fromkeys(c for c, cost in zip(text, gsm_costs, strict=True) if cost is None)
    )
    # Characters beyond the Basic Multilingual Plane (emoji) take two UTF-16 code units.
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SmsInfo(
        UCS2, len(text), sum(costs), _segments(costs, SINGLE[UCS2], MULTI[UCS2]), forcing
    )


def describe_char(char: str) -> str:
    """A character as a manager can recognise it: itself, or its name when invisible."""
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    if char.isspace() or not char.isprintable():
        return f"U+{ord(char):04X}"
    return char


def names_sender(text: str, sender_names: Iterable[str]) -> bool:
    """Whether one of ``sender_names`` appears in ``text``, ignoring case."""
    folded = text.casefold()
    return any(name.strip() and name.strip().casefold() in folded for name in sender_names)


def offers_stop(text: str) -> bool:
    """Whether ``text`` tells how to stop: the word STOP."""
    return STOP_RE.search(text) is not None


def problems(text: str, sender_names: Iterable[str]) -> list[str]:
    """What ``text`` misses of the rule "every SMS names the sender and offers a way to stop".

    Messages are in French, for the manager; an empty list means the text is compliant.
    Without any non-empty sender name the sender cannot be checked and is not reported.
    """
    names = [n.strip() for n in sender_names if n and n.strip()]
    found = []
    if names and not names_sender(text, names):
        found.append("Le SMS ne nomme pas l'expéditeur ({names}).".format(names=" ou ".join(names)))
    if not offers_stop(text):
        found.append("Le SMS n'indique pas comment ne plus en recevoir (« STOP »).")
    return found


def ensure_compliant(text: str, organisation_name: str) -> str:
    """``text`` with a footer naming the organisation and/or offering STOP when missing.

    Unchanged when nothing is missing, so calling it twice adds nothing twice.
    """
    org = organisation_name.strip()
    missing_name = bool(org) and not names_sender(text, [org])
    missing_stop = not offers_stop(text)
    if not (missing_name or missing_stop):
        return text
    if missing_name and missing_stop:
        footer = f"{org} - {STOP_FOOTER}"
    elif missing_name:
        footer = org
    else:
        footer = STOP_FOOTER
    body = text.rstrip()
    return f"{body}\n{footer}" if body else footer


def render_sms(script: str, context: dict[str, Any]) -> str:
    """The text of ``call_scripts/<script>/sms.txt`` for this context, without the blank
    lines around it (templates end with a newline that must not cost a septet)."""
    text = render_text(script, "sms.txt", context)
    # Normalise to NFC: a decomposed "é" (e + combining accent) is not in GSM-7.
    return unicodedata.normalize("NFC", text).strip()
