"""Phone numbers and places: normalisation to E.164 and the département of a postcode.

No premium number is ever dialled: the normalisation that the importer, the forms and the
configuration share refuses, with the reason "numéro surtaxé ou spécial refusé",
- premium-rate numbers (French 089x, 036x..., and any phonenumbers classifies PREMIUM_RATE);
- shared-cost numbers (French 081x, 082x, 0884: "tarif majoré", surtaxés since 2015), since
  a senior's own line is never one and calling one costs more than a call;
- short numbers (3xxx services such as 3949, 118xxx directories, 1x and 11x emergency and
  social lines): not a person's line, and many are charged.
Free (080x) and ordinary non-geographic numbers (0806-0809, 09) stay accepted.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo


class InvalidPhone(ValueError):
    """Not a valid French or international number; the message says why, in French."""


class SpecialPhone(InvalidPhone):
    """A premium-rate, shared-cost or short number: valid, but never dialled."""


MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
SPECIAL_TYPES = {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST}
SPECIAL_REASON = "numéro surtaxé ou spécial refusé"
# French short numbers, whatever phonenumbers' metadata knows: 3xxx, 1x, 1xx, 10xx, 11xxxx.
SHORT_FR = re.compile(r"(3\d{3}|1\d{1,3}|11\d{4})")


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
    if _is_short(digits, number, region):
        raise SpecialPhone(f"{SPECIAL_REASON} : {text}")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"numéro de téléphone invalide : {text}")
    if phonenumbers.number_type(number) in SPECIAL_TYPES:
        raise SpecialPhone(f"{SPECIAL_REASON} : {text}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_short(digits: str, number: phonenumbers.PhoneNumber, region: str) -> bool:
    if digits.startswith("+"):
        return False
    if region == "FR" and SHORT_FR.fullmatch(digits):
        return True
    return shortnumberinfo.is_valid_short_number_for_region(number, region)


def is_special(e164: str | None) -> bool:
    """Whether a stored E.164 number is premium-rate or shared-cost (never dialled)."""
    if not e164:
        return False
    # French premium and shared-cost numbers all begin with 08: any other French number is
    # answered at once (generation asks this of 100,000 numbers; parsing one costs ~30 µs).
    if e164.startswith("+33") and not e164.startswith("+338"):
        return False
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None)) in SPECIAL_TYPES
    except phonenumbers.NumberParseException:
        return False


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
