"""``GET .../Messages.json``: Twilio's message list, filtered and paged as Twilio does.

Filters: ``To``, ``From``, and the date the message was sent: ``DateSent`` (that day),
``DateSent>`` (on or after) and ``DateSent<`` (on or before), each a GMT date
``YYYY-MM-DD`` (Twilio's documented form) or a datetime ``YYYY-MM-DDTHH:MM:SSZ`` (what
twilio-python sends for a ``datetime``). Newest first, ``PageSize`` records a page (50 by
default, 1000 at most), ``Page`` from 0, and ``next_page_uri`` while more remain, which
twilio-python follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from outreach.telephony.simulator.resources import TwilioError

FILTERS = ("To", "From", "DateSent", "DateSent>", "DateSent<")
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000


def _moment(value: str, key: str) -> tuple[datetime, bool]:
    """The instant a filter value names, and whether it named a whole day."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC), True
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC), False
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid {key}: {value}") from None


def sent_between(args: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """The inclusive lower bound and exclusive upper bound of the DateSent filters."""
    low = high = None
    if value := args.get("DateSent"):
        low, _ = _moment(value, "DateSent")
        high = low + timedelta(days=1)
    if value := args.get("DateSent>"):
        low, _ = _moment(value, "DateSent>")
    if value := args.get("DateSent<"):
        moment, whole_day = _moment(value, "DateSent<")
        high = moment + (timedelta(days=1) if whole_day else timedelta(microseconds=1))
    return low, high


def matches(resource: Mapping[str, Any], args: Mapping[str, str]) -> bool:
    """Whether a message resource passes the list's filters."""
    for key, field in (("To", "to"), ("From", "from")):
        if args.get(key) and resource[field] != args[key]:
            return False
    low, high = sent_between(args)
    if low is None and high is None:
        return True
    if not resource.get("date_sent"):
        return False
    sent = parsedate_to_datetime(resource["date_sent"])
    return (low is None or sent >= low) and (high is None or sent < high)


def page(records: list[dict[str, Any]], path: str, args: Mapping[str, str]) -> dict[str, Any]:
    """One page of ``records`` (already filtered, newest first) in Twilio's list format."""
    try:
        size = min(max(int(args.get("PageSize") or DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)
        number = max(int(args.get("Page") or 0), 0)
    except ValueError:
        raise TwilioError(400, 20001, "Invalid PageSize or Page") from None
    kept = {k: args[k] for k in FILTERS if args.get(k)}

    def uri(n: int) -> str:
        return f"{path}?{urlencode({**kept, 'PageSize': size, 'Page': n})}"

    start = number * size
    chunk = records[start : start + size]
    more = start + size < len(records)
    return {
        "messages": chunk,
        "page": number,
        "page_size": size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "uri": uri(number),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if more else None,
        "previous_page_uri": uri(number - 1) if number else None,
    }
