"""The voice TwiML the simulator understands, parsed with xml.etree.

Only what a callee can hear or do something about: ``<Say>``, ``<Play>``, ``<Pause>``,
``<Gather>`` (with nested prompts), ``<Dial>`` (a call put through, e.g. an inbound call to
the on-duty phone), ``<Redirect>`` and ``<Hangup>``/``<Reject>``. Other
verbs are kept as ``Other`` and skipped, as a callee would not notice them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class TwiMLError(ValueError):
    """Not a TwiML document: Twilio would say "an application error has occurred"."""


@dataclass(frozen=True)
class Say:
    """Spoken text (``<Say>``) or a played file (``<Play>``): takes talk time."""


@dataclass(frozen=True)
class Pause:
    seconds: float = 1


@dataclass(frozen=True)
class Gather:
    """``<Gather>``: ``action`` None posts to the current document's URL, as Twilio does."""

    action: str | None = None
    num_digits: int | None = None
    timeout: float = 5
    prompts: tuple[Say | Pause, ...] = ()


@dataclass(frozen=True)
class Dial:
    """``<Dial>``: ``action`` None goes on with the next verb, as Twilio does."""

    action: str | None = None
    timeout: float = 30


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Other:
    tag: str


Verb = Say | Pause | Gather | Dial | Redirect | Hangup | Other


def _local(tag: str) -> str:
    # Tolerate a namespace even though TwiML has none.
    return tag.rsplit("}", 1)[-1]


def _number(value: str | None, default: float) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 0 else default


def _verb(element: ET.Element) -> Verb:
    tag = _local(element.tag)
    if tag in ("Say", "Play"):
        return Say()
    if tag == "Pause":
        return Pause(_number(element.get("length"), 1))
    if tag == "Gather":
        prompts: list[Say | Pause] = []
        for child in element:
            verb = _verb(child)
            if isinstance(verb, Say | Pause):
                prompts.append(verb)
        digits = element.get("numDigits")
        return Gather(
            action=element.get("action") or None,
            num_digits=int(digits) if digits and digits.isdigit() else None,
            timeout=_number(element.get("timeout"), 5),
            prompts=tuple(prompts),
        )
    if tag == "Dial":
        return Dial(element.get("action") or None, _number(element.get("timeout"), 30))
    if tag == "Redirect":
        url = (element.text or "").strip()
        if not url:
            raise TwiMLError("<Redirect> without a URL")
        return Redirect(url)
    if tag in ("Hangup", "Reject"):
        return Hangup()
    return Other(tag)


def parse(text: str) -> list[Verb]:
    """The verbs of a ``<Response>`` document, in order; TwiMLError when it is not one."""
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise TwiMLError(f"not XML: {exc}") from exc
    if _local(root.tag) != "Response":
        raise TwiMLError(f"root element is <{_local(root.tag)}>, not <Response>")
    return [_verb(element) for element in root]
