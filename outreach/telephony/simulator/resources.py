"""What the simulator hands out: Twilio's resource bodies, error bodies and small helpers.

The shapes copy Twilio's REST API 2010-04-01 closely enough for twilio-python to parse them
(see ``twilio/rest/api/v2010/account/call/__init__.py`` and ``message/__init__.py``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import phonenumbers

API_VERSION = "2010-04-01"
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class TwilioError(Exception):
    """A refusal of the REST API, with Twilio's HTTP status and error code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """Twilio's legacy error body, the one twilio-python turns into TwilioRestException."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


# Error codes by HTTP status for ``Simulator.set_down``.
DOWN_ERRORS = {
    429: (20429, "Too Many Requests"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
}


def down_error(status: int) -> TwilioError:
    """The error a REST API that is down answers with (``set_down``)."""
    code, message = DOWN_ERRORS.get(status, (20500, "An internal server error has occurred"))
    return TwilioError(status, code, message)


def not_found(account_sid: str, collection: str, sid: str) -> TwilioError:
    """Twilio's 404 for an unknown call or message SID."""
    path = f"/{API_VERSION}/Accounts/{account_sid}/{collection}/{sid}.json"
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


@dataclass
class Outgoing:
    """A webhook to post; ``on_response`` gets the HTTP status (0: undelivered) and body."""

    url: str
    params: dict[str, str]
    on_response: Callable[[int, str], None] | None = None


@dataclass(frozen=True)
class Webhook:
    """A webhook the simulator posted, for inspection; ``status`` 0: it was not delivered."""

    url: str
    params: dict[str, str]
    status: int
    at: datetime


@dataclass(frozen=True)
class Script:
    """What one number does, forced by a test (``None``: by the configured weights)."""

    answer: str | None = None
    digits: tuple[str, ...] | None = None
    reply: str | None = None


def new_sid(prefix: str) -> str:
    """A fresh SID. Never from the seeded generator: a restarted seeded simulator must not
    hand out SIDs that the application already stored for earlier calls."""
    return prefix + uuid.uuid4().hex


def rfc2822(at: datetime) -> str:
    """Twilio's date format: ``Tue, 02 Jan 2024 03:04:05 +0000``."""
    return format_datetime(at.astimezone(UTC))


def first(params: Mapping[str, Any], key: str) -> str:
    """One form field: the first value when the field was repeated, "" when absent."""
    value = params.get(key)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return "" if value is None else str(value)


def every(params: Mapping[str, Any], key: str) -> list[str]:
    """All values of a repeatable field; Twilio also takes them space-separated."""
    value = params.get(key)
    values = value if isinstance(value, list | tuple) else [] if value is None else [value]
    return [part for v in values for part in str(v).split()]


def _parse(number: str) -> phonenumbers.PhoneNumber | None:
    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def is_valid_number(number: str) -> bool:
    """Whether ``number`` is a valid E.164 phone number."""
    return _parse(number) is not None


def is_mobile(number: str) -> bool:
    """Whether ``number`` can receive an SMS (French 06/07 and foreign mobiles)."""
    parsed = _parse(number)
    return parsed is not None and phonenumbers.number_type(parsed) in MOBILE_TYPES


GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"


def num_segments(body: str) -> int:
    """SMS segments: GSM-7 160 (153 when split), else UCS-2 70 (67 when split)."""
    if all(c in GSM7 or c in GSM7_EXTENDED for c in body):
        units = len(body) + sum(c in GSM7_EXTENDED for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def call_resource(sid: str, account_sid: str, to: str, from_: str, at: datetime) -> dict[str, Any]:
    """A new call as ``POST .../Calls.json`` returns it."""
    base = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "date_created": rfc2822(at),
        "date_updated": rfc2822(at),
        "parent_call_sid": None,
        "to": to,
        "to_formatted": to,
        "from": from_,
        "from_formatted": from_,
        "phone_number_sid": None,
        "status": "queued",
        "start_time": None,
        "end_time": None,
        "duration": None,
        "price": None,
        "price_unit": "USD",
        "direction": "outbound-api",
        "answered_by": None,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{base}.json",
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
            "events": f"{base}/Events.json",
        },
    }


def message_resource(
    sid: str, account_sid: str, to: str, from_: str, body: str, at: datetime, direction: str
) -> dict[str, Any]:
    """A message as ``POST .../Messages.json`` returns it (or an inbound one)."""
    base = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": rfc2822(at),
        "date_updated": rfc2822(at),
        "date_sent": None,
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": from_,
        "to": to,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(num_segments(body)),
        "price": None,
        "price_unit": "USD",
        "status": "queued" if direction == "outbound-api" else "received",
        "uri": f"{base}.json",
        "subresource_uris": {"media": f"{base}/Media.json"},
    }
