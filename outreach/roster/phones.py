"""Phone numbers and places: normalisation to E.164 and the département of a postcode."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType


class InvalidPhone(ValueError):
    """Not a valid French or international number; the message says why, in French."""


MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_phone(raw: str | None, region: str = "FR") -> str | None:
    """Return the E.164 form of ``raw`` or None when empty; raise InvalidPhone otherwise.

    Accepts what landlords' files contain: ``06 12 34 56 78``, ``06.12.34.56.78``,
    ``+33 6 12 34 56 78``, ``0612345678`` and ``33612345678`` (the international form
    without its ``+``, which spreadsheets produce when they treat the number as a number).
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    digits = re.sub(r"[\s.\-/()]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    # 33612345678: a French number whose "+" was lost. 11 digits starting with 33 cannot be
    # a national French number (those have 10 digits and start with 0).
    if re.fullmatch(r"33\d{9}", digits):
        digits = "+" + digits
    # 612345678: the leading 0 eaten by a spreadsheet.
    if region == "FR" and re.fullmatch(r"[1-9]\d{8}", digits):
        digits = "0" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"numéro de téléphone illisible : {text}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"numéro de téléphone invalide : {text}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str | None) -> bool:
    """Whether an E.164 number can receive SMS (French 06/07 and foreign mobiles)."""
    if not e164:
        return False
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None)) in MOBILE_TYPES
    except phonenumbers.NumberParseException:
        return False


def departement_of(postcode: str | None) -> str | None:
    """The département code of a French postcode: 37000 -> 37, 20000 -> 2A, 97400 -> 974.

    Corsica shares the 20 prefix: 200xx-201xx are Corse-du-Sud (2A), 202xx-206xx
    Haute-Corse (2B). Overseas postcodes use three digits.
    """
    if not postcode:
        return None
    code = postcode.strip().replace(" ", "")
    if not re.fullmatch(r"\d{5}", code):
        return None
    if code.startswith("20"):
        return "2A" if int(code[:3]) <= 201 else "2B"
    if code.startswith("97") or code.startswith("98"):
        return code[:3]
    return code[:2]
