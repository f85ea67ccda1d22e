"""Reading Météo-France's vigilance map: DPVigilance ``GET /cartevigilance/encours``.

The document (JSON) holds ``product.update_time`` and ``product.periods[]``, one per
``echeance`` ("J": today, "J1": tomorrow), each with ``begin_validity_time`` and
``timelaps.domain_ids[]``: a ``domain_id`` (a département code, or a coast code such as
"3010" or "99" that we ignore) and ``phenomenon_items[]`` with ``phenomenon_id`` and
``phenomenon_max_color_id`` (1 vert .. 4 rouge). Canicule is phenomenon "6".

``parse`` is strict about the shape: a document that does not look like that is refused
whole (``MalformedMap``, a short reason without data) rather than half read, because a
half-read map could lift a canicule that is still on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import requests

from outreach.timezone import PARIS

CANICULE = "6"
ECHEANCES = {"J": 0, "J1": 1}
# Metropolitan départements (01..95, 2A, 2B) and overseas ones (971..976). "99" and the
# 4-character coast domains are not départements.
DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")
PATH = "/cartevigilance/encours"


class MalformedMap(ValueError):
    """The document is not a vigilance map we can trust; the message names what is wrong."""


class FetchError(RuntimeError):
    """The API could not be read (network, HTTP status); the message is short and safe."""


@dataclass(frozen=True)
class ParsedMap:
    update_time: datetime | None
    # (département, day) -> the worst canicule colour of the periods covering that day.
    colours: dict[tuple[str, date], int]


def fetch(base_url: str, api_key: str, timeout: float) -> Any:
    """The decoded JSON document of the current map; FetchError or MalformedMap otherwise."""
    url = base_url.rstrip("/") + PATH
    try:
        response = requests.get(
            url, headers={"apikey": api_key, "Accept": "application/json"}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise FetchError(type(exc).__name__) from exc
    if response.status_code != 200:
        raise FetchError(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedMap("not JSON") from exc


def _time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedMap(f"{what} is not a date")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedMap(f"{what} is not a date") from exc
    if moment.tzinfo is None:
        raise MalformedMap(f"{what} has no time zone")
    return moment


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedMap(f"{what} is not a list")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedMap(f"{what} is not an object")
    return value


def _base_day(periods: list[Any], update_time: datetime | None) -> date:
    # Period J starts at the update (06:00 Paris): the Paris date of its start is "today"
    # of the map; J1 is the day after, whatever time its start is written with.
    for period in periods:
        if isinstance(period, dict) and period.get("echeance") == "J":
            begin = _time(period.get("begin_validity_time"), "begin_validity_time")
            if begin is not None:
                return begin.astimezone(PARIS).date()
    if update_time is not None:
        return update_time.astimezone(PARIS).date()
    raise MalformedMap("period without a date")


def parse(document: Any) -> ParsedMap:
    """The canicule colours of a DPVigilance document, per département and day."""
    product = _dict(_dict(document, "document").get("product"), "product")
    update_time = _time(product.get("update_time"), "update_time")
    periods = _list(product.get("periods"), "periods")
    base = _base_day(periods, update_time)
    colours: dict[tuple[str, date], int] = {}
    seen_today = False
    departements = 0
    for raw_period in periods:
        period = _dict(raw_period, "period")
        offset = ECHEANCES.get(period.get("echeance"))  # type: ignore[arg-type]
        if offset is None:
            continue
        seen_today = seen_today or offset == 0
        _time(period.get("begin_validity_time"), "begin_validity_time")  # well-formed
        day = base + timedelta(days=offset)
        timelaps = _dict(period.get("timelaps"), "timelaps")
        for raw_domain in _list(timelaps.get("domain_ids"), "domain_ids"):
            domain = _dict(raw_domain, "domain")
            code = str(domain.get("domain_id", "")).strip().upper()
            if not DEPARTEMENT.match(code):
                continue
            departements += 1
            colour = 1
            for raw_item in _list(domain.get("phenomenon_items", []), "phenomenon_items"):
                item = _dict(raw_item, "phenomenon")
                if str(item.get("phenomenon_id")) != CANICULE:
                    continue
                value = item.get("phenomenon_max_color_id")
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
                    raise MalformedMap("phenomenon_max_color_id is not 1..4")
                colour = max(colour, value)
            colours[(code, day)] = max(colours.get((code, day), 1), colour)
    if not seen_today:
        raise MalformedMap("no period J")
    if not departements:
        raise MalformedMap("no département")
    return ParsedMap(update_time, colours)
